"""Demo departments and users (``accord demo``; see core.demo for the contract).

Demo users cannot sign in: they are the fictional colleagues who own the demo records. Giving
them usable passwords would cost an argon2 hash each (a fifth of a second here, so ten seconds
for the small size alone) and would leave a demo install listening on a network with dozens of
accounts nobody watches. Loading twice reuses the users of the first load.
"""

from __future__ import annotations

import unicodedata

from django.db import transaction

from accord.core.demo import DemoContext
from accord.identity.models import Department, User
from accord.identity.services import ensure_department

#: (name, kind, share of the staff); the shares say where people work in a typical company.
DEPARTMENTS: tuple[tuple[str, str, int], ...] = (
    ("Sales", Department.Kind.SALES, 40),
    ("Marketing", Department.Kind.MARKETING, 20),
    ("Service", Department.Kind.SERVICE, 25),
    ("Finance", Department.Kind.FINANCE, 8),
    ("IT", Department.Kind.IT, 7),
)

#: The reserved ``.example`` TLD (RFC 2606): demo addresses never reach a real inbox.
EMAIL_DOMAIN = "accord-demo.example"


def ascii_fold(text: str) -> str:
    """``text`` without accents, lower-cased, keeping letters and digits only."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def load(ctx: DemoContext) -> None:
    departments = [
        ensure_department(name=name, kind=kind)
        for name, kind, _ in DEPARTMENTS[: ctx.size.departments]
    ]
    shares = [share for _, _, share in DEPARTMENTS[: len(departments)]]
    advance = ctx.progress("Users", ctx.size.users)
    rng = ctx.faker.random
    planned: list[User] = []
    taken: set[str] = set()
    for index in range(ctx.size.users):
        first, last = ctx.faker.first_name(), ctx.faker.last_name()
        base = f"{ascii_fold(first)}.{ascii_fold(last)}"
        username, n = base, 1
        while username in taken:
            n += 1
            username = f"{base}{n}"
        taken.add(username)
        user = User(
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@{EMAIL_DOMAIN}",
            # Everyone's department is drawn by its share, except that each gets someone.
            department=departments[index]
            if index < len(departments)
            else rng.choices(departments, weights=shares)[0],
        )
        user.set_unusable_password()
        planned.append(user)
    with transaction.atomic():
        existing = {
            u.username: u for u in User.objects.filter(username__in=[u.username for u in planned])
        }
        User.objects.bulk_create([u for u in planned if u.username not in existing])
    users = [existing.get(u.username, u) for u in planned]
    advance(len(users))
    ctx.ids["user"] = [u.pk for u in users]
    by_kind: dict[str, list[object]] = {d.kind: [] for d in departments}
    for user in users:
        if user.department_id is not None:
            kind = next(d.kind for d in departments if d.pk == user.department_id)
            by_kind[kind].append(user.pk)
    #: User ids by department kind ("sales", "service", …) for the domains that assign work.
    ctx.extra["users_by_department"] = by_kind

"""Demo departments, users and the standard access model (``accord demo``; see core.demo for
the contract).

The role set is a six-level sales hierarchy (CEO → VP Sales → Sales Director → Sales Manager →
Team Lead → Sales Rep) beside Marketing User, Service Agent, Finance User, Read-only and an
Access Admin who manages access; each with object permissions, a few field rules, and people
given a role by their department. Deals and leads are private to their owner, their managers
and their department, with two sharing rules opening deals to marketing and finance.

Demo users cannot sign in: they are the fictional colleagues who own the demo records. Giving
them usable passwords would cost an argon2 hash each (a fifth of a second here, so ten seconds
for the small size alone) and would leave a demo install listening on a network with dozens of
accounts nobody watches. Loading twice reuses the users of the first load.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db import transaction

from accord.core.demo import DemoContext
from accord.core.models import record_types
from accord.identity import audit, services
from accord.identity.models import Department, Role, SharingRule, User
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
    roles = load_access_model(ctx, departments)
    assign_roles(ctx, users, departments, roles)


# -- the standard access model ---------------------------------------------------------------

ALL = ("create", "read", "edit", "delete", "export")
WORK = ("create", "read", "edit")
READ = ("read",)
SALES = ("account", "contact", "lead", "deal")
ACTIVITIES = ("task", "note", "call", "meeting", "email_log")
#: Configuration everyone reads to work with records (pick lists, products, queues).
REFERENCE = ("tag", "custom_field", "pipeline", "stage", "product", "queue", "web_form")

#: The sales ladder, top down; each reports to the one before it, the first to the CEO.
SALES_LADDER = ("VP Sales", "Sales Director", "Sales Manager", "Team Lead", "Sales Rep")


def _grant(*groups: tuple[tuple[str, ...], tuple[str, ...]]) -> dict[str, dict[str, bool]]:
    """``(object types, actions)`` pairs as a permission matrix; later pairs win. Types this
    installation does not have are left out."""
    installed = record_types()
    matrix: dict[str, dict[str, bool]] = {}
    for object_types, actions in groups:
        for object_type in object_types:
            if object_type in installed:
                matrix[object_type] = {a: True for a in actions}
    return matrix


def _everything(actions: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (tuple(record_types()), actions)


def _sales(actions: tuple[str, ...]) -> dict[str, dict[str, bool]]:
    return _grant(
        (REFERENCE, READ),
        (("tag",), WORK),
        (("case", "campaign"), READ),
        (ACTIVITIES, ALL),
        (SALES, actions),
    )


RoleSpec = tuple[str, str | None, str, dict[str, dict[str, bool]], list[tuple[str, str, str]]]


def _role_set() -> list[RoleSpec]:
    """(name, parent, description, permissions, field rules), parents before children."""
    leads = _sales(ALL)
    reps = _sales(("create", "read", "edit", "delete"))
    ladder: list[RoleSpec] = [
        (name, parent, f"Sales hierarchy, level {level}", leads if level < 5 else reps, [])
        for level, (parent, name) in enumerate(
            zip(("CEO", *SALES_LADDER[:-1]), SALES_LADDER, strict=True), 2
        )
    ]
    ladder[-1][4].append(("account", "annual_revenue", "read_only"))
    return [
        ("CEO", None, "Sees and reports on everything below", _grant(_everything(ALL)), []),
        *ladder,
        (
            "Marketing User",
            "CEO",
            "Works leads, contacts and campaigns; reads deals without editing them",
            _grant(
                (REFERENCE, READ),
                (("tag",), WORK),
                (("account", "contact", "lead"), WORK),
                (("deal", "case"), READ),
                (("campaign",), ALL),
                (ACTIVITIES, WORK),
            ),
            [("deal", "amount", "read_only")],
        ),
        (
            "Service Agent",
            "CEO",
            "Works cases; keeps customer details current",
            _grant(
                (REFERENCE, READ),
                (("account", "contact"), ("read", "edit")),
                (("case",), WORK),
                (("campaign",), READ),
                (ACTIVITIES, WORK),
            ),
            [("account", "annual_revenue", "hidden")],
        ),
        (
            "Finance User",
            "CEO",
            "Reads and exports accounts and deals; edits nothing in sales",
            _grant(
                (REFERENCE, READ),
                (("account", "deal"), ("read", "export")),
                (("contact", "case", "campaign"), READ),
                (ACTIVITIES, READ),
            ),
            [],
        ),
        ("Read-only", "CEO", "Reads everything, changes nothing", _grant(_everything(READ)), []),
    ]


ACCESS_ADMIN = "Access Admin"


def load_access_model(ctx: DemoContext, departments: list[Department]) -> dict[str, Role]:
    """The standard roles, their permissions, org-wide defaults and sharing rules, written
    through the services as the demo's superuser (so the security log shows them). A second
    load finds the roles by name and sets their permissions again."""
    actor = ctx.actor
    roles = {r.name: r for r in Role.objects.all()}
    role_set = _role_set()
    advance = ctx.progress("Roles", len(role_set) + 1)
    admin_role = roles.get(ACCESS_ADMIN) or services.create_role(
        actor=actor,
        data={
            "name": ACCESS_ADMIN,
            "description": "Business admin: manages people, roles, permissions and sharing",
            "manages_access": True,
        },
    )
    services.set_object_permissions(
        actor=actor, role_id=admin_role.pk, permissions=_grant(_everything(ALL))
    )
    roles[ACCESS_ADMIN] = admin_role
    advance(1)
    for name, parent, description, permissions, fields in role_set:
        if name not in roles:
            roles[name] = services.create_role(
                actor=actor,
                data={
                    "name": name,
                    "description": description,
                    "parent_id": roles[parent].pk if parent else None,
                },
            )
        services.set_object_permissions(
            actor=actor, role_id=roles[name].pk, permissions=permissions
        )
        services.set_field_permissions(
            actor=actor,
            role_id=roles[name].pk,
            fields=[{"object_type": t, "field": f, "access": a} for t, f, a in fields],
        )
        advance(1)
    for object_type in ("deal", "lead"):
        services.set_sharing_default(
            actor=actor,
            object_type=object_type,
            data={"access": "private", "department_level": "read"},
        )
    by_kind = {d.kind: d for d in departments}
    rules = [
        (
            "Open deals readable by marketing",
            [{"field": "closed_at", "op": "is_null", "value": True}],
            "department",
            by_kind.get(Department.Kind.MARKETING),
        ),
        (
            "Closed deals readable by finance",
            [{"field": "closed_at", "op": "is_null", "value": False}],
            "role",
            roles["Finance User"],
        ),
    ]
    existing = set(SharingRule.objects.values_list("name", flat=True))
    for name, criteria, grantee_type, grantee in rules:
        if grantee is None or name in existing:
            continue
        services.create_sharing_rule(
            actor=actor,
            data={
                "name": name,
                "object_type": "deal",
                "criteria": criteria,
                "grantee_type": grantee_type,
                "grantee_id": grantee.pk,
                "level": "read",
            },
        )
    return roles


def _sales_roles(count: int) -> list[str]:
    """Roles for ``count`` sales people: one of each level above Sales Rep per four people
    (the lowest levels first), everyone else a Sales Rep."""
    leaders = list(SALES_LADDER[:-1][::-1][: count // 4])[::-1]
    return leaders + ["Sales Rep"] * (count - len(leaders))


#: The role each department's people get (sales people climb the ladder instead).
ROLE_BY_DEPARTMENT = {
    Department.Kind.MARKETING: "Marketing User",
    Department.Kind.SERVICE: "Service Agent",
    Department.Kind.FINANCE: "Finance User",
    Department.Kind.IT: "Read-only",
}


def assign_roles(
    ctx: DemoContext, users: list[User], departments: list[Department], roles: dict[str, Role]
) -> None:
    """Each demo user's role by department; IT's first person is the Access Admin."""
    kind_of: dict[Any, str] = {d.pk: d.kind for d in departments}
    by_kind: dict[str, list[User]] = {}
    for user in users:
        by_kind.setdefault(kind_of.get(user.department_id, ""), []).append(user)
    names: dict[Any, str] = {}
    sales = by_kind.get(Department.Kind.SALES, [])
    names |= {u.pk: name for u, name in zip(sales, _sales_roles(len(sales)), strict=True)}
    for kind, name in ROLE_BY_DEPARTMENT.items():
        names |= {u.pk: name for u in by_kind.get(kind, [])}
    it = by_kind.get(Department.Kind.IT, [])
    if it:
        names[it[0].pk] = ACCESS_ADMIN
    changed = []
    for user in users:
        role = roles[names[user.pk]] if user.pk in names else None
        if user.role_id != (role.pk if role else None):
            user.role = role
            changed.append(user)
    with transaction.atomic():
        User.objects.bulk_update(changed, ["role"], batch_size=500)
        audit.record(
            "user_changed",
            actor=ctx.actor,
            details={"action": "demo_roles", "users": len(changed)},
        )

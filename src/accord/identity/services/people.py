"""Writes to users and departments."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from accord.core.errors import Conflict, FieldError, InvalidInput, PermissionDenied
from accord.core.validation import Cleaner, normalize_email
from accord.identity import audit
from accord.identity.models import (
    Department,
    Grantee,
    Role,
    Team,
    User,
)
from accord.identity.services._common import (
    Data,
    _apply,
    _change,
    _check_not_granted_by_rules,
    _find,
    _get,
    _ids,
    _json,
    _pick,
    _resolve_many,
    _unique_name,
    check_manager,
)


def check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(
            "password is too weak", [FieldError("password", m) for m in exc.messages]
        ) from None


def _generated_password(user: User) -> str:
    plain = secrets.token_urlsafe(18)
    check_password(plain, user)
    return plain


def create_user(
    *,
    username: str,
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    department: Department | None = None,
    is_superuser: bool = False,
) -> tuple[User, str]:
    """A new user and the password they sign in with (generated when not given).

    For the command line and first start, which act as the operator; the API goes through
    :func:`add_user`, which checks that the caller manages access.
    """
    if not username or len(username) > 150:
        raise InvalidInput.field("username", "must be 1 to 150 characters")
    plain = password or secrets.token_urlsafe(16)
    candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
    check_password(plain, candidate)
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"user {username!r} already exists")
        candidate.department = department
        candidate.is_superuser = is_superuser
        candidate.is_staff = is_superuser
        candidate.set_password(plain)
        candidate.save()
        audit.record(
            "user_created",
            target=candidate,
            details={"action": "create", "superuser": is_superuser, "by": "operator"},
        )
    return candidate, plain


def check_user(data: Data, user: User | None) -> dict[str, Any]:
    """Validated attributes of a new (``user`` None) or changed user."""
    c = Cleaner(data, creating=user is None)
    if "username" in data and user is not None:
        c.error("username", "cannot change; it is how the person signs in")
    if user is None:
        c.text("username", required=True)
        username = c.out.get("username", "")
        if username:
            try:
                User.username_validator(username)
            except ValidationError as exc:
                c.error("username", " ".join(exc.messages))
            if len(username) > 150:
                c.error("username", "at most 150 characters")
    for key in ("first_name", "last_name"):
        c.text(key)
        if len(c.out.get(key, "")) > 150:
            c.error(key, "at most 150 characters")
    c.text("email", normalize=normalize_email)
    c.related("department_id", lambda v: _find(Department, v), attr="department", what="department")
    c.related("role_id", lambda v: _find(Role, v), attr="role", what="role")
    _resolve_many(c, "team_ids", Team, "team", attr="teams")
    cleaned = c.done()
    if user is None and User.objects.filter(username__iexact=cleaned["username"]).exists():
        raise Conflict(f"A user named {cleaned['username']!r} already exists")
    return cleaned


def _check_may_change_user(actor: Any, user: User) -> None:
    # Otherwise an access manager could reset a superuser's password and sign in as them.
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied("Only a superuser may change a superuser")


def do_apply_user(user: User, cleaned: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set ``cleaned`` on ``user`` (saved) and return what changed as ``{field: [old, new]}``."""
    columns = dict(cleaned)
    teams = columns.pop("teams", None)
    changed = _apply(user, columns)
    if changed:
        user.save()
    if teams is not None:
        before = list(user.teams.all())
        if {t.pk for t in before} != {t.pk for t in teams}:
            changed["team_ids"] = [_ids(before), _ids(teams)]
            user.teams.set(teams)
    return changed


def add_user(*, actor: Any, data: Data, request: HttpRequest | None = None) -> tuple[User, str]:
    """A new staff user with the role, department and teams of ``data``, and a generated
    password that is shown to the caller once."""
    with _change("user_created", "create", actor, request) as change:
        check_manager(actor)
        cleaned = check_user(data, None)
        user = User(username=cleaned.pop("username"))
        plain = _generated_password(user)
        user.set_password(plain)
        teams = cleaned.pop("teams", [])
        for key, value in cleaned.items():
            setattr(user, key, value)
        user.save()
        user.teams.set(teams)
        change.log(
            user,
            role_id=_json(user.role),
            department_id=_json(user.department),
            team_ids=_ids(teams),
        )
    return user, plain


def change_user(
    *, actor: Any, user_id: Any, data: Data, request: HttpRequest | None = None
) -> User:
    """Names, email, department, role and teams of a user; only the keys of ``data`` change."""
    with _change("user_changed", "change", actor, request, user_id) as change:
        check_manager(actor)
        user = _get(User, user_id, "user", lock=True)
        _check_may_change_user(actor, user)
        changed = do_apply_user(user, check_user(data, user))
        change.log(user, changed=changed)
    return user


def _set_active(actor: Any, user_id: Any, request: HttpRequest | None, *, active: bool) -> User:
    kind = "user_changed" if active else "user_deactivated"
    action = "reactivate" if active else "deactivate"
    with _change(kind, action, actor, request, user_id) as change:
        check_manager(actor)
        user = _get(User, user_id, "user", lock=True)
        _check_may_change_user(actor, user)
        if not active and user.pk == getattr(actor, "pk", None):
            raise Conflict("You cannot deactivate yourself; ask another access manager")
        if user.is_active != active:
            user.is_active = active
            user.save(update_fields=["is_active"])
        change.log(user)
    return user


def deactivate_user(*, actor: Any, user_id: Any, request: HttpRequest | None = None) -> User:
    """The user can no longer sign in; their sessions and tokens stop working at once (both
    check ``is_active`` on every request). Their records stay theirs."""
    return _set_active(actor, user_id, request, active=False)


def reactivate_user(*, actor: Any, user_id: Any, request: HttpRequest | None = None) -> User:
    return _set_active(actor, user_id, request, active=True)


def reset_password(
    *, actor: Any, user_id: Any, request: HttpRequest | None = None
) -> tuple[User, str]:
    """A new generated password for the user, returned once. Their sessions end (Django ties a
    session to the password hash); their API tokens are not touched."""
    with _change("password_reset", "admin_reset", actor, request, user_id) as change:
        check_manager(actor)
        user = _get(User, user_id, "user", lock=True)
        _check_may_change_user(actor, user)
        plain = _generated_password(user)
        user.set_password(plain)
        user.save(update_fields=["password"])
        change.log(user)
    return user, plain


def ensure_department(*, name: str, kind: str = Department.Kind.OTHER) -> Department:
    department, _ = Department.objects.get_or_create(name=name, defaults={"kind": kind})
    return department


def check_department(data: Data, department: Department | None) -> dict[str, Any]:
    c = Cleaner(data, creating=department is None)
    c.text("name", required=True)
    if len(c.out.get("name", "")) > 100:
        c.error("name", "at most 100 characters")
    _pick(c, "kind", Department.Kind.values)
    cleaned = c.done()
    _unique_name(c, Department, department)
    return cleaned


def create_department(*, actor: Any, data: Data, request: HttpRequest | None = None) -> Department:
    with _change("department_changed", "create", actor, request) as change:
        check_manager(actor)
        department = Department(**check_department(data, None))
        department.save()
        change.log(department, name=department.name)
    return department


def change_department(
    *, actor: Any, department_id: Any, data: Data, request: HttpRequest | None = None
) -> Department:
    with _change("department_changed", "change", actor, request, department_id) as change:
        check_manager(actor)
        department = _get(Department, department_id, "department", lock=True)
        changed = _apply(department, check_department(data, department))
        department.save()
        change.log(department, changed=changed)
    return department


def delete_department(
    *, actor: Any, department_id: Any, request: HttpRequest | None = None
) -> None:
    """Only an empty department goes: no members, no teams, no sharing rule granting to it."""
    with _change("department_changed", "delete", actor, request, department_id) as change:
        check_manager(actor)
        department = _get(Department, department_id, "department", lock=True)
        members = department.members.count()
        if members:
            raise Conflict(f"The department still has {members} members; move them first")
        if department.teams.exists():
            raise Conflict("The department still has teams; move or delete them first")
        _check_not_granted_by_rules([Grantee.DEPARTMENT], department.pk, "department")
        change.log(department, name=department.name)
        department.delete()

"""Reads of people and of the access model.

Two audiences: every signed-in staff member may read the directory (departments, users with
their department and role, roles, teams), which pickers, assignment and the org chart need;
only access managers (:func:`visibility.manages_access`) read the rest: permissions, field
security, territories, sharing, the security log and "explain access".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Count, Model, QuerySet

from accord.core import pagination
from accord.core.errors import InvalidInput, NotFound, PermissionDenied
from accord.core.ids import parse_id
from accord.core.models import record_types
from accord.core.pagination import ListParams
from accord.identity import audit, visibility
from accord.identity.models import (
    Department,
    FieldPermission,
    ObjectPermission,
    RecordShare,
    Role,
    SecurityEvent,
    SharingDefault,
    SharingRule,
    Team,
    Territory,
    User,
)

M = TypeVar("M", bound=Model)

NAME_SORTS = {"name": "name", "created_at": "created_at"}


def user_by_username(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def check_staff(user: Any) -> None:
    """The directory is for signed-in, active people."""
    if user is None or not getattr(user, "is_active", False):
        raise PermissionDenied("Sign in to read the directory")


def check_manager_read(user: Any) -> None:
    if not visibility.manages_access(user):
        raise PermissionDenied("Only access managers may read this")


def _one(queryset: QuerySet[M], raw: Any, what: str) -> M:
    pk = parse_id(raw)
    row = queryset.filter(pk=pk).first() if pk is not None else None
    if row is None:
        raise NotFound(f"No {what} with id {raw}")
    return row


def _uuid(field: str, raw: Any) -> Any:
    pk = parse_id(raw)
    if pk is None:
        raise InvalidInput.field(field, "must be a UUID")
    return pk


def _page(
    queryset: QuerySet[M], params: ListParams, sorts: Mapping[str, str], default: str
) -> tuple[list[M], str | None]:
    sort = pagination.parse_sort(params.sort, sorts, default=default)
    return pagination.page(queryset, sort=sort, cursor=params.cursor, limit=params.limit)


# -- the directory ---------------------------------------------------------------------------


def _departments() -> QuerySet[Department]:
    return Department.objects.annotate(member_count=Count("members", distinct=True))


def list_departments(user: Any, params: ListParams) -> tuple[list[Department], str | None]:
    check_staff(user)
    return _page(_departments(), params, NAME_SORTS, "name")


def get_department(user: Any, department_id: Any) -> Department:
    check_staff(user)
    return _one(_departments(), department_id, "department")


def _users() -> QuerySet[User]:
    return User.objects.select_related("department", "role").prefetch_related("teams")


def list_users(
    user: Any,
    params: ListParams,
    *,
    department_id: Any = None,
    role_id: Any = None,
    team_id: Any = None,
    is_active: bool | None = None,
) -> tuple[list[User], str | None]:
    check_staff(user)
    qs = _users()
    if department_id is not None:
        qs = qs.filter(department_id=_uuid("department_id", department_id))
    if role_id is not None:
        qs = qs.filter(role_id=_uuid("role_id", role_id))
    if team_id is not None:
        qs = qs.filter(teams=_uuid("team_id", team_id))
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    sorts = {"username": "username", "date_joined": "date_joined"}
    return _page(qs, params, sorts, "username")


def get_user(user: Any, user_id: Any) -> User:
    check_staff(user)
    return _one(_users(), user_id, "user")


def _roles() -> QuerySet[Role]:
    return Role.objects.annotate(member_count=Count("members", distinct=True))


def list_roles(
    user: Any, params: ListParams, *, parent_id: Any = None
) -> tuple[list[Role], str | None]:
    """Roles; ``sort=path`` lists them as a tree (each role right after its manager's)."""
    check_staff(user)
    qs = _roles()
    if parent_id is not None:
        qs = qs.filter(parent_id=_uuid("parent_id", parent_id))
    return _page(qs, params, {**NAME_SORTS, "path": "path"}, "name")


def get_role(user: Any, role_id: Any) -> Role:
    check_staff(user)
    return _one(_roles(), role_id, "role")


def _teams() -> QuerySet[Team]:
    return Team.objects.prefetch_related("members")


def list_teams(
    user: Any, params: ListParams, *, department_id: Any = None
) -> tuple[list[Team], str | None]:
    check_staff(user)
    qs = _teams()
    if department_id is not None:
        qs = qs.filter(department_id=_uuid("department_id", department_id))
    return _page(qs, params, NAME_SORTS, "name")


def get_team(user: Any, team_id: Any) -> Team:
    check_staff(user)
    return _one(_teams(), team_id, "team")


# -- permissions and field security (access managers) ---------------------------------------


def object_permissions(user: Any, role_id: Any) -> tuple[Role, dict[str, frozenset[str]]]:
    """The role and what it may do per object type (types left out: nothing)."""
    check_manager_read(user)
    role = _one(Role.objects.all(), role_id, "role")
    matrix = {
        p.object_type: frozenset(a for a in visibility.ACTIONS if getattr(p, f"can_{a}"))
        for p in ObjectPermission.objects.filter(role=role).order_by("object_type")
    }
    return role, matrix


def field_permissions(user: Any, role_id: Any) -> tuple[Role, list[FieldPermission]]:
    check_manager_read(user)
    role = _one(Role.objects.all(), role_id, "role")
    return role, list(FieldPermission.objects.filter(role=role).order_by("object_type", "field"))


def _territories() -> QuerySet[Territory]:
    return Territory.objects.prefetch_related("members")


def list_territories(user: Any, params: ListParams) -> tuple[list[Territory], str | None]:
    check_manager_read(user)
    return _page(_territories(), params, NAME_SORTS, "name")


def get_territory(user: Any, territory_id: Any) -> Territory:
    check_manager_read(user)
    return _one(_territories(), territory_id, "territory")


# -- sharing (access managers; manual shares also owners and editors) -----------------------


def owned_object_types() -> list[str]:
    """Object types whose records have an owner, the ones record sharing applies to (the
    others are visible to everyone whose role may read the type)."""
    return sorted(
        t for t, m in record_types().items() if any(f.name == "owner" for f in m._meta.fields)
    )


@dataclass(frozen=True)
class SharingDefaultView:
    object_type: str
    access: str
    department_level: str
    #: False while no admin has set it: ``visibility.DEFAULT_ACCESS`` applies.
    configured: bool


def sharing_defaults(user: Any) -> list[SharingDefaultView]:
    """The org-wide default of every object type with owners, configured or not."""
    check_manager_read(user)
    rows = {row.object_type: row for row in SharingDefault.objects.all()}
    return [
        SharingDefaultView(t, rows[t].access, rows[t].department_level, True)
        if t in rows
        else SharingDefaultView(t, visibility.DEFAULT_ACCESS, "", False)
        for t in owned_object_types()
    ]


def list_sharing_rules(
    user: Any, params: ListParams, *, object_type: str | None = None, active: bool | None = None
) -> tuple[list[SharingRule], str | None]:
    check_manager_read(user)
    qs = SharingRule.objects.all()
    if object_type is not None:
        qs = qs.filter(object_type=object_type)
    if active is not None:
        qs = qs.filter(active=active)
    return _page(qs, params, NAME_SORTS, "name")


def get_sharing_rule(user: Any, rule_id: Any) -> SharingRule:
    check_manager_read(user)
    return _one(SharingRule.objects.all(), rule_id, "sharing rule")


def shared_record(user: Any, object_type: Any, record_id: Any) -> Model:
    """The record a manual share is about, if ``user`` may see it (else 404)."""
    model = record_types().get(object_type) if isinstance(object_type, str) else None
    if model is None:
        raise InvalidInput.field("object_type", f"{object_type!r} is not an object type")
    if object_type not in owned_object_types():
        raise InvalidInput.field(
            "object_type", f"{object_type} records have no owner, so sharing does not apply"
        )
    return visibility.visible_one(user, model.objects.all(), record_id)


def check_may_share(user: Any, record: Model) -> None:
    """The record's owner, anyone who may edit it, and access managers share it by hand and
    see whom it is shared with."""
    if getattr(record, "owner_id", None) == getattr(user, "pk", None):
        return
    if visibility.can_edit(user, record) or visibility.manages_access(user):
        return
    raise PermissionDenied("Only the owner, its editors and access managers may share this record")


def record_shares(user: Any, object_type: str, record_id: Any) -> list[RecordShare]:
    """Whom one record is shared with by hand (a short list: no pages)."""
    record = shared_record(user, object_type, record_id)
    check_may_share(user, record)
    return list(
        RecordShare.objects.filter(object_type=object_type, record_id=record.pk).order_by(
            "created_at", "id"
        )
    )


# -- the security log and "explain access" (access managers) ---------------------------------


def list_security_events(
    user: Any,
    params: ListParams,
    *,
    kind: str | None = None,
    actor_id: Any = None,
    outcome: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[list[SecurityEvent], str | None]:
    """Newest first; ``since`` inclusive, ``until`` exclusive."""
    check_manager_read(user)
    qs = SecurityEvent.objects.select_related("actor")
    if kind is not None:
        if kind not in audit.KINDS:
            raise InvalidInput.field("kind", f"unknown kind; use one of: {', '.join(audit.KINDS)}")
        qs = qs.filter(kind=kind)
    if actor_id is not None:
        qs = qs.filter(actor_id=_uuid("actor_id", actor_id))
    if outcome is not None:
        qs = qs.filter(outcome=outcome)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    return _page(qs, params, {"at": "at"}, "-at")


@dataclass(frozen=True)
class AccessExplanation:
    user: User
    object_type: str
    record_id: Any
    explanation: visibility.Explanation
    can_delete: bool
    hidden_fields: list[str]
    read_only_fields: list[str]


def explain_access(
    user: Any, *, user_id: Any, object_type: str, record_id: Any
) -> AccessExplanation:
    """Why the person ``user_id`` may (or may not) see and edit one record. The caller must
    manage access and see the record themselves (else 404, like an unknown record)."""
    check_manager_read(user)
    subject = _one(User.objects.all(), user_id, "user")
    model = record_types().get(object_type)
    if model is None:
        raise InvalidInput.field("object_type", f"{object_type!r} is not an object type")
    record = _one(visibility.visible(user, model.objects.all()), record_id, object_type)
    return AccessExplanation(
        user=subject,
        object_type=object_type,
        record_id=record.pk,
        explanation=visibility.explain(subject, record),
        can_delete=visibility.can_delete(subject, record),
        hidden_fields=sorted(visibility.hidden_fields(subject, object_type)),
        read_only_fields=sorted(visibility.read_only_fields(subject, object_type)),
    )

"""Factories and snapshots for tests of the access model API (plain functions, keyword-only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Model

from accord.identity import visibility
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
from accord.identity.services import do_place_role

PROBLEM = "application/problem+json"
ALL = {a: True for a in visibility.ACTIONS}
READ = {"read": True}

#: Every table of the access model: equal snapshots mean an attempt changed nothing.
ACCESS_TABLES: tuple[type[Model], ...] = (
    Department,
    Role,
    ObjectPermission,
    FieldPermission,
    Team,
    Team.members.through,
    Territory,
    Territory.members.through,
    SharingDefault,
    SharingRule,
    RecordShare,
)


def access_state() -> dict[str, list[dict[str, Any]]]:
    state = {m._meta.label: list(m._default_manager.order_by("pk").values()) for m in ACCESS_TABLES}
    state["users"] = list(
        User.objects.order_by("pk").values(
            "pk", "first_name", "last_name", "email", "department_id", "role_id", "is_active",
            "password",
        )
    )  # fmt: skip
    return state


def make_role(
    *,
    name: str,
    parent: Role | None = None,
    permissions: Mapping[str, Mapping[str, bool]] | None = None,
    manages_access: bool = False,
    hidden: Iterable[tuple[str, str]] = (),
    read_only: Iterable[tuple[str, str]] = (),
) -> Role:
    """A role with object permissions (``{object_type: {action: True}}``; default: all on
    accounts and contacts) and field rules ``(object_type, field)``."""
    role = Role(name=name, manages_access=manages_access)
    do_place_role(role, parent)
    role.save()
    matrix = permissions if permissions is not None else {"account": ALL, "contact": ALL}
    for object_type, actions in matrix.items():
        ObjectPermission.objects.create(
            role=role, object_type=object_type, **{f"can_{a}": v for a, v in actions.items()}
        )
    for object_type, field in hidden:
        FieldPermission.objects.create(
            role=role, object_type=object_type, field=field, access="hidden"
        )
    for object_type, field in read_only:
        FieldPermission.objects.create(
            role=role, object_type=object_type, field=field, access="read_only"
        )
    return role


def with_role(user: User, role: Role | None) -> User:
    user.role = role
    user.save(update_fields=["role"])
    return user


def events(kind: str, *, outcome: str | None = None, actor: Any = None) -> list[SecurityEvent]:
    """Security events of ``kind``, oldest first (by an ``actor``: not the operator's)."""
    qs = SecurityEvent.objects.filter(kind=kind).order_by("at", "id")
    if outcome is not None:
        qs = qs.filter(outcome=outcome)
    if actor is not None:
        qs = qs.filter(actor=actor)
    return list(qs)


def error_fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def put(client: Any, path: str, data: Any) -> Any:
    """PUT ``data`` as JSON (the shared test client speaks JSON for the other methods)."""
    return client._send("put", path, data)

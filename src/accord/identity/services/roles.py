"""Writes to roles (the hierarchy) and to their object and field permissions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.http import HttpRequest

from accord.core.errors import Conflict, FieldError, InvalidInput
from accord.core.models import record_types
from accord.core.validation import Cleaner
from accord.identity import visibility
from accord.identity.models import (
    FieldAccess,
    FieldPermission,
    Grantee,
    ObjectPermission,
    Role,
)
from accord.identity.services._common import (
    _MAX_PATH,
    IDENTIFYING_FIELDS,
    Data,
    _apply,
    _change,
    _check_not_granted_by_rules,
    _find,
    _flag,
    _get,
    _json,
    _unique_name,
    check_manager,
)


def do_place_role(role: Role, parent: Role | None) -> None:
    """Set ``role``'s materialised ``path`` and ``depth`` below ``parent`` (not saved)."""
    role.parent = parent
    role.path = f"{parent.path if parent else '/'}{role.pk}/"
    role.depth = parent.depth + 1 if parent else 0


def _lock_roles() -> None:
    # Two concurrent moves (A under B, B under A) would each pass the cycle check alone; one
    # lock over the (few) role rows makes hierarchy changes take turns.
    list(Role.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def check_role(data: Data, role: Role | None) -> dict[str, Any]:
    c = Cleaner(data, creating=role is None)
    c.text("name", required=True)
    if len(c.out.get("name", "")) > 100:
        c.error("name", "at most 100 characters")
    c.text("description")
    if len(c.out.get("description", "")) > 500:
        c.error("description", "at most 500 characters")
    parent = c.related("parent_id", lambda v: _find(Role, v), attr="parent", what="role")
    if role is not None and isinstance(parent, Role) and parent.path.startswith(role.path):
        c.error("parent_id", "a role cannot move under itself or a role below it")
    _flag(c, "mfa_required")
    _flag(c, "manages_access")
    cleaned = c.done()
    _unique_name(c, Role, role)
    return cleaned


def do_move_role(role: Role, parent: Role | None) -> None:
    """Place ``role`` under ``parent`` and recompute the path and depth of its whole subtree."""
    old_path, old_depth = role.path, role.depth
    do_place_role(role, parent)
    below = list(Role.objects.filter(path__startswith=old_path).exclude(pk=role.pk))
    for child in below:
        child.path = role.path + child.path[len(old_path) :]
        child.depth = child.depth - old_depth + role.depth
    deepest = max([role.path, *(r.path for r in below)], key=len)
    if len(deepest) > _MAX_PATH:
        raise InvalidInput.field("parent_id", "the hierarchy would be too deep")
    role.save()
    Role.objects.bulk_update(below, ["path", "depth"])


def create_role(*, actor: Any, data: Data, request: HttpRequest | None = None) -> Role:
    """A role, placed under ``parent_id`` (or at the top). It starts without object
    permissions: its people may do nothing until :func:`set_object_permissions`."""
    with _change("role_changed", "create", actor, request) as change:
        check_manager(actor)
        _lock_roles()
        cleaned = check_role(data, None)
        parent = cleaned.pop("parent", None)
        role = Role(**cleaned)
        do_place_role(role, parent)
        if len(role.path) > _MAX_PATH:
            raise InvalidInput.field("parent_id", "the hierarchy would be too deep")
        role.save()
        change.log(
            role,
            name=role.name,
            parent_id=_json(parent),
            manages_access=role.manages_access,
            mfa_required=role.mfa_required,
        )
    return role


def change_role(
    *, actor: Any, role_id: Any, data: Data, request: HttpRequest | None = None
) -> Role:
    """Rename, describe or flag a role, or move it (with everything below it) elsewhere."""
    with _change("role_changed", "change", actor, request, role_id) as change:
        check_manager(actor)
        _lock_roles()
        role = _get(Role, role_id, "role")
        cleaned = check_role(data, role)
        changed: dict[str, list[Any]] = {}
        if "parent" in cleaned:
            parent = cleaned.pop("parent")
            if parent != role.parent:
                changed["parent_id"] = [_json(role.parent), _json(parent)]
                do_move_role(role, parent)
        changed |= _apply(role, cleaned)
        role.save()
        change.log(role, changed=changed)
    return role


def delete_role(*, actor: Any, role_id: Any, request: HttpRequest | None = None) -> None:
    """Only an unused role goes: no people, no roles below it, no sharing rule granting to it.
    Its object and field permissions go with it."""
    with _change("role_changed", "delete", actor, request, role_id) as change:
        check_manager(actor)
        _lock_roles()
        role = _get(Role, role_id, "role")
        members = role.members.count()
        if members:
            raise Conflict(f"{members} people still have this role; give them another first")
        if role.children.exists():
            raise Conflict("Roles still report to this role; move them first")
        _check_not_granted_by_rules([Grantee.ROLE, Grantee.ROLE_AND_BELOW], role.pk, "role")
        change.log(role, name=role.name)
        role.delete()


def check_object_permissions(permissions: Any) -> dict[str, frozenset[str]]:
    """``{object_type: {action: bool}}`` as the set of allowed actions per object type."""
    if not isinstance(permissions, Mapping):
        raise InvalidInput.field("permissions", "must map object types to their actions")
    types = record_types()
    errors: list[FieldError] = []
    matrix: dict[str, frozenset[str]] = {}
    for object_type, actions in permissions.items():
        where = f"permissions.{object_type}"
        if object_type not in types:
            errors.append(FieldError(where, f"{object_type!r} is not an object type"))
            continue
        if not isinstance(actions, Mapping) or set(actions) - set(visibility.ACTIONS):
            errors.append(FieldError(where, f"must map {', '.join(visibility.ACTIONS)} to bools"))
            continue
        if not all(isinstance(v, bool) for v in actions.values()):
            errors.append(FieldError(where, "every action must be true or false"))
            continue
        allowed = frozenset(a for a, v in actions.items() if v)
        if allowed and "read" not in allowed:
            errors.append(FieldError(where, "create, edit, delete and export need read"))
        elif "delete" in allowed and "edit" not in allowed:
            errors.append(FieldError(where, "delete needs edit"))
        else:
            matrix[object_type] = allowed
    if errors:
        raise InvalidInput("The permissions are invalid", errors)
    return matrix


def set_object_permissions(
    *, actor: Any, role_id: Any, permissions: Any, request: HttpRequest | None = None
) -> dict[str, frozenset[str]]:
    """Replace the role's whole permission matrix: object types left out may not be used at
    all by the role's people. Returns the matrix as stored."""
    with _change("permission_changed", "set", actor, request, role_id) as change:
        check_manager(actor)
        role = _get(Role, role_id, "role", lock=True)
        matrix = check_object_permissions(permissions)
        before = {
            p.object_type: frozenset(a for a in visibility.ACTIONS if getattr(p, f"can_{a}"))
            for p in ObjectPermission.objects.filter(role=role)
        }
        ObjectPermission.objects.filter(role=role).delete()
        ObjectPermission.objects.bulk_create(
            ObjectPermission(
                role=role,
                object_type=object_type,
                **{f"can_{a}": a in allowed for a in visibility.ACTIONS},
            )
            for object_type, allowed in matrix.items()
        )
        changed = {
            t: [sorted(before.get(t, ())), sorted(matrix.get(t, ()))]
            for t in sorted(set(before) | set(matrix))
            if before.get(t, frozenset()) != matrix.get(t, frozenset())
        }
        change.log(role, changed=changed)
    return matrix


def _address_groups(model: type[Model]) -> dict[str, str]:
    """Columns shown in the payload as one address (``billing_city`` → ``billing_address``)."""
    names = [f.name for f in model._meta.concrete_fields]
    prefixes = [n.removesuffix("_street") for n in names if n.endswith("_street")]
    return {n: f"{p}_address" for p in prefixes for n in names if n.startswith(f"{p}_")}


def _has_relation(model: type[Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def record_fields(object_type: str) -> frozenset[str]:
    """The payload keys of ``object_type`` that field-level security can address: its columns
    (a relation by ``<name>_id``), addresses as one field, and ``emails``/``phones``/``tags``.
    Custom fields are ``custom_fields.<key>`` and checked against their definitions."""
    model = record_types()[object_type]
    grouped = _address_groups(model)
    keys: set[str] = set(grouped.values())
    for f in model._meta.concrete_fields:
        if f.name in grouped or f.name == "custom_fields":
            continue
        keys.add(f.attname)
    for relation, key in (("email_rows", "emails"), ("phone_rows", "phones"), ("tags", "tags")):
        if _has_relation(model, relation):
            keys.add(key)
    return frozenset(keys)


def _field_problem(object_type: str, field: str) -> str | None:
    """Why ``field`` cannot carry field-level security on ``object_type`` (None: it can)."""
    if field.startswith("custom_fields."):
        key = field.removeprefix("custom_fields.")
        # identity sits below parties, so the definitions are looked up by app label.
        custom_field = apps.get_model("parties", "CustomField")
        if not custom_field.objects.filter(record_type=object_type, key=key).exists():
            return f"{object_type} has no custom field {key!r}"
        return None
    known = record_fields(object_type)
    if field in known:
        return None
    grouped = _address_groups(record_types()[object_type])
    if field in grouped:
        return f"use {grouped[field]!r}: the address is one field"
    if f"{field}_id" in known:
        return f"use {field}_id"
    if field == "custom_fields":
        return "name one custom field: custom_fields.<key>"
    return f"{object_type} has no field {field!r}"


def check_field_permissions(fields: Any) -> list[tuple[str, str, str]]:
    """``[{object_type, field, access}]`` as checked ``(object_type, field, access)`` rows."""
    if not isinstance(fields, list | tuple):
        raise InvalidInput.field("fields", "must be a list of {object_type, field, access}")
    types = record_types()
    errors: list[FieldError] = []
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(fields):
        where = f"fields[{index}]"
        if not isinstance(item, Mapping) or set(item) != {"object_type", "field", "access"}:
            errors.append(FieldError(where, "must be an object with object_type, field, access"))
            continue
        object_type, name, access = item["object_type"], item["field"], item["access"]
        if object_type not in types:
            errors.append(FieldError(f"{where}.object_type", f"{object_type!r} is not one"))
            continue
        if access not in FieldAccess.values:
            errors.append(FieldError(f"{where}.access", "must be hidden or read_only"))
            continue
        problem = _field_problem(object_type, name) if isinstance(name, str) else "is required"
        if problem is not None:
            errors.append(FieldError(f"{where}.field", problem))
            continue
        if access == FieldAccess.HIDDEN and name in IDENTIFYING_FIELDS:
            errors.append(FieldError(f"{where}.field", f"{name} identifies the record"))
            continue
        if (object_type, name) in seen:
            errors.append(FieldError(where, f"{object_type}.{name} is listed twice"))
            continue
        seen.add((object_type, name))
        rows.append((object_type, name, access))
    if errors:
        raise InvalidInput("The field permissions are invalid", errors)
    return rows


def set_field_permissions(
    *, actor: Any, role_id: Any, fields: Any, request: HttpRequest | None = None
) -> list[FieldPermission]:
    """Replace every field-level rule of the role; fields left out are visible and editable
    (as far as the role's object permissions go)."""
    with _change("field_permission_changed", "set", actor, request, role_id) as change:
        check_manager(actor)
        role = _get(Role, role_id, "role", lock=True)
        rows = check_field_permissions(fields)
        before = {
            (fp.object_type, fp.field): fp.access
            for fp in FieldPermission.objects.filter(role=role)
        }
        after = {(t, f): a for t, f, a in rows}
        FieldPermission.objects.filter(role=role).delete()
        stored = FieldPermission.objects.bulk_create(
            FieldPermission(role=role, object_type=t, field=f, access=a) for t, f, a in rows
        )
        changed = {
            f"{t}.{f}": [before.get((t, f)), after.get((t, f))]
            for t, f in sorted(set(before) | set(after))
            if before.get((t, f)) != after.get((t, f))
        }
        change.log(role, changed=changed)
    return stored

"""What the identity services share: the access-manager check, the change that is logged to the
security log, lookups and small input checks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest

from accord.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from accord.core.ids import parse_id
from accord.core.validation import MISSING, Cleaner
from accord.identity import audit, visibility
from accord.identity.models import (
    Role,
    SharingRule,
)

M = TypeVar("M", bound=Model)
Data = Mapping[str, Any]

#: Fields that identify a record; field-level security may freeze them but never hide them.
IDENTIFYING_FIELDS = frozenset({"id", "version", "created_at", "updated_at", "owner_id"})
#: Bounds on lists in one request, so a body cannot make one transaction unbounded.
MAX_MEMBERS = 1000
#: ``Role.path`` holds the ids from the top down; its column bounds the hierarchy's depth.
_MAX_PATH = Role._meta.get_field("path").max_length or 2000


def check_manager(actor: Any) -> None:
    if not visibility.manages_access(actor):
        raise PermissionDenied("Only access managers may change people, roles and sharing")


#: The kind of row each security event kind's target is.
_TARGETS = {
    "user_created": "user",
    "user_changed": "user",
    "user_deactivated": "user",
    "password_reset": "user",
    "department_changed": "department",
    "role_changed": "role",
    "permission_changed": "role",
    "field_permission_changed": "role",
    "team_changed": "team",
    "territory_changed": "territory",
    "sharing_default_changed": "sharing_default",
    "sharing_rule_changed": "sharing_rule",
    "record_shared": "record_share",
    "record_unshared": "record_share",
}


@dataclass(frozen=True)
class _Change:
    """One change to the access model in progress; :meth:`log` writes its security event."""

    kind: str
    action: str
    actor: Any
    request: HttpRequest | None

    def log(self, target: Model, **details: Any) -> None:
        audit.record(
            self.kind,
            actor=self.actor,
            request=self.request,
            target=target,
            target_type=_TARGETS[self.kind],
            details={"action": self.action, **details},
        )


@contextmanager
def _change(
    kind: str, action: str, actor: Any, request: HttpRequest | None, target_id: Any = None
) -> Iterator[_Change]:
    """The transaction of one change to the access model (``action`` on a row of the kind
    ``_TARGETS[kind]``, ``target_id`` when it exists already).

    A refused or invalid attempt is a security event too ("who tried to make themselves an
    admin?"), so it is logged after the rollback, in its own transaction.
    """
    try:
        with transaction.atomic():
            yield _Change(kind, action, actor, request)
            # Signals bump the grants' generation on saves, but not on bulk writes; and a grant
            # this process computed between the write and the commit must not outlive it.
            visibility.access_model_changed()
            transaction.on_commit(visibility.forget_cached_grants)
    except (PermissionDenied, InvalidInput, Conflict) as exc:
        with transaction.atomic():
            audit.record(
                kind,
                actor=actor,
                request=request,
                outcome="denied" if isinstance(exc, PermissionDenied) else "failed",
                target_type=_TARGETS[kind],
                details={
                    "action": action,
                    "target_id": str(target_id) if target_id is not None else "",
                    "error": exc.detail,
                    "errors": [{"field": e.field, "message": e.message} for e in exc.errors],
                },
            )
        raise


def _find(model: type[M], raw: Any) -> M | None:
    pk = parse_id(raw)
    return model._default_manager.filter(pk=pk).first() if pk is not None else None


def _get(model: type[M], raw: Any, what: str, *, lock: bool = False) -> M:
    """The row with id ``raw`` (under a row lock with ``lock``); 404 when there is none."""
    pk = parse_id(raw)
    manager = model._default_manager
    qs = manager.select_for_update() if lock else manager.all()
    row = qs.filter(pk=pk).first() if pk is not None else None
    if row is None:
        raise NotFound(f"No {what} with id {raw}")
    return row


def _resolve_many(
    cleaner: Cleaner, key: str, model: type[M], what: str, *, attr: str
) -> list[M] | None:
    """The rows a list of ids names (``member_ids``), recording an error for each unknown id."""
    raw = cleaner.get(key)
    if raw is MISSING:
        return None
    if not isinstance(raw, list | tuple):
        cleaner.error(key, "must be a list of ids; send [] for none")
        return None
    if len(raw) > MAX_MEMBERS:
        cleaner.error(key, f"at most {MAX_MEMBERS} ids")
        return None
    ids = [parse_id(v) for v in raw]
    found = {row.pk: row for row in model._default_manager.filter(pk__in=[i for i in ids if i])}
    rows: list[M] = []
    for index, (value, pk) in enumerate(zip(raw, ids, strict=True)):
        row = found.get(pk) if pk is not None else None
        if row is None:
            cleaner.error(f"{key}[{index}]", f"unknown {what} {value}")
        elif row not in rows:
            rows.append(row)
    cleaner.out[attr] = rows
    return rows


def _flag(cleaner: Cleaner, key: str) -> None:
    value = cleaner.get(key)
    if value is MISSING:
        return
    if not isinstance(value, bool):
        cleaner.error(key, "must be true or false")
        return
    cleaner.out[key] = value


def _pick(cleaner: Cleaner, key: str, choices: Sequence[str], *, required: bool = False) -> None:
    value = cleaner.get(key, required=required)
    if value is MISSING:
        return
    if value not in choices:
        cleaner.error(key, f"must be one of: {', '.join(c or '(empty)' for c in choices)}")
        return
    cleaner.out[key] = value


def _unique_name(cleaner: Cleaner, model: type[Model], current: Model | None) -> None:
    """409 when another row already has the name (compared without case: "Sales" and
    "sales" would read as one in every picker)."""
    name = cleaner.out.get("name")
    if not name:
        return
    others = model._default_manager.filter(name__iexact=name)
    if current is not None:
        others = others.exclude(pk=current.pk)
    if others.exists():
        raise Conflict(f"A {model._meta.verbose_name} named {name!r} already exists")


def _ids(rows: Sequence[Model]) -> list[str]:
    return sorted(str(row.pk) for row in rows)


def _json(value: Any) -> Any:
    if isinstance(value, Model):
        return str(value.pk)
    if isinstance(value, list):
        return _ids(value)
    return value


def _rules_naming(kinds: Sequence[str], pk: Any) -> list[str]:
    return list(
        SharingRule.objects.filter(grantee_type__in=kinds, grantee_id=pk).values_list(
            "name", flat=True
        )
    )


def _check_not_granted_by_rules(kinds: Sequence[str], pk: Any, what: str) -> None:
    names = _rules_naming(kinds, pk)
    if names:
        raise Conflict(f"Sharing rules still grant access to this {what}: {', '.join(names)}")


def _apply(row: Model, cleaned: Mapping[str, Any]) -> dict[str, list[Any]]:
    changed = {}
    for key, value in cleaned.items():
        old = getattr(row, key)
        if old != value:
            name = f"{key}_id" if isinstance(value, Model) or isinstance(old, Model) else key
            changed[name] = [_json(old), _json(value)]
            setattr(row, key, value)
    return changed

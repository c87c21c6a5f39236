"""The shared write path: lock and version check, field history and the outbox event.

Domain services own the transaction (``transaction.atomic()``); these helpers assume one is open
and write the history entry and outbox row beside the data, so all three commit or none does.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL

from accord.core import clock
from accord.core.errors import NotFound, PreconditionFailed
from accord.core.ids import new_id
from accord.core.models import HistoryEntry, OutboxEvent, Record, Source

R = TypeVar("R", bound=Record)

Payload = dict[str, Any]
Changes = dict[str, list[Any]]


def jsonable(value: Any) -> Any:
    """A value as it appears in events and history: ids and decimals as strings, times in ISO."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def audit_fields(record: Record) -> Payload:
    """The stamps every record shows in its payload: version, who and when."""
    return {
        "version": record.version,
        "created_at": jsonable(record.created_at),
        "updated_at": jsonable(record.updated_at),
        "created_by_id": jsonable(record.created_by_id),
        "updated_by_id": jsonable(record.updated_by_id),
        "deleted_at": jsonable(record.deleted_at),
    }


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    """Fields whose value differs, as ``{field: [old, new]}``."""
    return {
        key: [before.get(key), value]
        for key, value in after.items()
        if key not in _NOT_TRACKED and before.get(key) != value
    }


_NOT_TRACKED = frozenset(
    {"version", "updated_at", "updated_by_id", "created_at", "created_by_id", "deleted_at"}
)


def lock(queryset: QuerySet[R], record_id: Any, *, expected_version: int | None) -> R:
    """The record under a row lock, after checking the caller's ``If-Match`` version.

    The check runs under the lock so two writers holding the same ETag cannot both win.
    ``queryset`` must already be filtered to what the caller may see.
    """
    try:
        record = queryset.select_for_update(of=("self",)).get(pk=record_id)
    except (queryset.model.DoesNotExist, ValueError):
        raise NotFound(f"No {queryset.model.object_type} with id {record_id}") from None
    if expected_version is not None and record.version != expected_version:
        raise PreconditionFailed(
            f"The {record.object_type} changed since you read it "
            f"(your version {expected_version}, current {record.version})",
            current_version=record.version,
        )
    return record


def _transaction_id() -> RawSQL | None:
    if connection.vendor == "postgresql":
        return RawSQL("pg_current_xact_id()::text::bigint", [])
    return None


@dataclass(frozen=True)
class Change:
    """One record's change, ready to be written as history and an outbox event."""

    record: Record
    verb: str
    payload: Payload
    changes: Changes


def write_changes(
    changes: Sequence[Change], *, actor: Model | None, source: Source | str
) -> list[OutboxEvent]:
    """History entries and outbox events for ``changes``, in two batched inserts."""
    at = clock.now()
    txid = _transaction_id()
    actor_id = actor.pk if actor is not None else None
    instance = settings.ACCORD_INSTANCE
    history: list[HistoryEntry] = []
    events: list[OutboxEvent] = []
    for change in changes:
        record = change.record
        event_id = new_id()
        object_type = record.object_type
        event_type = f"accord.{object_type}.{change.verb}"
        envelope = {
            "specversion": "1.0",
            "id": str(event_id),
            "source": f"/accord/{instance}",
            "type": event_type,
            "subject": f"{object_type}/{record.pk}",
            "time": at.isoformat(),
            "datacontenttype": "application/json",
            "recordversion": record.version,
            "data": {"record": change.payload, "changed": change.changes},
        }
        history.append(
            HistoryEntry(
                object_type=object_type,
                object_id=record.pk,
                version=record.version,
                verb=change.verb,
                changes=change.changes,
                actor_id=actor_id,
                source=str(source),
                at=at,
                event_id=event_id,
            )
        )
        events.append(
            OutboxEvent(
                event_id=event_id,
                type=event_type,
                object_type=object_type,
                object_id=record.pk,
                record_version=record.version,
                envelope=envelope,
                created_at=at,
                txid=txid,
            )
        )
    HistoryEntry.objects.bulk_create(history)
    return OutboxEvent.objects.bulk_create(events)


def write_change(
    record: Record,
    *,
    verb: str,
    payload: Payload,
    changes: Changes,
    actor: Model | None,
    source: Source | str,
) -> OutboxEvent:
    return write_changes([Change(record, verb, payload, changes)], actor=actor, source=source)[0]


def created_changes(payload: Payload) -> Changes:
    """A new record's history: every field that has a value, from nothing."""
    return {
        key: [None, value]
        for key, value in payload.items()
        if key not in _NOT_TRACKED and key != "id" and value not in (None, "", [], {})
    }


def stamp(record: Record, *, actor: Model | None, bump: bool = True) -> None:
    """Set the audit stamps before saving a change; ``bump`` advances the version."""
    record.updated_at = clock.now()
    record.updated_by_id = actor.pk if actor is not None else None
    if bump:
        record.version += 1


def ids_of(records: Iterable[Record]) -> list[Any]:
    return [r.pk for r in records]

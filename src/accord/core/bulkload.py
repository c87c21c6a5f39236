"""Loading many new records at once (``accord demo``): the write path in few statements.

:func:`insert` writes new records given as :class:`Draft` rows, their related rows, and for
every record its search entry, its ``created`` history entry and its outbox event, all in one
transaction: what ``RecordService.insert_cleaned`` writes, from the service's own ``payload``
and ``search_document``, but without model instances (``Model.__init__`` and the relation
managers cost more than everything else per row) and, on PostgreSQL, through ``COPY``
(SQLite: one prepared ``INSERT`` run for every row). The caller validates: rows must be what
the service's ``clean`` would produce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.db.models import Model

from accord.core import records, rows
from accord.core.models import HistoryEntry, OutboxEvent, Record, SearchEntry, Source

_STAMPS = frozenset({"created_at", "updated_at"})


class Draft(SimpleNamespace):
    """A row to insert, with the attributes of its model instance (attnames: ``owner_id``,
    not ``owner``) and its relations as :class:`Rows`, which is all that payloads and search
    documents read. Made in a microsecond, where a model instance takes tens."""

    @property
    def pk(self) -> Any:
        return self.id


class Rows(list[Any]):
    """A relation of a :class:`Draft`: ``draft.tags.all()`` as on a model instance."""

    def all(self) -> Rows:
        return self


#: (constant defaults, callable defaults) of a model's concrete fields, by model.
_defaults: dict[type[Model], tuple[dict[str, Any], dict[str, Callable[[], Any]]]] = {}


def draft(model: type[Record], values: dict[str, Any], *, actor: Any, at: Any) -> Draft:
    """A new ``model`` record from ``values`` (attnames, and :class:`Rows` for relations),
    created by ``actor`` at ``at``; fields not in ``values`` take their defaults."""
    if model not in _defaults:
        constant: dict[str, Any] = {"object_type": model.object_type}
        made: dict[str, Callable[[], Any]] = {}
        for field in model._meta.concrete_fields:
            if field.has_default() and callable(field.default):
                made[field.attname] = field.default
            else:
                constant[field.attname] = field.get_default()
        _defaults[model] = (constant, made)
    constant, made = _defaults[model]
    actor_id = actor.pk if actor is not None else None
    fields = dict(constant)
    fields.update(created_at=at, updated_at=at, created_by_id=actor_id, updated_by_id=actor_id)
    for name, default in made.items():
        if name not in values and name not in _STAMPS:
            fields[name] = default()
    fields.update(values)
    return Draft(**fields)


def insert(
    service: Any,
    new: Sequence[Draft],
    *,
    related: Iterable[tuple[type[Model], Sequence[Any]]] = (),
    actor: Any,
    source: Source | str = Source.SYSTEM,
) -> None:
    """Insert ``new`` records of ``service.model`` (drafts whose relations hold the
    ``related`` rows), with their search entries, history entries and ``created`` events."""
    if not new:
        return
    with transaction.atomic():
        rows.write(service.model, new)
        for model, made in related:
            rows.write(model, made)
        entries = []
        changes = []
        object_type = service.model.object_type
        for record in new:
            document = service.search_document(record)
            if document is not None:
                entries.append(
                    records.instance(
                        SearchEntry,
                        id=None,
                        object_type=object_type,
                        record_id=record.pk,
                        body=" ".join(document.values()),
                        fields=document,
                    )
                )
            payload = service.payload(record)
            changes.append(
                # A draft has every attribute of its record that a change reads.
                records.Change(record, "created", payload, records.created_changes(payload))  # type: ignore[arg-type]
            )
        rows.write(SearchEntry, entries)
        # As records.write_changes writes them, without its change listeners: a load of demo
        # data would notify the owner of every one of a million records.
        history, events = records.change_rows(
            changes, actor=actor, source=source, txid=rows.transaction_id()
        )
        rows.write(HistoryEntry, history)
        rows.write(OutboxEvent, events)

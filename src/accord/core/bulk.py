"""Bulk upsert: up to 1,000 records per call, matched on a natural key, a result per row.

Rows are validated one by one (a bad row is reported, never dropped silently), then the valid
rows are written in a handful of statements: one insert batch for new records, one locked read
and one ``UPDATE`` (core.rows.update) for matched ones, one history batch and one outbox batch.
Every record still gets its own history entry and event. The garbage collector waits until the
batch is done (see :func:`collection_deferred`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import IntegrityError, transaction

from accord.core import records, rows
from accord.core.errors import Conflict, FieldError, InvalidInput, PermissionDenied
from accord.core.models import Record, Source
from accord.core.services import RecordService, integrity_detail
from accord.core.validation import batch_lookups

MAX_ROWS = 1_000

#: "skipped": valid, but not written because another row failed under ``all_or_none``.
Status = Literal["created", "updated", "unchanged", "error", "skipped"]


@dataclass
class RowResult:
    index: int
    status: Status
    id: Any = None
    version: int | None = None
    errors: list[FieldError] = field(default_factory=list)


def upsert(
    service: RecordService[Any],
    *,
    actor: Any,
    rows: Sequence[Mapping[str, Any]],
    match_on: str,
    source: Source | str = Source.API,
    all_or_none: bool = False,
    row_errors: Mapping[int, list[FieldError]] | None = None,
) -> list[RowResult]:
    """Create or update each row; ``row_errors`` are problems the adapter already found (e.g.
    schema validation) and are reported as such. With ``all_or_none`` any error writes nothing.
    """
    if len(rows) > MAX_ROWS:
        raise InvalidInput.field("records", f"at most {MAX_ROWS} records per call")
    if match_on not in service.match_keys:
        choices = ", ".join(service.match_keys) or "nothing"
        raise InvalidInput.field("match_on", f"{match_on!r} is not a match key; use {choices}")
    # The collector comes back once _upsert's frame, and the batch's records with it, is
    # gone: resumed earlier, its first pass walked every record still alive (a tenth of a
    # batch's time).
    with collection_deferred():
        return _upsert(service, actor, rows, match_on, source, all_or_none, row_errors or {})


def _upsert(
    service: RecordService[Any],
    actor: Any,
    rows: Sequence[Mapping[str, Any]],
    match_on: str,
    source: Source | str,
    all_or_none: bool,
    row_errors: Mapping[int, list[FieldError]],
) -> list[RowResult]:
    results = {i: RowResult(index=i, status="error", errors=list(e)) for i, e in row_errors.items()}
    pending = [i for i in range(len(rows)) if i not in results]

    with batch_lookups(), transaction.atomic():
        matched = service.match(actor, [rows[i] for i in pending], match_on)
        targets = {pending[k]: pk for k, pk in matched.items()}
        _reject_duplicate_targets(targets, results)
        existing = _lock(service, actor, {pk for i, pk in targets.items() if i not in results})
        service.preload(actor, [rows[i] for i in pending if i not in results])

        to_create: list[tuple[int, dict[str, Any]]] = []
        to_update: list[tuple[int, Record, dict[str, Any]]] = []
        defaults = service.defaults(actor)
        for i in pending:
            if i in results:
                continue
            record = existing.get(str(targets[i])) if i in targets else None
            if record is None and match_on == "id":
                results[i] = RowResult(i, "error", errors=[FieldError("id", "unknown id")])
                continue
            try:
                if record is None:
                    service.check_create(actor)
                    to_create.append((i, {**defaults, **service.clean_all(actor, rows[i], None)}))
                elif not service.may_edit(actor, record):
                    results[i] = RowResult(
                        i,
                        "error",
                        record.pk,
                        errors=[FieldError(match_on, "matches a record you may not change")],
                    )
                else:
                    to_update.append((i, record, service.clean_all(actor, rows[i], record)))
            except (InvalidInput, Conflict) as exc:
                errors = getattr(exc, "errors", None) or [FieldError(match_on, exc.detail)]
                results[i] = RowResult(i, "error", errors=errors)
            except PermissionDenied as exc:
                # Fields the caller's role may not set are named; a refused create is not.
                results[i] = RowResult(
                    i, "error", errors=exc.errors or [FieldError("", exc.detail)]
                )
            except Exception as exc:  # any other refusal of this one row
                results[i] = RowResult(i, "error", errors=[FieldError("", str(exc))])

        if all_or_none and results:
            for i in range(len(rows)):
                results.setdefault(i, RowResult(i, "skipped"))
            return _ordered(results, len(rows))

        created = service.insert_cleaned(actor, [c for _, c in to_create], source=source)
        for (i, _), record in zip(to_create, created, strict=True):
            results[i] = RowResult(i, "created", record.pk, record.version)
        for i, record, changed in _update_many(service, actor, to_update, source=source):
            results[i] = RowResult(
                i, "updated" if changed else "unchanged", record.pk, record.version
            )
    return _ordered(results, len(rows))


class _Deferral:
    """How many batches of this process hold the collector off, and whether it was on."""

    lock = threading.Lock()
    holders = 0
    resume = False


@contextmanager
def collection_deferred() -> Iterator[None]:
    """Hold the cyclic garbage collector off while a batch runs.

    A 1,000-row batch allocates about a million objects, and the hundred thousand that live
    until its answer is written keep tripping full collections, each walking every object
    made since start-up (wsgi.py freezes only start-up's): a fifth to a third of a batch's
    time went to them. Reference counting still frees all that is not cyclic; the collector
    comes back when the last batch of the process ends, if it was on when the first began.
    """
    with _Deferral.lock:
        if _Deferral.holders == 0:
            _Deferral.resume = gc.isenabled()
            gc.disable()
        _Deferral.holders += 1
    try:
        yield
    finally:
        with _Deferral.lock:
            _Deferral.holders -= 1
            if _Deferral.holders == 0 and _Deferral.resume:
                gc.enable()


def _ordered(results: dict[int, RowResult], total: int) -> list[RowResult]:
    return [results[i] for i in range(total)]


def _reject_duplicate_targets(targets: dict[int, Any], results: dict[int, RowResult]) -> None:
    """Two rows of one batch matching the same record would race each other: keep the first."""
    first: dict[Any, int] = {}
    for i, pk in sorted(targets.items()):
        if pk in first:
            results[i] = RowResult(
                i,
                "error",
                pk,
                errors=[FieldError("", f"matches the same record as row {first[pk]}")],
            )
        else:
            first[pk] = i


def _lock(service: RecordService[Any], actor: Any, ids: set[Any]) -> dict[str, Record]:
    """The visible records among ``ids``, locked, by their id as text: services' ``match``
    may answer ids as text or as UUIDs."""
    if not ids:
        return {}
    model = service.model
    scoped = service.scope(actor, model.objects.all())
    pk: Any = model._meta.pk
    # Ids the database gave back, as text or as values: all as values, one array of them.
    wanted = [pk.to_python(i) for i in ids]
    queryset = records.among(scoped, pk.attname, wanted, bounded=False)
    locked = list(queryset.select_for_update(of=("self",)).order_by("pk"))
    records.prefetch(locked, *service.prefetch)
    return {str(r.pk): r for r in locked}


def _update_many(
    service: RecordService[Any],
    actor: Any,
    batch: list[tuple[int, Record, dict[str, Any]]],
    *,
    source: Source | str,
) -> list[tuple[int, Record, bool]]:
    """Apply the cleaned changes of locked records: related rows first, then one UPDATE of the
    records whose payload changed (columns, stamps and version together), their search
    entries, history entries and events. Unchanged records are not written."""
    if not batch:
        return []
    befores = [service.payload(record) for _, record, _ in batch]
    records_ = [record for _, record, _ in batch]
    cleaned = [values for _, _, values in batch]
    columns = sorted({k for values in cleaned for k in values if k not in service.related})
    touched = []
    for record, values in zip(records_, cleaned, strict=True):
        service.build(record, values)
        if any(key in values for key in service.related):
            touched.append((record, dict(getattr(record, "_prefetched_objects_cache", {}))))
    try:
        service.save_related(records_, cleaned, creating=False)
    except IntegrityError as exc:
        raise Conflict(integrity_detail(exc)) from None
    for record, read in touched:
        # Its relations may be rewritten: what save_related did not remember is read again.
        cache = getattr(record, "_prefetched_objects_cache", {})
        for name, rows_ in read.items():
            if cache.get(name) is rows_:
                del cache[name]
    records.prefetch([record for record, _ in touched], *service.prefetch, missing=True)

    out: list[tuple[int, Record, bool]] = []
    changes: list[records.Change] = []
    for (i, record, _), before in zip(batch, befores, strict=True):
        after = service.payload(record)
        difference = records.diff(before, after)
        if difference:
            records.stamp(record, actor=actor)
            changes.append(records.Change(record, "updated", _restamped(after, record), difference))
        out.append((i, record, bool(difference)))
    if changes:
        changed = [change.record for change in changes]
        try:
            rows.update(service.model, changed, [*columns, "updated_at", "updated_by", "version"])
        except IntegrityError as exc:
            raise Conflict(integrity_detail(exc)) from None
        service.index_search(changed, replace=True)
        records.write_changes(changes, actor=actor, source=source)
    return out


def _restamped(payload: records.Payload, record: Record) -> records.Payload:
    """``payload`` with the stamps ``records.stamp`` just advanced, which are all a stamp
    changes: the stamped record's payload without building it a third time."""
    for key, value in records.audit_fields(record).items():
        if key in payload:
            payload[key] = value
    return payload

"""Bulk upsert: up to 1,000 records per call, matched on a natural key, a result per row.

Rows are validated one by one (a bad row is reported, never dropped silently), then the valid
rows are written in a handful of statements: one insert batch for new records, one locked read
and one ``bulk_update`` for matched ones, one history batch and one outbox batch. Every record
still gets its own history entry and event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    results = {
        i: RowResult(index=i, status="error", errors=list(e)) for i, e in (row_errors or {}).items()
    }
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
    queryset = service.scope(actor, service.model.objects.all()).filter(pk__in=ids)
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
            # Its relations are rewritten: what save_related does not remember is read again.
            record._prefetched_objects_cache = {}  # type: ignore[attr-defined]
            touched.append(record)
    try:
        service.save_related(records_, cleaned, creating=False)
    except IntegrityError as exc:
        raise Conflict(integrity_detail(exc)) from None
    records.prefetch(touched, *service.prefetch, missing=True)

    out: list[tuple[int, Record, bool]] = []
    changed: list[Record] = []
    diffs: list[records.Changes] = []
    for (i, record, _), before in zip(batch, befores, strict=True):
        difference = records.diff(before, service.payload(record))
        if difference:
            records.stamp(record, actor=actor)
            changed.append(record)
            diffs.append(difference)
        out.append((i, record, bool(difference)))
    if changed:
        try:
            rows.update(service.model, changed, [*columns, "updated_at", "updated_by", "version"])
        except IntegrityError as exc:
            raise Conflict(integrity_detail(exc)) from None
        service.index_search(changed, replace=True)
        records.write_changes(
            [
                records.Change(record, "updated", service.payload(record), difference)
                for record, difference in zip(changed, diffs, strict=True)
            ],
            actor=actor,
            source=source,
        )
    return out

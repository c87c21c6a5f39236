"""Core background jobs."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction
from django_tasks import task

from accord.core import clock, records, registry, search
from accord.core.models import Record, Source, record_types
from accord.core.services import RECYCLE_BIN_RETENTION

log = logging.getLogger(__name__)

PURGE_BATCH = 500


def purge_type(model: type[Record], *, batch: int = PURGE_BATCH) -> int:
    """Hard-delete ``model`` rows that have been in the recycle bin past retention.

    Each batch commits on its own, so a large purge never holds long locks; each purged record
    gets a ``purged`` event so consumers holding a copy can drop it, and the purge listeners
    remove what other domains keep about it (its activities, its manual shares).
    """
    cutoff = clock.now() - RECYCLE_BIN_RETENTION
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                model.all_objects.filter(deleted_at__lt=cutoff)
                .select_for_update()
                .order_by("pk")[:batch]
            )
            if not rows:
                return total
            purge_rows(model, rows)
            total += len(rows)


def purge_rows(model: type[Record], rows: Sequence[Record]) -> None:
    """Hard-delete ``rows`` (inside the caller's transaction), with a ``purged`` event each,
    after the purge listeners removed what other domains keep about them."""
    ids = [r.pk for r in rows]
    registry.records_purged(model.object_type, ids)
    changes = [records.Change(r, "purged", {"id": str(r.pk)}, {}) for r in rows]
    records.write_changes(changes, actor=None, source=Source.SYSTEM)
    search.forget(model.object_type, ids)
    model.all_objects.filter(pk__in=ids).delete()


@task()
def purge_recycle_bin() -> int:
    """Remove every record type's recycle-bin entries older than RECYCLE_BIN_RETENTION."""
    total = 0
    failed: list[str] = []
    for model in record_types().values():
        # One type failing (say, a lock timeout) must not keep the others' bins from emptying.
        try:
            purged = purge_type(model)
        except Exception:
            log.exception("Purging %s from the recycle bin failed", model.object_type)
            failed.append(model.object_type)
            continue
        if purged:
            log.info("Purged %d %s record(s) from the recycle bin", purged, model.object_type)
        total += purged
    if failed:
        raise RuntimeError(f"recycle-bin purge failed for: {', '.join(failed)}")
    return total

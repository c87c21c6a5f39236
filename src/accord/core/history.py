"""Field history that outlives the record it was written for.

When one record becomes another (a lead converted into a contact), the new record's timeline
should still show what happened before: :func:`copy_history` copies the entries across with their
original time, actor, source and changes. The source record keeps its own entries.
"""

from __future__ import annotations

from typing import Any

from accord.core.models import HistoryEntry

BATCH = 500


def copy_history(
    *, from_type: str, from_id: Any, to_type: str, to_id: Any, verb_prefix: str
) -> int:
    """Copy every history entry of ``from_type``/``from_id`` onto ``to_type``/``to_id``.

    Each copy keeps ``at``, ``actor``, ``source``, ``changes``, the source record's ``version``
    and the id of the event it described; its verb is ``verb_prefix`` + the original verb
    (``lead_created``), so a reader can tell the copies from the record's own changes. Call
    inside the transaction of the change that needs it. Returns the number of entries copied.
    """
    entries = HistoryEntry.objects.filter(object_type=from_type, object_id=from_id).order_by(
        "at", "id"
    )
    copies = [
        HistoryEntry(
            object_type=to_type,
            object_id=to_id,
            version=entry.version,
            verb=f"{verb_prefix}{entry.verb}"[: HistoryEntry._meta.get_field("verb").max_length],
            changes=entry.changes,
            actor_id=entry.actor_id,
            source=entry.source,
            at=entry.at,
            event_id=entry.event_id,
        )
        for entry in entries.iterator(chunk_size=BATCH)
    ]
    HistoryEntry.objects.bulk_create(copies, batch_size=BATCH)
    return len(copies)

"""Background jobs of the event backbone."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Min
from django_tasks import task

from accord.core import clock
from accord.core.models import OutboxEvent
from accord.integration import config, sequencer
from accord.integration.models import Destination, Sequencer

log = logging.getLogger(__name__)

PURGE_BATCH = 5000


def purge_outbox(*, batch: int = PURGE_BATCH) -> int:
    """Delete the oldest sequenced events once they are past retention and every active
    destination has published them; how many were deleted.

    Only a prefix of the sequence is ever deleted (the first event still needed stops the
    purge), so "everything at or below ``purged_through`` is gone" stays exact: the events API
    answers 410 to a cursor below it. Each batch commits on its own, with the mark moved in the
    same transaction.
    """
    cutoff = clock.now() - config.retention()
    total = 0
    while True:
        state = sequencer.state()
        positions = Destination.objects.filter(active=True).aggregate(low=Min("position"))
        ceiling = state.last_sequence
        if positions["low"] is not None:
            ceiling = min(ceiling, positions["low"])
        rows = list(
            OutboxEvent.objects.filter(sequence__gt=state.purged_through, sequence__lte=ceiling)
            .order_by("sequence")
            .values_list("sequence", "created_at")[:batch]
        )
        upto = None
        for seq, created_at in rows:
            if created_at >= cutoff:
                break  # later events stay too: only a prefix of the sequence is deleted
            upto = seq
        if upto is None:
            return total
        with transaction.atomic():
            deleted, _ = OutboxEvent.objects.filter(sequence__lte=upto).delete()
            Sequencer.objects.filter(name=sequencer.OUTBOX, purged_through__lt=upto).update(
                purged_through=upto
            )
        total += deleted
        if len(rows) < batch or upto != rows[-1][0]:
            return total


@task()
def purge_events() -> int:
    """Remove events past ``ACCORD_EVENT_RETENTION_HOURS`` that every destination has."""
    purged = purge_outbox()
    if purged:
        log.info("Purged %d event(s) from the outbox", purged)
    return purged

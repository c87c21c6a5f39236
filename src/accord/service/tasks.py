"""Service's background job: SLA warnings and breaches, checked every minute.

Each case carries ``sla_check_at``, the instant its next warning or breach falls due (written
by the case service whenever its targets move). The job walks the cases whose instant has
passed through the ``case_sla_check`` index in small batches, each batch one transaction with
its rows locked (``SKIP LOCKED`` where the database has it, so two workers never alert twice),
and lets :func:`accord.service.services.send_sla_alerts` notify and move the instant on.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import QuerySet
from django_tasks import task

from accord.core import clock
from accord.service.models import Case
from accord.service.services import send_sla_alerts

BATCH = 200


def _due(now: object) -> QuerySet[Case]:
    queryset = (
        Case.objects.filter(sla_check_at__lte=now)
        .select_related("owner", "sla_policy", "queue")
        .order_by("sla_check_at", "pk")
    )
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset.select_for_update(of=("self",))


@task()
def check_sla_targets() -> int:
    """Send every SLA warning and breach notice whose time has come; how many were sent."""
    now = clock.now()
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(_due(now)[:BATCH])
            for case in batch:
                sent += len(send_sla_alerts(case, now))
        # Each case's sla_check_at moved past now (or was cleared), so the next batch is new.
        if len(batch) < BATCH:
            return sent

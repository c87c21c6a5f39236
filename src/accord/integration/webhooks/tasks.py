"""Background jobs of webhooks."""

from __future__ import annotations

import logging

from django_tasks import task

from accord.core import clock
from accord.integration.webhooks import config, services

log = logging.getLogger(__name__)


@task()
def purge_webhook_log() -> int:
    """Remove delivery log entries older than ``ACCORD_WEBHOOK_LOG_DAYS`` (finished ones)."""
    purged = services.purge_log(before=clock.now() - config.webhooks().log_retention)
    if purged:
        log.info("Purged %d webhook delivery log entries", purged)
    return purged

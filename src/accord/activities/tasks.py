"""Activities' background jobs: the emails that carry notifications.

Each notification is emailed at most once: a job claims rows whose ``emailed_at`` is empty
under a row lock (``SKIP LOCKED`` where the database has it), sends, and stamps them in the same
transaction, so a failed send is retried by the next run and two workers never send the same row.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django_tasks import task

from accord.activities import emails
from accord.activities.models import Channel, Notification
from accord.core import clock
from accord.core.models import record_types
from accord.identity.visibility import can_see

log = logging.getLogger(__name__)

BATCH = 200


def _unsent(channel: str) -> QuerySet[Notification]:
    queryset = (
        Notification.objects.filter(channel=channel, emailed_at__isnull=True)
        .select_related("recipient")
        .order_by("created_at", "pk")
    )
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset.select_for_update(of=("self",))


def still_visible(notification: Notification) -> bool:
    """Whether the recipient may still see the record (access may have changed since)."""
    if not notification.object_type:
        return True
    model = record_types().get(notification.object_type)
    if model is None:
        return False
    record = model.objects.filter(pk=notification.object_id).first()
    return record is not None and can_see(notification.recipient, record)


def _deliverable(notification: Notification) -> bool:
    user: Any = notification.recipient
    return bool(user.is_active and user.email) and still_visible(notification)


@task()
def send_notification_emails() -> int:
    """Email every notification whose recipient wants it at once; how many were sent."""
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(_unsent(Channel.EMAIL_IMMEDIATE)[:BATCH])
            if not batch:
                return sent
            for notification in batch:
                if _deliverable(notification) and notification.read_at is None:
                    emails.notification_email(notification).send()
                    sent += 1
            Notification.objects.filter(pk__in=[n.pk for n in batch]).update(emailed_at=clock.now())


@task()
def send_notification_digests() -> int:
    """One email per person with the notifications they chose to get in a digest that they
    have not read yet; how many emails were sent. Scheduled daily (core.scheduler)."""
    sent = 0
    with transaction.atomic():
        pending = list(_unsent(Channel.EMAIL_DIGEST).filter(created_at__lte=clock.now()))
        by_user: dict[Any, list[Notification]] = {}
        for notification in pending:
            by_user.setdefault(notification.recipient_id, []).append(notification)
        for notifications in by_user.values():
            shown = [n for n in notifications if n.read_at is None and _deliverable(n)]
            if shown:
                emails.digest_email(shown[0].recipient, shown).send()
                sent += 1
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=clock.now())
    if sent:
        log.info("Sent %d notification digest(s)", sent)
    return sent

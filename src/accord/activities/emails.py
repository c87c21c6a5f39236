"""The emails that carry notifications: one at a time, or a day's worth in a digest."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage

from accord.activities.models import Notification
from accord.identity.models import User


def _inbox_url() -> str:
    return f"{settings.ACCORD_PUBLIC_URL}/inbox/"


def _entry(notification: Notification) -> str:
    text = notification.title
    if notification.body:
        text += "\n" + "\n".join(f"  {line}" for line in notification.body.splitlines())
    return text


def notification_email(notification: Notification) -> EmailMessage:
    body = f"{_entry(notification)}\n\nYour inbox: {_inbox_url()}\n"
    return EmailMessage(
        subject=f"[Accord] {notification.title}",
        body=body,
        to=[notification.recipient.email],
    )


def digest_email(user: User, notifications: Sequence[Notification]) -> EmailMessage:
    count = len(notifications)
    entries = "\n\n".join(_entry(n) for n in notifications)
    body = f"{entries}\n\nYour inbox: {_inbox_url()}\n"
    noun = "notification" if count == 1 else "notifications"
    return EmailMessage(
        subject=f"[Accord] Your daily digest: {count} {noun}", body=body, to=[user.email]
    )

"""The email that tells a subscription's owner Accord disabled their webhook.

Sent through Django's mail backend after the commit that disabled it. (Once issue 5's
notifications are in place, this becomes a ``system`` notification in the owner's inbox, which
emails them as they prefer.)
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage

log = logging.getLogger(__name__)


def endpoint_disabled(subscription: Any, reason: str) -> None:
    owner = subscription.owner
    if not owner.email or not owner.is_active:
        return
    body = (
        f"Accord disabled your webhook subscription {subscription.pk}\n"
        f"  URL: {subscription.url}\n"
        f"  Description: {subscription.description or '(none)'}\n"
        f"  Reason: {reason}\n\n"
        "No events are sent to it until you enable it again (PATCH "
        f"{settings.ACCORD_PUBLIC_URL}/api/v1/webhooks/{subscription.pk} with "
        '{"enabled": true}). It then continues where it stopped; the delivery log '
        f"(/api/v1/webhooks/{subscription.pk}/deliveries) shows what failed and why.\n"
    )
    message = EmailMessage(
        subject="[Accord] Your webhook was disabled", body=body, to=[owner.email]
    )
    try:
        message.send()
    except Exception:  # the disabling stands; the log says it happened
        log.exception("Could not email %s that webhook %s was disabled", owner, subscription.pk)

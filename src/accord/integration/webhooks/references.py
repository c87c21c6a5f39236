"""What webhook subscriptions refer to, for core.registry's dependency check: the fields their
field filters name, so a field is not renamed or removed from under a subscription unnoticed."""

from __future__ import annotations

from accord.core.registry import Reference
from accord.integration.models import WebhookSubscription
from accord.integration.webhooks.dispatch import Selection


def references(object_type: str, target: str) -> list[Reference]:
    found = []
    # Subscriptions are few, and SQLite has no JSON containment lookup: filter here.
    rows = WebhookSubscription.objects.only("url", "description", "event_types", "fields")
    for subscription in rows:
        selection = Selection.of(subscription.event_types)
        if target in subscription.fields and any(t == object_type for t, _ in selection.types):
            found.append(
                Reference(
                    domain="integration",
                    kind="webhook field filter",
                    label=subscription.description or subscription.url,
                    object_type=object_type,
                    target=target,
                )
            )
    return found

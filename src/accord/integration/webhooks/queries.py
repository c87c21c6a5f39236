"""Reads of webhook subscriptions, their delivery log and replays, for the people who manage
them (the owner and access managers; see services.get_managed)."""

from __future__ import annotations

from typing import Any

from accord.core import pagination
from accord.core.errors import InvalidInput, NotFound
from accord.core.ids import parse_id
from accord.identity.visibility import manages_access
from accord.integration.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookReplay,
    WebhookSubscription,
)
from accord.integration.webhooks.services import get_managed

SORTS = {"id": "id", "created_at": "created_at", "url": "url"}
NEWEST_FIRST = pagination.Sort(field="id", descending=True)


def list_subscriptions(
    actor: Any, params: pagination.ListParams
) -> tuple[list[WebhookSubscription], str | None]:
    """The caller's subscriptions; every subscription for access managers."""
    rows = WebhookSubscription.objects.select_related("destination")
    if not manages_access(actor):
        rows = rows.filter(owner_id=getattr(actor, "pk", None))
    sort = pagination.parse_sort(params.sort, SORTS)
    return pagination.page(rows, sort=sort, cursor=params.cursor, limit=params.limit)


def get_subscription(actor: Any, subscription_id: Any) -> WebhookSubscription:
    return get_managed(actor, subscription_id)


def list_deliveries(
    actor: Any, subscription_id: Any, *, status: str | None, cursor: str | None, limit: int
) -> tuple[list[WebhookDelivery], str | None]:
    """The subscription's delivery log, newest first."""
    subscription = get_managed(actor, subscription_id)
    rows = WebhookDelivery.objects.filter(subscription=subscription).defer("body")
    if status:
        if status not in DeliveryStatus.values:
            choices = ", ".join(DeliveryStatus.values)
            raise InvalidInput.field("status", f"must be one of: {choices}")
        rows = rows.filter(status=status)
    return pagination.page(rows, sort=NEWEST_FIRST, cursor=cursor, limit=limit)


def get_delivery(actor: Any, subscription_id: Any, delivery_id: Any) -> WebhookDelivery:
    subscription = get_managed(actor, subscription_id)
    pk = parse_id(delivery_id)
    found = (
        WebhookDelivery.objects.filter(pk=pk, subscription=subscription).first()
        if pk is not None
        else None
    )
    if found is None:
        raise NotFound("No such delivery")
    return found


def get_replay(actor: Any, subscription_id: Any, replay_id: Any) -> WebhookReplay:
    subscription = get_managed(actor, subscription_id)
    pk = parse_id(replay_id)
    found = (
        WebhookReplay.objects.filter(pk=pk, subscription=subscription).first()
        if pk is not None
        else None
    )
    if found is None:
        raise NotFound("No such replay")
    return found

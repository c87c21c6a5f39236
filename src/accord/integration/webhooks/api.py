"""``/api/v1/webhooks``: subscriptions, their secrets, delivery log, redelivery and replay.

Mounted through ``accord.integration.api.ROUTES`` with the token scope collection ``webhooks``.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import Status

from accord.core import pagination
from accord.core.api import ListQuery, actor, expected_version
from accord.core.schemas import Problem
from accord.integration.models import WebhookDelivery, WebhookReplay, WebhookSubscription
from accord.integration.webhooks import queries, schemas, services

ERRORS: dict[int, type[Schema]] = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    409: Problem,
    412: Problem,
    422: Problem,
    428: Problem,
}

webhooks = Router(tags=["webhooks"])


def _out(subscription: WebhookSubscription) -> dict[str, Any]:
    destination = subscription.destination
    return {
        "id": subscription.pk,
        "url": subscription.url,
        "description": subscription.description,
        "event_types": subscription.event_types,
        "fields": subscription.fields,
        "owner_id": subscription.owner_id,
        "department_id": subscription.department_id,
        "enabled": subscription.enabled,
        "disabled_reason": subscription.disabled_reason,
        "disabled_at": subscription.disabled_at,
        "previous_secret_expires_at": subscription.previous_secret_expires_at,
        "failing_since": destination.failing_since,
        "last_error": destination.last_error,
        "position": destination.position,
        "version": subscription.version,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


def _etag(response: HttpResponse, subscription: WebhookSubscription) -> None:
    response["ETag"] = f'"{subscription.version}"'


def _delivery(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": row.pk,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "sequence": row.sequence,
        "trigger": row.trigger,
        "status": row.status,
        "attempts": row.attempts,
        "created_at": row.created_at,
        "next_attempt_at": row.next_attempt_at,
        "last_attempt_at": row.last_attempt_at,
        "delivered_at": row.delivered_at,
        "response_status": row.response_status,
        "latency_ms": row.latency_ms,
        "response_excerpt": row.response_excerpt,
        "error": row.error,
    }


def _replay(row: WebhookReplay) -> dict[str, Any]:
    return {
        "id": row.pk,
        "start": row.start,
        "end": row.end,
        "finished": row.finished_at is not None,
        "queued": row.queued,
        "skipped": row.skipped,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
    }


@webhooks.get(
    "",
    response={200: schemas.WebhooksPageOut, **ERRORS},
    summary="List webhook subscriptions",
    description="Yours; access managers see every subscription.",
    operation_id="list_webhooks",
)
def list_webhooks(request: HttpRequest, filters: Query[ListQuery]) -> Any:
    params = pagination.ListParams(sort=filters.sort, cursor=filters.cursor, limit=filters.limit)
    rows, next_cursor = queries.list_subscriptions(actor(request), params)
    return {"items": [_out(r) for r in rows], "next_cursor": next_cursor}


@webhooks.post(
    "",
    response={201: schemas.WebhookCreatedOut, **ERRORS},
    summary="Subscribe a URL to events",
    description=(
        "Events of the named types are POSTed to the URL, signed after Standard Webhooks, as "
        "the owner may see them. The answer carries the signing secret: it is shown only once."
    ),
    operation_id="create_webhook",
)
def create_webhook(request: HttpRequest, body: schemas.WebhookIn, response: HttpResponse) -> Any:
    subscription, secret = services.create(
        actor=actor(request), data=body.model_dump(exclude_unset=True)
    )
    subscription = queries.get_subscription(actor(request), subscription.pk)
    response["Location"] = f"{request.path.rstrip('/')}/{subscription.pk}"
    _etag(response, subscription)
    return Status(201, {**_out(subscription), "secret": secret})


@webhooks.get(
    "/{webhook_id}",
    response={200: schemas.WebhookOut, **ERRORS},
    summary="Read a webhook subscription",
    operation_id="get_webhook",
)
def get_webhook(request: HttpRequest, webhook_id: str, response: HttpResponse) -> Any:
    subscription = queries.get_subscription(actor(request), webhook_id)
    _etag(response, subscription)
    return _out(subscription)


@webhooks.patch(
    "/{webhook_id}",
    response={200: schemas.WebhookOut, **ERRORS},
    summary="Change a webhook subscription",
    description="Send If-Match with its ETag. Only the fields sent change.",
    operation_id="update_webhook",
)
def update_webhook(
    request: HttpRequest, webhook_id: str, body: schemas.WebhookPatch, response: HttpResponse
) -> Any:
    version = expected_version(request)
    services.change(
        actor=actor(request),
        subscription_id=webhook_id,
        data=body.model_dump(exclude_unset=True),
        expected_version=version,
    )
    subscription = queries.get_subscription(actor(request), webhook_id)
    _etag(response, subscription)
    return _out(subscription)


@webhooks.delete(
    "/{webhook_id}",
    response={204: None, **ERRORS},
    summary="Delete a webhook subscription and its delivery log",
    description="Send If-Match with its ETag.",
    operation_id="delete_webhook",
)
def delete_webhook(request: HttpRequest, webhook_id: str) -> Any:
    version = expected_version(request)
    services.delete(actor=actor(request), subscription_id=webhook_id, expected_version=version)
    return Status(204, None)


@webhooks.post(
    "/{webhook_id}/rotate-secret",
    response={200: schemas.SecretOut, **ERRORS},
    summary="Rotate the signing secret",
    description=(
        "A new secret, shown only now. The previous one keeps signing beside it for "
        "overlap_hours (requests then carry two signatures), so the receiver can switch at "
        "any moment within that time."
    ),
    operation_id="rotate_webhook_secret",
)
def rotate_secret(
    request: HttpRequest, webhook_id: str, body: schemas.RotateIn, response: HttpResponse
) -> Any:
    subscription, secret = services.rotate_secret(
        actor=actor(request), subscription_id=webhook_id, overlap_hours=body.overlap_hours
    )
    _etag(response, subscription)
    return {
        "secret": secret,
        "previous_secret_expires_at": subscription.previous_secret_expires_at,
        "version": subscription.version,
    }


@webhooks.get(
    "/{webhook_id}/deliveries",
    response={200: schemas.DeliveriesPageOut, **ERRORS},
    summary="The delivery log",
    description="Newest first: each delivery's status, attempts, latency and response excerpt.",
    operation_id="list_webhook_deliveries",
)
def list_deliveries(
    request: HttpRequest, webhook_id: str, filters: Query[schemas.DeliveriesQuery]
) -> Any:
    rows, next_cursor = queries.list_deliveries(
        actor(request),
        webhook_id,
        status=filters.status,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return {"items": [_delivery(r) for r in rows], "next_cursor": next_cursor}


@webhooks.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    response={200: schemas.DeliveryDetailOut, **ERRORS},
    summary="One delivery: every attempt and the payload",
    operation_id="get_webhook_delivery",
)
def get_delivery(request: HttpRequest, webhook_id: str, delivery_id: str) -> Any:
    row = queries.get_delivery(actor(request), webhook_id, delivery_id)
    return {
        **_delivery(row),
        "attempt_log": row.attempt_log,
        "payload": json.loads(row.body) if row.body else None,
    }


@webhooks.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response={202: schemas.DeliveryOut, **ERRORS},
    summary="Send a delivery again",
    description=(
        "A new delivery of the same payload and event id (webhook-id), attempted at once and "
        "retried like any other. 409 for a skipped delivery or a disabled subscription."
    ),
    operation_id="redeliver_webhook_delivery",
)
def redeliver(request: HttpRequest, webhook_id: str, delivery_id: str) -> Any:
    row = services.redeliver(
        actor=actor(request), subscription_id=webhook_id, delivery_id=delivery_id
    )
    return Status(202, _delivery(row))


@webhooks.post(
    "/{webhook_id}/replay",
    response={202: schemas.ReplayOut, **ERRORS},
    by_alias=True,
    summary="Send the events of a time range again",
    description=(
        "Every kept event written in [from, to) that the subscription takes is queued again, "
        "as its owner may see it now, with its original event id. The workers do it in "
        "batches: follow it at the replay's URL (Location)."
    ),
    operation_id="replay_webhook_events",
)
def replay(
    request: HttpRequest, webhook_id: str, body: schemas.ReplayIn, response: HttpResponse
) -> Any:
    row = services.replay(
        actor=actor(request), subscription_id=webhook_id, start=body.start, end=body.end
    )
    response["Location"] = f"{request.path.rstrip('/').removesuffix('/replay')}/replays/{row.pk}"
    return Status(202, _replay(row))


@webhooks.get(
    "/{webhook_id}/replays/{replay_id}",
    response={200: schemas.ReplayOut, **ERRORS},
    by_alias=True,
    summary="How far a replay got",
    operation_id="get_webhook_replay",
)
def get_replay(request: HttpRequest, webhook_id: str, replay_id: str) -> Any:
    return _replay(queries.get_replay(actor(request), webhook_id, replay_id))

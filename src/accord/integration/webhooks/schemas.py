"""API shapes of webhook subscriptions, their delivery log and replays."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field, StrictBool, StringConstraints

from accord.core import pagination
from accord.core.schemas import CleanInput, InputSchema

Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
TypeName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Text500 = Annotated[str, StringConstraints(max_length=500)]

URL_HELP = (
    "Where events are POSTed (https:// recommended). Private, loopback and link-local "
    "addresses are refused unless the administrator allowed them."
)
TYPES_HELP = "Event types: accord.<object>.<verb> or accord.<object>.* (at most 50)"
FIELDS_HELP = (
    "Deliver accord.<object>.updated events only when one of these fields changed "
    "(custom_fields.<key> for a custom field); empty: every update"
)


class WebhookIn(InputSchema):
    url: Url = Field(description=URL_HELP)
    event_types: list[TypeName] = Field(description=TYPES_HELP, max_length=50)
    fields: list[FieldName] = Field([], description=FIELDS_HELP, max_length=100)
    description: Text500 = ""
    department_id: uuid.UUID | None = Field(
        None, description="The department answering for it; default: the owner's"
    )
    owner_id: uuid.UUID | None = Field(
        None,
        description="Whose visibility the payloads follow; only access managers may name "
        "someone else (default: you)",
    )
    enabled: StrictBool = True


class WebhookPatch(InputSchema):
    url: Url | None = Field(None, description=URL_HELP)
    event_types: list[TypeName] | None = Field(None, description=TYPES_HELP, max_length=50)
    fields: list[FieldName] | None = Field(None, description=FIELDS_HELP, max_length=100)
    description: Text500 | None = None
    department_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    enabled: StrictBool | None = Field(
        None,
        description="false pauses deliveries; true enables it again (also after Accord "
        "disabled it), continuing where it stopped",
    )


class WebhookOut(Schema):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    fields: list[str]
    owner_id: uuid.UUID
    department_id: uuid.UUID | None
    enabled: bool
    disabled_reason: str = Field(description="Why Accord disabled it (empty when you did)")
    disabled_at: dt.datetime | None
    previous_secret_expires_at: dt.datetime | None = Field(
        description="Until when the previous secret signs too, after a rotation"
    )
    failing_since: dt.datetime | None = Field(
        description="The first failed attempt since the last successful one"
    )
    last_error: str
    position: int = Field(description="The last event sequence queued for it")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="The signing secret (Standard Webhooks, whsec_…). Shown only now: store it."
    )


class RotateIn(InputSchema):
    overlap_hours: int | None = Field(
        None,
        ge=0,
        le=24 * 30,
        description="How long the previous secret keeps signing beside the new one "
        "(default ACCORD_WEBHOOK_SECRET_OVERLAP_HOURS; 0: stop at once)",
    )


class SecretOut(Schema):
    secret: str = Field(description="The new signing secret. Shown only now: store it.")
    previous_secret_expires_at: dt.datetime | None
    version: int


class DeliveriesQuery(CleanInput):
    status: str | None = Field(
        None, max_length=20, description="pending, delivered, failed or skipped"
    )
    cursor: str | None = Field(None, max_length=2000)
    limit: int = Field(pagination.DEFAULT_LIMIT, ge=1, le=pagination.MAX_LIMIT)


class DeliveryOut(Schema):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    sequence: int
    trigger: str = Field(description="event, redelivery or replay")
    status: str = Field(description="pending, delivered, failed (gave up) or skipped")
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    response_status: int | None
    latency_ms: float | None
    response_excerpt: str
    error: str


class AttemptOut(Schema):
    at: str
    status: int | None
    latency_ms: float | None
    error: str


class DeliveryDetailOut(DeliveryOut):
    attempt_log: list[AttemptOut]
    payload: dict[str, Any] | None = Field(description="What was (or will be) sent")


class DeliveriesPageOut(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class WebhooksPageOut(Schema):
    items: list[WebhookOut]
    next_cursor: str | None


class ReplayIn(InputSchema):
    start: dt.datetime = Field(alias="from", description="Events written from this moment …")
    end: dt.datetime = Field(alias="to", description="… until (not including) this one")


class ReplayOut(Schema):
    id: uuid.UUID
    start: dt.datetime = Field(serialization_alias="from")
    end: dt.datetime = Field(serialization_alias="to")
    finished: bool
    queued: int = Field(description="Deliveries queued so far")
    skipped: int = Field(description="Events skipped because the owner may not see them")
    created_at: dt.datetime
    finished_at: dt.datetime | None

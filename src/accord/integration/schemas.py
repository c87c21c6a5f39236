"""Shapes of the events API and the offline sync feed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool

from accord.core.schemas import CleanInput, FieldErrorOut, InputSchema
from accord.integration import queries, sync


class EventsQuery(CleanInput):
    after: str | None = Field(
        None,
        max_length=40,
        description="Return events after this sequence: the next_cursor of the previous page. "
        "Omitted: from the oldest event still kept.",
    )
    types: str | None = Field(
        None,
        max_length=4000,
        description="Comma-separated event types, e.g. accord.contact.updated,accord.deal.*",
    )
    limit: int = Field(queries.DEFAULT_LIMIT, ge=1, le=queries.MAX_LIMIT)


class EventData(Schema):
    model_config = ConfigDict(extra="allow")

    record: dict[str, Any] = {}
    changed: dict[str, Any] = {}


class EventOut(Schema):
    """A CloudEvents 1.0 envelope (JSON format)."""

    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    datacontenttype: str
    sequence: int
    recordversion: int
    data: EventData


class EventsPageOut(Schema):
    """Pass ``next_cursor`` back as ``after``. It moves past events you may not see too, and
    stays put when nothing new has happened: poll again with it. ``has_more`` says whether more
    events are waiting right now."""

    items: list[EventOut]
    next_cursor: str
    has_more: bool


class DestinationStatusOut(Schema):
    name: str
    kind: str
    active: bool
    position: int
    lag_events: int
    lag_seconds: float
    published_at: dt.datetime | None
    last_error: str
    failing_since: dt.datetime | None


class EventsStatusOut(Schema):
    holder: str
    lease_held: bool
    lease_expires_at: dt.datetime | None
    last_sequence: int
    purged_through: int
    numbered_at: dt.datetime | None
    unsequenced: int
    oldest_unsequenced_at: dt.datetime | None
    retained: int
    destinations: list[DestinationStatusOut]


# -- offline sync (integration/sync.py) --------------------------------------------------------


class SyncQuery(CleanInput):
    cursor: str | None = Field(
        None,
        max_length=2000,
        description="The next_cursor of your previous pull, unchanged. Omitted: a new replica "
        "(a first pull: everything you may see).",
    )
    types: str | None = Field(
        None,
        max_length=2000,
        description="Comma-separated object types, e.g. contact,account (default: all).",
    )
    limit: int = Field(sync.DEFAULT_LIMIT, ge=1, le=sync.MAX_LIMIT)


class SyncItemOut(Schema):
    """A record to store (``deleted`` false) or to drop (a tombstone)."""

    object_type: str
    id: uuid.UUID
    version: int | None = Field(description="The record's version; null for a tombstone")
    deleted: bool
    reason: Literal["deleted", "access"] | None = Field(
        description="Why a tombstone: deleted (or purged), or access (you may no longer see it)"
    )
    record: dict[str, Any] | None = Field(
        description="The record as the API shows it to you; null for a tombstone"
    )


class SyncPageOut(Schema):
    items: list[SyncItemOut]
    next_cursor: str
    has_more: bool


class SyncEditIn(InputSchema):
    """One offline edit. ``changes`` is what the record's create or PATCH body would hold."""

    op: Literal["create", "update", "delete"]
    object_type: str = Field(max_length=40)
    id: uuid.UUID | None = Field(None, description="The record changed (update, delete)")
    temp_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Your local name of a record you create; later edits of the same push "
        "may use it as a value (account_id, related_id, ...)",
    )
    base_version: int | None = Field(
        None, ge=1, le=2_147_483_647, description="The version your edit started from"
    )
    changes: dict[str, Any] = Field(default_factory=dict, max_length=200)


class SyncPushIn(InputSchema):
    changes: list[SyncEditIn] = Field(min_length=1, max_length=sync.MAX_PUSH)
    all_or_none: StrictBool = Field(
        False, description="Apply nothing unless every edit applies (default: each on its own)"
    )


class SyncOutcomeOut(Schema):
    index: int
    op: str
    object_type: str
    id: uuid.UUID | None
    temp_id: str | None
    status: Literal["applied", "conflict", "rejected", "rolled_back"]
    code: int = Field(description="The HTTP status this edit would have had on its own")
    version: int | None
    record: dict[str, Any] | None = Field(description="The record after an applied edit")
    server: dict[str, Any] | None = Field(description="A conflict: the server's current record")
    mine: dict[str, Any] | None = Field(description="A conflict: the edit you proposed")
    detail: str
    errors: list[FieldErrorOut]


class SyncPushOut(Schema):
    applied: int
    conflicts: int
    rejected: int
    results: list[SyncOutcomeOut]

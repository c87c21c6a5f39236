"""API shapes of activities and the record timeline. Bounds match the columns they land in."""

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AwareDatetime, Field, StringConstraints

from accord.activities.models import EMAIL_BODY_MAX, TEXT_MAX
from accord.core import pagination
from accord.core.api import ListQuery
from accord.core.schemas import (
    Audit,
    CustomValues,
    InputSchema,
    Name200,
    Text100,
    Text200,
    Text255,
    partial,
)

RelatedType = Annotated[str, StringConstraints(min_length=1, max_length=40)]
LongText = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
Direction = Annotated[str, Field(pattern="^(inbound|outbound)$")]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254)]
Addresses = Annotated[list[Email], Field(max_length=100)]
Duration = Annotated[int, Field(ge=0, le=2_147_483_647)]
TaskStatus = Annotated[str, Field(pattern="^(open|in_progress|done|cancelled)$")]
TaskPriority = Annotated[str, Field(pattern="^(low|normal|high)$")]


class ActivityIn(InputSchema):
    related_type: RelatedType = Field(
        description='The object type of the record this is about: "account", "contact", …'
    )
    related_id: uuid.UUID
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    custom_fields: CustomValues = {}


class ActivityOut(Audit):
    id: uuid.UUID
    related_type: str
    related_id: uuid.UUID
    owner_id: uuid.UUID
    custom_fields: dict[str, object]


class ActivityFilters(ListQuery):
    related_type: str | None = Field(None, max_length=40)
    related_id: str | None = Field(None, max_length=40)
    owner_id: str | None = Field(None, max_length=40)
    updated_since: dt.datetime | None = None


class TaskIn(ActivityIn):
    subject: Name200
    description: LongText = ""
    due_at: AwareDatetime | None = None
    assignee_id: uuid.UUID | None = Field(None, description="Defaults to the owner")
    status: TaskStatus = "open"
    priority: TaskPriority = "normal"


TaskPatch = partial(TaskIn, "TaskPatch")


class TaskOut(ActivityOut):
    subject: str
    description: str
    due_at: dt.datetime | None
    assignee_id: uuid.UUID
    status: str
    priority: str
    completed_at: dt.datetime | None


class TaskFilters(ActivityFilters):
    status: str | None = Field(None, max_length=20)
    assignee_id: str | None = Field(None, max_length=40)
    due_before: dt.datetime | None = None


class NoteIn(ActivityIn):
    body: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]


NotePatch = partial(NoteIn, "NotePatch")


class NoteOut(ActivityOut):
    body: str


class CallIn(ActivityIn):
    subject: Text200 = ""
    direction: Direction
    occurred_at: AwareDatetime | None = Field(None, description="Defaults to now")
    duration_seconds: Duration = 0
    outcome: Text100 = ""
    notes: LongText = ""
    phone: Annotated[str, StringConstraints(max_length=40)] = Field(
        "", description="Stored in E.164"
    )


CallPatch = partial(CallIn, "CallPatch")


class CallOut(ActivityOut):
    subject: str
    direction: str
    occurred_at: dt.datetime
    duration_seconds: int
    outcome: str
    notes: str
    phone: str


class MeetingIn(ActivityIn):
    subject: Name200
    starts_at: AwareDatetime
    ends_at: AwareDatetime = Field(description="Must be after starts_at")
    location: Text255 = ""
    attendee_contact_ids: Annotated[list[uuid.UUID], Field(max_length=100)] = []
    notes: LongText = ""


MeetingPatch = partial(MeetingIn, "MeetingPatch")


class MeetingOut(ActivityOut):
    subject: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: str
    attendee_contact_ids: list[uuid.UUID]
    notes: str


class EmailLogIn(ActivityIn):
    subject: Text255 = ""
    direction: Direction
    from_address: Email
    to_addresses: Addresses = []
    cc_addresses: Addresses = []
    sent_at: AwareDatetime | None = Field(None, description="Defaults to now")
    body: Annotated[str, StringConstraints(max_length=EMAIL_BODY_MAX)] = ""
    message_id: Text255 = Field(
        "", description="The Message-ID header; the same message can be logged only once"
    )


EmailLogPatch = partial(EmailLogIn, "EmailLogPatch")


class EmailLogOut(ActivityOut):
    subject: str
    direction: str
    from_address: str
    to_addresses: list[str]
    cc_addresses: list[str]
    sent_at: dt.datetime
    body: str
    message_id: str


class ChangeOut(Schema):
    verb: str
    changes: dict[str, list[Any]] = Field(description="{field: [old, new]}")
    actor_id: uuid.UUID | None
    actor_name: str | None
    source: str
    version: int


class ActivitySummaryOut(Schema):
    summary: str
    owner_id: uuid.UUID
    details: dict[str, Any]


class TimelineEntryOut(Schema):
    id: uuid.UUID
    at: dt.datetime
    kind: str = Field(description='"change", or the activity\'s kind: task, note, call, …')
    change: ChangeOut | None
    activity: ActivitySummaryOut | None


class TimelineQuery(Schema):
    cursor: str | None = Field(
        None, max_length=2000, description="next_cursor of the previous page"
    )
    limit: int = Field(pagination.DEFAULT_LIMIT, ge=1, le=pagination.MAX_LIMIT)


class FieldChangeOut(Schema):
    id: uuid.UUID
    at: dt.datetime
    verb: str = Field(description="created, updated, deleted, restored, … (lead_… when copied)")
    changes: dict[str, list[Any]] = Field(description="{field: [old, new]}")
    actor_id: uuid.UUID | None
    actor_name: str | None
    source: str
    version: int


class HistoryQuery(Schema):
    field: str | None = Field(
        None,
        max_length=100,
        description="Only entries that changed this field (`custom_fields.<key>` for one "
        "custom field)",
    )
    cursor: str | None = Field(
        None, max_length=2000, description="next_cursor of the previous page"
    )
    limit: int = Field(pagination.DEFAULT_LIMIT, ge=1, le=pagination.MAX_LIMIT)


# -- notifications ------------------------------------------------------------------------------

ChannelName = Literal["in_app", "email_immediate", "email_digest", "off"]


class NotificationOut(Schema):
    id: uuid.UUID
    kind: str = Field(description="assignment, mention, sla_warning, system, …")
    title: str
    body: str
    object_type: str = Field(description="The type of the record it is about ('' for none)")
    object_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    created_at: dt.datetime
    read_at: dt.datetime | None
    emailed_at: dt.datetime | None


class NotificationQuery(Schema):
    unread: bool = Field(False, description="Only notifications not read yet")
    cursor: str | None = Field(
        None, max_length=2000, description="next_cursor of the previous page"
    )
    limit: int = Field(pagination.DEFAULT_LIMIT, ge=1, le=pagination.MAX_LIMIT)


class CountOut(Schema):
    count: int


class NotificationPreferencesIn(InputSchema):
    """The channel per kind of notification; kinds left out keep theirs."""

    assignment: ChannelName | None = None
    mention: ChannelName | None = None
    sla_warning: ChannelName | None = None
    system: ChannelName | None = None


class NotificationPreferencesOut(Schema):
    assignment: str
    mention: str
    sla_warning: str
    system: str

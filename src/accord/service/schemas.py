"""API shapes of cases and queues. Bounds match the columns they land in."""

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints

from accord.core.api import ListQuery
from accord.core.schemas import Audit, CustomValues, InputSchema, Name200, Text100, partial

#: Long text (descriptions); bounded so one request cannot store megabytes.
LongText = Annotated[str, StringConstraints(max_length=10_000)]
Name100 = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Priority = Annotated[str, Field(pattern="^(low|normal|high|urgent)$")]
Status = Annotated[str, Field(pattern="^(new|open|pending|resolved|closed)$")]
Origin = Annotated[str, Field(pattern="^(email|phone|web|portal|other)$")]


class QueueIn(InputSchema):
    name: Name100
    description: LongText = ""
    active: StrictBool = True
    custom_fields: CustomValues = {}


QueuePatch = partial(QueueIn, "QueuePatch")


class QueueOut(Audit):
    id: uuid.UUID
    name: str
    description: str
    active: bool
    calendar_id: uuid.UUID | None = Field(
        description="Business calendar SLA targets count in (set in Settings); none: 24x7"
    )
    custom_fields: dict[str, object]


class QueueFilters(ListQuery):
    active: bool | None = None
    updated_since: dt.datetime | None = None


class CaseIn(InputSchema):
    subject: Name200
    description: LongText = ""
    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = Field(
        None, description="Must belong to account_id; alone, the case takes its account"
    )
    product_id: uuid.UUID | None = Field(None, description="An active product")
    queue_id: uuid.UUID | None = Field(None, description="An active queue")
    priority: Priority = "normal"
    status: Status = Field(
        "new", description="Changes stamp first_response_at, resolved_at and closed_at"
    )
    origin: Origin = "other"
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    opened_at: dt.datetime | None = Field(
        None, description="Defaults to now; only a new case may be back-dated (imports)"
    )
    external_id: Text100 = ""
    custom_fields: CustomValues = {}


CasePatch = partial(CaseIn, "CasePatch")


class CaseOut(Audit):
    id: uuid.UUID
    number: str = Field(description="Human-readable reference, e.g. C-000123")
    subject: str
    description: str
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    product_id: uuid.UUID | None
    queue_id: uuid.UUID | None
    priority: str
    status: str
    origin: str
    owner_id: uuid.UUID
    opened_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    external_id: str
    sla_policy_id: uuid.UUID | None = Field(description="The SLA policy timing the case")
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    custom_fields: dict[str, object]


class CaseFilters(ListQuery):
    q: str | None = Field(None, max_length=200, description="Search number, subject, external id")
    owner_id: str | None = None
    account_id: str | None = None
    contact_id: str | None = None
    product_id: str | None = None
    queue_id: str | None = None
    status: str | None = None
    priority: str | None = None
    updated_since: dt.datetime | None = None
    opened_since: dt.datetime | None = None

"""API shapes of campaigns. Bounds match the columns they land in."""

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

from accord.core.api import ListQuery
from accord.core.schemas import Audit, CustomValues, InputSchema, Money, Name200, Text100, partial

#: Long text (descriptions); bounded so one request cannot store megabytes.
LongText = Annotated[str, StringConstraints(max_length=10_000)]
Currency = Annotated[
    str, StringConstraints(min_length=3, max_length=3), Field(description="ISO 4217 code")
]
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_text(value: Any) -> Any:
    # pydantic reads a bare number as a Unix time; a campaign date is only ever written out.
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("must be an ISO 8601 date, e.g. 2026-05-01")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]
CampaignType = Annotated[str, Field(pattern="^(email|event|webinar|advertising|other)$")]
CampaignStatus = Annotated[str, Field(pattern="^(planned|active|paused|completed|aborted)$")]


class CampaignIn(InputSchema):
    name: Name200
    description: LongText = ""
    type: CampaignType = "other"
    status: CampaignStatus = "planned"
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = Field(None, description="On or after starts_on")
    budget: Money | None = None
    currency: Currency | None = Field(
        None, description="ISO 4217; defaults to the company currency"
    )
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    product_ids: Annotated[list[uuid.UUID], Field(max_length=200)] = []
    external_id: Text100 = ""
    custom_fields: CustomValues = {}


CampaignPatch = partial(CampaignIn, "CampaignPatch")


class CampaignOut(Audit):
    id: uuid.UUID
    name: str
    description: str
    type: str
    status: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    budget: Decimal | None
    currency: str
    owner_id: uuid.UUID
    product_ids: list[uuid.UUID]
    external_id: str
    custom_fields: dict[str, object]


class CampaignFilters(ListQuery):
    q: str | None = Field(None, max_length=200, description="Search name and external id")
    owner_id: str | None = None
    status: str | None = None
    product_id: str | None = None
    active_on: IsoDate | None = Field(None, description="Campaigns whose dates cover this day")
    updated_since: dt.datetime | None = None

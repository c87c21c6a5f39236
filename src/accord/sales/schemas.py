"""API shapes of leads, pipelines, stages, deals and web forms. Bounds match the columns they land
in; integers are strict so that ``"5"`` and ``true`` are refused rather than guessed at."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StrictBool, StringConstraints

from accord.core.api import ListQuery
from accord.core.schemas import (
    Audit,
    CustomValues,
    InputSchema,
    Name200,
    Text100,
    Text200,
    Text255,
    maskable,
    partial,
)

Name100 = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Percent = Annotated[int, Field(strict=True, ge=0, le=100)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
Currency = Annotated[
    str,
    StringConstraints(min_length=3, max_length=3),
    Field(description="ISO 4217 code, e.g. EUR"),
]
Email = Annotated[str, StringConstraints(max_length=254)]
Phone = Annotated[str, StringConstraints(max_length=40)]
Source = Literal["web_form", "referral", "event", "campaign", "partner", "cold_call", "other"]

# Captured values are kept exactly as sent: no whitespace stripping, no coercion.
CapturedKey = Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=False)]
CapturedValue = (
    StrictBool
    | Annotated[int, Field(strict=True, ge=-(2**53), le=2**53)]
    | Annotated[float, Field(allow_inf_nan=False, ge=-(2**53), le=2**53)]
    | Annotated[str, StringConstraints(max_length=1000, strip_whitespace=False)]
    | None
)
Captured = Annotated[
    dict[CapturedKey, CapturedValue],
    Field(
        max_length=100,
        description="Extra values captured at first contact, kept verbatim; on conversion each "
        "whose key is a custom field of the contact, account or deal is copied there",
    ),
]


class LeadIn(InputSchema):
    first_name: Text100 = ""
    last_name: Text100 = ""
    company: Text200 = ""
    title: Text200 = ""
    email: Email = ""
    phone: Phone = ""
    website: Text255 = ""
    source: Source = "other"
    status: Literal["new", "working", "qualified", "unqualified"] = Field(
        "new", description="`converted` is set only by POST /leads/{id}/convert"
    )
    score: Percent = 0
    captured: Captured = {}
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    custom_fields: CustomValues = {}


LeadPatch = partial(LeadIn, "LeadPatch")


class LeadOut(Audit):
    id: uuid.UUID
    first_name: str
    last_name: str
    company: str
    title: str
    email: str
    phone: str
    website: str
    source: str
    status: str
    score: int
    captured: dict[str, Any]
    owner_id: uuid.UUID
    converted_at: dt.datetime | None
    converted_account_id: uuid.UUID | None
    converted_contact_id: uuid.UUID | None
    converted_deal_id: uuid.UUID | None
    custom_fields: dict[str, object]


class LeadFilters(ListQuery):
    owner_id: str | None = None
    updated_since: dt.datetime | None = None
    status: str | None = None
    source: str | None = None
    email: str | None = Field(None, max_length=254)


class LeadConvertIn(InputSchema):
    account_id: uuid.UUID | None = Field(
        None, description="Link this existing account instead of creating one from the company"
    )
    create_deal: StrictBool = False
    deal_name: Name200 | None = Field(None, description="Defaults to the account's name")
    deal_amount: Money | None = None
    deal_currency: Currency | None = None


class CarriedOut(Schema):
    value: Any
    to: list[str] = Field(description="Record types the value was copied to; [] = lead only")


class ConversionOut(Schema):
    lead: maskable(LeadOut)  # type: ignore[valid-type]
    account_id: uuid.UUID
    contact_id: uuid.UUID
    deal_id: uuid.UUID | None
    carried: dict[str, CarriedOut] | None = Field(
        None, description="Every captured value of the lead (absent when `captured` is hidden)"
    )


class PipelineIn(InputSchema):
    name: Name100
    is_default: StrictBool = Field(
        False, description="Making one pipeline the default unsets the previous default"
    )
    custom_fields: CustomValues = {}


PipelinePatch = partial(PipelineIn, "PipelinePatch")


class PipelineOut(Audit):
    id: uuid.UUID
    name: str
    is_default: bool
    custom_fields: dict[str, object]


class PipelineFilters(ListQuery):
    pass


class StageIn(InputSchema):
    pipeline_id: uuid.UUID
    name: Name100
    position: Annotated[int, Field(strict=True, ge=0, le=32767)] | None = Field(
        None, description="Unique within the pipeline; defaults to after the last stage"
    )
    probability: Percent | None = Field(None, description="Defaults to 100 when won, else 0")
    is_won: StrictBool = False
    is_lost: StrictBool = False
    custom_fields: CustomValues = {}


StagePatch = partial(StageIn, "StagePatch")


class StageOut(Audit):
    id: uuid.UUID
    pipeline_id: uuid.UUID
    name: str
    position: int
    probability: int
    is_won: bool
    is_lost: bool
    custom_fields: dict[str, object]


class StageFilters(ListQuery):
    pipeline_id: str | None = None


class DealIn(InputSchema):
    name: Name200
    account_id: uuid.UUID
    contact_ids: Annotated[list[uuid.UUID], Field(max_length=50)] = []
    amount: Money = Decimal("0.00")
    currency: Currency | None = Field(None, description="Defaults to the company currency")
    pipeline_id: uuid.UUID | None = Field(
        None, description="Defaults to the stage's pipeline, else the default pipeline"
    )
    stage_id: uuid.UUID | None = Field(
        None, description="Must belong to the pipeline; defaults to its first stage"
    )
    expected_close: dt.date | None = None
    probability: Percent | None = Field(None, description="Defaults to the stage's probability")
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    custom_fields: CustomValues = {}


DealPatch = partial(DealIn, "DealPatch")


class DealOut(Audit):
    id: uuid.UUID
    name: str
    account_id: uuid.UUID | None
    contact_ids: list[uuid.UUID]
    amount: Decimal
    currency: str
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    expected_close: dt.date | None
    probability: int
    closed_at: dt.datetime | None = Field(description="When the deal entered a won or lost stage")
    owner_id: uuid.UUID
    custom_fields: dict[str, object]


class DealFilters(ListQuery):
    owner_id: str | None = None
    updated_since: dt.datetime | None = None
    account_id: str | None = None
    pipeline_id: str | None = None
    stage_id: str | None = None
    expected_close_before: dt.date | None = Field(None, description="Inclusive")
    expected_close_after: dt.date | None = Field(None, description="Inclusive")


FormField = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class WebFormIn(InputSchema):
    name: Name100
    slug: Annotated[str, StringConstraints(min_length=1, max_length=50)] = Field(
        description="The form's public address: /api/v1/web-forms/{slug}/submissions"
    )
    active: StrictBool = True
    field_map: Annotated[dict[FormField, Text100], Field(max_length=50)] = Field(
        description="Form field name → lead field (first_name, last_name, company, title, "
        "email, phone, website) or captured.<key>"
    )
    source: Source = "web_form"
    lead_owner_id: uuid.UUID | None = Field(
        None, description="Owns the leads the form creates; defaults to the caller"
    )
    redirect_url: Annotated[str, StringConstraints(max_length=500)] = Field(
        "", description="Where a browser goes after submitting (303 See Other)"
    )
    honeypot: FormField = "website_url"
    rate_limit: Annotated[int, Field(strict=True, ge=1, le=10_000)] = Field(
        20, description="Submissions accepted per IP address per hour"
    )
    custom_fields: CustomValues = {}


WebFormPatch = partial(WebFormIn, "WebFormPatch")


class WebFormOut(Audit):
    id: uuid.UUID
    name: str
    slug: str
    active: bool
    field_map: dict[str, str]
    source: str
    lead_owner_id: uuid.UUID
    redirect_url: str
    honeypot: str
    rate_limit: int
    custom_fields: dict[str, object]


class WebFormFilters(ListQuery):
    pass


class SnippetOut(Schema):
    html: str


class SubmissionOut(Schema):
    status: Literal["received"] = "received"

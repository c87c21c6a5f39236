"""API shapes of accounts, contacts and tags. Bounds match the columns they land in."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field, StrictBool, StringConstraints

from accord.core import pagination
from accord.core.api import ListQuery
from accord.core.schemas import (
    Audit,
    CustomValues,
    InputSchema,
    Money,
    Name50,
    Name200,
    Text2,
    Text7,
    Text20,
    Text100,
    Text200,
    Text255,
    partial,
)

PositiveInt32 = Annotated[int, Field(ge=0, le=2_147_483_647)]
TagList = Annotated[list[Name50], Field(max_length=50)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254)]
Phone = Annotated[str, StringConstraints(min_length=3, max_length=40)]
AccountTier = Annotated[str, Field(pattern="^(standard|gold|platinum)$")]


class Address(InputSchema):
    street: Text255 | None = None
    city: Text100 | None = None
    region: Text100 | None = None
    postal_code: Text20 | None = None
    country: Text2 | None = Field(None, description="ISO 3166-1 alpha-2 code")


class AddressOut(Schema):
    street: str
    city: str
    region: str
    postal_code: str
    country: str


class TagIn(InputSchema):
    name: Name50
    color: Text7 = ""


TagPatch = partial(TagIn, "TagPatch")


class TagOut(Audit):
    id: uuid.UUID
    name: str
    color: str


class CustomFieldIn(InputSchema):
    record_type: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    key: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    label: Text100
    type: Annotated[str, Field(pattern="^(text|number|date|choice|bool)$")]
    required: StrictBool = False
    choices: Annotated[list[Text100], Field(max_length=200)] = []
    help_text: Text255 = ""
    position: Annotated[int, Field(ge=0, le=32767)] = 0


CustomFieldPatch = partial(CustomFieldIn, "CustomFieldPatch")


class CustomFieldOut(Audit):
    id: uuid.UUID
    record_type: str
    key: str
    label: str
    type: str
    required: bool
    choices: list[str]
    help_text: str
    position: int


class CustomFieldFilters(ListQuery):
    record_type: str | None = None


class AccountIn(InputSchema):
    name: Name200
    website: Text255 = ""
    domain: Text255 = ""
    industry: Text100 = ""
    tier: AccountTier = Field("standard", description="Service level; SLA policies match on it")
    employee_count: PositiveInt32 | None = None
    annual_revenue: Money | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    parent_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    external_id: Text100 = ""
    tags: TagList = []
    custom_fields: CustomValues = {}


AccountPatch = partial(AccountIn, "AccountPatch")


class AccountOut(Audit):
    id: uuid.UUID
    name: str
    website: str
    domain: str
    industry: str
    tier: str
    employee_count: int | None
    annual_revenue: Decimal | None
    billing_address: AddressOut
    shipping_address: AddressOut
    parent_id: uuid.UUID | None
    owner_id: uuid.UUID
    external_id: str
    tags: list[str]
    custom_fields: dict[str, object]


class AccountFilters(ListQuery):
    q: str | None = Field(None, max_length=200, description="Search name and domain")
    owner_id: str | None = None
    tag: str | None = None
    updated_since: dt.datetime | None = None
    domain: str | None = None
    parent_id: str | None = None


LifecycleStage = Annotated[
    str,
    Field(
        pattern="^(subscriber|lead|marketing_qualified|sales_qualified|opportunity|customer"
        "|evangelist|other)$"
    ),
]


class ContactIn(InputSchema):
    first_name: Text100 = ""
    last_name: Text100 = ""
    emails: Annotated[list[Email], Field(max_length=10)] = []
    phones: Annotated[list[Phone], Field(max_length=10)] = []
    title: Text200 = ""
    account_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    lifecycle_stage: LifecycleStage = "lead"
    email_opt_in: StrictBool = False
    sms_opt_in: StrictBool = False
    do_not_call: StrictBool = False
    external_id: Text100 = ""
    tags: TagList = []
    custom_fields: CustomValues = {}


ContactPatch = partial(ContactIn, "ContactPatch")


class ContactOut(Audit):
    id: uuid.UUID
    first_name: str
    last_name: str
    emails: list[str]
    phones: list[str]
    title: str
    account_id: uuid.UUID | None
    owner_id: uuid.UUID
    lifecycle_stage: str
    email_opt_in: bool
    sms_opt_in: bool
    do_not_call: bool
    external_id: str
    tags: list[str]
    custom_fields: dict[str, object]


class ContactFilters(ListQuery):
    q: str | None = Field(
        None, max_length=200, description="Search names, emails and phones (partial numbers too)"
    )
    owner_id: str | None = None
    tag: str | None = None
    updated_since: dt.datetime | None = None
    account_id: str | None = None
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    lifecycle_stage: str | None = None


class TagFilters(ListQuery):
    pass


class AttachmentOut(Audit):
    id: uuid.UUID
    related_type: str = Field(description="The object type of the record the file is on")
    related_id: uuid.UUID
    filename: str
    content_type: str = Field(description="What the content is, judged from its bytes")
    size: int = Field(description="In bytes")
    sha256: str


class AttachmentListQuery(Schema):
    cursor: str | None = Field(
        None, max_length=2000, description="next_cursor of the previous page"
    )
    limit: int = Field(pagination.DEFAULT_LIMIT, ge=1, le=pagination.MAX_LIMIT)

"""API shapes of products. Bounds match the columns they land in."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints

from accord.core.api import ListQuery
from accord.core.schemas import Audit, CustomValues, InputSchema, Money, Name200, Text100, partial

Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Currency = Annotated[
    str, StringConstraints(min_length=3, max_length=3), Field(description="ISO 4217 code")
]
#: Long text (descriptions); bounded so one request cannot store megabytes.
LongText = Annotated[str, StringConstraints(max_length=10_000)]


class ProductIn(InputSchema):
    sku: Sku = Field(description="Unique; stored trimmed and upper-case")
    name: Name200
    description: LongText = ""
    list_price: Money
    currency: Currency | None = Field(
        None, description="ISO 4217; defaults to the company currency"
    )
    active: StrictBool = True
    external_id: Text100 = ""
    custom_fields: CustomValues = {}


ProductPatch = partial(ProductIn, "ProductPatch")


class ProductOut(Audit):
    id: uuid.UUID
    sku: str
    name: str
    description: str
    list_price: Decimal
    currency: str
    active: bool
    external_id: str
    custom_fields: dict[str, object]


class ProductFilters(ListQuery):
    q: str | None = Field(None, max_length=200, description="Search SKU, name and external id")
    active: bool | None = None
    sku: str | None = Field(None, max_length=64)
    updated_since: dt.datetime | None = None

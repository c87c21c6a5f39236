"""All user-triggered reads of products, through the visibility filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from accord.catalog.models import Product, normalize_sku
from accord.core import pagination, search
from accord.core.errors import InvalidInput
from accord.core.pagination import ListParams
from accord.identity.visibility import hidden_fields, visible, visible_one
from accord.parties import customfields

PRODUCT_SORTS = {
    "id": "id",
    "sku": "sku",
    "name": "name",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def products_visible_to(user: Any) -> QuerySet[Product]:
    """Live products ``user`` may see; other domains resolve product ids through this."""
    return visible(user, Product.objects.all())


def get_product(user: Any, record_id: Any) -> Product:
    return visible_one(user, Product.objects.all(), record_id)


def list_products(
    user: Any,
    params: ListParams,
    *,
    active: bool | None = None,
    sku: str | None = None,
    updated_since: dt.datetime | None = None,
    q: str | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Product], str | None]:
    qs = customfields.filter_queryset(products_visible_to(user), Product.object_type, custom)
    if active is not None:
        qs = qs.filter(active=active)
    if sku:
        try:
            qs = qs.filter(sku=normalize_sku(sku))
        except ValueError as exc:
            raise InvalidInput.field("sku", str(exc)) from None
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    sort = pagination.parse_sort(params.sort, PRODUCT_SORTS)
    return search.page(
        qs,
        Product.object_type,
        q,
        hidden=hidden_fields(user, Product.object_type),
        sort=sort,
        cursor=params.cursor,
        limit=params.limit,
    )

"""All user-triggered reads of campaigns, through the visibility filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from accord.core import pagination, search
from accord.core.errors import InvalidInput
from accord.core.ids import require_id
from accord.core.pagination import ListParams
from accord.identity.visibility import hidden_fields, visible, visible_one
from accord.marketing.models import Campaign
from accord.parties import customfields

CAMPAIGN_SORTS = {
    "id": "id",
    "name": "name",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def campaigns_visible_to(user: Any) -> QuerySet[Campaign]:
    return visible(user, Campaign.objects.all()).prefetch_related("products")


def get_campaign(user: Any, record_id: Any) -> Campaign:
    return visible_one(user, Campaign.objects.prefetch_related("products"), record_id)


def list_campaigns(
    user: Any,
    params: ListParams,
    *,
    owner_id: str | None = None,
    status: str | None = None,
    product_id: str | None = None,
    active_on: dt.date | None = None,
    updated_since: dt.datetime | None = None,
    q: str | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Campaign], str | None]:
    """``active_on``: campaigns whose dates cover the day (started, and not ended or ending on
    or after it), whatever their status; combine with ``status`` for running ones."""
    qs = customfields.filter_queryset(campaigns_visible_to(user), Campaign.object_type, custom)
    if owner_id:
        qs = qs.filter(owner_id=require_id("owner_id", owner_id))
    if status:
        if status not in Campaign.Status.values:
            choices = ", ".join(Campaign.Status.values)
            raise InvalidInput.field("status", f"must be one of: {choices}")
        qs = qs.filter(status=status)
    if product_id:
        # A join through the product table; a campaign appears once per product, and only one
        # product is asked for, so no DISTINCT is needed.
        qs = qs.filter(products__pk=require_id("product_id", product_id))
    if active_on:
        qs = qs.filter(starts_on__lte=active_on).exclude(ends_on__lt=active_on)
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    sort = pagination.parse_sort(params.sort, CAMPAIGN_SORTS)
    return search.page(
        qs,
        Campaign.object_type,
        q,
        hidden=hidden_fields(user, Campaign.object_type),
        sort=sort,
        cursor=params.cursor,
        limit=params.limit,
    )

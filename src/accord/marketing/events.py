"""How campaigns appear in events, field history and API responses."""

from __future__ import annotations

from accord.core.records import Payload, jsonable, related_rows
from accord.marketing.models import Campaign


def campaign_record(campaign: Campaign) -> Payload:
    return {
        "id": str(campaign.pk),
        "name": campaign.name,
        "description": campaign.description,
        "type": campaign.type,
        "status": campaign.status,
        "starts_on": jsonable(campaign.starts_on),
        "ends_on": jsonable(campaign.ends_on),
        "budget": jsonable(campaign.budget),
        "currency": campaign.currency,
        "owner_id": jsonable(campaign.owner_id),
        # Sorted so that the same set of products never reads as a change.
        "product_ids": sorted(str(p.pk) for p in related_rows(campaign, "products")),
        "external_id": campaign.external_id,
        "custom_fields": campaign.custom_fields,
        "version": campaign.version,
        "created_at": jsonable(campaign.created_at),
        "updated_at": jsonable(campaign.updated_at),
        "created_by_id": jsonable(campaign.created_by_id),
        "updated_by_id": jsonable(campaign.updated_by_id),
        "deleted_at": jsonable(campaign.deleted_at),
    }

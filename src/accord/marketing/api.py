"""REST endpoints of marketing (mounted by accord.api)."""

from __future__ import annotations

from typing import Any

from accord.core.api import Resource, crud_router
from accord.marketing import queries, schemas, services

campaigns = crud_router(
    Resource(
        name="campaign",
        service=services.campaigns,
        read=queries.get_campaign,
        browse=queries.list_campaigns,
        out=schemas.CampaignOut,
        create_in=schemas.CampaignIn,
        patch_in=schemas.CampaignPatch,
        filters=schemas.CampaignFilters,
        tags=["campaigns"],
    )
)

#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES: list[tuple[str, Any, str]] = [("/campaigns", campaigns, "campaigns")]

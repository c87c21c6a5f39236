"""Demo campaigns promote the demo products over past, current and coming dates."""

from __future__ import annotations

from accord.catalog import demo as catalog_demo
from accord.marketing import demo
from accord.marketing.models import Campaign
from tests.catalog.demo import demo_context


def test_demo_loads_campaigns_with_products(admin):
    ctx, done = demo_context(admin)
    catalog_demo.load(ctx)

    demo.load(ctx)

    made = Campaign.objects.prefetch_related("products")
    assert len(ctx.ids["campaign"]) == made.count() == demo.CAMPAIGNS == done["Campaigns"]
    for campaign in made:
        assert 1 <= campaign.products.count() <= 3
        assert campaign.ends_on >= campaign.starts_on
    assert {c.status for c in made} >= {"planned", "completed"}

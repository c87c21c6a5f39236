"""Demo campaigns: about thirty, past, running and planned, each promoting a few products."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from accord.core import clock
from accord.core.demo import DemoContext
from accord.core.models import Source
from accord.marketing.services import campaigns

CAMPAIGNS = 30
_KINDS = (
    ("email", "Newsletter"),
    ("event", "Trade fair"),
    ("webinar", "Webinar"),
    ("advertising", "Online ads"),
    ("other", "Partner promotion"),
)


def load(ctx: DemoContext) -> None:
    """Create the campaigns and record them in ``ctx.ids``."""
    advance = ctx.progress("Campaigns", CAMPAIGNS)
    rnd = ctx.faker.random
    today = clock.now().date()
    products = ctx.ids.get("product", [])
    by_department = ctx.extra.get("users_by_department", {})
    owners = by_department.get("marketing") or ctx.ids.get("user") or [ctx.actor.pk]
    rows = []
    for index in range(CAMPAIGNS):
        kind, label = _KINDS[index % len(_KINDS)]
        starts = today + dt.timedelta(days=rnd.randint(-300, 90))
        ends = starts + dt.timedelta(days=rnd.randint(1, 60))
        if ends < today:
            status = rnd.choice(("completed", "completed", "aborted"))
        elif starts > today:
            status = "planned"
        else:
            status = rnd.choice(("active", "active", "paused"))
        rows.append(
            {
                "name": f"{label} {ctx.faker.catch_phrase()}"[:200],
                "description": ctx.faker.sentence(nb_words=15),
                "type": kind,
                "status": status,
                "starts_on": starts,
                "ends_on": ends,
                "budget": Decimal(rnd.randint(5, 500) * 100),
                "owner_id": rnd.choice(owners),
                "product_ids": rnd.sample(products, k=min(len(products), rnd.randint(1, 3))),
            }
        )
    created = campaigns.create_many(actor=ctx.actor, rows=rows, source=Source.SYSTEM)
    ctx.ids["campaign"] = [c.pk for c in created]
    advance(len(created))

"""The dashboard card of sales: a rep's open pipeline, stage by stage. Plain declarations that
``accord.web`` reads at start-up (see ``accord.web.pages``, ``CARDS``); the chart is plain data
(``chart``) that web draws with plotly, each bar linking to the deal list it counts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from accord.activities.dashboards import list_url
from accord.identity.visibility import permitted, visible
from accord.sales.models import Deal, Stage


def pipeline_by_stage(user: Any) -> dict[str, Any]:
    """The amount and number of ``user``'s open deals in each open stage of the default
    pipeline, one series per currency (amounts in different currencies are never added). One
    read of the stages, one aggregate of the deals on the deal_owner index."""
    stages = list(
        visible(user, Stage.objects.filter(pipeline__is_default=True, pipeline__deleted_at=None))
        .filter(is_won=False, is_lost=False)
        .order_by("position")
        .values_list("pk", "name")
    )
    totals = (
        visible(user, Deal.objects.filter(owner=user, stage__in=[pk for pk, _ in stages]))
        .values("stage_id", "currency")
        .annotate(deals=Count("pk"), amount=Sum("amount"))
        .order_by("currency")
    )
    by_currency: dict[str, dict[Any, dict[str, Any]]] = {}
    for row in totals:
        by_currency.setdefault(row["currency"], {})[row["stage_id"]] = row
    series = [
        {
            "name": currency,
            "points": [_point(user, pk, name, currency, found.get(pk)) for pk, name in stages],
        }
        for currency, found in by_currency.items()
    ]
    return {
        "chart": {
            "title": "Your open deals by stage",
            "category": "Stage",
            "value": "Amount",
            "series": series,
        },
        "empty": "You have no open deals in the default pipeline."
        if stages
        else "There is no default pipeline yet.",
        "link": {"label": "All your deals", "url": list_url("deal", owner_id=user.pk)},
    }


def _point(
    user: Any, stage_id: Any, stage: str, currency: str, row: dict[str, Any] | None
) -> dict[str, Any]:
    amount = row["amount"] if row else Decimal(0)
    deals = row["deals"] if row else 0
    return {
        "label": stage,
        "value": float(amount),
        "display": f"{amount:,.2f} {currency}",
        "note": f"{deals} deal{'s' if deals != 1 else ''}",
        "url": list_url("deal", stage_id=stage_id, owner_id=user.pk),
    }


CARDS = [
    {
        "key": "pipeline-by-stage",
        "label": "My pipeline by stage",
        "workspaces": ("sales",),
        "data": pipeline_by_stage,
        "order": 20,
        "description": "The amount of your open deals in each stage of the default pipeline.",
        "allowed": lambda user: permitted(user, Deal.object_type, "read"),
    },
]

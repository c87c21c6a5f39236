"""The dashboard card of marketing: the campaign calendar of the coming weeks. Plain
declarations that ``accord.web`` reads at start-up (see ``accord.web.pages``, ``CARDS``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from accord.activities.dashboards import list_url, record_url
from accord.core import clock
from accord.identity.visibility import permitted, visible
from accord.marketing.models import Campaign

#: How far ahead the calendar looks; campaigns starting within SOON_DAYS are marked.
AHEAD_DAYS = 60
SOON_DAYS = 30
#: Campaigns listed at most; the list page has the rest.
CAMPAIGNS_SHOWN = 30
#: Campaigns that will not run (again).
FINISHED = (Campaign.Status.COMPLETED, Campaign.Status.ABORTED)


def campaign_calendar(user: Any) -> dict[str, Any]:
    """Campaigns ``user`` may see that are running today or start within AHEAD_DAYS, grouped
    as "Running now" and then by the month they start. One read on the campaign_dates index
    (starts_on, ends_on)."""
    today = timezone.localdate(clock.now())
    campaigns = (
        visible(user, Campaign.objects.filter(starts_on__lte=today + dt.timedelta(AHEAD_DAYS)))
        .exclude(ends_on__lt=today)
        .exclude(status__in=FINISHED)
        .order_by("starts_on", "name", "pk")
        .only("pk", "name", "status", "type", "starts_on", "ends_on")[:CAMPAIGNS_SHOWN]
    )
    months: dict[str, list[dict[str, Any]]] = {}
    for campaign in campaigns:
        starts_on = campaign.starts_on or today
        group = "Running now" if starts_on <= today else starts_on.strftime("%B %Y")
        months.setdefault(group, []).append(
            {
                "name": campaign.name,
                "url": record_url(Campaign.object_type, campaign.pk),
                "starts_on": campaign.starts_on,
                "ends_on": campaign.ends_on,
                "status": campaign.get_status_display(),
                "type": campaign.get_type_display(),
                "soon": today < starts_on <= today + dt.timedelta(SOON_DAYS),
            }
        )
    return {
        "months": list(months.items()),
        "ahead_days": AHEAD_DAYS,
        "soon_days": SOON_DAYS,
        "links": [
            {"label": "Running today", "url": list_url("campaign", active_on=today.isoformat())},
            {"label": "All campaigns", "url": list_url("campaign")},
        ],
    }


CARDS = [
    {
        "key": "campaign-calendar",
        "label": "Campaign calendar",
        "workspaces": ("marketing",),
        "data": campaign_calendar,
        "template": "web/cards/campaign_calendar.html",
        "order": 20,
        "description": f"Campaigns running now or starting in the next {AHEAD_DAYS} days.",
        "allowed": lambda user: permitted(user, Campaign.object_type, "read"),
    },
]

"""The dashboard card of service: the open case load by priority. Plain declarations that
``accord.web`` reads at start-up (see ``accord.web.pages``, ``CARDS``); the chart is plain data
(``chart``) that web draws with plotly, each bar linking to the case list it counts.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from accord.activities.dashboards import list_url
from accord.identity.visibility import permitted, visible
from accord.service.models import Case

#: A case still being worked on, in the order a case moves through them.
OPEN_STATUSES = (Case.Status.NEW, Case.Status.OPEN, Case.Status.PENDING)
#: Most pressing first.
PRIORITIES = (Case.Priority.URGENT, Case.Priority.HIGH, Case.Priority.NORMAL, Case.Priority.LOW)


def open_cases_by_priority(user: Any) -> dict[str, Any]:
    """How many open cases ``user`` may see have each priority, stacked by status (the case
    list filters one status at a time, so each bar part links to exactly what it counts). One
    aggregate on the case_status index (status, priority, opened_at)."""
    counts = {
        (row["status"], row["priority"]): row["cases"]
        for row in visible(user, Case.objects.filter(status__in=OPEN_STATUSES))
        .values("status", "priority")
        .annotate(cases=Count("pk"))
        .order_by()
    }
    series = [
        {
            "name": status.label,
            "points": [
                {
                    "label": priority.label,
                    "value": counts.get((status.value, priority.value), 0),
                    "display": str(counts.get((status.value, priority.value), 0)),
                    "url": list_url("case", priority=priority.value, status=status.value),
                }
                for priority in PRIORITIES
            ],
        }
        for status in OPEN_STATUSES
    ]
    return {
        "chart": {
            "title": "Open cases by priority and status",
            "category": "Priority",
            "value": "Cases",
            "stacked": True,
            "series": series if counts else [],
        },
        "empty": "There are no open cases you can see.",
        "link": {"label": "All cases", "url": list_url("case")},
    }


CARDS = [
    {
        "key": "open-cases-by-priority",
        "label": "Open cases by priority",
        "workspaces": ("service",),
        "data": open_cases_by_priority,
        "order": 20,
        "description": "New, open and pending cases you can see, by priority.",
        "allowed": lambda user: permitted(user, Case.object_type, "read"),
    },
]

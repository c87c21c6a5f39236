"""What integration adds to the staff web app: the event backbone's status in Settings. Plain
declarations that ``accord.web`` reads at start-up (see docs/dev/adding-a-page.md)."""

from __future__ import annotations

from django.urls import path

from accord.identity.visibility import manages_access
from accord.integration import views

urlpatterns = [
    path("settings/events/", views.events_status, name="events-status"),
]

SETTINGS = [
    {
        "group": "Integration",
        "label": "Event backbone",
        "url": "integration:events-status",
        "order": 200,
        "description": "Outbox backlog, relay lease, each destination's position and lag.",
        "allowed": manages_access,
    },
]

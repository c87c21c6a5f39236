"""What service adds to the staff web app: the case queue in the Service workspace and the
Settings pages for queues, business calendars and SLA policies. Plain declarations that
``accord.web`` reads at start-up (see docs/dev/adding-a-page.md)."""

from __future__ import annotations

from django.urls import path

from accord.service import views
from accord.service.sla_config import is_admin

urlpatterns = [
    path("service/queue/", views.case_queue, name="case-queue"),
    path("service/queue/<uuid:case_id>/claim", views.claim_case, name="case-claim"),
    path("service/queue/<uuid:case_id>/assign", views.assign_case, name="case-assign"),
    path("service/queue/<uuid:case_id>/status", views.set_case_status, name="case-status"),
    path("settings/queues/", views.queue_list, name="queues"),
    path("settings/queues/new", views.queue_create, name="queue-create"),
    path("settings/queues/<uuid:queue_id>/", views.queue_edit, name="queue"),
    path("settings/business-calendars/", views.calendar_list, name="calendars"),
    path("settings/business-calendars/new", views.calendar_create, name="calendar-create"),
    path("settings/business-calendars/<uuid:calendar_id>/", views.calendar_edit, name="calendar"),
    path("settings/sla-policies/", views.sla_policy_list, name="sla-policies"),
    path("settings/sla-policies/new", views.sla_policy_create, name="sla-policy-create"),
    path("settings/sla-policies/<uuid:policy_id>/", views.sla_policy_edit, name="sla-policy"),
]

PAGES = [
    {
        "workspace": "service",
        "label": "Case queue",
        "url": "service:case-queue",
        "order": 5,
        "description": "Open cases by SLA urgency: claim, assign, change status.",
        "allowed": views.may_work_cases,
    },
]

SETTINGS = [
    {
        "group": "Service",
        "label": "Queues",
        "url": "service:queues",
        "order": 60,
        "description": "The piles cases wait in, and the business calendar each works to.",
        "allowed": is_admin,
    },
    {
        "group": "Service",
        "label": "Business calendars",
        "url": "service:calendars",
        "order": 61,
        "description": "Opening hours, time zone and holidays that SLA targets count in.",
        "allowed": is_admin,
    },
    {
        "group": "Service",
        "label": "SLA policies",
        "url": "service:sla-policies",
        "order": 62,
        "description": "First-response and resolution targets by queue, priority and tier.",
        "allowed": is_admin,
    },
]

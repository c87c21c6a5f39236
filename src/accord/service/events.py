"""How cases, queues, calendars and SLA policies appear in events, field history and API
responses."""

from __future__ import annotations

from accord.core.records import Payload, audit_fields, jsonable, related_rows
from accord.service.models import BusinessCalendar, Case, Queue, SlaPolicy


def queue_record(queue: Queue) -> Payload:
    return {
        "id": str(queue.pk),
        "name": queue.name,
        "description": queue.description,
        "active": queue.active,
        "calendar_id": jsonable(queue.calendar_id),
        "custom_fields": queue.custom_fields,
        **audit_fields(queue),
    }


def case_record(case: Case) -> Payload:
    return {
        "id": str(case.pk),
        "number": case.reference,
        "subject": case.subject,
        "description": case.description,
        "account_id": jsonable(case.account_id),
        "contact_id": jsonable(case.contact_id),
        "product_id": jsonable(case.product_id),
        "queue_id": jsonable(case.queue_id),
        "priority": case.priority,
        "status": case.status,
        "origin": case.origin,
        "owner_id": jsonable(case.owner_id),
        "opened_at": jsonable(case.opened_at),
        "first_response_at": jsonable(case.first_response_at),
        "resolved_at": jsonable(case.resolved_at),
        "closed_at": jsonable(case.closed_at),
        "external_id": case.external_id,
        "sla_policy_id": jsonable(case.sla_policy_id),
        "first_response_due_at": jsonable(case.first_response_due_at),
        "resolution_due_at": jsonable(case.resolution_due_at),
        "custom_fields": case.custom_fields,
        **audit_fields(case),
    }


def calendar_record(calendar: BusinessCalendar) -> Payload:
    return {
        "id": str(calendar.pk),
        "name": calendar.name,
        "timezone": calendar.timezone,
        "always_open": calendar.always_open,
        "hours": calendar.hours,
        "holidays": [
            {"date": h.date.isoformat(), "name": h.name} for h in related_rows(calendar, "holidays")
        ],
        "custom_fields": calendar.custom_fields,
        **audit_fields(calendar),
    }


def sla_policy_record(policy: SlaPolicy) -> Payload:
    return {
        "id": str(policy.pk),
        "name": policy.name,
        "queue_id": jsonable(policy.queue_id),
        "priority": policy.priority,
        "tier": policy.tier,
        "first_response_minutes": policy.first_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "warn_at_percent": policy.warn_at_percent,
        "active": policy.active,
        "order": policy.order,
        "custom_fields": policy.custom_fields,
        **audit_fields(policy),
    }

"""How cases and queues appear in events, field history and API responses."""

from __future__ import annotations

from accord.core.records import Payload, audit_fields, jsonable
from accord.service.models import Case, Queue


def queue_record(queue: Queue) -> Payload:
    return {
        "id": str(queue.pk),
        "name": queue.name,
        "description": queue.description,
        "active": queue.active,
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
        "custom_fields": case.custom_fields,
        **audit_fields(case),
    }

"""How activities appear in events, field history, API responses and the timeline.

One function per record type, so the API, the outbox and the timeline can never disagree.
"""

from __future__ import annotations

from typing import Any

from accord.activities.models import Activity, Call, EmailLog, Meeting, Note, Task
from accord.core.records import Payload, audit_fields, jsonable, related_rows

#: How much of a note's body the timeline shows.
EXCERPT = 200


def _common(record: Activity) -> Payload:
    return {
        "id": str(record.pk),
        "related_type": record.related_type,
        "related_id": str(record.related_id),
        "owner_id": jsonable(record.owner_id),
    }


def _audit(record: Activity) -> Payload:
    return {"custom_fields": record.custom_fields, **audit_fields(record)}


def task_record(task: Task) -> Payload:
    return {
        **_common(task),
        "subject": task.subject,
        "description": task.description,
        "due_at": jsonable(task.due_at),
        "assignee_id": jsonable(task.assignee_id),
        "status": task.status,
        "priority": task.priority,
        "completed_at": jsonable(task.completed_at),
        **_audit(task),
    }


def note_record(note: Note) -> Payload:
    return {**_common(note), "body": note.body, **_audit(note)}


def call_record(call: Call) -> Payload:
    return {
        **_common(call),
        "subject": call.subject,
        "direction": call.direction,
        "occurred_at": jsonable(call.occurred_at),
        "duration_seconds": call.duration_seconds,
        "outcome": call.outcome,
        "notes": call.notes,
        "phone": call.phone,
        **_audit(call),
    }


def attendee_ids(meeting: Meeting) -> list[str]:
    # Sorted, so that history diffs compare sets rather than the database's row order.
    return sorted(str(contact.pk) for contact in related_rows(meeting, "attendees"))


def meeting_record(meeting: Meeting) -> Payload:
    return {
        **_common(meeting),
        "subject": meeting.subject,
        "starts_at": jsonable(meeting.starts_at),
        "ends_at": jsonable(meeting.ends_at),
        "location": meeting.location,
        "attendee_contact_ids": attendee_ids(meeting),
        "notes": meeting.notes,
        **_audit(meeting),
    }


def email_log_record(email: EmailLog) -> Payload:
    return {
        **_common(email),
        "subject": email.subject,
        "direction": email.direction,
        "from_address": email.from_address,
        "to_addresses": list(email.to_addresses),
        "cc_addresses": list(email.cc_addresses),
        "sent_at": jsonable(email.sent_at),
        "body": email.body,
        "message_id": email.message_id,
        **_audit(email),
    }


def summary(record: Activity) -> tuple[str, dict[str, Any]]:
    """A one-line title and the few fields a timeline shows for ``record``."""
    if isinstance(record, Task):
        return record.subject, {
            "status": record.status,
            "priority": record.priority,
            "due_at": jsonable(record.due_at),
            "assignee_id": jsonable(record.assignee_id),
            "completed_at": jsonable(record.completed_at),
        }
    if isinstance(record, Note):
        excerpt = record.body if len(record.body) <= EXCERPT else record.body[: EXCERPT - 1] + "…"
        return excerpt, {}
    if isinstance(record, Call):
        return record.subject or f"{record.direction.capitalize()} call", {
            "direction": record.direction,
            "duration_seconds": record.duration_seconds,
            "outcome": record.outcome,
            "phone": record.phone,
        }
    if isinstance(record, Meeting):
        return record.subject, {
            "starts_at": jsonable(record.starts_at),
            "ends_at": jsonable(record.ends_at),
            "location": record.location,
        }
    if isinstance(record, EmailLog):
        return record.subject, {
            "direction": record.direction,
            "from_address": record.from_address,
            "to_addresses": list(record.to_addresses),
        }
    raise TypeError(f"not an activity: {type(record).__name__}")

"""All writes to tasks, notes, calls, meetings and email logs (see core.services for the write
path), and :func:`move_related`, which carries a record's activities over to another record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from accord.activities import events
from accord.activities.models import (
    ACTIVITY_MODELS,
    EMAIL_BODY_MAX,
    TEXT_MAX,
    Activity,
    Call,
    Direction,
    EmailLog,
    Meeting,
    Note,
    Task,
)
from accord.core import clock, records
from accord.core.errors import Conflict, FieldError, InvalidInput, NotFound
from accord.core.ids import parse_id
from accord.core.models import Record, Source, record_types
from accord.core.records import Payload
from accord.core.validation import (
    MISSING,
    Cleaner,
    lookup,
    normalize_email,
    normalize_phone,
    prime,
)
from accord.identity.models import Department, User
from accord.identity.records import VisibleRecordService
from accord.identity.visibility import can_see, visible
from accord.parties.models import Contact

A = TypeVar("A", bound=Activity)

MAX_ADDRESSES = 100
MAX_ATTENDEES = 100
MAX_DURATION = 2_147_483_647


def linkable_types() -> dict[str, type[Record]]:
    """The record types an activity may be about: every installed one but activities."""
    own = {model.object_type for model in ACTIVITY_MODELS}
    return {name: model for name, model in record_types().items() if name not in own}


# -- lookups (batched by core.validation.lookup inside create_many) --------------------------


def _active_user(pk: Any) -> User | None:
    def fetch(key: Any) -> User | None:
        try:
            return User.objects.filter(pk=key, is_active=True).first()
        except (ValueError, TypeError, ValidationError):
            return None

    return lookup("user", pk, fetch)


def _visible_record(actor: Any, model: type[Record], pk: Any) -> Any | None:
    """The id of the live ``model`` record ``pk`` if ``actor`` may see it, else None."""

    def fetch(key: Any) -> Any | None:
        return (
            visible(actor, model.objects.all()).filter(pk=key).values_list("pk", flat=True).first()
        )

    return lookup(f"related:{model.object_type}", pk, fetch)


def _visible_contact(actor: Any, raw: Any) -> Contact | None:
    pk = parse_id(raw)
    if pk is None:
        return None
    return lookup(
        "contact", pk, lambda key: visible(actor, Contact.objects.all()).filter(pk=key).first()
    )


def _preload(actor: Any, rows: list[Mapping[str, Any]]) -> None:
    """Load the users, related records and attendees a batch names in one query per kind."""
    users = {
        str(pk)
        for row in rows
        for key in ("owner_id", "assignee_id")
        if row.get(key) and (pk := parse_id(str(row[key]))) is not None
    }
    if users:
        found_users = User.objects.filter(pk__in=users, is_active=True)
        prime("user", users, {str(u.pk): u for u in found_users})
    by_type: dict[str, set[Any]] = {}
    for row in rows:
        pk = parse_id(str(row.get("related_id")))
        if pk is not None and isinstance(row.get("related_type"), str):
            by_type.setdefault(row["related_type"], set()).add(pk)
    types = linkable_types()
    for name, pks in by_type.items():
        model = types.get(name)
        if model is None:
            continue
        found = visible(actor, model.objects.all()).filter(pk__in=pks).values_list("pk", flat=True)
        prime(f"related:{name}", pks, {str(pk): pk for pk in found})
    contacts = {
        pk
        for row in rows
        for raw in (row.get("attendee_contact_ids") or [])
        if (pk := parse_id(str(raw))) is not None
    }
    if contacts:
        found_contacts = visible(actor, Contact.objects.all()).filter(pk__in=contacts)
        prime("contact", contacts, {str(c.pk): c for c in found_contacts})


# -- field cleaners ----------------------------------------------------------------------------


def _clean_related(cleaner: Cleaner, actor: Any, record: Activity | None) -> None:
    """The record the activity is about: an installed type and a live record ``actor`` sees.

    Unknown, deleted and hidden records all read "unknown <type>", so the error never confirms
    that a hidden record exists.
    """
    raw_type = cleaner.get("related_type", required=True)
    raw_id = cleaner.get("related_id", required=True)
    if raw_type is MISSING and raw_id is MISSING:
        return
    if any(e.field in ("related_type", "related_id") for e in cleaner.errors):
        return
    # On update one half may change alone; it is checked against the other's current value.
    object_type = raw_type if raw_type is not MISSING else getattr(record, "related_type", None)
    related_id = raw_id if raw_id is not MISSING else getattr(record, "related_id", None)
    model = linkable_types().get(str(object_type))
    if model is None:
        cleaner.error("related_type", f"unknown record type {object_type!r}")
        return
    pk = parse_id(str(related_id))
    if pk is None or _visible_record(actor, model, pk) is None:
        cleaner.error("related_id", f"unknown {object_type} {related_id}")
        return
    cleaner.out["related_type"] = model.object_type
    cleaner.out["related_id"] = pk


def _clean_user(cleaner: Cleaner, key: str, attr: str) -> None:
    # Absent means "the default"; an explicit null is an error, since the column is required.
    cleaner.related(key, _active_user, attr=attr, required=cleaner.has(key), what="user")


def _text(
    cleaner: Cleaner,
    key: str,
    *,
    limit: int,
    required: bool = False,
    normalize: Callable[[str], str] | None = None,
) -> None:
    cleaner.text(key, required=required, normalize=normalize)
    value = cleaner.out.get(key)
    if value is None:
        return
    if required and not value:
        cleaner.error(key, "is required and cannot be empty")
    elif len(value) > limit:
        cleaner.error(key, f"at most {limit} characters")
    else:
        return
    del cleaner.out[key]


def _moment(
    cleaner: Cleaner,
    key: str,
    *,
    nullable: bool = False,
    default: Callable[[], dt.datetime] | None = None,
) -> None:
    """A timezone-aware datetime (or ISO 8601 text); ``default`` fills it in on create."""
    value = cleaner.get(key, required=not nullable and default is None)
    if value is MISSING:
        if default is not None and cleaner.creating and not cleaner.has(key):
            cleaner.out[key] = default()
        return
    if value is None:
        if nullable:
            cleaner.out[key] = None
        else:
            cleaner.error(key, "is required and cannot be empty")
        return
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            cleaner.error(key, "must be an ISO 8601 date and time")
            return
    if not isinstance(value, dt.datetime):
        cleaner.error(key, "must be a date and time")
    elif value.utcoffset() is None:
        cleaner.error(key, "must include a time zone offset")
    else:
        cleaner.out[key] = value


def _addresses(cleaner: Cleaner, key: str) -> None:
    values = cleaner.get(key)
    if values is MISSING:
        return
    if values is None:
        values = []
    if not isinstance(values, list | tuple):
        cleaner.error(key, "must be a list of email addresses")
        return
    if len(values) > MAX_ADDRESSES:
        cleaner.error(key, f"at most {MAX_ADDRESSES} addresses")
        return
    out: list[str] = []
    for index, raw in enumerate(values):
        try:
            out.append(normalize_email(str(raw)))
        except ValueError as exc:
            cleaner.error(f"{key}[{index}]", str(exc))
    cleaner.out[key] = list(dict.fromkeys(out))


def normalize_message_id(raw: str) -> str:
    """A Message-ID without its angle brackets, so ``<a@b>`` and ``a@b`` are the same message."""
    return raw.strip().removeprefix("<").removesuffix(">").strip()


# -- services ----------------------------------------------------------------------------------


class ActivityService(VisibleRecordService[A]):
    """What every activity checks: the record it is about and its owner (defaults to the
    caller); ``clean_fields`` adds the kind's own fields to the same error report."""

    def clean(self, actor: Any, data: Mapping[str, Any], record: A | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        _clean_related(cleaner, actor, record)
        _clean_user(cleaner, "owner_id", "owner")
        self.clean_fields(cleaner, actor, record)
        return cleaner.done()

    def clean_fields(self, cleaner: Cleaner, actor: Any, record: A | None) -> None:
        raise NotImplementedError

    def preload(self, actor: Any, rows: list[Mapping[str, Any]]) -> None:
        _preload(actor, rows)


class TaskService(ActivityService[Task]):
    model = Task

    def payload(self, record: Task) -> Payload:
        return events.task_record(record)

    def clean_fields(self, cleaner: Cleaner, actor: Any, record: Task | None) -> None:
        _text(cleaner, "subject", limit=200, required=True)
        _text(cleaner, "description", limit=TEXT_MAX)
        _moment(cleaner, "due_at", nullable=True)
        _clean_user(cleaner, "assignee_id", "assignee")
        if record is None and not cleaner.has("assignee_id"):
            cleaner.out["assignee"] = cleaner.out.get("owner") or actor
        if cleaner.has("priority"):
            cleaner.choice("priority", Task.Priority)
        if cleaner.has("status"):
            cleaner.choice("status", Task.Status)
        status = cleaner.out.get("status")
        was = record.status if record is not None else None
        if status == Task.Status.DONE and was != Task.Status.DONE:
            cleaner.out["completed_at"] = clock.now()
        elif status is not None and status != Task.Status.DONE and was == Task.Status.DONE:
            cleaner.out["completed_at"] = None


class NoteService(ActivityService[Note]):
    model = Note

    def payload(self, record: Note) -> Payload:
        return events.note_record(record)

    def clean_fields(self, cleaner: Cleaner, actor: Any, record: Note | None) -> None:
        _text(cleaner, "body", limit=TEXT_MAX, required=True)


class CallService(ActivityService[Call]):
    model = Call

    def payload(self, record: Call) -> Payload:
        return events.call_record(record)

    def clean_fields(self, cleaner: Cleaner, actor: Any, record: Call | None) -> None:
        _text(cleaner, "subject", limit=200)
        cleaner.choice("direction", Direction)
        _moment(cleaner, "occurred_at", default=clock.now)
        duration = cleaner.get("duration_seconds")
        if duration is not MISSING:
            if (
                isinstance(duration, bool)
                or not isinstance(duration, int)
                or not 0 <= duration <= MAX_DURATION
            ):
                cleaner.error("duration_seconds", "must be a whole number of seconds, 0 or more")
            else:
                cleaner.out["duration_seconds"] = duration
        _text(cleaner, "outcome", limit=100)
        _text(cleaner, "notes", limit=TEXT_MAX)
        _text(cleaner, "phone", limit=20, normalize=normalize_phone)


class MeetingService(ActivityService[Meeting]):
    model = Meeting
    related = ("attendees",)
    prefetch = ("attendees",)

    def payload(self, record: Meeting) -> Payload:
        return events.meeting_record(record)

    def clean_fields(self, cleaner: Cleaner, actor: Any, record: Meeting | None) -> None:
        _text(cleaner, "subject", limit=200, required=True)
        _moment(cleaner, "starts_at")
        _moment(cleaner, "ends_at")
        _text(cleaner, "location", limit=255)
        _text(cleaner, "notes", limit=TEXT_MAX)
        self._clean_attendees(cleaner, actor)
        if "starts_at" in cleaner.out or "ends_at" in cleaner.out:
            starts = cleaner.out.get("starts_at", getattr(record, "starts_at", None))
            ends = cleaner.out.get("ends_at", getattr(record, "ends_at", None))
            if starts is not None and ends is not None and ends <= starts:
                cleaner.error("ends_at", "must be after starts_at")

    @staticmethod
    def _clean_attendees(cleaner: Cleaner, actor: Any) -> None:
        key = "attendee_contact_ids"
        values = cleaner.get(key)
        if values is MISSING:
            return
        if values is None:
            values = []
        if not isinstance(values, list | tuple):
            cleaner.error(key, "must be a list of contact ids")
            return
        if len(values) > MAX_ATTENDEES:
            cleaner.error(key, f"at most {MAX_ATTENDEES} attendees")
            return
        attendees: dict[Any, Contact] = {}
        for index, raw in enumerate(values):
            contact = _visible_contact(actor, raw)
            if contact is None:
                cleaner.error(f"{key}[{index}]", f"unknown contact {raw}")
            else:
                attendees[contact.pk] = contact
        cleaner.out["attendees"] = list(attendees.values())

    def save_related(
        self, records: list[Meeting], cleaned: list[dict[str, Any]], *, creating: bool
    ) -> None:
        if creating:
            through = Meeting.attendees.through
            through.objects.bulk_create(
                through(meeting_id=record.pk, contact_id=contact.pk)
                for record, values in zip(records, cleaned, strict=True)
                for contact in values.get("attendees") or []
            )
            return
        for record, values in zip(records, cleaned, strict=True):
            if "attendees" in values:
                record.attendees.set(values["attendees"])


class EmailLogService(ActivityService[EmailLog]):
    model = EmailLog

    def payload(self, record: EmailLog) -> Payload:
        return events.email_log_record(record)

    def clean_fields(self, cleaner: Cleaner, actor: Any, record: EmailLog | None) -> None:
        _text(cleaner, "subject", limit=255)
        cleaner.choice("direction", Direction)
        _text(cleaner, "from_address", limit=254, required=True, normalize=normalize_email)
        _addresses(cleaner, "to_addresses")
        _addresses(cleaner, "cc_addresses")
        _moment(cleaner, "sent_at", default=clock.now)
        _text(cleaner, "body", limit=EMAIL_BODY_MAX)
        _text(cleaner, "message_id", limit=255, normalize=normalize_message_id)

    def clean(self, actor: Any, data: Mapping[str, Any], record: EmailLog | None) -> dict[str, Any]:
        cleaned = super().clean(actor, data, record)
        message_id = cleaned.get("message_id")
        if message_id:
            # Checked here for a clear answer; the unique constraint still settles races.
            logged = lookup(
                "email_message_id",
                message_id,
                lambda key: (
                    EmailLog.all_objects.filter(message_id=key).values_list("pk", flat=True).first()
                ),
            )
            if logged is not None and (record is None or logged != record.pk):
                raise Conflict(
                    f"The email {message_id} is already logged",
                    [FieldError("message_id", "this message is already logged")],
                )
        return cleaned

    def preload(self, actor: Any, rows: list[Mapping[str, Any]]) -> None:
        super().preload(actor, rows)
        ids = {normalize_message_id(str(r["message_id"])) for r in rows if r.get("message_id")} - {
            ""
        }
        if ids:
            found = EmailLog.all_objects.filter(message_id__in=ids).values_list("message_id", "pk")
            prime("email_message_id", ids, dict(found))


tasks = TaskService()
notes = NoteService()
calls = CallService()
meetings = MeetingService()
email_logs = EmailLogService()

SERVICES: dict[type[Activity], ActivityService[Any]] = {
    Task: tasks,
    Note: notes,
    Call: calls,
    Meeting: meetings,
    EmailLog: email_logs,
}


def move_related(
    *,
    actor: Any,
    from_type: str,
    from_id: Any,
    to_type: str,
    to_id: Any,
    source: Source | str,
) -> int:
    """Re-point every activity of one record to another (lead conversion uses this) and return
    how many moved.

    Each moved activity gets one ``updated`` history entry and outbox event. Runs in the
    caller's transaction when one is open. Activities the actor cannot see move too, and so do
    those in the recycle bin (a restore should land on the new record), since the point is
    that nothing stays behind on the old record.
    """
    types = linkable_types()
    errors: list[FieldError] = []
    from_pk, to_pk = parse_id(str(from_id)), parse_id(str(to_id))
    if from_type not in types:
        errors.append(FieldError("from_type", f"unknown record type {from_type!r}"))
    if from_pk is None:
        errors.append(FieldError("from_id", "must be a UUID"))
    target = types.get(to_type)
    if target is None:
        errors.append(FieldError("to_type", f"unknown record type {to_type!r}"))
    elif to_pk is None or not target.objects.filter(pk=to_pk).exists():
        # Existence, not visibility: the caller may just have created the target for another
        # owner (a converted lead's contact), and already decided the actor may do this.
        errors.append(FieldError("to_id", f"unknown {to_type} {to_id}"))
    if errors:
        raise InvalidInput(f"Invalid value for: {', '.join(e.field for e in errors)}", errors)
    if (from_type, from_pk) == (to_type, to_pk):
        return 0
    moved = 0
    with transaction.atomic():
        for model in ACTIVITY_MODELS:
            moved += _move(SERVICES[model], actor, from_type, from_pk, to_type, to_pk, source)
    return moved


def _move(
    service: ActivityService[Any],
    actor: Any,
    from_type: str,
    from_pk: Any,
    to_type: str,
    to_pk: Any,
    source: Source | str,
) -> int:
    model = service.model
    rows = list(
        model.all_objects.filter(related_type=from_type, related_id=from_pk)
        .select_for_update()
        .order_by("pk")
        .prefetch_related(*service.prefetch)
    )
    if not rows:
        return 0
    before = [service.payload(row) for row in rows]
    for row in rows:
        row.related_type = to_type
        row.related_id = to_pk
        records.stamp(row, actor=actor)
    model.all_objects.bulk_update(
        rows, ["related_type", "related_id", "updated_at", "updated_by", "version"]
    )
    changes = []
    for row, old in zip(rows, before, strict=True):
        new = service.payload(row)
        changes.append(records.Change(row, "updated", new, records.diff(old, new)))
    records.write_changes(changes, actor=actor, source=source)
    return len(rows)


# -- sending a record to another department ----------------------------------------------------

#: How much of the message becomes the task's subject (the rest stays in its description).
HANDOFF_SUBJECT = 120


def handoff_recipients() -> list[tuple[Department, list[User]]]:
    """Every department with the active people one may send a record to, for the picker."""
    people: dict[Any, list[User]] = {}
    members = User.objects.filter(is_active=True, department__isnull=False)
    for user in members.order_by("last_name", "first_name", "username"):
        people.setdefault(user.department_id, []).append(user)
    return [(d, people.get(d.pk, [])) for d in Department.objects.order_by("name")]


def _department_lead(department: Department) -> User | None:
    """Who gets a record sent to a department as a whole: the active member highest in the
    role hierarchy (people without a role last), by username among equals."""
    members = User.objects.filter(department=department, is_active=True)
    return members.order_by(F("role__depth").asc(nulls_last=True), "username").first()


def check_send_to_department(
    *, actor: Any, record: Record, department_id: Any, assignee_id: Any = None
) -> tuple[Department, User]:
    """The department and the person a record goes to. The actor must see the record (else
    404, like an unknown one); the person must be an active member of the department (the
    department's lead when none is chosen) and see the record, or the task would be empty."""
    if not can_see(actor, record):
        raise NotFound(f"No {record.object_type} with id {record.pk}")
    pk = parse_id(str(department_id)) if department_id else None
    department = Department.objects.filter(pk=pk).first() if pk else None
    if department is None:
        raise InvalidInput.field("department_id", "choose a department")
    if assignee_id:
        person = parse_id(str(assignee_id))
        members = User.objects.filter(department=department, is_active=True)
        assignee = members.filter(pk=person).first() if person else None
        if assignee is None:
            raise InvalidInput.field("assignee_id", f"is not an active member of {department}")
    else:
        assignee = _department_lead(department)
        if assignee is None:
            raise InvalidInput.field("department_id", f"{department} has nobody to send to")
    if not can_see(assignee, record):
        raise InvalidInput.field(
            "assignee_id", f"{assignee} cannot see this {record.object_type}: share it first"
        )
    return department, assignee


def send_to_department(
    *,
    actor: Any,
    record: Record,
    department_id: Any,
    assignee_id: Any = None,
    message: str = "",
    source: Source | str = Source.API,
) -> Task:
    """Hand ``record`` to another department: a task about it, owned by and assigned to one of
    its people (see :func:`check_send_to_department`), carrying the message.

    The task goes through :data:`tasks`, so it gets its history entry and ``task.created``
    event, and the write path's assignment listener tells the recipient through ``notify()``,
    exactly once (nobody is told about what they send to themselves). The subject holds the
    sender's own words, never the record's fields, which field security may hide from the
    recipient.
    """
    text = (message or "").strip()
    if len(text) > TEXT_MAX:
        raise InvalidInput.field("message", f"at most {TEXT_MAX} characters")
    department, assignee = check_send_to_department(
        actor=actor, record=record, department_id=department_id, assignee_id=assignee_id
    )
    first_line = text.splitlines()[0] if text else ""
    if len(first_line) > HANDOFF_SUBJECT:
        first_line = first_line[: HANDOFF_SUBJECT - 1] + "…"
    sender = str(actor)
    subject = f"Sent to {department} by {sender}" + (f": {first_line}" if first_line else "")
    with transaction.atomic():
        return tasks.create(
            actor=actor,
            data={
                "related_type": record.object_type,
                "related_id": record.pk,
                "subject": subject[:200],
                "description": text,
                "owner_id": assignee.pk,
                "assignee_id": assignee.pk,
            },
            source=source,
        )

"""Writes of every activity kind follow the write path and check what they are about."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, transaction

from accord.activities.models import Call, EmailLog, Meeting, Task
from accord.core import clock
from accord.core.errors import Conflict, InvalidInput
from accord.core.models import HistoryEntry, OutboxEvent, Source
from accord.identity.models import SharingDefault
from accord.parties import services as parties_services

from .conftest import KINDS, SERVICES, START, body_for


def _events(record):
    return list(
        OutboxEvent.objects.filter(object_id=record.pk)
        .order_by("id")
        .values_list("type", flat=True)
    )


def _field_errors(exc: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


@pytest.mark.parametrize("kind", KINDS)
def test_each_write_records_history_and_exactly_one_event(
    kind, admin, make_user, contact, create_activity
):
    record = create_activity(kind, contact)
    assert record.owner_id == admin.pk
    assert _events(record) == [f"accord.{kind}.created"]
    created = HistoryEntry.objects.get(object_id=record.pk)
    assert (created.verb, created.source, created.actor_id) == ("created", "web", admin.pk)
    assert created.changes["related_id"] == [None, str(contact.pk)]

    SERVICES[kind].update(
        actor=admin,
        record_id=record.pk,
        data={"custom_fields": {}, "owner_id": admin.pk, "related_type": "contact"},
        expected_version=1,
    )
    assert _events(record) == [f"accord.{kind}.created"], "an update that changes nothing"

    colleague = make_user()
    SERVICES[kind].update(
        actor=admin, record_id=record.pk, data={"owner_id": colleague.pk}, expected_version=1
    )
    updated = HistoryEntry.objects.get(object_id=record.pk, verb="updated")
    assert updated.changes == {"owner_id": [str(admin.pk), str(colleague.pk)]}

    SERVICES[kind].delete(actor=admin, record_id=record.pk, expected_version=2)
    assert _events(record) == [
        f"accord.{kind}.{verb}" for verb in ("created", "updated", "deleted")
    ]
    assert HistoryEntry.objects.filter(object_id=record.pk).count() == 3


@pytest.mark.parametrize("kind", KINDS)
def test_related_record_must_be_an_installed_type(kind, admin, contact):
    with pytest.raises(InvalidInput) as exc:
        SERVICES[kind].create(actor=admin, data=body_for(kind, contact, related_type="planet"))
    assert _field_errors(exc) == {"related_type": "unknown record type 'planet'"}


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_deleted_and_hidden_related_records_read_the_same(
    kind, admin, make_user, make_contact
):
    member = make_user()
    SharingDefault.objects.create(object_type="contact", access="private")
    hidden = make_contact(owner=admin)
    deleted = make_contact(owner=member)
    parties_services.contacts.delete(actor=admin, record_id=deleted.pk, expected_version=1)
    missing = uuid.uuid4()

    for related_id in (hidden.pk, deleted.pk, missing):
        data = body_for(kind, hidden, related_id=str(related_id))
        with pytest.raises(InvalidInput) as exc:
            SERVICES[kind].create(actor=member, data=data)
        assert _field_errors(exc) == {"related_id": f"unknown contact {related_id}"}
    assert not SERVICES[kind].model.all_objects.exists()


def test_related_record_change_alone_is_checked_against_current_type(
    admin, contact, account, create_activity
):
    note = create_activity("note", contact)
    with pytest.raises(InvalidInput) as exc:
        SERVICES["note"].update(
            actor=admin, record_id=note.pk, data={"related_id": account.pk}, expected_version=1
        )
    assert _field_errors(exc) == {"related_id": f"unknown contact {account.pk}"}
    moved = SERVICES["note"].update(
        actor=admin,
        record_id=note.pk,
        data={"related_type": "account", "related_id": account.pk},
        expected_version=1,
    )
    assert (moved.related_type, moved.related_id) == ("account", account.pk)


def test_activity_can_be_about_any_record_type_but_not_another_activity(
    admin, contact, create_activity
):
    task = create_activity("task", contact)
    with pytest.raises(InvalidInput) as exc:
        create_activity("note", task)
    assert _field_errors(exc) == {"related_type": "unknown record type 'task'"}


def test_task_assignee_defaults_to_owner_and_must_be_active(admin, make_user, contact):
    owner = make_user()
    task = SERVICES["task"].create(actor=admin, data=body_for("task", contact, owner_id=owner.pk))
    assert task.assignee_id == owner.pk
    retired = make_user(active=False)
    with pytest.raises(InvalidInput) as exc:
        SERVICES["task"].create(actor=admin, data=body_for("task", contact, assignee_id=retired.pk))
    assert _field_errors(exc) == {"assignee_id": f"unknown user {retired.pk}"}
    with pytest.raises(InvalidInput) as exc:
        SERVICES["task"].update(
            actor=admin, record_id=task.pk, data={"assignee_id": None}, expected_version=1
        )
    assert set(_field_errors(exc)) == {"assignee_id"}


def test_task_completed_at_is_set_when_it_becomes_done_and_cleared_when_reopened(
    admin, contact, create_activity
):
    task = create_activity("task", contact)
    assert task.completed_at is None
    done_at = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)
    with clock.frozen(done_at):
        task = SERVICES["task"].update(
            actor=admin, record_id=task.pk, data={"status": "done"}, expected_version=1
        )
    assert task.completed_at == done_at
    history = HistoryEntry.objects.filter(object_id=task.pk, verb="updated").get()
    assert history.changes["status"] == ["open", "done"]
    assert history.changes["completed_at"] == [None, done_at.isoformat()]

    with clock.frozen(done_at + dt.timedelta(days=1)):
        task = SERVICES["task"].update(
            actor=admin, record_id=task.pk, data={"subject": "Renamed"}, expected_version=2
        )
    assert task.completed_at == done_at, "editing a done task keeps when it was completed"
    task = SERVICES["task"].update(
        actor=admin, record_id=task.pk, data={"status": "in_progress"}, expected_version=3
    )
    assert task.completed_at is None


def test_task_created_done_is_completed_now(admin, contact, create_activity):
    with clock.frozen(START):
        task = create_activity("task", contact, status="done")
    assert task.completed_at == START


def test_note_body_is_required_and_bounded(admin, contact):
    for body, message in (("  ", "is required and cannot be empty"), ("x" * 20_001, "at most")):
        with pytest.raises(InvalidInput) as exc:
            SERVICES["note"].create(actor=admin, data=body_for("note", contact, body=body))
        assert _field_errors(exc)["body"].startswith(message)


def test_call_defaults_to_now_and_normalizes_phone(admin, contact, create_activity):
    with clock.frozen(START):
        call = create_activity("call", contact, phone="(201) 555-0123")
    assert (call.occurred_at, call.phone) == (START, "+12015550123")
    with pytest.raises(InvalidInput) as exc:
        create_activity("call", contact, duration_seconds=-1, phone="call me", direction="up")
    assert set(_field_errors(exc)) == {"duration_seconds", "phone", "direction"}
    assert Call.objects.count() == 1


def test_meeting_must_end_after_it_starts(admin, contact, create_activity):
    with pytest.raises(InvalidInput) as exc:
        create_activity("meeting", contact, ends_at=START.isoformat())
    assert _field_errors(exc) == {"ends_at": "must be after starts_at"}

    meeting = create_activity("meeting", contact)
    later = (START + dt.timedelta(hours=2)).isoformat()
    with pytest.raises(InvalidInput) as exc:
        SERVICES["meeting"].update(
            actor=admin, record_id=meeting.pk, data={"starts_at": later}, expected_version=1
        )
    assert _field_errors(exc) == {"ends_at": "must be after starts_at"}
    with pytest.raises(InvalidInput) as exc:
        create_activity("meeting", contact, starts_at="2026-03-02T09:00:00")
    assert _field_errors(exc) == {"starts_at": "must include a time zone offset"}


def test_meeting_attendees_must_be_visible_contacts(admin, make_user, make_contact, contact):
    member = make_user()
    SharingDefault.objects.create(object_type="contact", access="private")
    own = make_contact(owner=member, last_name="Own")
    hidden = make_contact(owner=admin, last_name="Hidden")
    about = make_contact(owner=member, last_name="About")
    data = body_for("meeting", about, attendee_contact_ids=[str(own.pk), str(hidden.pk)])
    with pytest.raises(InvalidInput) as exc:
        SERVICES["meeting"].create(actor=member, data=data)
    assert _field_errors(exc) == {"attendee_contact_ids[1]": f"unknown contact {hidden.pk}"}

    data["attendee_contact_ids"] = [str(own.pk), str(about.pk), str(own.pk)]
    meeting = SERVICES["meeting"].create(actor=member, data=data)
    assert set(meeting.attendees.all()) == {own, about}
    meeting = SERVICES["meeting"].update(
        actor=member,
        record_id=meeting.pk,
        data={"attendee_contact_ids": [str(about.pk)]},
        expected_version=1,
    )
    change = HistoryEntry.objects.get(object_id=meeting.pk, verb="updated").changes
    assert change == {
        "attendee_contact_ids": [sorted([str(own.pk), str(about.pk)]), [str(about.pk)]]
    }


def test_logging_the_same_message_twice_is_a_conflict(admin, contact, create_activity):
    first = create_activity("email_log", contact, message_id="<abc@mail.example.com>")
    assert first.message_id == "abc@mail.example.com"
    with pytest.raises(Conflict) as exc:
        create_activity("email_log", contact, message_id="abc@mail.example.com")
    assert [e.field for e in exc.value.errors] == ["message_id"]
    create_activity("email_log", contact)
    create_activity("email_log", contact)
    assert EmailLog.objects.count() == 3, "blank message ids never collide"
    updated = SERVICES["email_log"].update(
        actor=admin,
        record_id=first.pk,
        data={"message_id": "abc@mail.example.com", "subject": "Re: pricing"},
        expected_version=1,
    )
    assert updated.version == 2, "a log keeps its own message id"


def test_duplicate_message_ids_within_a_batch_conflict(admin, contact):
    rows = [body_for("email_log", contact, message_id="same@example.com") for _ in range(2)]
    with pytest.raises(Conflict):
        SERVICES["email_log"].create_many(actor=admin, rows=rows)
    assert not EmailLog.objects.exists()
    assert not OutboxEvent.objects.filter(object_type="email_log").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_create_many_writes_one_event_per_activity(kind, admin, contact, account):
    rows = [body_for(kind, contact), body_for(kind, account)]
    created = SERVICES[kind].create_many(actor=admin, rows=rows, source=Source.IMPORT)
    assert [r.related_type for r in created] == ["contact", "account"]
    events = OutboxEvent.objects.filter(object_type=kind, type=f"accord.{kind}.created")
    assert events.count() == 2


def test_create_many_names_the_bad_row(admin, contact):
    rows = [
        body_for("task", contact),
        body_for("task", contact, related_id=str(uuid.uuid4())),
        body_for("task", contact, owner_id="nobody"),
    ]
    with pytest.raises(InvalidInput) as exc:
        SERVICES["task"].create_many(actor=admin, rows=rows)
    assert set(_field_errors(exc)) == {"[1].related_id", "[2].owner_id"}
    assert not Task.objects.exists()


def test_database_refuses_a_meeting_that_ends_before_it_starts(contact, create_activity):
    meeting = create_activity("meeting", contact)
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.filter(pk=meeting.pk).update(ends_at=START - dt.timedelta(minutes=1))

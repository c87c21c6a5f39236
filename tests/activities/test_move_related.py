"""move_related carries every activity of one record over to another (lead conversion)."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction

from accord.activities.models import ACTIVITY_MODELS, Note
from accord.activities.services import move_related
from accord.core.errors import InvalidInput
from accord.core.models import HistoryEntry, OutboxEvent, Source
from accord.identity.models import SharingDefault

from .conftest import KINDS, SERVICES


def _move(actor, source_record, target, **kw):
    return move_related(
        actor=actor,
        from_type=source_record.object_type,
        from_id=source_record.pk,
        to_type=target.object_type,
        to_id=target.pk,
        source=kw.pop("source", Source.SYSTEM),
    )


def test_every_activity_moves_with_one_history_entry_and_event_each(
    admin, make_contact, account, create_activity
):
    lead_like, bystander = make_contact(last_name="Moved"), make_contact(last_name="Stays")
    moved = [create_activity(kind, lead_like) for kind in KINDS]
    stays = create_activity("note", bystander)

    assert _move(admin, lead_like, account) == len(KINDS)

    for record in moved:
        record.refresh_from_db()
        assert (record.related_type, record.related_id, record.version) == (
            "account",
            account.pk,
            2,
        )
        entry = HistoryEntry.objects.get(object_id=record.pk, verb="updated")
        assert entry.source == "system"
        assert entry.changes == {
            "related_type": ["contact", "account"],
            "related_id": [str(lead_like.pk), str(account.pk)],
        }
        events = OutboxEvent.objects.filter(object_id=record.pk, type__endswith=".updated")
        assert [e.envelope["data"]["record"]["related_id"] for e in events] == [str(account.pk)]
    stays.refresh_from_db()
    assert (stays.related_id, stays.version) == (bystander.pk, 1)


def test_hidden_and_recycled_activities_move_too(
    admin, make_user, make_contact, account, create_activity
):
    SharingDefault.objects.create(object_type="note", access="private")
    author, converter = make_user(), make_user()
    source_record = make_contact()
    private = create_activity("note", source_record, actor=author)
    recycled = create_activity("task", source_record)
    SERVICES["task"].delete(actor=admin, record_id=recycled.pk, expected_version=1)

    assert _move(converter, source_record, account) == 2
    assert Note.objects.get(pk=private.pk).related_id == account.pk
    assert SERVICES["task"].model.all_objects.get(pk=recycled.pk).related_id == account.pk


def test_move_joins_the_callers_transaction(admin, make_contact, account, create_activity):
    source_record = make_contact()
    note = create_activity("note", source_record)
    events_before = OutboxEvent.objects.count()

    class ConversionFailed(Exception):
        pass

    moved = []

    def convert():
        with transaction.atomic():
            moved.append(_move(admin, source_record, account))
            raise ConversionFailed

    with pytest.raises(ConversionFailed):
        convert()
    assert moved == [1]

    note.refresh_from_db()
    assert (note.related_id, note.version) == (source_record.pk, 1)
    assert OutboxEvent.objects.count() == events_before


def test_move_refuses_unknown_types_and_targets(admin, contact):
    with pytest.raises(InvalidInput) as exc:
        move_related(
            actor=admin,
            from_type="planet",
            from_id=contact.pk,
            to_type="contact",
            to_id=uuid.uuid4(),
            source=Source.SYSTEM,
        )
    assert {e.field for e in exc.value.errors} == {"from_type", "to_id"}


def test_nothing_to_move_moves_nothing(admin, make_contact, account):
    assert _move(admin, make_contact(), account) == 0
    assert not any(model.all_objects.exists() for model in ACTIVITY_MODELS)

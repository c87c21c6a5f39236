"""The worker ticks schedules and runs their jobs; the recycle-bin purge is one of them."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.core import clock, scheduler, worker
from accord.core.models import HistoryEntry, OutboxEvent, Schedule
from accord.parties import services
from accord.parties.models import Contact

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_worker_purges_recycle_bin_after_retention_only(admin):
    with clock.frozen(START):
        old = services.contacts.create(actor=admin, data={"last_name": "Old"})
        services.contacts.delete(actor=admin, record_id=old.pk, expected_version=1)
        clock.advance(dt.timedelta(days=10))
        recent = services.contacts.create(actor=admin, data={"last_name": "Recent"})
        services.contacts.delete(actor=admin, record_id=recent.pk, expected_version=1)
        clock.advance(dt.timedelta(days=6))

        worker.run(once=True)

    assert not Contact.all_objects.filter(pk=old.pk).exists()
    assert Contact.all_objects.filter(pk=recent.pk, deleted_at__isnull=False).exists()
    assert OutboxEvent.objects.filter(object_id=old.pk, type="accord.contact.purged").count() == 1
    assert HistoryEntry.objects.filter(object_id=old.pk, verb="purged").exists()


@pytest.mark.django_db(transaction=True)
def test_tick_enqueues_a_due_job_once_and_schedules_the_next_run():
    with clock.frozen(START):
        scheduler.sync()
        assert "recycle-bin-purge" in scheduler.tick()
        assert scheduler.tick() == []
        row = Schedule.objects.get(name="recycle-bin-purge")
        assert row.next_run_at == START + dt.timedelta(hours=1)
        clock.advance(dt.timedelta(hours=1))
        assert "recycle-bin-purge" in scheduler.tick()


@pytest.mark.django_db(transaction=True)
def test_disabled_schedule_is_not_enqueued():
    with clock.frozen(START):
        scheduler.sync()
        Schedule.objects.filter(name="recycle-bin-purge").update(enabled=False)
        assert "recycle-bin-purge" not in scheduler.tick()


@pytest.mark.django_db(transaction=True)
def test_purging_a_record_purges_its_activities_and_manual_shares(admin, make_user):
    from accord.activities import services as activities
    from accord.activities.models import Note
    from accord.core.tasks import purge_recycle_bin
    from accord.identity.models import RecordShare

    colleague = make_user()
    with clock.frozen(START):
        gone = services.contacts.create(actor=admin, data={"last_name": "Gone"})
        kept = services.contacts.create(actor=admin, data={"last_name": "Kept"})
        note = activities.notes.create(
            actor=admin, data={"related_type": "contact", "related_id": str(gone.pk), "body": "x"}
        )
        other = activities.notes.create(
            actor=admin, data={"related_type": "contact", "related_id": str(kept.pk), "body": "y"}
        )
        for contact in (gone, kept):
            RecordShare.objects.create(object_type="contact", record_id=contact.pk, user=colleague)
        services.contacts.delete(actor=admin, record_id=gone.pk, expected_version=1)
        clock.advance(dt.timedelta(days=16))
        purge_recycle_bin.call()

    assert not Note.all_objects.filter(pk=note.pk).exists()
    assert OutboxEvent.objects.filter(object_id=note.pk, type="accord.note.purged").count() == 1
    assert Note.objects.filter(pk=other.pk).exists()
    assert list(RecordShare.objects.values_list("record_id", flat=True)) == [kept.pk]

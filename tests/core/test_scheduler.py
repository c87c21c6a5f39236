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

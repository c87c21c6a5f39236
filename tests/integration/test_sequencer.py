"""The sequencer: only the lease holder numbers committed outbox rows, in outbox-id order, with
a gap-free sequence continuing from the highest; a takeover never skips or renumbers; retention
deletes only a published prefix past its age (ARCHITECTURE.md, "No skipped events")."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections

from accord.core import clock
from accord.core.models import OutboxEvent
from accord.integration import sequencer
from accord.integration.models import Destination, Sequencer
from accord.integration.tasks import purge_outbox
from accord.parties import services

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _write(actor, count: int) -> None:
    for n in range(count):
        services.contacts.create(actor=actor, data={"last_name": f"Person {n}"})


def _numbers() -> list[tuple[int, int | None]]:
    return list(OutboxEvent.objects.order_by("id").values_list("id", "sequence"))


def test_holder_numbers_rows_in_outbox_order_without_gaps(admin):
    _write(admin, 7)
    assert sequencer.hold("a", seconds=5)

    assert sequencer.number("a", batch=3) == 3
    assert sequencer.number("a", batch=3) == 3
    assert sequencer.number("a", batch=3) == 1
    assert sequencer.number("a", batch=3) == 0

    numbers = _numbers()
    assert [seq for _, seq in numbers] == list(range(1, 8))
    assert sequencer.state().last_sequence == 7
    assert not sequencer.pending()


def test_numbering_continues_from_the_highest_number_given(admin):
    _write(admin, 2)
    assert sequencer.hold("a", seconds=5)
    sequencer.number("a", batch=10)
    _write(admin, 3)

    sequencer.number("a", batch=10)

    assert [seq for _, seq in _numbers()] == [1, 2, 3, 4, 5]


def test_a_second_process_cannot_take_a_live_lease_nor_number(admin):
    _write(admin, 2)
    assert sequencer.hold("a", seconds=5)

    assert not sequencer.hold("b", seconds=5)
    with pytest.raises(sequencer.LeaseLost):
        sequencer.number("b", batch=10)
    assert all(seq is None for _, seq in _numbers())
    assert sequencer.state().holder == "a"


def test_an_expired_lease_passes_to_a_standby_that_continues_without_a_gap(admin):
    with clock.frozen(START):
        _write(admin, 2)
        assert sequencer.hold("a", seconds=5)
        sequencer.number("a", batch=10)
        _write(admin, 2)

        clock.advance(dt.timedelta(seconds=4))
        assert not sequencer.hold("b", seconds=5), "the lease has not run out yet"
        clock.advance(dt.timedelta(seconds=2))
        assert sequencer.hold("b", seconds=5)

        with pytest.raises(sequencer.LeaseLost):
            sequencer.number("a", batch=10)
        assert not sequencer.hold("a", seconds=5)
        assert sequencer.number("b", batch=10) == 2

    assert [seq for _, seq in _numbers()] == [1, 2, 3, 4]
    state = sequencer.state()
    assert (state.holder, state.last_sequence) == ("b", 4)


def test_renewing_keeps_the_lease_past_its_first_expiry(admin):
    with clock.frozen(START):
        assert sequencer.hold("a", seconds=5)
        for _ in range(4):
            clock.advance(dt.timedelta(seconds=3))
            assert sequencer.hold("a", seconds=5)
            assert not sequencer.hold("b", seconds=5)


def test_a_released_lease_is_taken_over_at_once(admin):
    with clock.frozen(START):
        assert sequencer.hold("a", seconds=5)
        sequencer.release("a")
        assert sequencer.hold("b", seconds=5)
    assert sequencer.state().holder == "b"


def test_numbering_never_reuses_a_number_even_if_the_sequencer_row_is_recreated(admin):
    _write(admin, 3)
    assert sequencer.hold("a", seconds=5)
    sequencer.number("a", batch=10)
    Sequencer.objects.all().delete()
    _write(admin, 2)

    assert sequencer.hold("a", seconds=5)
    sequencer.number("a", batch=10)

    assert [seq for _, seq in _numbers()] == [1, 2, 3, 4, 5]


# -- retention ---------------------------------------------------------------------------------


def _days_ago(days: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)


def _aged_outbox(admin, *, old: int, new: int) -> None:
    """``old`` events written four days ago and ``new`` ones now, all numbered."""
    with clock.frozen(_days_ago(4)):
        _write(admin, old)
    _write(admin, new)
    assert sequencer.hold("a", seconds=60)
    sequencer.number("a", batch=100)


def test_retention_deletes_old_events_that_every_destination_published(admin):
    _aged_outbox(admin, old=4, new=2)
    Destination.objects.create(name="nats:ACCORD", kind="nats", position=6)

    assert purge_outbox(batch=3) == 4

    assert list(OutboxEvent.objects.order_by("sequence").values_list("sequence", flat=True)) == [
        5,
        6,
    ]
    assert sequencer.state().purged_through == 4


def test_retention_keeps_what_a_destination_has_not_published(admin):
    _aged_outbox(admin, old=4, new=0)
    Destination.objects.create(name="nats:ACCORD", kind="nats", position=2)
    Destination.objects.create(name="redis:x", kind="redis", position=1, active=False)

    assert purge_outbox() == 2

    assert sequencer.state().purged_through == 2
    assert OutboxEvent.objects.count() == 2


def test_retention_never_deletes_unnumbered_events_nor_past_a_recent_one(admin):
    _aged_outbox(admin, old=2, new=1)
    with clock.frozen(_days_ago(4)):
        _write(admin, 2)  # old, but numbered after the recent one

    assert purge_outbox() == 2

    assert sequencer.state().purged_through == 2
    assert OutboxEvent.objects.filter(sequence__isnull=True).count() == 2
    assert OutboxEvent.objects.filter(sequence=3).exists()


def test_retention_hours_are_configurable(admin, monkeypatch):
    _aged_outbox(admin, old=2, new=0)
    monkeypatch.setenv("ACCORD_EVENT_RETENTION_HOURS", str(24 * 5))

    assert purge_outbox() == 0

    monkeypatch.setenv("ACCORD_EVENT_RETENTION_HOURS", str(24 * 3))
    assert purge_outbox() == 2


# -- two sequencers racing ---------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_sequencers_racing_for_a_short_lease_never_both_number(admin):
    """A holder that stops renewing keeps numbering until its lease runs out, while a standby
    keeps trying to take over and writers keep committing: numbers stay unique and gap-free, and
    the old holder is refused once the standby holds the lease."""
    stop = threading.Event()
    refused: list[str] = []
    errors: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as exc:
                errors.append(exc)
            finally:
                connections.close_all()

        return run

    def writer() -> None:
        while not stop.is_set():
            _write(admin, 2)

    def sequencer_loop(holder: str, *, renew: bool) -> Callable[[], None]:
        def work() -> None:
            held = sequencer.hold(holder, seconds=0.3)
            while not stop.is_set():
                if renew or not held:
                    held = sequencer.hold(holder, seconds=0.3)
                if not held:
                    continue
                try:
                    sequencer.number(holder, batch=7)
                except sequencer.LeaseLost:
                    refused.append(holder)
                    held = False

        return work

    assert sequencer.hold("first", seconds=0.3)
    threads = [
        threading.Thread(target=guarded(work))
        for work in (
            writer,
            writer,
            sequencer_loop("first", renew=False),
            sequencer_loop("second", renew=True),
        )
    ]
    for thread in threads:
        thread.start()
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(30)

    assert not errors, errors[0]
    assert "first" in refused
    assert sequencer.hold("second", seconds=5)
    while sequencer.number("second", batch=100):
        pass
    numbers = sorted(seq for _, seq in _numbers())
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) > 20

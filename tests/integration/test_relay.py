"""The relay: numbers and publishes in sequence order, stores a destination's position only
after its acknowledgement, retries what was not acknowledged, and does nothing without the
lease. Redis and NATS adapters against real servers the tests start."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
import redis
from tests.integration.servers import nats_server, redis_server

from accord.config import ConfigError
from accord.core.models import OutboxEvent
from accord.integration import config, sequencer
from accord.integration.config import NatsSettings, RedisSettings, RelaySettings
from accord.integration.destinations import (
    NatsDestination,
    Outgoing,
    RedisDestination,
    Unavailable,
    subject,
)
from accord.integration.models import Destination
from accord.integration.relay import Relay, fetch
from accord.parties import services

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def settings(**overrides) -> RelaySettings:
    base = {
        "lease_seconds": 5.0,
        "batch": 100,
        "poll_seconds": 0.05,
        "ack_timeout": 1.0,
        "nats": None,
        "redis": None,
    }
    return RelaySettings(**{**base, **overrides})


class Recorder:
    """A destination that keeps what it was given; it can refuse, or acknowledge only some."""

    kind = "nats"

    def __init__(self, name: str = "nats:TEST") -> None:
        self.name = name
        self.received: list[Outgoing] = []
        self.accept: int | None = None  # acknowledge at most this many per batch
        self.down = False

    def open(self) -> None:
        if self.down:
            raise Unavailable("down for the test")

    def publish(self, events: Sequence[Outgoing]) -> tuple[int, str | None]:
        if self.down:
            raise Unavailable("down for the test")
        taken = list(events if self.accept is None else events[: self.accept])
        self.received.extend(taken)
        return len(taken), None if len(taken) == len(events) else "partly refused"

    def close(self) -> None:
        pass


def _write(actor, count: int, *, start: int = 0) -> list:
    return [
        services.contacts.create(actor=actor, data={"last_name": f"Person {n}"})
        for n in range(start, start + count)
    ]


def _drain(relay: Relay) -> None:
    assert relay.keep_lease()
    for _ in range(50):
        if not relay.step():
            return
    raise AssertionError("the relay never ran out of work")


def _position(name: str) -> int:
    return Destination.objects.get(name=name).position


def test_relay_numbers_and_publishes_every_event_in_sequence_order(admin):
    _write(admin, 5)
    sink = Recorder()
    relay = Relay(settings(batch=2), destinations=[sink], holder="r1")

    _drain(relay)

    assert [e.sequence for e in sink.received] == [1, 2, 3, 4, 5]
    ids = list(OutboxEvent.objects.order_by("sequence").values_list("event_id", flat=True))
    assert [e.event_id for e in sink.received] == [str(i) for i in ids]
    body = json.loads(sink.received[0].body)
    assert body["sequence"] == 1
    assert body["id"] == sink.received[0].event_id
    assert body["type"] == sink.received[0].type == "accord.contact.created"
    assert _position("nats:TEST") == 5


def test_position_moves_only_as_far_as_acknowledged_and_the_rest_is_retried(admin):
    _write(admin, 4)
    sink = Recorder()
    sink.accept = 3
    relay = Relay(settings(batch=10), destinations=[sink], holder="r1")

    _drain(relay)

    assert [e.sequence for e in sink.received] == [1, 2, 3]
    row = Destination.objects.get(name="nats:TEST")
    assert row.position == 3
    assert row.last_error == "partly refused"
    assert row.failing_since is not None

    sink.accept = None
    relay._retry_at.clear()  # skip the back-off pause
    _drain(relay)

    assert [e.sequence for e in sink.received] == [1, 2, 3, 4]
    row.refresh_from_db()
    assert (row.position, row.last_error, row.failing_since) == (4, "", None)


def test_an_unavailable_destination_keeps_its_position_and_reports_the_error(admin):
    _write(admin, 2)
    sink, other = Recorder(), Recorder("redis:events")
    sink.down = True
    relay = Relay(settings(), destinations=[sink, other], holder="r1")

    _drain(relay)

    assert sink.received == []
    assert _position("nats:TEST") == 0
    assert "down for the test" in Destination.objects.get(name="nats:TEST").last_error
    assert [e.sequence for e in other.received] == [1, 2], "one failing destination holds no other"
    assert OutboxEvent.objects.filter(sequence__isnull=True).count() == 0


def test_a_relay_without_the_lease_neither_numbers_nor_publishes(admin):
    _write(admin, 2)
    assert sequencer.hold("someone-else", seconds=30)
    sink = Recorder()
    relay = Relay(settings(), destinations=[sink], holder="r2")

    assert not relay.keep_lease()
    relay.run(threading.Event(), once=True)

    assert sink.received == []
    assert OutboxEvent.objects.filter(sequence__isnull=True).count() == 2


def test_a_takeover_continues_after_the_stored_position(admin):
    _write(admin, 3)
    first = Recorder()
    relay = Relay(settings(), destinations=[first], holder="r1")
    _drain(relay)
    relay.release()
    _write(admin, 2, start=3)

    second = Recorder()
    Relay(settings(), destinations=[second], holder="r2").run(threading.Event(), once=True)

    assert [e.sequence for e in second.received] == [4, 5]
    assert _position("nats:TEST") == 5
    assert sequencer.state().holder == "r2"


def test_destinations_no_longer_configured_stop_holding_back_retention(admin):
    Destination.objects.create(name="nats:OLD", kind="nats", position=0)
    Destination.objects.create(name="webhook:1", kind="webhook", position=0)

    _drain(Relay(settings(), destinations=[Recorder()], holder="r1"))

    active = dict(Destination.objects.values_list("name", "active"))
    assert active == {"nats:OLD": False, "nats:TEST": True, "webhook:1": True}


def test_fetch_returns_the_stored_envelope_with_its_sequence(admin):
    contact = _write(admin, 1)[0]
    assert sequencer.hold("r1", seconds=5)
    sequencer.number("r1", batch=10)

    [event] = fetch(0, 10)

    body = json.loads(event.body)
    stored = OutboxEvent.objects.get(sequence=1).envelope
    assert body == {**stored, "sequence": 1}
    assert body["subject"] == f"contact/{contact.pk}"
    assert fetch(1, 10) == []


def test_subjects_follow_the_event_type_under_the_prefix():
    assert subject("accord", "accord.contact.updated") == "accord.contact.updated"
    assert subject("crm.prod", "accord.email_log.created") == "crm.prod.email_log.created"


def test_relay_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ACCORD_NATS_URL", "nats://127.0.0.1:4222")
    monkeypatch.setenv("ACCORD_NATS_SUBJECT_PREFIX", "crm.events")
    monkeypatch.setenv("ACCORD_RELAY_LEASE_SECONDS", "9")
    monkeypatch.delenv("ACCORD_NATS_STREAM", raising=False)

    found = config.relay()

    assert found.nats == NatsSettings("nats://127.0.0.1:4222", "ACCORD", "crm.events")
    assert found.lease_seconds == 9
    assert found.ack_timeout <= 3, "an ack wait ends within a third of the lease"
    monkeypatch.setenv("ACCORD_NATS_SUBJECT_PREFIX", "crm.>")
    with pytest.raises(ConfigError, match="ACCORD_NATS_SUBJECT_PREFIX"):
        config.relay()
    monkeypatch.setenv("ACCORD_NATS_SUBJECT_PREFIX", "crm")
    monkeypatch.setenv("ACCORD_REDIS_STREAM", "events")
    monkeypatch.delenv("ACCORD_REDIS_URL", raising=False)
    with pytest.raises(ConfigError, match="ACCORD_REDIS_URL"):
        config.relay()


# -- real brokers ------------------------------------------------------------------------------


def test_redis_stream_gets_each_event_once_with_the_sequence_as_entry_id(admin, tmp_path: Path):
    _write(admin, 3)
    with redis_server(tmp_path) as server:
        url = f"redis://127.0.0.1:{server.port}/0"
        sink = RedisDestination(RedisSettings(url, "accord-events", 1000), timeout=1.0)
        relay = Relay(settings(batch=2), destinations=[sink], holder="r1")
        _drain(relay)
        # A relay that crashed before storing its position publishes the same events again.
        Destination.objects.filter(name="redis:accord-events").update(position=1)
        _drain(Relay(settings(), destinations=[sink], holder="r1"))

        entries = redis.Redis.from_url(url).xrange("accord-events")

    assert [entry_id for entry_id, _ in entries] == [b"1-0", b"2-0", b"3-0"]
    ids = [
        str(i) for i in OutboxEvent.objects.order_by("sequence").values_list("event_id", flat=True)
    ]
    assert [fields[b"id"].decode() for _, fields in entries] == ids
    assert json.loads(entries[2][1][b"event"])["sequence"] == 3
    assert _position("redis:accord-events") == 3


def test_nats_stream_is_created_and_gets_each_event_once_with_its_id(admin, tmp_path: Path):
    _write(admin, 3)
    with nats_server(tmp_path) as server:
        nats = NatsSettings(server.url, "ACCORD", "accord")
        sink = NatsDestination(nats, ack_timeout=2.0)
        _drain(Relay(settings(batch=2, nats=nats), destinations=[sink], holder="r1"))
        # Published again after a crash before the position was stored: JetStream drops them.
        Destination.objects.filter(name="nats:ACCORD").update(position=0)
        _drain(Relay(settings(nats=nats), destinations=[sink], holder="r1"))
        sink.close()
        messages = server.stream("ACCORD")

    ids = [
        str(i) for i in OutboxEvent.objects.order_by("sequence").values_list("event_id", flat=True)
    ]
    assert [m["headers"]["Nats-Msg-Id"] for m in messages] == ids
    assert [m["event"]["sequence"] for m in messages] == [1, 2, 3]
    assert {m["subject"] for m in messages} == {"accord.contact.created"}
    assert _position("nats:ACCORD") == 3


def test_nats_that_is_down_is_reported_without_stalling_the_relay(admin, tmp_path: Path):
    _write(admin, 1)
    from tests.integration.servers import free_port

    nats = NatsSettings(f"nats://127.0.0.1:{free_port()}", "ACCORD", "accord")
    relay = Relay(settings(nats=nats), holder="r1")

    relay.run(threading.Event(), once=True)

    row = Destination.objects.get(name="nats:ACCORD")
    assert row.position == 0
    assert "cannot connect to NATS" in row.last_error
    assert OutboxEvent.objects.get().sequence == 1, "numbering goes on without the broker"

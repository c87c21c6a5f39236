"""``accord relay``, ``accord events status`` and the relay thread of ``accord worker``."""

from __future__ import annotations

import json
import threading

import pytest
from typer.testing import CliRunner

from accord import cli
from accord.core.models import OutboxEvent
from accord.integration import sequencer
from accord.integration.models import Destination
from accord.parties import services

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

runner = CliRunner()


def test_relay_once_numbers_the_waiting_events_and_releases_the_lease(admin):
    for n in range(3):
        services.contacts.create(actor=admin, data={"last_name": f"Person {n}"})

    result = runner.invoke(cli.app, ["relay", "--once"])

    assert result.exit_code == 0, result.output
    assert sorted(OutboxEvent.objects.values_list("sequence", flat=True)) == [1, 2, 3]
    state = sequencer.state()
    assert state.lease_expires_at is None, "a relay that stops gives its lease up"
    assert sequencer.hold("next", seconds=5)


def test_events_status_shows_backlog_lease_and_destinations(admin):
    services.contacts.create(actor=admin, data={"last_name": "Waiting"})
    Destination.objects.create(name="nats:ACCORD", kind="nats", position=0, last_error="down")

    as_json = runner.invoke(cli.app, ["events", "status", "--json"])
    as_text = runner.invoke(cli.app, ["events", "status"])

    assert as_json.exit_code == 0, as_json.output
    figures = json.loads(as_json.stdout)
    assert figures["unsequenced"] == 1
    assert figures["destinations"][0]["name"] == "nats:ACCORD"
    assert figures["destinations"][0]["last_error"] == "down"
    assert as_text.exit_code == 0, as_text.output
    assert "1 event(s) waiting for a number" in as_text.stdout
    assert "nats:ACCORD" in as_text.stdout


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_relay_unless_told_not_to(admin, monkeypatch):
    stop = threading.Event()
    monkeypatch.setenv("ACCORD_RELAY_IN_WORKER", "false")
    assert cli._start_relay(None, stop) is None
    assert cli._start_relay(False, stop) is None

    services.contacts.create(actor=admin, data={"last_name": "Embedded"})
    thread = cli._start_relay(True, stop)
    assert thread is not None
    try:
        deadline = threading.Event()
        for _ in range(200):
            if OutboxEvent.objects.filter(sequence__isnull=False).exists():
                break
            deadline.wait(0.05)
    finally:
        stop.set()
        thread.join(15)

    assert not thread.is_alive()
    assert OutboxEvent.objects.get().sequence == 1

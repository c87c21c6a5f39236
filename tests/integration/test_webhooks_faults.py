"""Fault run of webhook delivery on PostgreSQL (issue 6): a receiver that answers 500 to 5 % of
requests and stalls past the read timeout on 1 % still gets every event, each request's
signature verified with the ``standardwebhooks`` library on the receiving side.

Delivery runs as in production, inside an ``accord relay`` process on the test database (which
also numbers the events), with retries shrunk to fractions of a second through its
environment; writers commit from several threads meanwhile. ``transactional_db`` lets that
process see the writes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, connections
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from tests.integration.receiver import Received, Reply, receiver

from accord.core.models import OutboxEvent
from accord.integration.models import DeliveryStatus, WebhookDelivery
from accord.integration.webhooks import services
from accord.parties import services as parties

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a relay process beside the test needs PostgreSQL"
    ),
]

WAIT = 120  # seconds; a broken run fails instead of hanging
WRITERS = 4
CONTACTS = 60  # per writer, each created and then updated twice


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def relay_process(tmp_path: Path) -> subprocess.Popen[bytes]:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    (tmp_path / "data").mkdir()
    env = {
        **os.environ,
        "ACCORD_DATABASE_URL": url,
        "ACCORD_DATA_DIR": str(tmp_path / "data"),
        "ACCORD_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32",
        "ACCORD_WEBHOOK_THREADS": "8",
        "ACCORD_WEBHOOK_CONNECT_TIMEOUT_MS": "1000",
        "ACCORD_WEBHOOK_READ_TIMEOUT_MS": "500",
        "ACCORD_WEBHOOK_RETRY_FIRST_MS": "100",
        "ACCORD_WEBHOOK_RETRY_MAX_MS": "1000",
        "ACCORD_WEBHOOK_CLAIM_SECONDS": "5",
        "PYTHONUNBUFFERED": "1",
    }
    with (tmp_path / "relay.log").open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "accord.cli", "relay"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class FlakyEndpoint:
    """Answers 500 to every 20th request and stalls past the read timeout on every 100th (then
    answers 200 to nobody); verifies every request's signature first."""

    def __init__(self) -> None:
        self.secret = ""
        self.count = 0
        self.lock = threading.Lock()
        self.accepted: set[str] = set()
        self.faults = {"500": 0, "stalled": 0}
        self.forged: list[str] = []

    def __call__(self, request: Received) -> Reply:
        try:
            event = Webhook(self.secret).verify(request.body, request.headers)
        except WebhookVerificationError as exc:
            self.forged.append(f"{request.headers.get('webhook-id')}: {exc}")
            return Reply(status=400)
        with self.lock:
            self.count += 1
            n = self.count
        if n % 100 == 42:
            self.faults["stalled"] += 1
            return Reply(delay=1.2)
        if n % 20 == 7:
            self.faults["500"] += 1
            return Reply(status=500, body=b"try later")
        assert event["id"] == request.headers["webhook-id"]
        with self.lock:
            self.accepted.add(event["id"])
        return Reply()


def test_a_flaky_receiver_gets_every_event_with_valid_signatures(
    transactional_db, make_user, admin, tmp_path, monkeypatch
):
    monkeypatch.setenv("ACCORD_WEBHOOK_ALLOW_PRIVATE", "127.0.0.1/32")
    endpoint = FlakyEndpoint()
    owner = make_user()
    with receiver(endpoint) as hook:
        subscription, endpoint.secret = services.create(
            actor=owner, data={"url": hook.url, "event_types": ["accord.contact.*"]}
        )
        relay = relay_process(tmp_path)
        try:

            def write(n: int) -> None:
                try:
                    for i in range(CONTACTS):
                        contact = parties.contacts.create(
                            actor=admin, data={"last_name": f"Writer {n} #{i}"}
                        )
                        for title in ("Buyer", "Head of purchasing"):
                            contact = parties.contacts.update(
                                actor=admin,
                                record_id=contact.pk,
                                data={"title": title},
                                expected_version=None,
                            )
                finally:
                    connections.close_all()

            writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
            for thread in writers:
                thread.start()
            for thread in writers:
                thread.join()
            expected = {str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)}
            assert len(expected) == WRITERS * CONTACTS * 3

            wait_for(lambda: expected <= endpoint.accepted, "every event to be accepted")
            finished = WebhookDelivery.objects.filter(
                subscription=subscription, status=DeliveryStatus.DELIVERED
            )
            wait_for(lambda: finished.count() == len(expected), "the delivery log to catch up")
        finally:
            stop(relay)

    assert endpoint.forged == []
    assert endpoint.faults["500"] > 0
    assert endpoint.faults["stalled"] > 0
    log = WebhookDelivery.objects.filter(subscription=subscription)
    # One delivery per event, however many attempts it took.
    assert log.count() == len(expected)
    assert {str(e) for e in log.values_list("event_id", flat=True)} == expected
    # Every fault cost its delivery one more attempt.
    attempts = sum(log.values_list("attempts", flat=True))
    assert attempts - log.count() >= endpoint.faults["500"] + endpoint.faults["stalled"]
    retried = log.filter(attempts__gt=1)
    assert any("timed out" in a["error"] for d in retried for a in d.attempt_log)
    assert any(a["status"] == 500 for d in retried for a in d.attempt_log)

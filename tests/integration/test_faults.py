"""Fault runs of the event backbone on PostgreSQL, each with its own NATS server (issue 6):

- eight writers whose transactions commit out of insert order, some updating the same records,
  while ``accord relay`` runs: the events API and NATS each see every event exactly once, none
  skipped, each record's versions in increasing order;
- the relay killed in the middle of a batch and started again (with a standby taking over):
  every event arrives, repeats only with the same id, order per subject kept;
- NATS stopped for several seconds while writes go on, then started again: nothing lost.

The relay runs as it does in production, as ``accord relay`` processes on the test database;
the tests use ``transactional_db`` so that those processes see the writes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections, transaction
from tests.conftest import ApiClient
from tests.integration.servers import Nats, nats_server

from accord.core.models import OutboxEvent
from accord.identity.tokens import create_token
from accord.integration.models import Destination, Sequencer
from accord.parties import services

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="out-of-order commits and separate relay processes need PostgreSQL",
    ),
]

WAIT = 60  # seconds; a broken run fails instead of hanging
DESTINATION = "nats:ACCORD"


# -- harness -----------------------------------------------------------------------------------


class RelayProcesses:
    """``accord relay`` child processes on the test database, publishing to ``nats``."""

    def __init__(self, nats: Nats, tmp_path: Path, *, batch: int = 100) -> None:
        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        url = f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "ACCORD_DATABASE_URL": url,
            "ACCORD_DATA_DIR": str(data),
            "ACCORD_NATS_URL": nats.url,
            "ACCORD_RELAY_LEASE_SECONDS": "2",
            "ACCORD_RELAY_BATCH": str(batch),
            "PYTHONUNBUFFERED": "1",
        }
        self.log = tmp_path / "relay.log"
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "accord.cli", "relay"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.running.remove(process)

    def stop_all(self) -> None:
        for process in list(self.running):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(process)
                continue
            self.running.remove(process)

    def holder_pid(self) -> int | None:
        row = Sequencer.objects.filter(name="outbox").first()
        if row is None or not row.holder:
            return None
        return int(row.holder.split(":")[1])


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[Nats]:
    with nats_server(tmp_path) as server:
        yield server


@pytest.fixture
def relays(transactional_db: None, nats: Nats, tmp_path: Path) -> Iterator[RelayProcesses]:
    processes = RelayProcesses(nats, tmp_path)
    try:
        yield processes
    finally:
        processes.stop_all()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def published() -> int:
    row = Destination.objects.filter(name=DESTINATION).first()
    return row.position if row is not None else 0


def all_published() -> bool:
    total = OutboxEvent.objects.count()
    return (
        total > 0
        and not OutboxEvent.objects.filter(sequence__isnull=True).exists()
        and (published() == total)
    )


def run_threads(workers: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guarded, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if errors:
        raise errors[0]


class Consumer(threading.Thread):
    """Polls the events API with its cursor, as a pull consumer would, until told to stop."""

    def __init__(self, token: str) -> None:
        super().__init__(daemon=True)
        self.client = ApiClient(token)
        self.events: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        cursor: str | None = None
        try:
            while True:
                params: dict[str, Any] = {"limit": 50}
                if cursor is not None:
                    params["after"] = cursor
                response = self.client.get("/api/v1/events", params)
                assert response.status_code == 200, response.content
                page = response.json()
                self.events.extend(page["items"])
                cursor = page["next_cursor"]
                if not page["has_more"]:
                    if self.done.is_set():
                        return
                    time.sleep(0.02)
        except BaseException as exc:
            self.error = exc
        finally:
            connections.close_all()

    def finish(self, expected: int) -> list[dict[str, Any]]:
        wait_for(lambda: len(self.events) >= expected or self.error is not None, "the API")
        self.done.set()
        self.join(WAIT)
        if self.error is not None:
            raise self.error
        return self.events


def assert_each_event_once_in_order(events: list[dict[str, Any]]) -> None:
    """Every outbox event exactly once, in sequence order without a gap, and each record's
    versions increasing one by one."""
    outbox = dict(OutboxEvent.objects.values_list("event_id", "sequence"))
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert set(ids) == {str(i) for i in outbox}, "an event was skipped"
    assert [e["sequence"] for e in events] == list(range(1, len(outbox) + 1))
    assert all(outbox[_uuid(e["id"])] == e["sequence"] for e in events)
    versions: dict[str, list[int]] = defaultdict(list)
    for event in events:
        versions[event["subject"]].append(event["recordversion"])
    for subject, seen in versions.items():
        assert seen == list(range(seen[0], seen[0] + len(seen))), subject


def _uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(text)


# -- the runs ----------------------------------------------------------------------------------


def _out_of_order_round(admin, shared: Any, hot: Any, *, label: str) -> list[int]:
    """Four late writers insert first and commit last; four early writers insert after them,
    commit first and wait until the relay numbered their events. Each writer updates the shared
    account, early ones also the hot contact. Returns the late writers' first outbox ids."""
    late_inserted = threading.Barrier(8, timeout=WAIT)
    early_done = threading.Event()
    early_own: list[Any] = []
    late_ids: list[int] = []

    def early_committed_and_numbered() -> None:
        # The late writers' rows (lower ids) are still uncommitted: the relay numbers the early
        # writers' rows first; the late ones must get later numbers, not be skipped.
        wait_for(
            lambda: (
                not OutboxEvent.objects.filter(
                    object_id__in=early_own, sequence__isnull=True
                ).exists()
            ),
            "the early writers' events to be numbered",
        )
        early_done.set()

    early_committed = threading.Barrier(4, timeout=WAIT, action=early_committed_and_numbered)

    def late(n: int) -> Callable[[], None]:
        def work() -> None:
            with transaction.atomic():
                own = services.contacts.create(actor=admin, data={"last_name": f"Late {label}.{n}"})
                late_ids.append(
                    OutboxEvent.objects.filter(object_id=own.pk).values_list("id", flat=True)[0]
                )
                late_inserted.wait()
                assert early_done.wait(WAIT), "early writers never committed"
                services.accounts.update(
                    actor=admin,
                    record_id=shared,
                    data={"industry": f"late {label}.{n}"},
                    expected_version=None,
                )

        return work

    def early(n: int) -> Callable[[], None]:
        def work() -> None:
            late_inserted.wait()
            with transaction.atomic():
                own = services.contacts.create(
                    actor=admin, data={"last_name": f"Early {label}.{n}"}
                )
                for record_id, service, change in (
                    (hot, services.contacts, {"title": f"early {label}.{n}"}),
                    (shared, services.accounts, {"industry": f"early {label}.{n}"}),
                    (own.pk, services.contacts, {"title": "own"}),
                ):
                    service.update(
                        actor=admin, record_id=record_id, data=change, expected_version=None
                    )
            early_own.append(own.pk)
            early_committed.wait()

        return work

    run_threads([late(n) for n in range(4)] + [early(n) for n in range(4)])
    return late_ids


def test_out_of_order_commits_reach_the_api_and_nats_once_each_in_order(admin, relays, nats):
    relays.start()
    _, token = create_token(user=admin, scopes=["events:read"], expires_at=None)
    consumer = Consumer(token)
    consumer.start()
    shared = services.accounts.create(actor=admin, data={"name": "Shared"})
    hot = services.contacts.create(actor=admin, data={"last_name": "Hot"})
    first_late_ids: list[int] = []

    for round_ in range(3):
        first_late_ids += _out_of_order_round(admin, shared.pk, hot.pk, label=str(round_))

    total = OutboxEvent.objects.count()
    assert total == 2 + 3 * (4 * 2 + 4 * 4)
    wait_for(all_published, "every event to be numbered and published")
    api_events = consumer.finish(total)
    stream = nats.stream()

    # The scenario really committed out of insert order: late writers' first rows have lower
    # ids than rows numbered before them.
    numbered = dict(OutboxEvent.objects.values_list("id", "sequence"))
    assert all(
        any(other > late_id and numbered[other] < numbered[late_id] for other in numbered)
        for late_id in first_late_ids
    )
    assert_each_event_once_in_order(api_events)
    assert_each_event_once_in_order([m["event"] for m in stream])
    assert [m["headers"]["Nats-Msg-Id"] for m in stream] == [m["event"]["id"] for m in stream]
    assert all(m["subject"] == m["event"]["type"] for m in stream)
    shared_versions = [
        e["recordversion"] for e in api_events if e["subject"].endswith(str(shared.pk))
    ]
    assert shared_versions == list(range(1, 3 * 8 + 2))


def _write_backlog(admin, *, contacts: int, updated: int, versions: int) -> None:
    """``contacts`` new contacts in batches, then ``versions`` updates of ``updated`` of them,
    interleaved."""
    made: list[Any] = []
    for start in range(0, contacts, 500):
        rows = [{"last_name": f"Bulk {n}"} for n in range(start, min(start + 500, contacts))]
        made.extend(services.contacts.create_many(actor=admin, rows=rows))
    for version in range(versions):
        for contact in made[:updated]:
            services.contacts.update(
                actor=admin,
                record_id=contact.pk,
                data={"title": f"v{version}"},
                expected_version=None,
            )


def test_a_relay_killed_mid_batch_loses_nothing_and_repeats_only_with_the_same_id(
    admin, relays, nats
):
    _write_backlog(admin, contacts=4000, updated=20, versions=10)
    total = OutboxEvent.objects.count()
    first = relays.start()
    wait_for(lambda: relays.holder_pid() == first.pid, "the first relay to take the lease")
    standby = relays.start()
    wait_for(lambda: published() > 0, "the first batch to be acknowledged")

    relays.kill(first)  # SIGKILL: no clean shutdown, the lease simply runs out
    stopped_at = published()
    assert stopped_at < total, "the relay finished before it could be killed"
    wait_for(lambda: relays.holder_pid() == standby.pid, "the standby to take over", timeout=15)
    restarted = relays.start()
    wait_for(all_published, "every event to be published")

    assert relays.holder_pid() == standby.pid, "the restarted relay stood by"
    assert restarted.poll() is None
    stream = nats.stream()
    ids = [m["headers"]["Nats-Msg-Id"] for m in stream]
    assert all(m["event"]["id"] == i for m, i in zip(stream, ids, strict=True))
    # JetStream dropped whatever was published twice (same id); nothing is missing.
    assert_each_event_once_in_order([m["event"] for m in stream])
    by_subject: dict[str, list[int]] = defaultdict(list)
    for message in stream:
        by_subject[message["subject"]].append(message["event"]["sequence"])
    assert all(seqs == sorted(seqs) for seqs in by_subject.values())
    assert len(by_subject) == 2


def test_nats_down_for_seconds_while_writes_go_on_loses_nothing(admin, relays, nats):
    relays.start()
    stop_writing = threading.Event()
    failures: list[str] = []

    def writer() -> None:
        n = 0
        while not stop_writing.is_set():
            services.contacts.create(actor=admin, data={"last_name": f"During {n}"})
            n += 1
            time.sleep(0.01)

    def watch() -> None:
        row = Destination.objects.filter(name=DESTINATION).first()
        if row is not None and row.last_error:
            failures.append(row.last_error)

    thread = threading.Thread(target=lambda: (writer(), connections.close_all()))
    thread.start()
    try:
        wait_for(lambda: published() > 20, "events to flow")
        nats.stop()
        before_outage = published()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            watch()
            time.sleep(0.1)
        assert published() == before_outage, "nothing is acknowledged while NATS is down"
        nats.start()
        time.sleep(2)
    finally:
        stop_writing.set()
        thread.join(WAIT)

    wait_for(all_published, "every event to be published after NATS came back")
    assert failures, "the outage showed in the destination's status"
    assert Destination.objects.get(name=DESTINATION).last_error == ""
    assert_each_event_once_in_order([m["event"] for m in nats.stream()])
    assert OutboxEvent.objects.filter(sequence__gt=before_outage).count() > 0

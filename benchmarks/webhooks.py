"""Webhook delivery: deliveries per second to a local receiver, and commit-to-delivery lag.

The harness side (:func:`run`) makes a fresh database; the measuring happens in child processes
inside Accord's Django environment (``python -m benchmarks.webhooks <mode>``), each with its own
receiver process (``python -m benchmarks.webhooks receive``: a minimal HTTP/1.1 keep-alive server
on 127.0.0.1 that answers 200 and notes when each ``webhook-id`` arrived). One subscription,
owned by a standard user (so visibility is decided per batch), takes ``accord.contact.*``:

- ``throughput``: writes N ``contact.updated`` events about real contacts (ten per transaction)
  and numbers them, then starts the webhook workers in that process and times them until every
  delivery is written to the log as delivered (``webhooks.<engine>.throughput.deliveries_per_s``);
- ``lag``: with ``accord relay`` running as its own process (numbering and delivering, as in
  production), commits ten events every 10 ms (1,000 events/s) and takes, for each event, the
  time from its commit to its arrival at the receiver (``webhooks.<engine>.lag.{p50,p99}_ms``).

Each child prints one JSON line of results; the harness turns them into figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.lag import lag_summary, paced_writes

#: Issue 6's goals, on PostgreSQL.
DELIVERIES_PER_S = 1000
LAG_P99_MS = 1000
RATE = 1000
PER_TRANSACTION = 10
CONTACTS = 200
ALLOW = {"ACCORD_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"}


# -- harness -----------------------------------------------------------------------------------


def run(bench: Any, reporter: Any, opts: Any, engine: str) -> None:
    from benchmarks import datasets
    from benchmarks.figures import Target
    from benchmarks.servers import progress

    db = bench.database(engine, "webhooks")
    try:
        datasets.migrate(bench, db)
        env = {**db.env(), **ALLOW}
        applies = engine == "pg"
        count = max(1000, DELIVERIES_PER_S * opts.duration)

        progress(f"[{engine}] webhooks: {count:,} deliveries to a local receiver")
        found = _child(bench, env, engine, "throughput", "--events", str(count))
        reporter.emit(
            f"webhooks.{engine}.throughput.deliveries_per_s",
            found["deliveries_per_s"],
            "deliveries/s",
            n=found["events"],
            target=Target(">=", DELIVERIES_PER_S) if applies else None,
            engine=engine,
            threads=found["threads"],
            seconds=found["seconds"],
            errors=found["missing"],
        )

        progress(f"[{engine}] webhooks: commit-to-delivery lag at {RATE:,} events/s")
        found = _child(
            bench, env, engine, "lag", "--seconds", str(opts.duration), "--warmup", str(opts.warmup)
        )
        for metric in ("p50_ms", "p99_ms"):
            reporter.emit(
                f"webhooks.{engine}.lag.{metric}",
                found[metric],
                "ms",
                n=found["events"],
                target=Target("<=", LAG_P99_MS) if applies and metric == "p99_ms" else None,
                engine=engine,
                rate=RATE,
                events_per_transaction=PER_TRANSACTION,
                max_ms=found["max_ms"],
                errors=found["missing"],
            )
    finally:
        bench.drop(db)


def _child(bench: Any, env: dict[str, str], engine: str, *args: str) -> dict[str, Any]:
    log = bench.root / f"{engine}-webhooks-{args[0]}.log"
    output, _ = bench.run([sys.executable, "-m", "benchmarks.webhooks", *args], env=env, log=log)
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"benchmarks.webhooks {args[0]} printed no result:\n{output[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# -- the receiver (a process of its own) -------------------------------------------------------


def receive(port: int, out: Path) -> None:
    """Answer 200 to every request until SIGTERM; then write ``<webhook-id> <time>`` lines."""
    arrivals: list[tuple[str, float]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, message_id = 0, ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    key = name.strip().lower()
                    if key == b"content-length":
                        length = int(value)
                    elif key == b"webhook-id":
                        message_id = value.strip().decode()
                if length:
                    await reader.readexactly(length)
                arrivals.append((message_id, time.time()))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except asyncio.CancelledError:
            return  # shutting down (Python 3.11 would print a traceback for it otherwise)
        finally:
            writer.close()

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        async with server:
            await stop.wait()

    asyncio.run(serve())
    out.write_text("".join(f"{i} {t}\n" for i, t in arrivals))


class Receiver:
    """The receiver process, started and stopped by a measuring child."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.out = workdir / f"arrivals-{self.port}.txt"
        command = [sys.executable, "-m", "benchmarks.webhooks", "receive"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), "--out", str(self.out)]
        )
        deadline = time.monotonic() + 15
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the receiver did not start")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def arrivals(self) -> dict[str, float]:
        """Stop the receiver; the first arrival time of each webhook-id."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        found: dict[str, float] = {}
        for line in self.out.read_text().splitlines():
            message_id, at = line.split(" ")
            found.setdefault(message_id, float(at))
        return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# -- inside Django -----------------------------------------------------------------------------


def _setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "accord.settings"
    import django

    django.setup()


def _number() -> None:
    from accord.integration import sequencer

    holder = sequencer.new_holder()
    if not sequencer.hold(holder, seconds=60):
        raise RuntimeError("could not take the sequencer lease")
    while sequencer.number(holder, batch=5000):
        pass
    sequencer.release(holder)


def _prepare(label: str) -> tuple[Any, list[Any]]:
    """The subscription's owner (a standard user) and the contacts the events are about; no
    subscription of an earlier mode is left to take events."""
    from accord.identity.services import create_user
    from accord.integration.models import Destination, WebhookSubscription
    from accord.parties import services

    WebhookSubscription.objects.all().delete()
    Destination.objects.filter(kind="webhook").delete()
    admin, _ = create_user(username=f"{label}-admin", password="x" * 16, is_superuser=True)
    owner, _ = create_user(username=f"{label}-hooks", password="x" * 16)
    contacts = services.contacts.create_many(
        actor=admin, rows=[{"last_name": f"Bench {n}"} for n in range(CONTACTS)]
    )
    return owner, contacts


def _subscribe(owner: Any, url: str) -> Any:
    from accord.integration.webhooks import services

    subscription, _ = services.create(
        actor=owner, data={"url": url, "event_types": ["accord.contact.*"]}
    )
    return subscription


def _write(contacts: list[Any], count: int, on_commit: Any = None) -> None:
    """``count`` contact ``updated`` events through the write path's helper, ten per
    transaction; ``on_commit(ids, at)`` learns each transaction's event ids and wall time."""
    from django.db import transaction

    from accord.core import records
    from accord.core.models import Source
    from benchmarks.events import _payload

    for start in range(0, count, PER_TRANSACTION):
        changes = []
        for n in range(start, min(start + PER_TRANSACTION, count)):
            contact = contacts[n % len(contacts)]
            contact.version += 1
            payload = _payload(contact, n)
            changes.append(
                records.Change(contact, "updated", payload, {"title": ["Buyer", payload["title"]]})
            )
        with transaction.atomic():
            written = records.write_changes(changes, actor=None, source=Source.SYSTEM)
        if on_commit is not None:
            on_commit([str(e.event_id) for e in written], time.time())


def _delivered(subscription: Any) -> int:
    from accord.integration.models import DeliveryStatus, WebhookDelivery

    return WebhookDelivery.objects.filter(
        subscription=subscription, status=DeliveryStatus.DELIVERED
    ).count()


def throughput(count: int) -> dict[str, Any]:
    with Receiver(Path(os.environ.get("ACCORD_DATA_DIR", "."))) as receiver:
        return _throughput(receiver, count)


def _throughput(receiver: Receiver, count: int) -> dict[str, Any]:
    from accord.integration.webhooks import config
    from accord.integration.webhooks.engine import Engine

    owner, contacts = _prepare("throughput")
    _number()
    subscription = _subscribe(owner, receiver.url)
    _write(contacts, count)
    _number()

    settings = config.webhooks()
    engine = Engine(settings)
    stop = threading.Event()
    started = time.perf_counter()
    worker = threading.Thread(target=engine.run, args=(stop,))
    worker.start()
    deadline = started + 300
    delivered = 0
    try:
        while time.perf_counter() < deadline:
            delivered = _delivered(subscription)
            if delivered >= count:
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        worker.join(60)
    arrived = receiver.arrivals()
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "deliveries_per_s": round(delivered / seconds, 1),
        "threads": settings.threads,
        "missing": count - min(delivered, len(arrived)),
    }


def lag(seconds: int, warmup: int) -> dict[str, Any]:
    """Commit-to-arrival times with ``accord relay`` running as a process of its own."""
    with Receiver(Path(os.environ.get("ACCORD_DATA_DIR", "."))) as receiver:
        return _lag(receiver, seconds, warmup)


def _lag(receiver: Receiver, seconds: int, warmup: int) -> dict[str, Any]:
    from accord.core.models import OutboxEvent
    from accord.integration.sequencer import current, state

    owner, contacts = _prepare("lag")
    # In this process's group, so that the workbench stops it with this process.
    relay = subprocess.Popen([sys.executable, "-m", "accord.cli", "relay"], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 30
        while f":{relay.pid}:" not in state().holder:
            if relay.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("accord relay did not take the sequencer lease")
            time.sleep(0.05)
        while current().last_sequence < OutboxEvent.objects.count():
            time.sleep(0.05)
        subscription = _subscribe(owner, receiver.url)
        committed, written = paced_writes(
            lambda on_commit: _write(contacts, PER_TRANSACTION, on_commit),
            rate=RATE,
            per_transaction=PER_TRANSACTION,
            warmup=warmup,
            seconds=seconds,
        )
        deadline = time.monotonic() + 60
        while _delivered(subscription) < written and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        relay.terminate()
        relay.wait(30)
    arrived = receiver.arrivals()
    return lag_summary(committed, arrived, "no delivery arrived at the receiver")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.webhooks", description=__doc__)
    modes = parser.add_subparsers(dest="mode", required=True)
    receive_mode = modes.add_parser("receive")
    receive_mode.add_argument("--port", type=int, required=True)
    receive_mode.add_argument("--out", type=Path, required=True)
    modes.add_parser("throughput").add_argument("--events", type=int, required=True)
    lag_mode = modes.add_parser("lag")
    lag_mode.add_argument("--seconds", type=int, required=True)
    lag_mode.add_argument("--warmup", type=int, default=0)
    args = parser.parse_args(argv)
    if args.mode == "receive":
        receive(args.port, args.out)
        return
    _setup()
    if args.mode == "throughput":
        result = throughput(args.events)
    else:
        result = lag(args.seconds, args.warmup)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

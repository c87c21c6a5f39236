"""The event backbone: outbox → NATS JetStream throughput, and commit-to-publish lag.

The harness side (:func:`run`) makes a fresh database and starts its own ``nats-server -js``; the
measuring happens in child processes inside Accord's Django environment, started as ``python -m
benchmarks.events <mode>`` with the benchmark database's environment:

- ``throughput``: writes N events (ten per transaction, as the write path does) without a relay
  running, then times one relay, in that process, numbering and publishing all of them until
  JetStream acknowledged the last (``events.<engine>.throughput.events_per_s``);
- ``lag``: with ``accord relay`` running as its own process (as in production), commits ten
  events every 10 ms (1,000 events/s) and takes, for each event, the time from its commit to its
  arrival at a NATS subscriber on ``accord.>`` (``events.<engine>.lag.{p50,p99}_ms``).

Each child prints one JSON line of results; the harness turns them into figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import threading
import time
from typing import Any

from benchmarks.lag import lag_summary, paced_writes

#: Issue 6's goals, on PostgreSQL.
EVENTS_PER_S = 5000
LAG_P99_MS = 100
RATE = 1000
PER_TRANSACTION = 10
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


# -- harness -----------------------------------------------------------------------------------


def run(bench: Any, reporter: Any, opts: Any, engine: str) -> None:
    from benchmarks import datasets
    from benchmarks.figures import Target
    from benchmarks.servers import free_port, progress

    db = bench.database(engine, "events")
    try:
        datasets.migrate(bench, db)
        port = free_port()
        store = bench.root / f"{engine}-jetstream"
        store.mkdir()
        nats = bench.spawn(
            [NATS_SERVER, "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(port)],
            env=dict(os.environ),
            log=bench.root / f"{engine}-nats.log",
        )
        _wait_for_port(port)
        url = f"nats://127.0.0.1:{port}"
        env = {**db.env(), "ACCORD_NATS_URL": url}
        count = max(1000, EVENTS_PER_S * opts.duration)
        applies = engine == "pg"

        progress(f"[{engine}] events: {count:,} events outbox → JetStream")
        found = _child(bench, env, engine, "throughput", "--events", str(count))
        reporter.emit(
            f"events.{engine}.throughput.events_per_s",
            found["events_per_s"],
            "events/s",
            n=found["events"],
            target=Target(">=", EVENTS_PER_S) if applies else None,
            engine=engine,
            batch=found["batch"],
            seconds=found["seconds"],
            errors=found["missing"],
        )

        progress(f"[{engine}] events: commit-to-publish lag at {RATE:,} events/s")
        found = _child(
            bench,
            env,
            engine,
            "lag",
            "--seconds",
            str(opts.duration),
            "--warmup",
            str(opts.warmup),
        )
        for metric in ("p50_ms", "p99_ms"):
            reporter.emit(
                f"events.{engine}.lag.{metric}",
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
        bench.stop(nats)
    finally:
        bench.drop(db)


def _child(bench: Any, env: dict[str, str], engine: str, *args: str) -> dict[str, Any]:
    log = bench.root / f"{engine}-events-{args[0]}.log"
    output, _ = bench.run([sys.executable, "-m", "benchmarks.events", *args], env=env, log=log)
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"benchmarks.events {args[0]} printed no result:\n{output[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nats-server did not listen on port {port}")


# -- inside Django -----------------------------------------------------------------------------


def _setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "accord.settings"
    import django

    django.setup()


def _write(count: int, on_commit: Any = None) -> None:
    """``count`` contact ``updated`` events through the write path's own helper, ten per
    transaction; ``on_commit(ids, at)`` learns each transaction's event ids and commit time."""
    from django.db import transaction

    from accord.core import records
    from accord.core.ids import new_id
    from accord.core.models import Source
    from accord.parties.models import Contact

    for start in range(0, count, PER_TRANSACTION):
        changes = []
        for n in range(start, min(start + PER_TRANSACTION, count)):
            contact = Contact(id=new_id(), last_name=f"Bench {n}", version=n % 50 + 2)
            payload = _payload(contact, n)
            changes.append(
                records.Change(contact, "updated", payload, {"title": ["Buyer", payload["title"]]})
            )
        with transaction.atomic():
            written = records.write_changes(changes, actor=None, source=Source.SYSTEM)
        if on_commit is not None:
            on_commit([str(e.event_id) for e in written], time.perf_counter())


def _payload(contact: Any, n: int) -> dict[str, Any]:
    """About the size of a real contact's event payload."""
    return {
        "id": str(contact.id),
        "first_name": "Ada",
        "last_name": contact.last_name,
        "emails": [f"bench{n}@example.com"],
        "phones": ["+14155550100"],
        "title": f"Head of purchasing {n % 7}",
        "account_id": None,
        "owner_id": None,
        "lifecycle_stage": "customer",
        "email_opt_in": True,
        "sms_opt_in": False,
        "do_not_call": False,
        "external_id": "",
        "tags": [],
        "custom_fields": {},
        "version": contact.version,
        "created_at": "2026-01-01T09:00:00+00:00",
        "updated_at": "2026-01-01T09:00:00+00:00",
        "created_by_id": None,
        "updated_by_id": None,
        "deleted_at": None,
    }


def throughput(count: int) -> dict[str, Any]:
    from accord.integration import config
    from accord.integration.relay import Relay

    _write(count)
    settings = config.relay()
    relay = Relay(settings)
    [destination] = relay.destinations
    if not relay.keep_lease():
        raise RuntimeError("could not take the sequencer lease")
    started = time.perf_counter()
    deadline = started + 300
    while relay._positions.get(destination.name, 0) < count and time.perf_counter() < deadline:
        relay.keep_lease()
        if not relay.step() and relay._positions.get(destination.name, 0) < count:
            time.sleep(0.001)
    seconds = time.perf_counter() - started
    published = relay._positions.get(destination.name, 0)
    relay.release()
    destination.close()
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "events_per_s": round(published / seconds, 1),
        "batch": settings.batch,
        "missing": count - published,
    }


def lag(seconds: int, warmup: int) -> dict[str, Any]:
    """Commit-to-arrival times with ``accord relay`` running as a process of its own."""
    import subprocess

    from accord.core.models import OutboxEvent
    from accord.integration.models import Destination
    from accord.integration.sequencer import state

    # Start from an empty outbox, so the relay has no backlog from the throughput run.
    OutboxEvent.objects.all().delete()
    Destination.objects.all().delete()
    env = {**os.environ, "ACCORD_NATS_STREAM": "LAG", "ACCORD_NATS_SUBJECT_PREFIX": "lag"}
    # In this process's group, so that the workbench stops it with this process.
    relay = subprocess.Popen([sys.executable, "-m", "accord.cli", "relay"], env=env)
    try:
        deadline = time.monotonic() + 30
        while f":{relay.pid}:" not in state().holder:
            if relay.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("accord relay did not take the sequencer lease")
            time.sleep(0.05)
        return _measure_lag(seconds, warmup)
    finally:
        relay.terminate()
        relay.wait(15)


def _measure_lag(seconds: int, warmup: int) -> dict[str, Any]:
    import asyncio

    import nats

    url = os.environ["ACCORD_NATS_URL"]
    received: dict[str, float] = {}
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def subscribe() -> None:
        nc = await nats.connect(url)

        async def on_message(msg: Any) -> None:
            received[msg.headers["Nats-Msg-Id"]] = time.perf_counter()

        await nc.subscribe("lag.>", cb=on_message)
        await nc.flush()
        holder["nc"] = nc
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(subscribe(), loop).result(10)
    ready.wait(10)

    committed, _ = paced_writes(
        lambda on_commit: _write(PER_TRANSACTION, on_commit),
        rate=RATE,
        per_transaction=PER_TRANSACTION,
        warmup=warmup,
        seconds=seconds,
    )

    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and not committed.keys() <= received.keys():
        time.sleep(0.05)
    asyncio.run_coroutine_threadsafe(holder["nc"].close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)

    return lag_summary(committed, received, "no event arrived at the subscriber")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.events", description=__doc__)
    modes = parser.add_subparsers(dest="mode", required=True)
    modes.add_parser("throughput").add_argument("--events", type=int, required=True)
    lag_mode = modes.add_parser("lag")
    lag_mode.add_argument("--seconds", type=int, required=True)
    lag_mode.add_argument("--warmup", type=int, default=0)
    args = parser.parse_args(argv)
    _setup()
    if args.mode == "throughput":
        result = throughput(args.events)
    else:
        result = lag(args.seconds, args.warmup)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

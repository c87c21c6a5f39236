"""Bulk upsert: 1,000-row batches through ``POST /api/v1/contacts/bulk`` over HTTP, one client.

Each repetition sends ``--bulk-batches`` batches of new contacts (matched on email, so every
row is created), then the same rows again with a new title (every row is updated). Rows per
second count the time from sending each batch to reading its whole answer.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.figures import Reporter, Target
from benchmarks.load import JsonClient
from benchmarks.options import Options
from benchmarks.servers import AccordServer, Workbench, progress

BATCH = 1_000
PATH = "/api/v1/contacts/bulk"
TARGET = Target(">=", 10_000)
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")


def rows(tag: str, batch: int, *, title: str) -> list[dict[str, Any]]:
    out = []
    for i in range(BATCH):
        serial = batch * BATCH + i
        out.append(
            {
                "first_name": FIRST_NAMES[serial % len(FIRST_NAMES)],
                "last_name": LAST_NAMES[serial // len(FIRST_NAMES) % len(LAST_NAMES)],
                "emails": [f"bulk.{tag}.{serial}@bench.example"],
                # New York numbers: a 2-9 exchange digit keeps them valid.
                "phones": [f"+1212{2 + serial % 8}{serial % 1_000_000:06d}"],
                "title": title,
            }
        )
    return out


def send(client: JsonClient, batch: list[dict[str, Any]], expect: str) -> float:
    status, answer, seconds = client.post(PATH, {"match_on": "email", "records": batch})
    if status != 200 or answer.get(expect) != len(batch):
        failed = [r for r in (answer or {}).get("results", []) if r["status"] == "error"][:3]
        raise RuntimeError(f"bulk upsert answered {status}, expected {expect}: {failed or answer}")
    return seconds


def run(
    bench: Workbench,
    reporter: Reporter,
    opts: Options,
    *,
    engine: str,
    server: AccordServer,
    token: str,
) -> None:
    client = JsonClient(server.port, token)
    try:
        if opts.warmup:
            send(client, rows(f"{bench.run_id}w", 0, title="Buyer"), "created")
        timings: dict[str, list[list[float]]] = {"insert": [], "update": []}
        for repetition in range(opts.repeat):
            tag = f"{bench.run_id}r{repetition}"
            for kind, title, expect in (
                ("insert", "Buyer", "created"),
                ("update", "Head of purchasing", "updated"),
            ):
                progress(f"[{engine}] bulk {kind}, run {repetition + 1}")
                timings[kind].append(
                    [
                        send(client, rows(tag, b, title=title), expect)
                        for b in range(opts.bulk_batches)
                    ]
                )
    finally:
        client.close()
    for kind, runs in timings.items():
        rates = [BATCH * len(batches) / sum(batches) for batches in runs]
        every_batch = [seconds for batches in runs for seconds in batches]
        extra: dict[str, Any] = {"samples": [round(r) for r in rates]} if len(rates) > 1 else {}
        reporter.emit(
            f"bulk.{engine}.{kind}.rows_per_s",
            statistics.median(rates),
            "rows/s",
            n=BATCH * len(every_batch),
            target=TARGET,
            engine=engine,
            batch_rows=BATCH,
            batches=len(every_batch),
            batch_p50_ms=round(statistics.median(every_batch) * 1000, 1),
            batch_max_ms=round(max(every_batch) * 1000, 1),
            **extra,
        )

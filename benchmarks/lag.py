"""Commit-to-arrival lag, shared by the events and webhooks benchmarks: writes paced at a
steady rate (an unmeasured warm-up, then the measured run), and the summary of how long each
committed event took to arrive."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

#: Called by a write after its commit with the ids of its events and the commit's time.
OnCommit = Callable[[list[str], float], None]


def paced_writes(
    write: Callable[[OnCommit | None], None],
    *,
    rate: float,
    per_transaction: int,
    warmup: float,
    seconds: float,
) -> tuple[dict[str, float], int]:
    """Call ``write`` (one transaction of ``per_transaction`` events) ``rate`` events a second
    for ``warmup`` seconds, then for ``seconds`` with the commit times recorded. Returns the
    measured events' commit times by id and how many events were written in all."""
    committed: dict[str, float] = {}

    def measure(ids: list[str], at: float) -> None:
        for event_id in ids:
            committed[event_id] = at

    interval = per_transaction / rate
    written = 0
    for phase, duration, on_commit in (("warmup", warmup, None), ("run", seconds, measure)):
        ticks = int(duration * rate / per_transaction)
        started = time.perf_counter()
        for tick in range(ticks):
            pause = started + tick * interval - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            write(on_commit)
        written += ticks * per_transaction
        print(f"{phase}: {ticks * per_transaction} events", file=sys.stderr)
    return committed, written


def lag_summary(
    committed: Mapping[str, float], arrived: Mapping[str, float], nothing: str
) -> dict[str, Any]:
    """p50, p99 and max of the lag in ms of the committed events that arrived, and how many
    did not; ``nothing`` is the error when none arrived."""
    lags = sorted((arrived[i] - at) * 1000 for i, at in committed.items() if i in arrived)
    if not lags:
        raise RuntimeError(nothing)
    quantiles = statistics.quantiles(lags, n=100, method="inclusive")
    return {
        "events": len(committed),
        "p50_ms": round(quantiles[49], 2),
        "p99_ms": round(quantiles[98], 2),
        "max_ms": round(lags[-1], 2),
        "missing": len(committed) - len(lags),
    }

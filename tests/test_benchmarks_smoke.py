"""The benchmarks run at a tiny size, so that their code cannot rot (ARCHITECTURE.md, Tests).

This checks that every line ``python -m benchmarks`` prints is a figure, that each benchmark
names the figures it should, that no request failed, and that the run removed its databases.
It never looks at how long anything took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from benchmarks import pages, servers

ROOT = Path(__file__).resolve().parent.parent

ENGINE = "pg" if os.environ.get("ACCORD_DATABASE_URL", "").startswith("postgres") else "sqlite"
READS = ("email", "search_name", "search_phone", "first_page", "deep_page")
LOAD = ("req_per_s", "p50_ms", "p99_ms")
PAGES = (
    "home",
    "ws_sales",
    "ws_marketing",
    "ws_service",
    "ws_back_office",
    "contact_list",
    "contact_deep",
    "contact_record",
    "account_record",
    "search",
    "suggest",
    "deal_board",
    "case_queue",
    "recycle_bin",
    "inbox",
    "settings",
)


def page_names(engine: str) -> set[str]:
    """Issue 5's page figures."""
    return {
        f"pages.{engine}.tiny.{page}.{who}.p{p}_ms"
        for page in PAGES
        for who in ("rep", "admin")
        for p in pages.PERCENTILES
    }


def expected_figures(engine: str, *, floor: bool) -> set[str]:
    names = {f"demo.{engine}.tiny.seconds"}
    names |= {f"events.{engine}.throughput.events_per_s"}
    names |= {f"events.{engine}.lag.{m}" for m in ("p50_ms", "p99_ms")}
    names |= {f"webhooks.{engine}.throughput.deliveries_per_s"}
    names |= {f"webhooks.{engine}.lag.{m}" for m in ("p50_ms", "p99_ms")}
    names |= {f"sync.{engine}.tiny.{m}" for m in ("first_pull.seconds", "incremental_pull.ms")}
    names |= {f"bulk.{engine}.{kind}.rows_per_s" for kind in ("insert", "update")}
    names |= page_names(engine)
    for workload in ("list", "search"):
        names.add(f"access.{engine}.tiny.{workload}.p99_ratio")
        for who in ("admin", "rep"):
            names |= {f"access.{engine}.tiny.{workload}.{who}.c1.{m}" for m in LOAD}
    for clients in (1, 8):
        names |= {f"create.{engine}.c{clients}.{m}" for m in LOAD}
        if floor:
            for part in ("hello", "create"):
                names |= {f"floor.{engine}.c{clients}.{part}.{m}" for m in LOAD}
        for workload in READS:
            names |= {f"reads.{engine}.tiny.{workload}.c{clients}.{m}" for m in LOAD}
    return names


def leftover_databases(run_pid: int) -> list[str]:
    with psycopg.connect(servers.PG_ADMIN) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            [f"{servers.DB_PREFIX}{run_pid}\\_%"],
        ).fetchall()
    return [name for (name,) in rows]


def test_each_benchmark_prints_its_figures_at_a_tiny_size() -> None:
    command = [sys.executable, "-m", "benchmarks", "--engine", ENGINE, "--sizes", "tiny"]
    command += ["--duration", "1", "--warmup", "0", "--bulk-batches", "1"]
    with subprocess.Popen(  # noqa: S603 - our own command line
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as run:
        stdout, stderr = run.communicate(timeout=900)
    assert run.returncode == 0, stderr[-4000:]

    figures = [json.loads(line) for line in stdout.splitlines()]
    for figure in figures:
        assert {"name", "n", "value", "unit"} <= figure.keys(), figure
        assert figure.get("errors", 0) == 0, figure
    names = [figure["name"] for figure in figures]
    assert len(names) == len(set(names))
    assert set(names) == expected_figures(ENGINE, floor=servers.FLOOR_SCRIPT.exists())
    ratios = [f for f in figures if f["name"].startswith("create.") and "floor" in f]
    assert all("ratio" in f for f in ratios)
    if ENGINE == "pg":
        assert leftover_databases(run.pid) == []


def test_the_bulk_row_floor_prints_a_figure_per_step_and_their_sum() -> None:
    command = [sys.executable, "-m", "benchmarks.rowfloor"]
    done = subprocess.run(  # noqa: S603 - our own command line
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    figures = [json.loads(line) for line in done.stdout.splitlines()]
    steps = ("validate", "normalize_email", "normalize_phone", "ids", "payload_history_event")
    assert [f["name"] for f in figures] == [f"rowfloor.{s}_us" for s in (*steps, "total")]
    assert {f["unit"] for f in figures} == {"µs/row"}
    assert figures[-1]["value"] == pytest.approx(sum(f["value"] for f in figures[:-1]), abs=0.01)

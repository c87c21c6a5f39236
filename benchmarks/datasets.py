"""The data the benchmarks work on: schema and API user, demo loads, request paths.

Everything goes through Accord's own command line (``accord migrate``, ``accord demo``,
``accord createuser``, ``accord token create``) in a child process with the benchmark
database's environment, so the harness never imports Django itself and can switch databases
between benchmarks. Request paths are drawn by :mod:`benchmarks.sample`, also in a child.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

from benchmarks.servers import Database, Workbench, accord

BENCH_USER = "bench"
#: The read workloads, each a file of request paths that :mod:`benchmarks.sample` writes.
WORKLOADS = ("email", "search_name", "search_phone", "first_page", "deep_page")


def migrate(bench: Workbench, db: Database) -> None:
    accord(bench, db, "migrate")


def api_token(bench: Workbench, db: Database) -> str:
    """A token of a new superuser: the benchmarks measure the API, not the sharing rules."""
    accord(bench, db, "createuser", BENCH_USER, "--superuser")
    output, _ = accord(bench, db, "token", "create", "--user", BENCH_USER)
    tokens = [line.strip() for line in output.splitlines() if line.startswith("acc_")]
    if not tokens:
        raise RuntimeError(f"accord token create printed no token:\n{output}")
    return tokens[-1]


def load_demo(bench: Workbench, db: Database, size: str) -> float:
    """Wall time in seconds of ``accord demo --size <size>`` on a fresh database."""
    _, seconds = accord(bench, db, "demo", "--size", size)
    return seconds


def analyze(db: Database) -> None:
    """Refresh the planner statistics of every table."""
    if db.engine == "pg":
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        return
    with sqlite3.connect(db.url.removeprefix("sqlite:///")) as conn:
        conn.execute("ANALYZE")


@dataclass(frozen=True)
class Paths:
    """Request path files for the read workloads and what they were drawn from."""

    files: dict[str, Path]
    contacts: int
    deep_offset: int
    sort: str


def sample_paths(bench: Workbench, db: Database, *, count: int = 2_000) -> Paths:
    out = bench.root / f"paths-{db.name}"
    command = [sys.executable, "-m", "benchmarks.sample", "--user", BENCH_USER]
    command += ["--out", str(out), "--count", str(count)]
    output, _ = bench.run(command, env=db.env(), log=bench.root / f"{db.name}-sample.log")
    summary = json.loads(output.strip().splitlines()[-1])
    return Paths(
        files={name: out / f"{name}.txt" for name in WORKLOADS},
        contacts=summary["contacts"],
        deep_offset=summary["deep_offset"],
        sort=summary["sort"],
    )

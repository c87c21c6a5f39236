"""API single create: ``POST /api/v1/contacts`` with 1 and 8 clients, against the floor.

Each repetition runs the floor (shared/limits/run.sh: bare Django + ninja + granian inserting
one contact row and one outbox row) and then Accord, one right after the other at the same
concurrency, so both see the same machine. Accord's figures carry their ratio to the floor.
"""

from __future__ import annotations

from benchmarks import servers
from benchmarks.figures import Reporter, Target, report_load
from benchmarks.load import WrkStats, wrk
from benchmarks.options import Options
from benchmarks.servers import AccordServer, Workbench, progress

CLIENTS = (1, 8)
#: Issue 3's goals, at 8 clients: half the floor's throughput, p99 within 2.5 times its p99.
TARGETS = {
    8: {
        "req_per_s": Target(">=", 0.5, of="ratio"),
        "p99_ms": Target("<=", 2.5, of="ratio"),
    }
}


def run(
    bench: Workbench,
    reporter: Reporter,
    opts: Options,
    *,
    engine: str,
    server: AccordServer,
    token: str,
) -> None:
    has_floor = servers.FLOOR_SCRIPT.exists()
    if not has_floor:
        progress(f"no floor script at {servers.FLOOR_SCRIPT}: no ratios", style="yellow")
    log = bench.root / f"{engine}-create-wrk.log"
    env = {"BENCH_TOKEN": token, "BENCH_PREFIX": f"{bench.run_id}w"}
    if opts.warmup:
        wrk(server.url, "create.lua", clients=8, seconds=opts.warmup, env=env, log=log)
    floors: dict[int, list[dict[str, WrkStats]]] = {c: [] for c in CLIENTS}
    accord: dict[int, list[WrkStats]] = {c: [] for c in CLIENTS}
    for repetition in range(opts.repeat):
        for clients in CLIENTS:
            if has_floor:
                progress(f"[{engine}] floor, {clients} client(s), run {repetition + 1}")
                floors[clients].append(
                    servers.floor(bench, engine, clients=clients, seconds=opts.duration)
                )
            progress(f"[{engine}] create, {clients} client(s), run {repetition + 1}")
            env["BENCH_PREFIX"] = f"{bench.run_id}r{repetition}c{clients}"
            seconds = opts.duration
            run = wrk(server.url, "create.lua", clients=clients, seconds=seconds, env=env, log=log)
            accord[clients].append(run)
    for clients in CLIENTS:
        context = {"engine": engine, "clients": clients}
        for part in ("hello", "create") if floors[clients] else ():
            runs = [run[part] for run in floors[clients]]
            report_load(reporter, f"floor.{engine}.c{clients}.{part}", runs, **context)
        report_load(
            reporter,
            f"create.{engine}.c{clients}",
            accord[clients],
            floor=[run["create"] for run in floors[clients]],
            targets=TARGETS.get(clients),
            **context,
        )

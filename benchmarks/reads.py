"""Reads on a loaded database: email lookup, search, first and deep keyset page.

Each workload is a file of request paths (see :mod:`benchmarks.sample`); wrk picks a random one
for every request, with 1 and with 8 clients.
"""

from __future__ import annotations

from benchmarks.datasets import WORKLOADS, Paths
from benchmarks.figures import Reporter, Target, report_load
from benchmarks.load import WrkStats, wrk
from benchmarks.options import Options
from benchmarks.servers import AccordServer, Workbench, progress

CLIENTS = (1, 8)
#: Issue 3's goals, at a million contacts on PostgreSQL with one client.
TARGETS = {
    "email": Target("<=", 10),
    "search_name": Target("<=", 50),
    "search_phone": Target("<=", 50),
    "first_page": Target("<=", 20),
    "deep_page": Target("<=", 20),
}


def run(
    bench: Workbench,
    reporter: Reporter,
    opts: Options,
    *,
    engine: str,
    size: str,
    server: AccordServer,
    token: str,
    paths: Paths,
) -> None:
    log = bench.root / f"{engine}-{size}-reads-wrk.log"
    for workload in WORKLOADS:
        env = {"BENCH_TOKEN": token, "BENCH_PATHS": str(paths.files[workload])}
        if opts.warmup:
            wrk(server.url, "paths.lua", clients=8, seconds=opts.warmup, env=env, log=log)
        for clients in CLIENTS:
            progress(f"[{engine} {size}] {workload}, {clients} client(s)")
            seconds = opts.duration
            runs: list[WrkStats] = [
                wrk(server.url, "paths.lua", clients=clients, seconds=seconds, env=env, log=log)
                for _ in range(opts.repeat)
            ]
            applies = engine == "pg" and size == "large" and clients == 1
            context: dict[str, object] = {
                "engine": engine,
                "size": size,
                "contacts": paths.contacts,
                "clients": clients,
                "analyzed": opts.analyze,
            }
            if workload.endswith("page"):
                context["sort"] = paths.sort
            if workload == "deep_page":
                context["offset"] = paths.deep_offset
            report_load(
                reporter,
                f"reads.{engine}.{size}.{workload}.c{clients}",
                runs,
                targets={"p99_ms": TARGETS[workload]} if applies else None,
                **context,
            )

"""``python -m benchmarks``: run the benchmarks and print one JSON line per figure."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from functools import partial

from rich.table import Table

from benchmarks import (
    access,
    bulk,
    create,
    datasets,
    demo,
    events,
    pages,
    reads,
    sync,
    webhooks,
)
from benchmarks.figures import Reporter
from benchmarks.options import Options, parse
from benchmarks.servers import AccordServer, Workbench, console, progress


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse(argv)
    reporter = Reporter()
    bench = Workbench(keep=opts.keep)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    failures = 0
    try:
        for engine in opts.engines:
            sections: list[tuple[str, Callable[[], None]]] = []
            if {"create", "bulk"} & set(opts.only):
                sections.append(("API writes", partial(api_writes, bench, reporter, opts, engine)))
            if {"demo", "reads", "access", "pages"} & set(opts.only):
                for size in opts.sizes:
                    step = partial(loaded, bench, reporter, opts, engine, size)
                    sections.append((f"{size} data", step))
            if "events" in opts.only:
                sections.append(("events", partial(events.run, bench, reporter, opts, engine)))
            if "webhooks" in opts.only:
                step = partial(webhooks.run, bench, reporter, opts, engine)
                sections.append(("webhooks", step))
            if "sync" in opts.only:
                sections.append(("sync", partial(sync.run, bench, reporter, opts, engine)))
            for label, section in sections:
                console.rule(f"{engine}: {label}")
                try:
                    section()
                except RuntimeError as exc:
                    failures += 1
                    progress(f"{engine}: {label} failed: {exc}", style="red")
    except KeyboardInterrupt:
        progress("Interrupted; cleaning up.", style="yellow")
        return 130
    finally:
        bench.close()
        summarize(reporter)
    return 1 if failures else 0


def api_writes(bench: Workbench, reporter: Reporter, opts: Options, engine: str) -> None:
    """Single creates and bulk upserts against one fresh, empty database."""
    db = bench.database(engine, "api")
    try:
        progress(f"[{engine}] accord migrate, API user and token")
        datasets.migrate(bench, db)
        token = datasets.api_token(bench, db)
        progress(f"[{engine}] starting granian")
        with AccordServer(bench, db, pool=opts.pool) as server:
            if "create" in opts.only:
                create.run(bench, reporter, opts, engine=engine, server=server, token=token)
            if "bulk" in opts.only:
                bulk.run(bench, reporter, opts, engine=engine, server=server, token=token)
    finally:
        bench.drop(db)


def loaded(bench: Workbench, reporter: Reporter, opts: Options, engine: str, size: str) -> None:
    """Load demo data of one size (its wall time is a figure either way), then the reads."""
    db = bench.database(engine, size)
    try:
        demo.run(bench, reporter, db=db, size=size)
        if opts.analyze:
            progress(f"[{engine}] ANALYZE")
            datasets.analyze(db)
        if "pages" in opts.only:
            # Before access, which makes contacts private and adds roles.
            pages.run(bench, reporter, opts, db=db, size=size)
        if {"reads", "access"} & set(opts.only):
            progress(f"[{engine}] API user and token, request paths")
            token = datasets.api_token(bench, db)
            paths = datasets.sample_paths(bench, db)
            progress(f"[{engine}] starting granian")
            with AccordServer(bench, db, pool=opts.pool) as server:
                if "reads" in opts.only:
                    reads.run(
                        bench,
                        reporter,
                        opts,
                        engine=engine,
                        size=size,
                        server=server,
                        token=token,
                        paths=paths,
                    )
                if "access" in opts.only:
                    # After the reads: it makes contacts private, which a superuser ignores.
                    access.run(
                        bench,
                        reporter,
                        opts,
                        db=db,
                        size=size,
                        server=server,
                        admin_token=token,
                        paths=paths,
                    )
    finally:
        bench.drop(db)


def summarize(reporter: Reporter) -> None:
    if not reporter.figures:
        return
    table = Table("figure", "value", "unit", "ratio", "target", "met", title="Figures")
    for figure in reporter.figures:
        context = figure.context
        met = context.get("meets_target")
        table.add_row(
            figure.name,
            "" if figure.value is None else f"{figure.value:g}",
            figure.unit,
            "" if context.get("ratio") is None else f"{context['ratio']:.2f}",
            context.get("target", ""),
            {True: "[green]yes[/]", False: "[red]NO[/]", None: ""}[met],
        )
    console.print(table, width=max(console.width, 120))


def _exit_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())

"""The command line of ``python -m benchmarks``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

BENCHMARKS = (
    "create",
    "bulk",
    "reads",
    "demo",
    "events",
    "access",
    "sync",
    "webhooks",
    "pages",
)
SIZES = ("tiny", "small", "medium", "large")


@dataclass(frozen=True)
class Options:
    engines: tuple[str, ...]
    sizes: tuple[str, ...]
    only: tuple[str, ...]
    duration: int
    repeat: int
    warmup: int
    bulk_batches: int
    pool: int
    analyze: bool
    keep: bool


def _choices(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        picked = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
        unknown = [p for p in picked if p not in allowed]
        if unknown or not picked:
            raise argparse.ArgumentTypeError(
                f"{text!r}: pick from {', '.join(allowed)} (comma-separated)"
            )
        return picked

    return parse


def parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Accord's benchmarks: one JSON line per figure on stdout, progress on "
        "stderr. Each run uses fresh databases and removes them at the end.",
    )
    parser.add_argument("--engine", choices=("pg", "sqlite", "both"), default="both")
    parser.add_argument(
        "--sizes",
        type=_choices(SIZES),
        default=("small", "medium", "large"),
        help="demo sizes for the demo and reads benchmarks (default small,medium,large)",
    )
    parser.add_argument(
        "--only",
        type=_choices(BENCHMARKS),
        default=BENCHMARKS,
        help=f"benchmarks to run (default {','.join(BENCHMARKS)})",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per figure; figures are their median"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of unreported load before each workload"
    )
    parser.add_argument(
        "--bulk-batches", type=int, default=20, help="1,000-row batches per bulk run"
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=int(os.environ.get("ACCORD_DB_POOL_MAX", "10")),
        help="database pool size per worker (blocking threads: as accord serve sets them)",
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="refresh the planner statistics (ANALYZE) after loading demo data, as autovacuum "
        "would soon after; by default the reads see what accord demo leaves",
    )
    parser.add_argument("--keep", action="store_true", help="keep databases and working files")
    args = parser.parse_args(argv)
    for name in ("duration", "repeat", "bulk_batches", "pool"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return Options(
        engines=("pg", "sqlite") if args.engine == "both" else (args.engine,),
        sizes=args.sizes,
        only=args.only,
        duration=args.duration,
        repeat=args.repeat,
        warmup=args.warmup,
        bulk_batches=args.bulk_batches,
        pool=args.pool,
        analyze=args.analyze,
        keep=args.keep,
    )

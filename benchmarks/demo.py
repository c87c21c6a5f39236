"""Wall time of ``accord demo --size <size>`` on a fresh database (migrations included)."""

from __future__ import annotations

from accord.core.demo import SIZES
from benchmarks.datasets import load_demo
from benchmarks.figures import Reporter, Target
from benchmarks.servers import Database, Workbench, progress

#: Issue 3's goals: small in under 30 s, large (a million contacts) in under 5 minutes.
TARGETS = {"small": Target("<", 30), "large": Target("<", 300)}


def run(bench: Workbench, reporter: Reporter, *, db: Database, size: str) -> None:
    progress(f"[{db.engine}] accord demo --size {size}")
    seconds = load_demo(bench, db, size)
    contacts = SIZES[size].contacts
    reporter.emit(
        f"demo.{db.engine}.{size}.seconds",
        seconds,
        "s",
        n=contacts,
        target=TARGETS.get(size),
        engine=db.engine,
        size=size,
        contacts=contacts,
        contacts_per_s=round(contacts / seconds),
    )

"""The contract between ``accord demo`` and each domain's demo data.

Each domain that has demo data provides ``accord/<domain>/demo.py`` with ``load(ctx)``; the CLI
calls them in layer order (identity, parties, catalog, activities, sales, service, marketing) with
one shared :class:`DemoContext`. Domains write through their own services (``create_many`` in
batches) and record the ids they made in ``ctx.ids`` for the domains after them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from faker import Faker


@dataclass(frozen=True)
class DemoSize:
    departments: int
    users: int
    accounts: int
    contacts: int
    #: Deals, cases and activities per 100 contacts.
    deals_per_100: int
    cases_per_100: int
    activities_per_100: int


SIZES = {
    "tiny": DemoSize(5, 8, 20, 100, 20, 10, 50),
    "small": DemoSize(5, 50, 2_000, 10_000, 20, 10, 50),
    "medium": DemoSize(5, 100, 20_000, 100_000, 2, 1, 5),
    "large": DemoSize(5, 200, 100_000, 1_000_000, 2, 1, 5),
}

#: ``advance(n)`` moves the progress bar of one step by n.
Advance = Callable[[int], None]


@dataclass
class DemoContext:
    size: DemoSize
    faker: Faker
    #: The superuser every demo write is attributed to (source "system").
    actor: Any
    #: ``progress(label, total)`` starts a progress step and returns its ``advance``.
    progress: Callable[[str, int], Advance]
    #: Ids each domain created, by object type ("user", "account", "contact", "deal", …).
    ids: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    #: Domain-specific values later domains need (e.g. the default pipeline's stage ids).
    extra: dict[str, Any] = field(default_factory=dict)

    def batches(self, total: int, size: int = 1_000) -> list[tuple[int, int]]:
        """``[(start, stop), …]`` covering ``range(total)`` in chunks of ``size``."""
        return [(start, min(start + size, total)) for start in range(0, total, size)]


def refresh_statistics() -> None:
    """Let the query planner see what a load wrote (``ANALYZE``).

    Without statistics PostgreSQL plans a million-row table as if it were empty (whole-table
    scans for a 50-row page), and nothing else refreshes them soon: autovacuum may be off, and
    even when on it waits for its own schedule. SQLite plans well without statistics, and its
    ANALYZE reads every index in full, so it is left alone.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

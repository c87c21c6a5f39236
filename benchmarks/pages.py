"""Issue 5's page times: how long the server takes to answer each main page of the staff app.

On the loaded demo data, every page is requested ``--requests`` times (after a few unreported
warm-up requests; a slow page stops after ``--budget`` seconds once it has 20 samples) by
Django's test client inside one process, signed in as a non-admin sales rep (the demo's first
``Sales Rep``) and as a superuser. The time is the server's: URL
resolution, middleware, sign-in and second-factor checks, queries and template rendering,
without HTTP or a network. Pages:

- ``home``, one per workspace (``ws_sales``, ``ws_marketing``, ``ws_service``,
  ``ws_back_office``);
- ``contact_list`` (the first page of 50 in last-name order) and ``contact_deep`` (the page
  after the row at offset 499,999 in that order, as ``reads``' ``deep_page``; smaller
  databases use their last full page);
- ``contact_record`` and ``account_record``: random records the user sees;
- ``search``: ``/search?q=`` the first 3 to 6 letters of random last names;
- ``suggest``: the search box's type-ahead, ``/search?suggest=1&q=`` with the same terms;
- ``deal_board`` (the default pipeline's board) and ``case_queue`` (all queues, SLA order);
- ``recycle_bin``, ``inbox`` and ``settings`` (the Settings area's front page, which a rep
  without a settings section is refused: its answer is then the 403 page, said by ``status``).

Figures: ``pages.<engine>.<size>.<page>.<who>.{p50_ms,p95_ms,p99_ms}`` with ``queries`` (SQL
statements of one request) and ``status``. Targets: p95 ≤ 200 ms, the type-ahead ≤ 100 ms.

Run by ``python -m benchmarks --only pages``, or on a database that is already loaded (a 1M
load takes ten minutes or more)::

    python -m benchmarks.pages --database-url postgresql://postgres@127.0.0.1:5432/bench1m

The measuring runs in a child process (``--measure``) with the database's environment, like
:mod:`benchmarks.sample`, so the harness never imports Django itself.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchmarks.figures import Reporter, Target
from benchmarks.options import Options
from benchmarks.servers import ROOT, Database, Workbench, progress

TARGET_MS = 200.0
SUGGEST_TARGET_MS = 100.0
PERCENTILES = (50, 95, 99)
WARMUP = 3
DEEP_OFFSET = 499_999
PAGE = 50
SORT = "last_name"
#: Random records and search terms drawn per user (each request takes the next, cycling).
DRAWN = 200
#: A slow page is measured for this many seconds at most, once it has MIN_SAMPLES requests.
BUDGET_S = 30.0
MIN_SAMPLES = 20
RESULT_MARK = "PAGE-FIGURE "


def requests_per_page(opts: Options) -> int:
    """Ten requests per second of ``--duration`` (100 by default), at least ten."""
    return max(10, opts.duration * 10)


def run(bench: Workbench, reporter: Reporter, opts: Options, *, db: Database, size: str) -> None:
    progress(f"[{db.engine} {size}] page times, {requests_per_page(opts)} requests a page")
    log = bench.root / f"{db.name}-pages.log"
    command = [sys.executable, "-m", "benchmarks.pages", "--measure"]
    command += ["--requests", str(requests_per_page(opts))]
    output, _ = bench.run(command, env=db.env(), log=log)
    report(reporter, parse(output), engine=db.engine, size=size)


def parse(output: str) -> list[dict[str, Any]]:
    return [
        json.loads(line.removeprefix(RESULT_MARK))
        for line in output.splitlines()
        if line.startswith(RESULT_MARK)
    ]


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: the smallest sample with ``p`` % of them at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def report(reporter: Reporter, results: list[dict[str, Any]], *, engine: str, size: str) -> None:
    for result in results:
        page, who, samples = result["page"], result["who"], result["samples_ms"]
        bound = SUGGEST_TARGET_MS if page == "suggest" else TARGET_MS
        for p in PERCENTILES:
            reporter.emit(
                f"pages.{engine}.{size}.{page}.{who}.p{p}_ms",
                percentile(samples, p),
                "ms",
                n=len(samples),
                target=Target("<=", bound) if p == 95 else None,
                engine=engine,
                size=size,
                page=page,
                who=who,
                path=result["path"],
                status=result["status"],
                queries=result["queries"],
                contacts=result["contacts"],
                errors=result["errors"],
            )


# -- inside Accord's Django environment --------------------------------------------------------


def measure(
    requests: int, seed: int, budget: float, only: Sequence[str] = ()
) -> Iterator[dict[str, Any]]:
    """Each page's server times for the rep and the superuser (see the module's docstring)."""
    import gc
    import logging

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accord.identity import mfa
    from accord.parties.models import Contact

    # A rep's Settings page is a 403, which Django logs as a warning on every request.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    rng = random.Random(seed)
    contacts = Contact.objects.count()
    users = {"rep": _rep(), "admin": _admin()}
    for who, user in users.items():
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        session = client.session
        session[mfa.SESSION_KEY] = mfa.VERIFIED  # as after a sign-in with a code
        session.save()
        pages = _pages(user, rng)
        # As granian's workers do after start-up: what set-up made is never collected again.
        gc.collect()
        gc.freeze()
        for name, paths in pages.items():
            if only and name not in only:
                continue
            for path in paths(WARMUP):
                client.get(path)
            with CaptureQueriesContext(connection) as queries:
                status = client.get(paths(1)[0]).status_code
            # Now: the captured list is read from the connection's log, which the next
            # request clears.
            query_count = len(queries)
            samples, errors = [], 0
            deadline = time.perf_counter() + budget
            for path in paths(requests):
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                errors += response.status_code >= 400 and response.status_code != status
                if len(samples) >= MIN_SAMPLES and started > deadline:
                    break
            yield {
                "page": name,
                "who": who,
                "path": paths(1)[0].split("?")[0] if "record" in name else paths(1)[0][:120],
                "status": status,
                "queries": query_count,
                "contacts": contacts,
                "errors": errors,
                "samples_ms": [round(s, 3) for s in samples],
            }
        gc.unfreeze()


def _rep() -> Any:
    from accord.identity.models import Department, Role, User

    found = (
        User.objects.filter(role__name="Sales Rep", is_active=True, is_superuser=False)
        .order_by("username")
        .first()
    )
    if found is not None:
        return found
    role = Role.objects.get(name="Sales Rep")
    rep, _ = User.objects.get_or_create(
        username="bench-pages-rep",
        defaults={"role": role, "department": Department.objects.filter(kind="sales").first()},
    )
    return rep


def _admin() -> Any:
    from accord.identity.models import User

    found = User.objects.filter(is_superuser=True, is_active=True).order_by("date_joined").first()
    if found is not None:
        return found
    admin, _ = User.objects.get_or_create(
        username="bench-pages-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    return admin


def _cycle(paths: list[str]) -> Callable[[int], list[str]]:
    """``take(n)``: the next ``n`` paths, going round ``paths``."""
    state = {"next": 0}

    def take(n: int) -> list[str]:
        start = state["next"]
        state["next"] = start + n
        return [paths[(start + i) % len(paths)] for i in range(n)]

    return take


def _pages(user: Any, rng: random.Random) -> dict[str, Callable[[int], list[str]]]:
    from accord.core.pagination import encode_cursor, parse_sort
    from accord.identity.visibility import visible
    from accord.parties.models import Account, Contact
    from accord.parties.queries import CONTACT_SORTS

    contacts = visible(user, Contact.objects.all())
    accounts = visible(user, Account.objects.all())
    total = contacts.count()
    # Random rows by a random id threshold: ORDER BY random() would read a million rows.
    contact_ids = _random_ids(contacts, rng)
    account_ids = _random_ids(accounts, rng)
    names = list(
        contacts.filter(pk__in=contact_ids)
        .exclude(last_name="")
        .values_list("last_name", flat=True)
    )
    terms = [quote(n.lower()[: rng.randint(3, 6)]) for n in names] or ["smi"]
    sort = parse_sort(SORT, CONTACT_SORTS)
    offset = max(0, min(DEEP_OFFSET, total - PAGE - 1))
    deep = contacts.order_by(sort.field, "pk").values_list(sort.field, "pk")[offset : offset + 1]
    first = f"/records/contact/?sort={SORT}"
    cursors = [f"{first}&cursor={encode_cursor(sort, value, pk)}" for value, pk in deep]
    pages: dict[str, list[str]] = {
        "home": ["/"],
        "ws_sales": ["/sales/"],
        "ws_marketing": ["/marketing/"],
        "ws_service": ["/service/"],
        "ws_back_office": ["/back-office/"],
        "contact_list": [first],
        "contact_deep": cursors or [first],
        "contact_record": [f"/records/contact/{pk}/" for pk in contact_ids],
        "account_record": [f"/records/account/{pk}/" for pk in account_ids],
        "search": [f"/search?q={t}" for t in terms],
        "suggest": [f"/search?suggest=1&q={t}" for t in terms],
        "deal_board": ["/sales/board/"],
        "case_queue": ["/service/queue/?queue="],
        "recycle_bin": ["/recycle-bin/"],
        "inbox": ["/inbox/"],
        "settings": ["/settings/"],
    }
    return {name: _cycle(paths) for name, paths in pages.items()}


def _random_ids(queryset: Any, rng: random.Random) -> list[Any]:
    """Up to :data:`DRAWN` ids of ``queryset``: the first id at or after each of random points
    between its smallest and largest id (UUIDv7, so time-ordered)."""
    import uuid

    low = queryset.order_by("pk").values_list("pk", flat=True).first()
    high = queryset.order_by("-pk").values_list("pk", flat=True).first()
    if low is None:
        return []
    found: list[Any] = []
    for _ in range(DRAWN):
        point = uuid.UUID(int=rng.randint(low.int, high.int))
        pk = queryset.filter(pk__gte=point).order_by("pk").values_list("pk", flat=True).first()
        if pk is not None:
            found.append(pk)
    return found


# -- command line ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pages", description=__doc__)
    parser.add_argument("--requests", type=int, default=100, help="measured requests per page")
    parser.add_argument("--seed", type=int, default=20_261_130)
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET_S,
        help=f"seconds a page is measured for at most (after {MIN_SAMPLES} requests)",
    )
    parser.add_argument(
        "--measure", action="store_true", help="measure in this process (Accord's environment)"
    )
    parser.add_argument(
        "--database-url", help="measure on this loaded database and print the figures"
    )
    parser.add_argument("--size", default="large", help="the size to name in figures")
    parser.add_argument("--pages", default="", help="only these pages (comma-separated names)")
    args = parser.parse_args(argv)
    if args.measure:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")
        only = [p for p in args.pages.split(",") if p]
        for result in measure(args.requests, args.seed, args.budget, only):
            print(RESULT_MARK + json.dumps(result), flush=True)
        return 0
    if not args.database_url:
        parser.error("give --database-url (or run python -m benchmarks --only pages)")
    engine = "pg" if args.database_url.startswith("postgres") else "sqlite"
    data_dir = Path(tempfile.mkdtemp(prefix="accord-pages-"))
    env = {**Database(engine, "existing", data_dir).env(), "ACCORD_DATABASE_URL": args.database_url}
    command = [sys.executable, "-m", "benchmarks.pages", "--measure"]
    command += ["--requests", str(args.requests), "--seed", str(args.seed)]
    command += ["--budget", str(args.budget), "--pages", args.pages]
    progress(f"[{engine}] page times on {args.database_url}, {args.requests} requests a page")
    done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    report(Reporter(), parse(done.stdout), engine=engine, size=args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())

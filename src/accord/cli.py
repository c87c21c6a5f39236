"""The ``accord`` command: serve, worker, migrate, users, API tokens, demo data, config check.

Django starts inside each command, not at import, so ``accord --help`` is quick and ``accord
check`` can report a broken configuration as a plain message instead of a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import importlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from accord import config
from accord.config import ConfigError
from accord.core.errors import AccordError

if TYPE_CHECKING:
    from accord.core.demo import DemoContext
    from accord.identity.models import User

P = ParamSpec("P")
T = TypeVar("T")

app = typer.Typer(
    help="Accord, the CRM that is the nucleus of a company's customer-facing systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
events_app = typer.Typer(help="The event backbone: relay status.", no_args_is_help=True)
app.add_typer(events_app, name="events")

console = Console(highlight=False)

#: Demo modules in layer order; the ones a checkout does not have yet are skipped.
DEMO_MODULES = (
    "accord.identity.demo",
    "accord.parties.demo",
    "accord.catalog.demo",
    "accord.activities.demo",
    "accord.sales.demo",
    "accord.service.demo",
    "accord.marketing.demo",
)
#: Faker's seed, so two demo loads of one size produce the same people and companies.
DEMO_SEED = 20_260_101
ADMIN = "admin"


class Size(StrEnum):
    """The sizes of core.demo.SIZES, spelt out so ``--help`` need not import Faker."""

    tiny = "tiny"
    small = "small"
    medium = "medium"
    large = "large"


# -- plumbing -------------------------------------------------------------------------------


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _describe(exc: AccordError) -> str:
    details = [f"{e.field}: {e.message}" for e in exc.errors]
    if len(details) == 1 and details[0] == exc.detail:
        return exc.detail
    return "\n".join([exc.detail, *(f"  {d}" for d in details)])


def plain_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Turn the errors a user can fix into a plain message on stderr and a non-zero exit."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            fail(f"Configuration error: {exc}")
        except AccordError as exc:
            fail(_describe(exc))
        except Exception as exc:
            if "django.db" in sys.modules:
                from django.db import DatabaseError

                if isinstance(exc, DatabaseError):
                    fail(f"Database error: {exc}".strip())
            raise

    return run


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "accord.settings"
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        raise ConfigError(str(exc)) from None
    except ValueError as exc:  # dj-database-url's answer to a malformed URL
        raise ConfigError(str(exc)) from None
    except OSError as exc:  # settings create the data directory and the secret key file
        raise ConfigError(f"cannot use the data directory: {exc}") from None


def apply_migrations() -> None:
    from django.core.management import call_command

    pending = pending_migrations()
    if pending:
        console.print(f"Applying {pending} database migration(s)…")
        call_command("migrate", interactive=False, verbosity=0)


def pending_migrations() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def find_user(username: str) -> User:
    from accord.identity.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        fail(f"No user named {username!r}")
    return user


def ensure_admin() -> User:
    """The superuser that serve and demo act as: ``admin``, or the longest-standing superuser
    when someone renamed it. On first run (no superuser at all) ``admin`` is created and its
    password printed, the one time it is ever shown."""
    from accord.core.errors import Conflict
    from accord.identity.models import User
    from accord.identity.services import create_user

    admin = User.objects.filter(username=ADMIN).first()
    if admin is not None:
        return admin
    other = User.objects.filter(is_superuser=True, is_active=True).order_by("date_joined").first()
    if other is not None:
        return other
    try:
        admin, password = create_user(username=ADMIN, is_superuser=True)
    except Conflict:  # another process created it a moment ago
        return User.objects.get(username=ADMIN)
    console.print(
        f"Created the superuser [bold]{ADMIN}[/]. Its password is shown only this once:\n"
        f"    [bold]{password}[/]"
    )
    return admin


# -- serve and worker -------------------------------------------------------------------------


@app.command()
@plain_errors
def serve(
    demo: Annotated[bool, typer.Option(help="Load demo data when there are no accounts.")] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Web worker processes.")] = 2,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run the background worker.")
    ] = True,
    demo_size: Annotated[
        Size, typer.Option(envvar="ACCORD_DEMO_SIZE", hidden=True, help="Size of --demo data.")
    ] = Size.small,
) -> None:
    """Migrate, create the admin user on first run, and serve Accord with its worker."""
    setup_django()
    from django.conf import settings
    from django.db import connections

    from accord.parties.models import Account

    apply_migrations()
    actor = ensure_admin()
    if demo and not Account.all_objects.exists():
        load_demo(demo_size, actor)
    _warn_about_host(host, settings.ALLOWED_HOSTS)
    # The children open their own connections; this process keeps none while it supervises.
    for conn in connections.all(initialized_only=True):
        conn.close()
        if conn.vendor == "postgresql":
            conn.close_pool()  # type: ignore[attr-defined]
    web = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(config.blocking_threads(settings.DB_POOL_MAX, settings.DATABASE_ENGINE)),
        "--respawn-failed-workers",
        "accord.wsgi:application",
    ]
    background = [sys.executable, "-m", "accord.cli", "worker"] if worker else None
    shown = f"[{host}]" if ":" in host else host
    console.print(
        f"Accord is serving on [bold]http://{shown}:{port}/[/] "
        "(API docs at /api/v1/docs, admin at /admin/). Press Ctrl-C to stop."
    )
    code = supervise(web, background)
    if code:
        fail(f"The web server stopped with exit code {code}", code)


def _warn_about_host(host: str, allowed: list[str]) -> None:
    if "*" in allowed:
        return
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - only compared, never bound here
        console.print(
            "Listening on all interfaces: clients can reach Accord only by the names in "
            f"ACCORD_ALLOWED_HOSTS ({', '.join(allowed)})."
        )
    elif host not in allowed and f"[{host}]" not in allowed:
        console.print(
            f"[yellow]ACCORD_ALLOWED_HOSTS ({', '.join(allowed)}) does not include {host}: "
            "requests addressed to it will be refused with 400.[/]"
        )


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    preexec = None
    if sys.platform.startswith("linux"):
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        pr_set_pdeathsig = 1

        def preexec() -> None:
            # Linux sends the child SIGTERM if ``accord serve`` dies without stopping it.
            prctl(pr_set_pdeathsig, signal.SIGTERM)

    # A process group of its own: Ctrl-C in a terminal reaches only this process, which then
    # stops the children in order. (granian hangs when its workers get the SIGINT directly.)
    return subprocess.Popen(command, preexec_fn=preexec, process_group=0)  # noqa: S603


def _stop(processes: list[subprocess.Popen[bytes]], *, timeout: float = 20.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def supervise(web: list[str], background: list[str] | None) -> int:
    """Run the web server and the background worker until a signal or the server stops.

    The worker is restarted when it dies, after a pause that doubles while it keeps dying
    quickly. Returns the server's exit code when it stopped on its own, else 0.
    """
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children: list[subprocess.Popen[bytes]] = []
    try:
        server = _spawn(web)
        children.append(server)
        job_worker = _spawn(background) if background else None
        if job_worker is not None:
            children.append(job_worker)
        started, pause, restart_at = time.monotonic(), 0.5, 0.0
        while not stopping.wait(0.2):
            if server.poll() is not None:
                return 0 if stopping.is_set() else (server.returncode or 1)
            if background is None or job_worker is None or job_worker.poll() is None:
                continue
            now = time.monotonic()
            if not restart_at:
                pause = 1.0 if now - started > 60 else min(pause * 2, 30.0)
                restart_at = now + pause
                console.print(
                    f"[yellow]The background worker exited with code {job_worker.returncode}; "
                    f"restarting it in {pause:.0f} s.[/]"
                )
            elif now >= restart_at:
                children.remove(job_worker)
                job_worker = _spawn(background)
                children.append(job_worker)
                started, restart_at = now, 0.0
        return 0
    finally:
        _stop(children)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@app.command("worker")
@plain_errors
def run_worker(
    once: Annotated[bool, typer.Option(help="Run due jobs once and exit.")] = False,
    relay: Annotated[
        bool | None,
        typer.Option(
            "--relay/--no-relay",
            help="Also run the event relay (default: ACCORD_RELAY_IN_WORKER, true).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run scheduled and queued background jobs until stopped (SIGTERM or Ctrl-C)."""
    setup_django()
    from accord.core import worker

    stop = threading.Event()
    if not once:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    relay_thread = None if once else _start_relay(relay, stop)
    webhooks_thread = None if relay_thread is None else _start_webhooks(stop)
    try:
        worker.run(stop=stop, once=once)
    finally:
        stop.set()
        for thread in (relay_thread, webhooks_thread):
            if thread is not None:
                thread.join(15)


def _start_relay(wanted: bool | None, stop: threading.Event) -> threading.Thread | None:
    """The event relay in a thread of the worker: the embedded default of ``accord serve``."""
    from accord.integration import config, relay

    if not (config.relay_in_worker() if wanted is None else wanted):
        return None
    return relay.start_in_background(stop)


def _start_webhooks(stop: threading.Event) -> threading.Thread:
    """Webhook delivery in threads of the worker, wherever the relay runs."""
    from accord.integration.webhooks import engine

    return engine.start_in_background(stop)


@app.command("relay")
@plain_errors
def run_relay(
    once: Annotated[
        bool, typer.Option(help="Number and publish what is waiting, then exit.")
    ] = False,
) -> None:
    """Number committed events and publish them to NATS / Redis while holding the lease, and
    deliver webhooks.

    Several may run: one holds the sequencer lease and works, the others stand by; every one
    delivers webhooks.
    """
    setup_django()
    from accord.integration import config, relay
    from accord.integration.webhooks import engine

    worker = relay.Relay(config.relay())
    targets = ", ".join(d.name for d in worker.destinations) or "no destination (numbering only)"
    stop = threading.Event()
    if not once:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        console.print(f"Event relay {worker.holder} publishing to {targets}. Ctrl-C stops it.")
    webhooks = None if once else engine.start_in_background(stop)
    try:
        worker.run(stop, once=once)
    finally:
        stop.set()
        if webhooks is not None:
            webhooks.join(30)


@events_app.command("status")
@plain_errors
def events_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Backlog, sequencer lease, and each destination's position and lag."""
    setup_django()
    import json
    from dataclasses import asdict

    from django.core.serializers.json import DjangoJSONEncoder

    from accord.integration.queries import status

    figures = status()
    if as_json:
        typer.echo(json.dumps(asdict(figures), cls=DjangoJSONEncoder))
        return
    lease = (
        f"held by {figures.holder} until {_when(figures.lease_expires_at)}"
        if figures.lease_held
        else f"free (last holder: {figures.holder or 'none'})"
    )
    console.print(f"Sequencer lease: {lease}")
    console.print(
        f"Numbered through {figures.last_sequence:,}; purged through "
        f"{figures.purged_through:,} ({figures.retained:,} kept)"
    )
    waiting = f"{figures.unsequenced:,} event(s) waiting for a number"
    if figures.oldest_unsequenced_at is not None:
        waiting += f", the oldest from {_when(figures.oldest_unsequenced_at)}"
    console.print(waiting)
    if not figures.destinations:
        console.print("No destinations (set ACCORD_NATS_URL or ACCORD_REDIS_STREAM).")
        return
    table = Table("destination", "active", "position", "lag", "lag (s)", "published", "error")
    for d in figures.destinations:
        table.add_row(
            d.name,
            "yes" if d.active else "no",
            f"{d.position:,}",
            f"{d.lag_events:,}",
            f"{d.lag_seconds:.1f}",
            _when(d.published_at),
            f"[red]{d.last_error}[/] (since {_when(d.failing_since)})" if d.last_error else "",
        )
    console.print(table)


@app.command()
@plain_errors
def migrate() -> None:
    """Create or update the database tables."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


#: Modules whose record services index search documents, for ``accord reindex``.
SEARCH_SERVICE_MODULES = (
    "accord.parties.services",
    "accord.catalog.services",
    "accord.sales.services",
    "accord.sales.deals",
    "accord.service.services",
    "accord.marketing.services",
)


@app.command()
@plain_errors
def reindex(
    object_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only this object type (repeatable), e.g. contact."),
    ] = None,
) -> None:
    """Rebuild the search index from the records (after an upgrade that changes it)."""
    setup_django()
    from accord.core.services import RecordService

    found: dict[str, RecordService[Any]] = {}
    for name in SEARCH_SERVICE_MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, RecordService) and value.search_fields:
                found[value.model.object_type] = value
    unknown = sorted(set(object_type or ()) - found.keys())
    if unknown:
        fail(f"Not searchable: {', '.join(unknown)}; choose from {', '.join(sorted(found))}")
    for kind in object_type or sorted(found):
        started = time.perf_counter()
        count = found[kind].reindex_search()
        console.print(f"Reindexed {count:,} {kind}(s) in {time.perf_counter() - started:.1f} s")


# -- users and tokens ------------------------------------------------------------------------


@app.command()
@plain_errors
def createuser(
    username: Annotated[str, typer.Argument(help="The sign-in name.")],
    superuser: Annotated[bool, typer.Option(help="May do everything.")] = False,
    email: Annotated[str, typer.Option(help="Email address.")] = "",
    department: Annotated[
        str | None, typer.Option(help="Department name (created when new).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user; prints a generated password unless one is given on stdin."""
    setup_django()
    from accord.identity.models import Department
    from accord.identity.services import create_user, ensure_department

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("No password on standard input")
    team = None
    if department:
        known = Department.objects.filter(name=department).exists()
        team = ensure_department(name=department)
        if not known:
            console.print(f"Created the department {department}.")
    user, plain = create_user(
        username=username,
        password=password,
        email=email,
        department=team,
        is_superuser=superuser,
    )
    console.print(f"Created the {'superuser' if superuser else 'user'} {user.username}.")
    if password is None:
        console.print(f"Password (shown only this once): [bold]{plain}[/]")


_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(text: str, *, now: dt.datetime) -> dt.datetime:
    """``30d`` / ``12h`` / ``2w`` from now, or an ISO 8601 date or time (UTC when naive)."""
    match = _DURATION.match(text.strip().lower())
    if match:
        return now + dt.timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--expires {text!r} is neither a duration like 30d, 12h, 2w nor an ISO 8601 time")
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@token_app.command("create")
@plain_errors
def token_create(
    user: Annotated[str, typer.Option("--user", help="Whose token it is.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(help="'*' or '<collection>:read|write'; repeat for several (default '*')."),
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="30d, 12h, 2w or an ISO 8601 time; default never.")
    ] = None,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
) -> None:
    """Create an API token and print only the token (it is not shown again)."""
    setup_django()
    from accord.core import clock
    from accord.identity.tokens import create_token

    owner = find_user(user)
    if not owner.is_active:
        fail(f"The user {user!r} is deactivated; their tokens would not work")
    expires_at = parse_expiry(expires, now=clock.now()) if expires else None
    _, plain = create_token(user=owner, name=name, scopes=scope or [], expires_at=expires_at)
    typer.echo(plain)


@token_app.command("revoke")
@plain_errors
def token_revoke(
    prefix: Annotated[str, typer.Argument(help="The token's prefix (or the whole token).")],
) -> None:
    """Revoke a token: the next request that sends it is refused."""
    setup_django()
    from accord.identity.models import ApiToken
    from accord.identity.tokens import revoke

    key = prefix.removeprefix("acc_").split("_", 1)[0]
    found = list(ApiToken.objects.select_related("user").filter(prefix=key)[:2])
    if not found:
        fail(f"No token with prefix {key!r}")
    if len(found) > 1:
        fail(f"Several tokens have the prefix {key!r}; pass the whole token")
    token = found[0]
    if token.revoked_at is not None:
        console.print(f"Token {key} of {token.user.username} was already revoked.")
        return
    revoke(token)
    console.print(f"Revoked token {key} of {token.user.username}.")


@token_app.command("list")
@plain_errors
def token_list(user: Annotated[str, typer.Option("--user", help="Whose tokens.")]) -> None:
    """List a user's tokens (never their secrets)."""
    setup_django()
    from accord.core import clock

    owner = find_user(user)
    now = clock.now()
    table = Table("prefix", "name", "scopes", "created", "expires", "last used", "state")
    for token in owner.api_tokens.order_by("created_at"):
        if token.revoked_at is not None:
            state = "revoked"
        elif token.expires_at is not None and token.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        table.add_row(
            token.prefix,
            token.name,
            " ".join(token.scopes or ["*"]),
            _when(token.created_at),
            _when(token.expires_at) or "never",
            _when(token.last_used_at) or "never",
            state,
        )
    console.print(table)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


@app.command("reset-mfa")
@plain_errors
def reset_mfa(username: Annotated[str, typer.Argument(help="Whose MFA to remove.")]) -> None:
    """Remove a user's MFA (lost phone and recovery codes); they sign in with their password
    and enrol again."""
    setup_django()
    from accord.identity import mfa

    user = find_user(username)
    if mfa.reset(user):
        console.print(f"Removed the MFA of {user.username}; they can sign in and enrol again.")
    else:
        console.print(f"{user.username} had no MFA.")


# -- demo data -------------------------------------------------------------------------------


@app.command()
@plain_errors
def demo(
    size: Annotated[Size, typer.Option(help="How much data to create.")] = Size.small,
) -> None:
    """Load demo departments, users, accounts, contacts and what the other domains add."""
    setup_django()
    apply_migrations()
    load_demo(size, ensure_admin())


def load_demo(size: Size, actor: User) -> DemoContext:
    from faker import Faker
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from accord.core.bulk import collection_deferred
    from accord.core.demo import SIZES, Advance, DemoContext, refresh_statistics

    faker = Faker()
    faker.seed_instance(DEMO_SEED)
    columns = (
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    started = time.perf_counter()
    # No refresh thread: demo modules may fork worker processes, which must not inherit one.
    with Progress(*columns, console=console, auto_refresh=False) as progress:

        def step(label: str, total: int) -> Advance:
            task = progress.add_task(label, total=total)
            progress.refresh()

            def advance(n: int) -> None:
                progress.advance(task, n)
                progress.refresh()

            return advance

        ctx = DemoContext(size=SIZES[size.value], faker=faker, actor=actor, progress=step)
        for name in DEMO_MODULES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            # A domain's load keeps hundreds of thousands of objects alive (the ids made so
            # far, pools of names): the collector's full passes over them were a tenth of the
            # load. Held off per domain, then one pass frees what cycles it left.
            with collection_deferred():
                module.load(ctx)
            gc.collect()
        refresh_statistics()
    seconds = time.perf_counter() - started
    records = sum(len(ids) for ids in ctx.ids.values())
    made = ", ".join(f"{len(ids):,} {kind}s" for kind, ids in ctx.ids.items())
    console.print(
        f"Loaded {size.value} demo data in {seconds:.1f} s "
        f"({records / max(seconds, 1e-9):,.0f} records/s): {made}.",
        soft_wrap=True,
    )
    return ctx


# -- check -----------------------------------------------------------------------------------

SOCKET_TIMEOUT = 2.0


@app.command()
@plain_errors
def check() -> None:
    """Show the configuration and check the database, NATS and Redis."""
    setup_django()
    from django.conf import settings

    import accord

    table = Table("check", "status", "detail")
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        where = f"sqlite {db['NAME']}"
    else:
        where = f"postgresql {db.get('USER') or ''}@{db.get('HOST') or 'localhost'}"
        where += f":{db.get('PORT') or 5432}/{db['NAME']}"
    table.add_row("version", "", accord.__version__)
    table.add_row("data directory", "", str(settings.DATA_DIR))
    table.add_row("database", "", where)
    table.add_row("debug", "", str(settings.DEBUG).lower())
    table.add_row("allowed hosts", "", ", ".join(settings.ALLOWED_HOSTS))
    database_ok, detail = _check_database()
    table.add_row("database connection", _status(database_ok), detail)
    if database_ok:
        pending = pending_migrations()
        table.add_row(
            "migrations",
            _status(True if not pending else None),
            "up to date" if not pending else f"{pending} pending: run accord migrate",
        )
    for label, variable, probe in (
        ("NATS", "ACCORD_NATS_URL", _probe_nats),
        ("Redis", "ACCORD_REDIS_URL", _probe_redis),
    ):
        url = os.environ.get(variable)
        if not url:
            table.add_row(label, "", f"not configured ({variable}; optional)")
            continue
        ok, detail = probe(url)
        table.add_row(label, _status(ok if ok else None), detail)
    console.print(table)
    if not database_ok:
        fail(f"The database is not usable: {detail}")


def _status(ok: bool | None) -> str:
    return {True: "[green]ok[/]", False: "[red]FAILED[/]", None: "[yellow]warning[/]"}[ok]


def _check_database() -> tuple[bool, str]:
    from django.db import connection

    try:
        if connection.vendor == "postgresql":
            # Straight to the server with a short timeout: the pool would retry for 30 s.
            import psycopg

            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            with psycopg.connect(**params, connect_timeout=int(SOCKET_TIMEOUT) + 1) as raw:
                version = raw.execute("SHOW server_version").fetchone()
            return True, f"PostgreSQL {version[0] if version else '?'}"
        with connection.cursor() as cursor:
            cursor.execute("select sqlite_version()")
            row = cursor.fetchone()
        return True, f"SQLite {row[0] if row else '?'}"
    except Exception as exc:  # Django's or, connecting directly, psycopg's errors
        text = str(exc).strip()
        return False, text.splitlines()[0] if text else type(exc).__name__


def _endpoint(url: str, default_port: int) -> tuple[str, int, str]:
    """Host, port and a credential-free label of the first server in ``url``."""
    first = url.split(",")[0].strip()
    if "://" not in first:
        first = f"tcp://{first}"
    parts = urlsplit(first)
    host = parts.hostname or "localhost"
    port = parts.port or default_port
    return host, port, f"{parts.scheme}://{host}:{port}"


def _probe(url: str, default_port: int, hello: bytes | None) -> tuple[bool, str, bytes]:
    try:
        host, port, label = _endpoint(url, default_port)
    except ValueError as exc:
        return False, f"malformed URL: {exc}", b""
    try:
        with socket.create_connection((host, port), timeout=SOCKET_TIMEOUT) as sock:
            if hello:
                sock.sendall(hello)
            reply = b""
            # One line is the whole answer (NATS greets with a long INFO line).
            while b"\n" not in reply and len(reply) < 65_536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
            return True, label, reply
    except OSError as exc:
        return False, f"{label}: {exc.strerror or exc}", b""


def _probe_nats(url: str) -> tuple[bool, str]:
    ok, label, greeting = _probe(url, 4222, None)
    if ok and not greeting.startswith(b"INFO"):
        return False, f"{label}: answered, but not like a NATS server"
    if ok:
        jetstream = b'"jetstream":true' in greeting
        return True, f"{label} reachable{'' if jetstream else ' (JetStream off)'}"
    return False, label


def _probe_redis(url: str) -> tuple[bool, str]:
    ok, label, reply = _probe(url, 6379, b"PING\r\n")
    if not ok:
        return False, label
    if reply.startswith(b"+PONG"):
        return True, f"{label} reachable"
    if reply.startswith(b"-NOAUTH"):
        return True, f"{label} reachable (needs a password)"
    return False, f"{label}: answered, but not like a Redis server"


# -- offline sync: the reference client of /api/v1/sync (integration/sync_client.py) -----------

sync_app = typer.Typer(
    help="Keep a local SQLite replica for offline work: pull, edit, push, resolve conflicts.",
    no_args_is_help=True,
)
app.add_typer(sync_app, name="sync")

ReplicaFile = Annotated[str, typer.Option("--replica", help="The replica file (SQLite).")]
ServerUrl = Annotated[
    str | None,
    typer.Option(envvar="ACCORD_URL", help="The server, e.g. http://127.0.0.1:8000 (kept)."),
]
ApiToken = Annotated[
    str | None, typer.Option(envvar="ACCORD_TOKEN", help="An API token (never stored).")
]
Sets = Annotated[list[str] | None, typer.Option("--set", help="FIELD=TEXT; repeatable.")]
JsonSets = Annotated[
    list[str] | None, typer.Option("--set-json", help="FIELD=JSON value; repeatable.")
]


def _sync_errors(command: Callable[P, T]) -> Callable[P, T]:
    """A refused request or a bad replica is a message and exit code 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        from accord.integration.sync_client import SyncError

        try:
            return command(*args, **kwargs)
        except SyncError as exc:
            fail(str(exc))

    return wrapper


def _print_problems(problems: list[Any]) -> None:
    for p in problems:
        label = f"{p.state.upper()} {p.op} {p.object_type} {p.record_id}"
        if p.state == "conflict":
            theirs = {k: (p.server or {}).get(k) for k in p.mine}
            typer.echo(f"{label}: server v{p.server_version} has {theirs}, yours {p.mine}")
        else:
            typer.echo(f"{label}: {p.detail}")


@sync_app.command("pull")
@_sync_errors
def sync_pull(
    replica: ReplicaFile,
    url: ServerUrl = None,
    token: ApiToken = None,
    types: Annotated[
        str | None, typer.Option(help="Object types to keep, e.g. contact,account (kept).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Records per page.")] = None,
    full: Annotated[bool, typer.Option(help="Fetch everything again (edits stay).")] = False,
) -> None:
    """Bring the replica up to date: changed and new records, tombstones for the others."""
    from accord.integration import sync_client

    report = sync_client.pull(replica, url=url, token=token, types=types, limit=limit, full=full)
    if report.resynced:
        typer.echo("The server asked for a full resynchronisation; fetched everything again.")
    typer.echo(
        f"Pulled {report.pages} page(s): {report.stored} record(s) stored, "
        f"{report.removed} removed."
    )


@sync_app.command("push")
@_sync_errors
def sync_push(replica: ReplicaFile, url: ServerUrl = None, token: ApiToken = None) -> None:
    """Send local edits; list those the server did not take. Exit 1 while any remain."""
    from accord.integration import sync_client

    report = sync_client.push(replica, url=url, token=token)
    typer.echo(
        f"Pushed: {report.applied} applied, {report.conflicts} conflict(s), "
        f"{report.rejected} rejected."
    )
    for temp_id, real_id in report.created.items():
        typer.echo(f"Created {temp_id} as {real_id}")
    _print_problems(report.problems)
    if report.problems:
        typer.echo("Settle them with: accord sync resolve --keep server|mine [--id ID]")
        raise typer.Exit(1)


@sync_app.command("edit")
@_sync_errors
def sync_edit(
    replica: ReplicaFile,
    object_type: Annotated[str, typer.Option("--type", help="e.g. contact")],
    record_id: Annotated[str, typer.Option("--id", help="The record's id (or temp id).")],
    sets: Sets = None,
    json_sets: JsonSets = None,
) -> None:
    """Change fields of a record offline."""
    from accord.integration import sync_client

    changes = sync_client.parse_assignments(sets or [], json_sets or [])
    sync_client.edit(replica, object_type, record_id, changes)
    typer.echo(f"Edited {object_type} {record_id} locally; push to send it.")


@sync_app.command("create")
@_sync_errors
def sync_create(
    replica: ReplicaFile,
    object_type: Annotated[str, typer.Option("--type", help="e.g. contact")],
    sets: Sets = None,
    json_sets: JsonSets = None,
) -> None:
    """Create a record offline; prints its temp id."""
    from accord.integration import sync_client

    changes = sync_client.parse_assignments(sets or [], json_sets or [])
    typer.echo(sync_client.create(replica, object_type, changes))


@sync_app.command("delete")
@_sync_errors
def sync_delete(
    replica: ReplicaFile,
    object_type: Annotated[str, typer.Option("--type", help="e.g. contact")],
    record_id: Annotated[str, typer.Option("--id", help="The record's id.")],
) -> None:
    """Delete a record offline (it goes to the recycle bin on push)."""
    from accord.integration import sync_client

    sync_client.delete(replica, object_type, record_id)
    typer.echo(f"Deleted {object_type} {record_id} locally; push to send it.")


@sync_app.command("show")
@_sync_errors
def sync_show(
    replica: ReplicaFile,
    object_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    record_id: Annotated[str | None, typer.Option("--id", help="Only this record.")] = None,
) -> None:
    """Print the records as one JSON object a line, local edits applied."""
    import json

    from accord.integration import sync_client

    for record in sync_client.show(replica, object_type, record_id):
        typer.echo(json.dumps(record, sort_keys=True))


@sync_app.command("conflicts")
@_sync_errors
def sync_conflicts(replica: ReplicaFile) -> None:
    """List the edits the server did not take (conflicts and rejections)."""
    from accord.integration import sync_client

    problems = sync_client.conflicts(replica)
    if not problems:
        typer.echo("No conflicts.")
    _print_problems(problems)


@sync_app.command("resolve")
@_sync_errors
def sync_resolve(
    replica: ReplicaFile,
    keep: Annotated[str, typer.Option(help="server: drop your edit; mine: push it again.")],
    record_id: Annotated[str | None, typer.Option("--id", help="Only this record.")] = None,
) -> None:
    """Settle conflicts and rejected edits, all of them or one record's."""
    from accord.integration import sync_client

    settled = sync_client.resolve(replica, keep=keep, record_id=record_id)
    hint = " Push to send them." if keep == "mine" and settled else ""
    typer.echo(f"Settled {settled} edit(s), keeping the {keep} version.{hint}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

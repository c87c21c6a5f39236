"""The ``accord`` command: serve, tokens, users, check; errors are plain messages."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from typer.testing import CliRunner

from accord import cli
from accord.cli import app
from accord.core import clock
from accord.core.models import Schedule
from accord.identity import tokens
from accord.identity.models import ApiToken, User
from tests.conftest import ApiClient

TOKEN = re.compile(r"^acc_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}$")
ACCORD = [sys.executable, "-m", "accord.cli"]

runner = CliRunner()


def invoke(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=input)


# -- tokens ---------------------------------------------------------------------------------


def test_token_create_prints_only_a_token_that_authenticates(admin: User) -> None:
    result = invoke(
        "token", "create", "--user", "admin", "--scope", "accounts:read", "--expires", "30d"
    )

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert TOKEN.match(lines[0])
    client = ApiClient(lines[0])
    assert client.get("/api/v1/accounts").status_code == 200
    assert client.post("/api/v1/accounts", {"name": "Acme"}).status_code == 403
    token = ApiToken.objects.get(user=admin)
    assert token.scopes == ["accounts:read"]
    assert token.expires_at is not None
    assert abs(token.expires_at - (clock.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)


def test_token_create_for_an_unknown_user_fails_with_a_plain_message(db: None) -> None:
    result = invoke("token", "create", "--user", "ghost")

    assert result.exit_code != 0
    assert result.stderr.strip() == "No user named 'ghost'"
    assert result.stdout == ""
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--expires", "soon"], "--expires 'soon' is neither"),
        (["--expires", "2001-01-01"], "expires: must be in the future"),
        (["--scope", "accounts:delete"], "is not a scope"),
    ],
)
def test_token_create_rejects_bad_options_plainly(
    admin: User, option: list[str], message: str
) -> None:
    result = invoke("token", "create", "--user", "admin", *option)

    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not ApiToken.objects.exists()


def test_token_list_shows_prefixes_but_never_secrets(admin: User) -> None:
    token, plain = tokens.create_token(user=admin, name="laptop", expires_at=None)

    result = invoke("token", "list", "--user", "admin")

    assert result.exit_code == 0, result.output
    assert token.prefix in result.stdout
    assert "laptop" in result.stdout
    assert plain.rsplit("_", 1)[1] not in result.stdout


def test_token_revoke_stops_the_token_working(admin: User) -> None:
    token, plain = tokens.create_token(user=admin, expires_at=None)

    result = invoke("token", "revoke", token.prefix)

    assert result.exit_code == 0, result.output
    assert tokens.authenticate(plain) is None
    assert invoke("token", "revoke", "deadbeef").exit_code != 0


# -- users ----------------------------------------------------------------------------------


def test_createuser_with_a_weak_password_fails_with_a_plain_message(db: None) -> None:
    result = invoke("createuser", "bob", "--password-stdin", input="short\n")

    assert result.exit_code != 0
    assert result.stderr.startswith("password is too weak")
    assert "too short" in result.stderr
    assert "Traceback" not in result.output
    assert not User.objects.filter(username="bob").exists()


def test_createuser_prints_a_generated_password_that_signs_in(db: None) -> None:
    result = invoke("createuser", "carol", "--department", "Sales", "--email", "c@example.com")

    assert result.exit_code == 0, result.output
    password = result.stdout.rsplit(":", 1)[1].strip()
    carol = User.objects.get(username="carol")
    assert carol.check_password(password)
    assert carol.department is not None
    assert carol.department.name == "Sales"
    assert not carol.is_superuser


def test_createuser_refuses_a_taken_name(admin: User) -> None:
    result = invoke("createuser", "admin", "--password-stdin", input="a long enough passphrase\n")

    assert result.exit_code != 0
    assert result.stderr.strip() == "user 'admin' already exists"


def test_admin_password_is_shown_on_first_run_only(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    first = cli.ensure_admin()
    shown = capsys.readouterr().out
    again = cli.ensure_admin()

    assert again == first
    password = shown.strip().splitlines()[-1].strip()
    assert first.check_password(password)
    assert capsys.readouterr().out == ""


# -- worker and check ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_worker_once_syncs_the_schedules_and_exits() -> None:
    result = invoke("worker", "--once")

    assert result.exit_code == 0, result.output
    assert Schedule.objects.filter(name="recycle-bin-purge").exists()


def test_check_passes_on_a_good_configuration(db: None) -> None:
    result = invoke("check")

    assert result.exit_code == 0, result.output
    assert re.search(r"database connection\W+ok", result.stdout)
    assert "password" not in result.stdout.lower()


def test_check_warns_about_an_unreachable_optional_service_but_passes(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("ACCORD_REDIS_URL", f"redis://:secret@127.0.0.1:{port}/0")
    monkeypatch.delenv("ACCORD_NATS_URL", raising=False)

    result = invoke("check")

    assert result.exit_code == 0, result.output
    assert re.search(
        r"Redis\W+warning\W+redis://127\.0\.0\.1:\d+: Connection refused", result.stdout
    )
    assert "secret" not in result.stdout
    assert re.search(r"NATS\W+not configured", result.stdout)


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update(values)
    return env


def test_check_fails_plainly_on_a_malformed_database_url(tmp_path: Path) -> None:
    env = clean_env(
        ACCORD_DATA_DIR=str(tmp_path), ACCORD_DATABASE_URL="mysql://root@localhost/accord"
    )

    done = subprocess.run(  # noqa: S603 - our own command
        [*ACCORD, "check"], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode != 0
    assert done.stderr.startswith("Configuration error: ACCORD_DATABASE_URL must start with")
    assert "Traceback" not in done.stderr


def test_check_fails_plainly_when_the_database_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = clean_env(
        ACCORD_DATA_DIR=str(tmp_path),
        ACCORD_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/accord",
    )

    done = subprocess.run(  # noqa: S603 - our own command
        [*ACCORD, "check"], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode != 0
    assert done.stderr.startswith("The database is not usable:")
    assert "FAILED" in done.stdout
    assert "Traceback" not in done.stderr


# -- serve ----------------------------------------------------------------------------------


@pytest.fixture
def fresh_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for an ``accord`` subprocess with its own empty database, never the test's
    (on PostgreSQL a scratch database, dropped afterwards)."""
    env = clean_env(ACCORD_DATA_DIR=str(tmp_path / "data"), ACCORD_DEMO_SIZE="tiny")
    url = os.environ.get("ACCORD_DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield env
        return
    name = f"accord_cli_scratch_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env["ACCORD_DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield env
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """Run ``command`` in its own session and, even when the test failed half-way, stop it and
    every process it started (``accord serve`` puts granian and the worker in their own process
    groups, so the descendants are found through /proc)."""
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        family = _descendants(process.pid)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if _wait_until(lambda: not _alive(family), timeout=10) is None:
            for pid in _alive(family):
                os.kill(pid, signal.SIGKILL)


def _alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    running = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            running.add(pid)
    return running


def _wait_until(condition: Callable[[], Any], *, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return None


def _children(pid: int) -> dict[int, str]:
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError, IndexError):
            continue
    return {k: v.decode() for k, v in found.items()}


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _get(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - a local http URL
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return response.status, response.headers.get("Content-Type", ""), response.read()


def _healthy(base: str) -> bool:
    try:
        return _get(f"{base}/api/v1/health")[0] == 200
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_serve_demo_answers_http_with_its_worker_and_stops_cleanly(
    fresh_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    command = [*ACCORD, "serve", "--demo", "--port", str(port), "--workers", "1"]

    with started(command, fresh_env, log) as server:
        up = _wait_until(lambda: server.poll() is not None or _healthy(base), timeout=60)
        assert up, log.read_text()
        assert server.poll() is None, log.read_text()

        made = subprocess.run(  # noqa: S603 - our own command
            [*ACCORD, "token", "create", "--user", "admin"],
            env=fresh_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip()
        status, kind, body = _get(f"{base}/api/v1/accounts?limit=200", token)
        assert status == 200
        assert kind.startswith("application/json")
        assert len(json.loads(body)["items"]) == 20

        status, _, page = _get(f"{base}/api/v1/docs")
        assert status == 200
        scripts = re.findall(rb'src="(/static/[^"]+\.js)"', page)
        assert scripts
        for script in scripts:
            status, kind, _ = _get(f"{base}{script.decode()}")
            assert status == 200
            assert "javascript" in kind
        assert log.read_text().count("shown only this once") == 1

        children = _children(server.pid)
        assert any("granian" in c and "--interface wsgi" in c for c in children.values())
        workers = [pid for pid, c in children.items() if "accord.cli worker" in c]
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        restarted = _wait_until(
            lambda: [
                pid
                for pid, c in _children(server.pid).items()
                if "accord.cli worker" in c and pid != workers[0]
            ],
            timeout=15,
        )
        assert restarted, log.read_text()

        family = _descendants(server.pid)
        assert len(family) >= 3  # granian, its web worker, the background worker
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0, log.read_text()
        assert _wait_until(lambda: not _alive(family), timeout=10), log.read_text()
        assert "Granian shutdown completed" in log.read_text()


def test_check_fails_plainly_on_an_unknown_company_currency(tmp_path: Path) -> None:
    env = clean_env(ACCORD_DATA_DIR=str(tmp_path), ACCORD_CURRENCY="ABC")

    done = subprocess.run(  # noqa: S603 - our own command
        [*ACCORD, "check"], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode != 0
    assert done.stderr.startswith("Configuration error: ACCORD_CURRENCY: ABC is not an ISO 4217")
    assert "Traceback" not in done.stderr

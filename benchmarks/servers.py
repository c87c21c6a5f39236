"""Fresh databases, Accord's processes and the floor, all owned by one :class:`Workbench`.

Every process the benchmarks start leads its own process group, so closing the workbench stops
it and everything it forked (granian's workers, run.sh's server) by that group's id. Closing
also drops the databases and removes the working directory, unless the run keeps them.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console

from accord import config
from benchmarks.load import WrkStats, parse_floor, wrk_binary

ROOT = Path(__file__).resolve().parent.parent
FLOOR_SCRIPT = ROOT.parent / "shared" / "limits" / "run.sh"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = "accord_bench_"
ENGINES = ("pg", "sqlite")

console = Console(stderr=True, highlight=False, log_path=False)
if not console.is_terminal:
    console.width = 120


def progress(message: str, *, style: str | None = None) -> None:
    """A timestamped line on stderr (never markup: names like ``[pg]`` stay as they are)."""
    console.log(message, style=style, markup=False)


@dataclass(frozen=True)
class Database:
    """One benchmark database and the data directory Accord's processes use with it."""

    engine: str
    name: str
    data_dir: Path

    @property
    def url(self) -> str:
        if self.engine == "pg":
            return f"postgresql://postgres@127.0.0.1:5432/{self.name}"
        return f"sqlite:///{self.data_dir / 'accord.sqlite3'}"

    def env(self) -> dict[str, str]:
        """The environment of an Accord process working on this database."""
        return {
            **os.environ,
            "ACCORD_DATA_DIR": str(self.data_dir),
            "ACCORD_DATABASE_URL": self.url,
            "ACCORD_DEBUG": "false",
            # Load runs send thousands of requests a minute as one user: the per-user and
            # per-token limits (600 a minute by default) would answer most of them 429.
            "ACCORD_RATE_LIMIT_USER": "off",
            "ACCORD_RATE_LIMIT_TOKEN": "off",
            "PYTHONUNBUFFERED": "1",
        }


class Workbench:
    """The working directory, processes and databases of one benchmark run."""

    def __init__(self, *, keep: bool) -> None:
        self.keep = keep
        self.root = Path(tempfile.mkdtemp(prefix="accord-bench-"))
        self.run_id = f"{os.getpid()}_{secrets.token_hex(2)}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.databases: list[Database] = []

    # -- databases ---------------------------------------------------------------------------

    def database(self, engine: str, label: str) -> Database:
        name = f"{DB_PREFIX}{self.run_id}_{engine}_{label}"
        data_dir = self.root / f"{engine}-{label}"
        data_dir.mkdir()
        db = Database(engine, name, data_dir)
        if engine == "pg":
            _pg_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.databases.append(db)
        return db

    def drop(self, db: Database) -> None:
        self.databases.remove(db)
        if self.keep:
            progress(f"keeping {db.engine} database {db.url}")
            return
        if db.engine == "pg":
            _pg_admin(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name))
            )
        shutil.rmtree(db.data_dir, ignore_errors=True)

    # -- processes ---------------------------------------------------------------------------

    def spawn(
        self, argv: Sequence[str], *, env: dict[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def run(self, argv: Sequence[str], *, env: dict[str, str], log: Path) -> tuple[str, float]:
        """Run a command to its end; its output and its wall time in seconds."""
        start = log.stat().st_size if log.exists() else 0
        started = time.perf_counter()
        process = self.spawn(argv, env=env, log=log)
        code = process.wait()
        elapsed = time.perf_counter() - started
        self.processes.remove(process)
        output = log.read_bytes()[start:].decode(errors="replace")
        if code != 0:
            tail = "\n".join(output.splitlines()[-30:])
            raise RuntimeError(f"{' '.join(argv)} exited with {code}:\n{tail}")
        return output, elapsed

    def stop(self, process: subprocess.Popen[bytes], *, timeout: float = 15.0) -> None:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        else:
            # The leader is gone, but children it forked may not be.
            _signal_group(process, signal.SIGKILL)
        if process in self.processes:
            self.processes.remove(process)

    def close(self) -> None:
        for process in list(reversed(self.processes)):
            self.stop(process)
        for db in list(self.databases):
            try:
                self.drop(db)
            except psycopg.Error as exc:
                progress(f"could not drop {db.name}: {exc}", style="red")
        if self.keep:
            progress(f"kept the working directory {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _pg_admin(statement: sql.Composed) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(statement)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def accord(bench: Workbench, db: Database, *args: str) -> tuple[str, float]:
    """Run ``accord <args>`` on ``db``: its output and wall time."""
    log = bench.root / f"{db.engine}-cli.log"
    return bench.run([sys.executable, "-m", "accord.cli", *args], env=db.env(), log=log)


class AccordServer:
    """Accord's web server as ``accord serve --no-worker`` runs it: granian, WSGI, 2 workers,
    as many blocking threads as ``accord serve`` gives them (``config.blocking_threads``)."""

    def __init__(self, bench: Workbench, db: Database, *, workers: int = 2, pool: int = 10):
        self.bench, self.db, self.workers, self.pool = bench, db, workers, pool
        self.port = free_port()
        self.log = bench.root / f"{db.engine}-{db.name}-granian.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AccordServer:
        argv = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--blocking-threads",
            str(
                config.blocking_threads(
                    self.pool, "sqlite" if self.db.engine == "sqlite" else "postgresql"
                )
            ),
            "accord.wsgi:application",
        ]
        env = {
            **self.db.env(),
            # The load comes from one token far faster than any person: count every request
            # (the cost is part of the figure) but never refuse one. After db.env(), whose
            # limits are off for the command-line processes.
            "ACCORD_RATE_LIMIT_USER": "1000000/min",
            "ACCORD_RATE_LIMIT_TOKEN": "1000000/min",
            "ACCORD_DB_POOL_MAX": str(self.pool),
        }
        self.process = self.bench.spawn(argv, env=env, log=self.log)
        self._wait_healthy()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.bench.stop(self.process)
            self.process = None

    def _wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"granian exited with {self.process.returncode}; see {self.log}")
            if _healthy(self.port):
                return
            time.sleep(0.3)
        raise RuntimeError(f"granian did not answer /api/v1/health in {timeout:.0f} s")


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/api/v1/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def floor(bench: Workbench, engine: str, *, clients: int, seconds: int) -> dict[str, WrkStats]:
    """Run shared/limits/run.sh once; ``{"hello": WrkStats, "create": WrkStats}``."""
    label = f"{engine}-c{clients}-{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "PY": sys.executable,
        "ENGINE": engine,
        "CONNS": str(clients),
        "DUR": str(seconds),
        "PORT": str(free_port()),
        "TMPDIR": str(bench.root),
        # run.sh creates its tables without IF NOT EXISTS: every run needs a new file.
        "PROBE_SQLITE": str(bench.root / f"probe-{label}.db"),
        "PATH": f"{_wrk_shim(bench)}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    output, _ = bench.run(
        ["bash", str(FLOOR_SCRIPT)], env=env, log=bench.root / f"floor-{label}.log"
    )
    found = parse_floor(output, seconds)
    if {"hello", "create"} - found.keys():
        raise RuntimeError(f"could not read the floor's figures from:\n{output}")
    return found


def _wrk_shim(bench: Workbench) -> Path:
    """A ``wrk`` that run.sh finds first on PATH. run.sh always passes ``-t2``, and wrk refuses
    fewer connections than threads, so ``CONNS=1`` needs the threads lowered to ``-t1``."""
    directory = bench.root / "shim"
    shim = directory / "wrk"
    if not shim.exists():
        directory.mkdir(exist_ok=True)
        shim.write_text(
            "#!/usr/bin/env bash\n"
            'c=1; for a in "$@"; do case $a in -c*) c=${a#-c};; esac; done\n'
            "out=()\n"
            'for a in "$@"; do\n'
            '  case $a in -t*) t=${a#-t}; if ((t > c)); then a="-t$c"; fi;; esac\n'
            '  out+=("$a")\n'
            "done\n"
            f'exec {wrk_binary()} "${{out[@]}}"\n'
        )
        shim.chmod(0o755)
    return directory

"""Reads Accord's configuration from ``ACCORD_*`` environment variables.

Kept free of Django imports so the CLI can report configuration problems before Django starts.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


def data_dir() -> Path:
    explicit = os.environ.get("ACCORD_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "accord"


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None


def secret_key(directory: Path) -> str:
    """The configured key, or one generated on first run and kept in the data directory.

    A hard-coded fallback would make every unconfigured install share a key, so there is none.
    """
    explicit = os.environ.get("ACCORD_SECRET_KEY")
    if explicit:
        return explicit
    path = directory / "secret_key"
    if path.exists():
        return path.read_text().strip()
    directory.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: when two processes start together, one writes and the other reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class DatabaseConfig:
    url: str
    is_default: bool

    @property
    def engine(self) -> str:
        return "postgresql" if self.url.startswith(("postgres://", "postgresql://")) else "sqlite"


def database(directory: Path) -> DatabaseConfig:
    url = os.environ.get("ACCORD_DATABASE_URL")
    if url:
        if not url.startswith(("postgres://", "postgresql://", "sqlite://")):
            raise ConfigError(
                "ACCORD_DATABASE_URL must start with postgresql:// or sqlite:///, "
                f"not {url.split(':', 1)[0]!r}"
            )
        return DatabaseConfig(url=url, is_default=False)
    return DatabaseConfig(url=f"sqlite:///{directory / 'accord.sqlite3'}", is_default=True)


def instance_name() -> str:
    return os.environ.get("ACCORD_INSTANCE") or socket.gethostname()


def blocking_threads(pool_size: int, engine: str = "postgresql") -> int:
    """Threads per web worker (granian's blocking threads).

    On PostgreSQL each may hold a database connection, so never more than the pool has (more
    would only queue on it), nor more than granian advises per core. On SQLite one: its
    writers take turns anyway (core.backends.sqlite3), and threads of one process beside the
    writer only compete with it for the interpreter. With five threads, eight clients
    creating contacts got 510-560 requests/s at a p99 of 45 ms; with one, 790 at 18-22 ms.
    Concurrency on SQLite comes from more workers (processes)."""
    if engine == "sqlite":
        return 1
    return max(1, min(pool_size, 2 * (os.cpu_count() or 1) + 1))

"""The event backbone's settings, read from ``ACCORD_*`` environment variables when asked.

See docs/operations/events.md for each variable. Read on demand (not frozen into Django
settings) so a relay and the tests see the environment they run in.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from accord.config import ConfigError, env_bool, env_int

#: NATS subject tokens: no dots, spaces or wildcards inside a token.
_SUBJECT = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_STREAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class NatsSettings:
    url: str
    stream: str
    subject_prefix: str


@dataclass(frozen=True)
class RedisSettings:
    url: str
    stream: str
    maxlen: int


@dataclass(frozen=True)
class RelaySettings:
    """How the relay works: lease length, batch size, waits, and where it publishes."""

    lease_seconds: float
    batch: int
    poll_seconds: float
    ack_timeout: float
    nats: NatsSettings | None
    redis: RedisSettings | None


def _positive(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, not {value}")
    return value


def nats() -> NatsSettings | None:
    url = os.environ.get("ACCORD_NATS_URL", "").strip()
    if not url:
        return None
    stream = os.environ.get("ACCORD_NATS_STREAM", "").strip() or "ACCORD"
    if not _STREAM.match(stream):
        raise ConfigError(
            f"ACCORD_NATS_STREAM must be letters, digits, '-' or '_' (at most 64), not {stream!r}"
        )
    prefix = os.environ.get("ACCORD_NATS_SUBJECT_PREFIX", "").strip() or "accord"
    if not _SUBJECT.match(prefix):
        raise ConfigError(
            "ACCORD_NATS_SUBJECT_PREFIX must be dot-separated tokens of letters, digits, '-' "
            f"or '_', not {prefix!r}"
        )
    return NatsSettings(url=url, stream=stream, subject_prefix=prefix)


def redis() -> RedisSettings | None:
    """The Redis Streams destination: only when ``ACCORD_REDIS_STREAM`` names a stream (Redis
    may be configured for other uses)."""
    stream = os.environ.get("ACCORD_REDIS_STREAM", "").strip()
    if not stream:
        return None
    url = os.environ.get("ACCORD_REDIS_URL", "").strip()
    if not url:
        raise ConfigError("ACCORD_REDIS_STREAM is set but ACCORD_REDIS_URL is not")
    return RedisSettings(
        url=url, stream=stream, maxlen=env_int("ACCORD_REDIS_STREAM_MAXLEN", 1_000_000)
    )


def relay() -> RelaySettings:
    lease = _positive("ACCORD_RELAY_LEASE_SECONDS", 5)
    return RelaySettings(
        lease_seconds=float(lease),
        batch=min(_positive("ACCORD_RELAY_BATCH", 1000), 10_000),
        poll_seconds=_positive("ACCORD_RELAY_POLL_MS", 100) / 1000,
        # An ack wait must end well within the lease, which the relay renews between steps.
        ack_timeout=min(_positive("ACCORD_NATS_ACK_TIMEOUT_MS", 2000) / 1000, lease / 3),
        nats=nats(),
        redis=redis(),
    )


def retention() -> dt.timedelta:
    """How long events stay in the outbox once every destination has them (at least an hour)."""
    return dt.timedelta(hours=_positive("ACCORD_EVENT_RETENTION_HOURS", 72))


def relay_in_worker() -> bool:
    """Whether ``accord worker`` (which ``accord serve`` supervises) runs the relay too."""
    return env_bool("ACCORD_RELAY_IN_WORKER", True)


def check() -> None:
    """Raise ConfigError for a malformed setting, at start-up rather than in the relay."""
    relay()
    retention()
    relay_in_worker()

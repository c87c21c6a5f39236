"""Webhook delivery settings, read from ``ACCORD_WEBHOOK_*`` environment variables when asked.

See docs/admin/webhooks.md for each variable. Read on demand, like the relay's settings, so a
worker and the tests see the environment they run in.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass, field

from accord.config import ConfigError, env_int

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Allowed:
    """Private addresses webhooks may go to anyway (on-premise receivers): every one
    (``everything``) or those inside ``networks``."""

    everything: bool = False
    networks: tuple[Network, ...] = ()

    def covers(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return self.everything or any(address in network for network in self.networks)


@dataclass(frozen=True)
class WebhookSettings:
    """How the delivery workers work. Durations in seconds."""

    #: Threads sending requests (per worker process).
    threads: int = 32
    #: Requests in flight to one subscription at most, so a slow endpoint cannot take every
    #: thread.
    per_endpoint: int = 8
    #: Events read per subscription and pass; also the most deliveries queued in memory for one
    #: subscription.
    batch: int = 500
    #: How often the dispatcher looks for newly numbered events.
    poll_seconds: float = 0.05
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_response_bytes: int = 64 * 1024
    #: The first retry waits about this long; each further one twice as long, up to retry_max.
    retry_first: float = 10.0
    retry_max: float = 4 * 3600.0
    #: A delivery is retried this long after it was queued, then given up.
    retry_for: dt.timedelta = dt.timedelta(hours=72)
    #: A worker that claimed a delivery has this long to attempt it before another may.
    claim_seconds: float = 120.0
    #: After a secret rotation the old secret signs too for this long (unless told otherwise).
    secret_overlap: dt.timedelta = dt.timedelta(hours=24)
    #: Delivery log entries are kept this long.
    log_retention: dt.timedelta = dt.timedelta(days=14)
    allowed: Allowed = field(default_factory=Allowed)


def _positive(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, not {value}")
    return value


def allowed() -> Allowed:
    """``ACCORD_WEBHOOK_ALLOW_PRIVATE``: ``true`` for every private address, or a
    comma-separated list of networks (``10.20.0.0/16,192.168.1.7``); unset: none."""
    raw = os.environ.get("ACCORD_WEBHOOK_ALLOW_PRIVATE", "").strip()
    if not raw or raw.lower() in {"0", "false", "no", "off"}:
        return Allowed()
    if raw.lower() in {"1", "true", "yes", "on"}:
        return Allowed(everything=True)
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                "ACCORD_WEBHOOK_ALLOW_PRIVATE must be true, false or a comma-separated list of "
                f"networks like 10.20.0.0/16, not {part!r}"
            ) from None
    return Allowed(networks=tuple(networks))


def webhooks() -> WebhookSettings:
    return WebhookSettings(
        threads=min(_positive("ACCORD_WEBHOOK_THREADS", 32), 256),
        per_endpoint=_positive("ACCORD_WEBHOOK_CONCURRENCY", 8),
        batch=min(_positive("ACCORD_WEBHOOK_BATCH", 500), 5000),
        poll_seconds=_positive("ACCORD_WEBHOOK_POLL_MS", 50) / 1000,
        connect_timeout=_positive("ACCORD_WEBHOOK_CONNECT_TIMEOUT_MS", 5000) / 1000,
        read_timeout=_positive("ACCORD_WEBHOOK_READ_TIMEOUT_MS", 10_000) / 1000,
        max_response_bytes=_positive("ACCORD_WEBHOOK_MAX_RESPONSE_KB", 64) * 1024,
        retry_first=_positive("ACCORD_WEBHOOK_RETRY_FIRST_MS", 10_000) / 1000,
        retry_max=_positive("ACCORD_WEBHOOK_RETRY_MAX_MS", 4 * 3600 * 1000) / 1000,
        retry_for=dt.timedelta(hours=_positive("ACCORD_WEBHOOK_RETRY_HOURS", 72)),
        claim_seconds=float(_positive("ACCORD_WEBHOOK_CLAIM_SECONDS", 120)),
        secret_overlap=dt.timedelta(hours=env_int("ACCORD_WEBHOOK_SECRET_OVERLAP_HOURS", 24)),
        log_retention=dt.timedelta(days=_positive("ACCORD_WEBHOOK_LOG_DAYS", 14)),
        allowed=allowed(),
    )


def check() -> None:
    """Raise ConfigError for a malformed setting, at start-up."""
    found = webhooks()
    if found.secret_overlap < dt.timedelta(0):
        raise ConfigError("ACCORD_WEBHOOK_SECRET_OVERLAP_HOURS must not be negative")
    if found.claim_seconds < 2 * (found.connect_timeout + found.read_timeout):
        raise ConfigError(
            "ACCORD_WEBHOOK_CLAIM_SECONDS must be at least twice the connect and read timeouts"
        )

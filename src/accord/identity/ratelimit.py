"""Limits on how often someone may try: the sign-in lockout and the API's request rate limits.

Both are counted where every process of a deployment sees the same numbers (the database, or
Redis for the API limits when ``ACCORD_REDIS_URL`` is set), never in one process's memory.

**Sign-in lockout.** Failed attempts (a wrong password, a wrong second factor, a wrong current
password) are counted per user name and per client address in a window of
``LOGIN_FAILURE_WINDOW`` seconds; reaching the maximum locks that name or address for
``LOGIN_LOCKOUT`` seconds, during which attempts answer 429 without being checked. Unknown user
names are counted like known ones, so a lockout says nothing about which names exist.

**API rate limits.** Each authenticated request counts against its user (``RATE_LIMIT_USER``,
every session and token of that person together) and, for a token, against the token
(``RATE_LIMIT_TOKEN``), in fixed windows. The answer carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` for the tightest of them; over a limit it is a
429 with ``Retry-After``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse

from accord.core import clock
from accord.core.errors import TooManyRequests
from accord.identity import audit
from accord.identity.limits import Limit, parse_limit
from accord.identity.models import ApiToken, LoginThrottle, RateCounter, User

log = logging.getLogger(__name__)

# -- sign-in lockout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    max_failures_per_ip: int
    window: dt.timedelta
    lockout: dt.timedelta


def login_policy() -> LoginPolicy:
    return LoginPolicy(
        max_failures=settings.LOGIN_MAX_FAILURES,
        max_failures_per_ip=settings.LOGIN_MAX_FAILURES_PER_IP,
        window=dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW),
        lockout=dt.timedelta(seconds=settings.LOGIN_LOCKOUT),
    )


def login_keys(
    username: str, request: HttpRequest | None, *, purpose: str = "login"
) -> list[tuple[str, int]]:
    """The counters an attempt for ``username`` from ``request``'s address goes to, with the
    number of failures that locks each. Names are compared without case, so ``Alice`` and
    ``alice`` share one counter however the user table compares them. Password-reset requests
    (``purpose="reset"``, ``username`` the address) have counters of their own."""
    policy = login_policy()
    name, address = ("user", "ip") if purpose == "login" else (purpose, f"{purpose}-ip")
    keys = [(f"{name}:{username.casefold()[:150]}", policy.max_failures)]
    ip = audit.client_ip(request)
    if ip:
        keys.append((f"{address}:{ip}", policy.max_failures_per_ip))
    return keys


def check_login_allowed(
    username: str, request: HttpRequest | None, *, purpose: str = "login"
) -> None:
    """Raise TooManyRequests while the name or the address is locked."""
    now = clock.now()
    keys = [key for key, _ in login_keys(username, request, purpose=purpose)]
    until = (
        LoginThrottle.objects.filter(key__in=keys, locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )
    if until is not None:
        raise TooManyRequests(
            "Too many failed sign-in attempts; try again later",
            retry_after=math.ceil((until - now).total_seconds()),
        )


def count_login_failure(
    username: str,
    request: HttpRequest | None,
    *,
    actor: User | None = None,
    purpose: str = "login",
) -> None:
    """Count one failed attempt on the name and the address; start a lockout (and log it)
    where the count reaches the maximum within the window."""
    policy = login_policy()
    now = clock.now()
    for key, maximum in login_keys(username, request, purpose=purpose):
        with transaction.atomic():
            LoginThrottle.objects.get_or_create(key=key, defaults={"window_started_at": now})
            row = LoginThrottle.objects.select_for_update().get(key=key)
            if row.window_started_at <= now - policy.window:
                row.failures, row.window_started_at = 0, now
            row.failures += 1
            locks = row.failures >= maximum
            if locks:
                # The count starts afresh, so the first failure after the lockout does not
                # lock again at once.
                row.failures, row.window_started_at = 0, now
                row.locked_until = now + policy.lockout
            row.save()
            if locks and row.locked_until is not None:
                audit.record(
                    "login_locked",
                    actor=actor,
                    request=request,
                    outcome="locked",
                    username=username,
                    details={
                        "counter": key.partition(":")[0],
                        "failures": maximum,
                        "locked_until": row.locked_until.isoformat(),
                    },
                )


def forget_login_failures(username: str) -> None:
    """A successful sign-in clears the name's count (the address keeps its own: one account
    that signs in must not reset the count of an address guessing at others)."""
    LoginThrottle.objects.filter(key=f"user:{username.casefold()[:150]}").delete()


# -- API rate limits ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """Where a caller stands against the tightest limit that applies to a request."""

    limit: Limit
    remaining: int
    reset: int  # seconds until the window ends
    exceeded: bool

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit.requests),
            "RateLimit-Remaining": str(max(0, self.remaining)),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": str(self.limit),
        }


#: The attribute of a request that carries its Usage to the headers middleware.
USAGE_ATTRIBUTE = "accord_rate_limit"


def _count_in_database(keys: list[tuple[str, int]], at: float) -> dict[str, int]:
    """Count one request under each ``(key, period)`` in a single UPSERT and return the counts
    in the current windows. A row whose window has passed starts again at 1."""
    ops = connection.ops
    table = ops.quote_name(RateCounter._meta.db_table)
    key_col, bucket_col, count_col = (ops.quote_name(c) for c in ("key", "bucket", "count"))
    values = ", ".join(["(%s, %s, 1)"] * len(keys))
    params: list[Any] = []
    for name, period in keys:
        params += [name, int(at // period)]
    # Only quoted column and table names are formatted in; the values are parameters.
    sql = (
        f"INSERT INTO {table} ({key_col}, {bucket_col}, {count_col}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({key_col}) DO UPDATE SET "
        f"{count_col} = CASE WHEN {table}.{bucket_col} = excluded.{bucket_col} "
        f"THEN {table}.{count_col} + 1 ELSE 1 END, "
        f"{bucket_col} = excluded.{bucket_col} "
        f"RETURNING {key_col}, {count_col}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: row[1] for row in cursor.fetchall()}


@functools.lru_cache(maxsize=4)
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


def _count_in_redis(keys: list[tuple[str, int]], at: float) -> dict[str, int]:
    """One round trip: INCR and EXPIRE of each window's key in a MULTI block."""
    pipe = _redis_client(settings.ACCORD_REDIS_URL).pipeline(transaction=True)
    for name, period in keys:
        bucket_key = f"accord:ratelimit:{name}:{int(at // period)}"
        pipe.incr(bucket_key)
        pipe.expire(bucket_key, period + 1)
    results = pipe.execute()
    return {name: int(results[2 * i]) for i, (name, _) in enumerate(keys)}


_redis_failed_at = 0.0


def count(keys: list[tuple[str, int]]) -> dict[str, int]:
    """Count one request under each key; the backend is Redis when configured.

    When Redis cannot be reached the request is let through (a limiter outage must not take
    the API down with it) and the problem is logged at most once a minute."""
    global _redis_failed_at
    at = clock.now().timestamp()
    if not settings.ACCORD_REDIS_URL:
        return _count_in_database(keys, at)
    try:
        return _count_in_redis(keys, at)
    except Exception:
        if time.monotonic() - _redis_failed_at > 60:
            _redis_failed_at = time.monotonic()
            log.exception("Rate limits are not enforced: Redis at ACCORD_REDIS_URL failed")
        return {}


def _limits(user: User, token: ApiToken | None) -> list[tuple[str, Limit, str]]:
    limits: list[tuple[str, Limit, str]] = []
    per_user = parse_limit(settings.RATE_LIMIT_USER)
    if per_user is not None:
        limits.append((f"user:{user.pk}", per_user, "user"))
    per_token = parse_limit(settings.RATE_LIMIT_TOKEN) if token is not None else None
    # A token limit no tighter than the user's, over the same window, can never be the one
    # that binds: the user's count includes every request of the token. Skip its counter.
    if (
        token is not None
        and per_token is not None
        and not (
            per_user is not None
            and per_token.period == per_user.period
            and per_token.requests >= per_user.requests
        )
    ):
        limits.append((f"token:{token.pk}", per_token, "token"))
    return limits


def check_api_request(request: HttpRequest, *, user: User, token: ApiToken | None) -> None:
    """Count this request against the caller's limits, leave the usage on the request for the
    response headers, and raise TooManyRequests over a limit. The first request over a limit
    in a window is logged (not every one, so a runaway client cannot flood the log)."""
    limits = _limits(user, token)
    if not limits:
        return
    counts = count([(key, limit.period) for key, limit, _ in limits])
    if not counts:
        return
    at = clock.now().timestamp()
    usages: list[Usage] = []
    for key, limit, scope in limits:
        used = counts[key]
        reset = max(1, math.ceil((int(at // limit.period) + 1) * limit.period - at))
        usages.append(Usage(limit, limit.requests - used, reset, used > limit.requests))
        if used == limit.requests + 1:
            audit.record(
                "rate_limited",
                actor=user,
                request=request,
                outcome="refused",
                target=token if scope == "token" else user,
                details={"limit": scope, "requests": limit.requests, "period": limit.period},
            )
    exceeded = [u for u in usages if u.exceeded]
    tightest = (
        max(exceeded, key=lambda u: u.reset)
        if exceeded
        else min(usages, key=lambda u: (u.remaining, -u.reset))
    )
    setattr(request, USAGE_ATTRIBUTE, tightest)
    if exceeded:
        raise TooManyRequests(
            f"Rate limit of {tightest.limit.requests} requests per {tightest.limit.period} s "
            "exceeded",
            retry_after=tightest.reset,
        )


def first_in_window(key: str, period: int) -> bool:
    """Whether this is the first call for ``key`` in the current window of ``period`` seconds;
    used to log repeated events (a refused token sent in a loop) once per window. Always
    counted in the database, so an unreachable Redis cannot turn the log into a flood."""
    return _count_in_database([(key, period)], clock.now().timestamp())[key] == 1


class RateLimitHeadersMiddleware:
    """Copies the rate-limit usage an API request was counted with onto its answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        usage: Usage | None = getattr(request, USAGE_ATTRIBUTE, None)
        if usage is not None:
            for name, value in usage.headers().items():
                response[name] = value
        return response

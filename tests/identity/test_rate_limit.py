"""API rate limits per user and per token: every authenticated answer carries the RateLimit
headers, a caller over a limit gets 429 with Retry-After (logged once per window), and the
count is shared through the database, or through Redis when it is configured."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid

import pytest

from accord.core import clock
from accord.identity import ratelimit
from accord.identity.limits import Limit, parse_limit
from accord.identity.models import RateCounter, SecurityEvent

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PROBLEM = "application/problem+json"
T0 = dt.datetime(2026, 4, 1, 8, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def tight(settings):
    settings.RATE_LIMIT_USER = "3/min"
    settings.RATE_LIMIT_TOKEN = "off"


def _redis_or_skip(settings):
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {url} ({exc}); the database backend is tested")
    settings.ACCORD_REDIS_URL = url


@pytest.fixture(params=["database", "redis"])
def backend(request, settings):
    if request.param == "redis":
        _redis_or_skip(settings)
    else:
        settings.ACCORD_REDIS_URL = ""
    return request.param


def test_answers_carry_the_ratelimit_headers(admin_api, settings):
    settings.RATE_LIMIT_USER = "600/min"
    with clock.frozen(T0 + dt.timedelta(seconds=15)):
        first = admin_api.get("/api/v1/contacts")
        second = admin_api.get("/api/v1/contacts")

    assert first["RateLimit-Limit"] == "600"
    assert first["RateLimit-Remaining"] == "599"
    assert second["RateLimit-Remaining"] == "598"
    assert first["RateLimit-Reset"] == "45"
    assert first["RateLimit-Policy"] == "600;w=60"


@pytest.mark.usefixtures("tight")
def test_over_the_limit_is_429_with_retry_after_until_the_window_turns(backend, admin, api_as):
    client = api_as(admin)
    with clock.frozen(T0 + dt.timedelta(seconds=20)):
        for remaining in ("2", "1", "0"):
            response = client.get("/api/v1/contacts")
            assert response.status_code == 200
            assert response["RateLimit-Remaining"] == remaining

        refused = client.get("/api/v1/contacts")
        assert refused.status_code == 429
        assert refused["Content-Type"] == PROBLEM
        assert refused["Retry-After"] == "40"
        assert refused["RateLimit-Remaining"] == "0"
        assert refused.json()["status"] == 429
        # Writes are refused too, and nothing is written.
        assert client.post("/api/v1/contacts", {"last_name": "X"}).status_code == 429

        clock.advance(dt.timedelta(seconds=40))
        assert client.get("/api/v1/contacts").status_code == 200

    [event] = SecurityEvent.objects.filter(kind="rate_limited")
    assert event.actor == admin
    assert event.details == {"limit": "user", "requests": 3, "period": 60}


@pytest.mark.usefixtures("tight")
def test_the_user_limit_covers_all_their_tokens_and_sessions(admin, api_as):
    laptop, script = api_as(admin), api_as(admin)
    with clock.frozen(T0):
        assert laptop.get("/api/v1/contacts").status_code == 200
        assert script.get("/api/v1/contacts").status_code == 200
        assert laptop.get("/api/v1/contacts").status_code == 200
        assert script.get("/api/v1/contacts").status_code == 429


@pytest.mark.usefixtures("tight")
def test_other_users_have_their_own_count(admin, make_user, api_as):
    other = api_as(make_user())
    mine = api_as(admin)
    with clock.frozen(T0):
        for _ in range(4):
            mine.get("/api/v1/contacts")
        assert mine.get("/api/v1/contacts").status_code == 429
        assert other.get("/api/v1/contacts").status_code == 200


def test_a_token_limit_tighter_than_the_users_binds_that_token_only(
    backend, admin, api_as, settings
):
    settings.RATE_LIMIT_USER = "100/min"
    settings.RATE_LIMIT_TOKEN = "2/min"
    busy, quiet = api_as(admin), api_as(admin)
    with clock.frozen(T0):
        assert busy.get("/api/v1/contacts")["RateLimit-Limit"] == "2"
        assert busy.get("/api/v1/contacts").status_code == 200
        refused = busy.get("/api/v1/contacts")
        assert refused.status_code == 429
        assert quiet.get("/api/v1/contacts").status_code == 200
    assert SecurityEvent.objects.get(kind="rate_limited").details["limit"] == "token"


def test_session_callers_are_limited_too(make_user, api_as, settings):
    settings.RATE_LIMIT_USER = "2/min"
    make_user(username="alice")
    client = api_as(None)
    with clock.frozen(T0):
        assert (
            client.post(
                "/api/v1/auth/login",
                {"username": "alice", "password": "correct horse battery staple"},
            ).status_code
            == 200
        )
        assert client.get("/api/v1/auth/me").status_code == 200
        assert client.get("/api/v1/contacts").status_code == 200
        assert client.get("/api/v1/contacts").status_code == 429


def test_the_limit_is_logged_once_per_window_not_per_request(admin_api, settings):
    settings.RATE_LIMIT_USER = "1/min"
    with clock.frozen(T0):
        for _ in range(10):
            admin_api.get("/api/v1/contacts")
        clock.advance(dt.timedelta(minutes=1))
        for _ in range(10):
            admin_api.get("/api/v1/contacts")
    assert SecurityEvent.objects.filter(kind="rate_limited").count() == 2


def test_limits_can_be_switched_off(admin_api, settings):
    settings.RATE_LIMIT_USER = "off"
    settings.RATE_LIMIT_TOKEN = "off"
    response = admin_api.get("/api/v1/contacts")
    assert response.status_code == 200
    assert "RateLimit-Limit" not in response


def test_the_database_counter_is_one_row_per_caller_reset_each_window(db, settings):
    settings.ACCORD_REDIS_URL = ""
    key = f"user:{uuid.uuid4()}"
    with clock.frozen(T0):
        assert ratelimit.count([(key, 60)]) == {key: 1}
        assert ratelimit.count([(key, 60), ("other", 60)]) == {key: 2, "other": 1}
        clock.advance(dt.timedelta(seconds=60))
        assert ratelimit.count([(key, 60)]) == {key: 1}
    assert RateCounter.objects.filter(key=key).count() == 1


def test_the_redis_counter_counts_per_window(db, settings):
    _redis_or_skip(settings)
    key = f"user:{uuid.uuid4()}"
    with clock.frozen(T0):
        assert ratelimit.count([(key, 60)]) == {key: 1}
        assert ratelimit.count([(key, 60)]) == {key: 2}
        clock.advance(dt.timedelta(seconds=60))
        assert ratelimit.count([(key, 60)]) == {key: 1}
    assert not RateCounter.objects.exists()


def test_an_unreachable_redis_lets_requests_through(admin_api, settings):
    settings.ACCORD_REDIS_URL = "redis://127.0.0.1:1/0"
    settings.RATE_LIMIT_USER = "1/min"
    for _ in range(3):
        assert admin_api.get("/api/v1/contacts").status_code == 200


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("600/min", Limit(600, 60)),
        ("10/s", Limit(10, 1)),
        ("5000/hour", Limit(5000, 3600)),
        ("100/10s", Limit(100, 10)),
        ("1/day", Limit(1, 86400)),
        ("off", None),
        ("0", None),
    ],
)
def test_limits_are_written_as_requests_per_period(text, limit):
    assert parse_limit(text) == limit


@pytest.mark.parametrize("text", ["600", "600/fortnight", "-1/min", "0/min", "lots"])
def test_malformed_limits_are_refused_with_an_example(text):
    with pytest.raises(ValueError, match="600/min"):
        parse_limit(text)


def test_a_malformed_limit_stops_the_process_at_start(tmp_path):
    env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_RATE_LIMIT_USER": "lots"}
    result = subprocess.run(
        [sys.executable, "-c", "import accord.settings"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "ACCORD_RATE_LIMIT_USER" in result.stderr
    assert "600/min" in result.stderr

"""Signing in with a password: a session cookie that scripts cannot read, the same answer for
every kind of wrong attempt, a lockout after repeated failures (429 with Retry-After, lifted by
time alone), deactivation that ends a session on its next request, and a security log entry
for each attempt."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import hashers
from django.test import Client

from accord.core import clock
from accord.identity.models import SecurityEvent

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery staple"  # the make_user fixture's
T0 = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)
LOGIN = "/api/v1/auth/login"


def _login(client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def _events(kind: str, outcome: str | None = None) -> list[SecurityEvent]:
    events = SecurityEvent.objects.filter(kind=kind).order_by("at", "id")
    return list(events.filter(outcome=outcome) if outcome else events)


def test_sign_in_sets_an_httponly_samesite_session_cookie_that_authenticates(make_user, api_as):
    user = make_user(username="alice")
    client = api_as(None)

    response = _login(client, "alice")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "signed_in"
    assert response.json()["user"]["username"] == "alice"
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is (not settings.DEBUG)
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["id"] == str(user.pk)
    assert me.json()["mfa"] == {"enabled": False, "required": False, "enrolment_required": False}
    assert client.get("/api/v1/contacts").status_code == 200
    [event] = _events("login", "success")
    assert event.actor == user
    assert event.ip == "127.0.0.1"


def test_cookies_are_secure_unless_debug() -> None:
    assert settings.SESSION_COOKIE_SECURE is (not settings.DEBUG)
    assert settings.CSRF_COOKIE_SECURE is settings.SESSION_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"


def test_sign_in_starts_a_new_session_key(make_user, api_as):
    make_user(username="alice")
    client = api_as(None)
    before = client.session
    before["seen"] = True
    before.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = before.session_key

    response = _login(client, "alice")

    after = response.cookies[settings.SESSION_COOKIE_NAME].value
    assert after
    assert after != before.session_key


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password here"), ("nobody", PASSWORD), ("leaver", PASSWORD)],
    ids=["wrong-password", "unknown-user", "deactivated-user"],
)
def test_failed_sign_in_answers_the_same_whatever_the_reason(username, password, make_user, api_as):
    make_user(username="alice")
    make_user(username="leaver", active=False)
    client = api_as(None)

    response = _login(client, username, password)

    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert body["detail"] == "The username or password is not correct"
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert client.get("/api/v1/auth/me").status_code == 401
    [event] = _events("login", "failure")
    assert event.username == username


def test_unknown_user_costs_a_password_hash_like_a_known_one(make_user, api_as, monkeypatch):
    make_user(username="alice")
    hashed: list[str] = []
    real = hashers.MD5PasswordHasher.encode

    def counting(self, password, salt):
        hashed.append(password)
        return real(self, password, salt)

    monkeypatch.setattr(hashers.MD5PasswordHasher, "encode", counting)
    client = api_as(None)

    assert _login(client, "nobody", "some password here").status_code == 401
    assert hashed == ["some password here"]
    hashed.clear()
    assert _login(client, "alice", "some password here").status_code == 401
    assert hashed == ["some password here"]


def test_a_deactivated_users_session_stops_working_on_the_next_request(make_user, api_as):
    user = make_user(username="alice")
    client = api_as(None)
    assert _login(client, "alice").status_code == 200
    assert client.post("/api/v1/contacts", {"last_name": "Before"}).status_code == 201

    user.is_active = False
    user.save(update_fields=["is_active"])

    assert client.get("/api/v1/contacts").status_code == 401
    assert client.post("/api/v1/contacts", {"last_name": "After"}).status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 401


def test_sign_out_ends_the_session_and_is_logged(make_user, api_as):
    user = make_user(username="alice")
    client = api_as(None)
    _login(client, "alice")

    assert client.post("/api/v1/auth/logout").status_code == 204

    assert client.get("/api/v1/auth/me").status_code == 401
    [event] = _events("logout")
    assert event.actor == user


def test_session_writes_need_the_csrf_token(make_user):
    make_user(username="alice")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value

    refused = client.post("/api/v1/contacts", {"last_name": "X"}, content_type="application/json")
    assert refused.status_code == 403
    allowed = client.post(
        "/api/v1/contacts",
        {"last_name": "X"},
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert allowed.status_code == 201, allowed.content


def test_sign_in_takes_only_json_so_a_cross_site_form_cannot_post_it(make_user):
    make_user(username="alice")
    client = Client()
    response = client.post(
        LOGIN,
        '{"username": "alice", "password": "correct horse battery staple"}',
        content_type="text/plain",
    )
    assert response.status_code == 415
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_five_failures_lock_the_name_with_429_and_retry_after_until_time_passes(make_user, api_as):
    make_user(username="alice")
    client = api_as(None)
    with clock.frozen(T0):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            assert _login(client, "alice", "not the password").status_code == 401

        locked = _login(client, "alice")  # even the right password
        assert locked.status_code == 429
        assert locked.headers["Content-Type"] == PROBLEM
        assert int(locked.headers["Retry-After"]) == settings.LOGIN_LOCKOUT
        assert client.get("/api/v1/auth/me").status_code == 401
        # The name is locked from any address, whatever the case of the name.
        assert _login(client, "ALICE", REMOTE_ADDR="10.1.1.1").status_code == 429
        [lock] = _events("login_locked")
        assert lock.username == "alice"
        assert lock.details["counter"] == "user"

        clock.advance(dt.timedelta(seconds=settings.LOGIN_LOCKOUT - 60))
        later = _login(client, "alice")
        assert later.status_code == 429
        assert int(later.headers["Retry-After"]) == 60

        clock.advance(dt.timedelta(seconds=60))
        assert _login(client, "alice").status_code == 200


def test_failures_spread_out_beyond_the_window_do_not_lock(make_user, api_as):
    make_user(username="alice")
    client = api_as(None)
    with clock.frozen(T0):
        for _ in range(settings.LOGIN_MAX_FAILURES * 2):
            assert _login(client, "alice", "not the password").status_code == 401
            clock.advance(dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW // 4 + 1))
        assert _login(client, "alice").status_code == 200


def test_success_clears_the_names_count(make_user, api_as):
    make_user(username="alice")
    client = api_as(None)
    with clock.frozen(T0):
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            _login(client, "alice", "not the password")
        assert _login(client, "alice").status_code == 200
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            assert _login(client, "alice", "not the password").status_code == 401
        assert _login(client, "alice").status_code == 200


def test_unknown_names_lock_like_known_ones(db, api_as):
    client = api_as(None)
    with clock.frozen(T0):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            assert _login(client, "ghost", "not the password").status_code == 401
        assert _login(client, "ghost", "not the password").status_code == 429


def test_one_address_guessing_across_names_is_locked(make_user, api_as, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 6
    make_user(username="alice")
    client = api_as(None)
    with clock.frozen(T0):
        for n in range(6):
            assert _login(client, f"name{n}", "guess", REMOTE_ADDR="203.0.113.9").status_code == 401

        assert _login(client, "alice", REMOTE_ADDR="203.0.113.9").status_code == 429
        # Another address is not affected.
        assert _login(client, "alice", REMOTE_ADDR="198.51.100.7").status_code == 200
        [lock] = _events("login_locked")
        assert lock.details["counter"] == "ip"
        assert lock.ip == "203.0.113.9"


def test_limits_are_read_from_the_environment(tmp_path) -> None:
    env = {
        **os.environ,
        "ACCORD_DATA_DIR": str(tmp_path),
        "ACCORD_LOGIN_MAX_FAILURES": "3",
        "ACCORD_LOGIN_MAX_FAILURES_PER_IP": "30",
        "ACCORD_LOGIN_FAILURE_WINDOW": "600",
        "ACCORD_LOGIN_LOCKOUT": "1200",
        "ACCORD_RATE_LIMIT_USER": "100/min",
        "ACCORD_RATE_LIMIT_TOKEN": "10/s",
    }
    code = (
        "from accord import settings as s; print(s.LOGIN_MAX_FAILURES, "
        "s.LOGIN_MAX_FAILURES_PER_IP, s.LOGIN_FAILURE_WINDOW, s.LOGIN_LOCKOUT, "
        "s.RATE_LIMIT_USER, s.RATE_LIMIT_TOKEN)"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["3", "30", "600", "1200", "100/min", "10/s"]


def test_django_admin_login_goes_through_the_lockout(make_user):
    make_user(username="alice")
    client = Client()
    with clock.frozen(T0):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            assert not client.login(username="alice", password="not the password")
        assert not client.login(username="alice", password=PASSWORD)
        clock.advance(dt.timedelta(seconds=settings.LOGIN_LOCKOUT))
        assert client.login(username="alice", password=PASSWORD)
    assert len(_events("login", "failure")) == settings.LOGIN_MAX_FAILURES


def test_the_purge_job_drops_only_failure_counters_that_are_over(make_user, api_as):
    from accord.identity.models import LoginThrottle
    from accord.identity.tasks import purge_login_throttles

    client = api_as(None)
    with clock.frozen(T0):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            _login(client, "mallory", "wrong password!")
        _login(client, "trudy", "wrong password!")
        assert LoginThrottle.objects.filter(locked_until__isnull=False).exists()
        clock.advance(dt.timedelta(minutes=16))
        _login(client, "oscar", "wrong password!")

        purged = purge_login_throttles.call()

    left = list(LoginThrottle.objects.values_list("key", flat=True))
    assert purged >= 2
    assert not [key for key in left if "mallory" in key or "trudy" in key]
    assert [key for key in left if "oscar" in key]

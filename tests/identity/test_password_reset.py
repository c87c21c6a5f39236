"""Password reset by email: the request always answers 202 (nobody learns which addresses are
known), a known address gets a mail with a link that works once and expires, the new password
follows the rules, and a reset ends every session of the user."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from accord.core import clock
from accord.identity.models import SecurityEvent

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PASSWORD = "correct horse battery staple"
NEW = "a brand new passphrase"
T0 = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def alice(make_user):
    user = make_user(username="alice")
    user.email = "alice@example.com"
    user.save(update_fields=["email"])
    return user


def _request(client, email: str, **extra):
    return client.post("/api/v1/auth/password-reset", {"email": email}, **extra)


def _link_parts() -> tuple[str, str]:
    [message] = mail.outbox
    match = re.search(r"/reset-password\?uid=([\w-]+)&token=([\w-]+)", message.body)
    assert match, message.body
    return match[1], match[2]


def _confirm(client, uid: str, token: str, new_password: str = NEW):
    return client.post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": uid, "token": token, "new_password": new_password},
    )


def test_known_and_unknown_addresses_get_the_same_answer(alice, api_as):
    client = api_as(None)

    known = _request(client, "ALICE@example.com")
    unknown = _request(client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert settings.ACCORD_PUBLIC_URL in message.body
    kinds = SecurityEvent.objects.filter(kind="password_reset_requested")
    assert set(kinds.values_list("outcome", flat=True)) == {"success", "unknown_address"}


def test_the_link_sets_a_new_password_once_and_ends_all_sessions(alice, api_as):
    signed_in = Client()
    assert signed_in.login(username="alice", password=PASSWORD)
    client = api_as(None)
    _request(client, "alice@example.com")
    uid, token = _link_parts()

    assert _confirm(client, uid, token).status_code == 204

    alice.refresh_from_db()
    assert alice.check_password(NEW)
    assert signed_in.get("/api/v1/auth/me").status_code == 401
    again = _confirm(client, uid, token, "yet another passphrase")
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "token"
    assert SecurityEvent.objects.filter(kind="password_reset", outcome="success").count() == 1
    assert SecurityEvent.objects.filter(kind="password_reset", outcome="failure").count() == 1


def test_the_link_expires(alice, api_as):
    client = api_as(None)
    with clock.frozen(T0):
        _request(client, "alice@example.com")
        uid, token = _link_parts()
        clock.advance(dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1))
        assert _confirm(client, uid, token).status_code == 422
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_weak_new_password_is_422_and_keeps_the_link_usable(alice, api_as):
    client = api_as(None)
    _request(client, "alice@example.com")
    uid, token = _link_parts()

    weak = _confirm(client, uid, token, "password")

    assert weak.status_code == 422
    assert {e["field"] for e in weak.json()["errors"]} == {"new_password"}
    assert _confirm(client, uid, token).status_code == 204


@pytest.mark.parametrize(
    ("uid", "token"), [("garbage", "1-2"), ("", "x"), ("MQ", "abc-def"), ("%%%", "x")]
)
def test_bad_links_are_4xx_and_change_nothing(uid, token, alice, api_as):
    response = _confirm(api_as(None), uid, token)
    assert response.status_code == 422
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_reset_also_lifts_a_lockout_of_the_name(alice, api_as):
    client = api_as(None)
    with clock.frozen(T0):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            client.post("/api/v1/auth/login", {"username": "alice", "password": "wrong guess"})
        _request(client, "alice@example.com")
        uid, token = _link_parts()
        assert _confirm(client, uid, token).status_code == 204
        login = client.post("/api/v1/auth/login", {"username": "alice", "password": NEW})
        assert login.status_code == 200


def test_requests_for_one_address_are_limited_without_revealing_it(alice, api_as):
    client = api_as(None)
    with clock.frozen(T0):
        for n in range(settings.LOGIN_MAX_FAILURES):
            # Different client addresses, so only the address's own counter fills.
            assert (
                _request(client, "alice@example.com", REMOTE_ADDR=f"10.0.0.{n}").status_code == 202
            )
        refused = _request(client, "alice@example.com", REMOTE_ADDR="10.0.1.1")
        assert refused.status_code == 429
        assert "Retry-After" in refused
        for n in range(settings.LOGIN_MAX_FAILURES):
            _request(client, "ghost@example.com", REMOTE_ADDR=f"10.0.2.{n}")
        assert _request(client, "ghost@example.com", REMOTE_ADDR="10.0.1.1").status_code == 429
    assert len(mail.outbox) == settings.LOGIN_MAX_FAILURES


def test_the_console_backend_is_the_default_mail_backend(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_EMAIL")}
    env["ACCORD_DATA_DIR"] = str(tmp_path)
    code = "from accord import settings as s; print(s.EMAIL_BACKEND)"
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "django.core.mail.backends.console.EmailBackend"
    env |= {"ACCORD_EMAIL_HOST": "smtp.example.com", "ACCORD_EMAIL_PORT": "465"}
    code = (
        "from accord import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_USE_SSL, s.EMAIL_USE_TLS)"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["django.core.mail.backends.smtp.EmailBackend", "True", "False"]

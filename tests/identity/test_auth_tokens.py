"""API tokens in the security log: issuing and revoking are logged with who did it (the system
when the command line acts), a refused token says why it was refused (401) and is logged once
a minute at most, and garbage in the Authorization header is not logged at all."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.core import clock
from accord.identity import tokens
from accord.identity.models import SecurityEvent

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PROBLEM = "application/problem+json"
T0 = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)


def _refused(kind: str = "token_refused") -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(kind=kind).order_by("at", "id"))


def test_creating_and_revoking_are_logged_with_the_actor(admin, make_user):
    owner = make_user(username="integration")

    token, _ = tokens.create_token(
        user=owner, name="erp", scopes=["contacts:read"], expires_at=None
    )
    tokens.revoke(token, actor=admin)
    tokens.revoke(token, actor=admin)  # already revoked: nothing more to log

    created = SecurityEvent.objects.get(kind="token_created")
    assert created.actor is None  # the command line acts as the operator
    assert created.target_type == "apitoken"
    assert created.target_id == str(token.pk)
    assert created.details["owner"] == "integration"
    assert created.details["scopes"] == ["contacts:read"]
    assert created.details["by"] == "system"
    [revoked] = SecurityEvent.objects.filter(kind="token_revoked")
    assert revoked.actor == admin
    assert revoked.details["by"] == "user"


@pytest.mark.parametrize(
    ("spoil", "detail"),
    [
        ("revoke", "This API token was revoked"),
        ("expire", "This API token has expired"),
        ("deactivate", "The user of this API token is deactivated"),
    ],
)
def test_a_refused_token_is_401_saying_why_and_logged_once_a_minute(
    spoil, detail, make_user, token_api
):
    user = make_user()
    with clock.frozen(T0):
        token, plain = tokens.create_token(
            user=user, expires_at=T0 + dt.timedelta(hours=1) if spoil == "expire" else None
        )
        client = token_api(plain)
        assert client.get("/api/v1/contacts").status_code == 200
        if spoil == "revoke":
            tokens.revoke(token)
        elif spoil == "expire":
            clock.advance(dt.timedelta(hours=1))
        else:
            user.is_active = False
            user.save(update_fields=["is_active"])

        for _ in range(5):
            response = client.get("/api/v1/contacts")
            assert response.status_code == 401
            assert response["Content-Type"] == PROBLEM
            assert response.json()["detail"] == detail
            assert 'error="invalid_token"' in response["WWW-Authenticate"]
        assert len(_refused()) == 1

        clock.advance(dt.timedelta(minutes=1))
        client.get("/api/v1/contacts")
        assert len(_refused()) == 2

    event = _refused()[0]
    assert event.actor == user
    assert event.target_id == str(token.pk)
    assert event.details["reason"] == detail


def test_an_unknown_but_well_formed_token_is_logged_once_a_minute(db, token_api):
    plain = "acc_0123abcd_" + "x" * 43
    client = token_api(plain)
    with clock.frozen(T0):
        for _ in range(3):
            response = client.get("/api/v1/contacts")
            assert response.status_code == 401
            assert "Send a valid API token" in response.json()["detail"]
    [event] = _refused()
    assert event.outcome == "unknown"
    assert event.details == {"prefix": "0123abcd"}


@pytest.mark.parametrize("header", ["Bearer acc_short", "Bearer something-else", "Basic eDp5"])
def test_garbage_credentials_are_401_and_not_logged(header, db, token_api):
    response = token_api(None).get("/api/v1/contacts", headers={"Authorization": header})
    assert response.status_code == 401
    assert not _refused()

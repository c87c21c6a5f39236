"""TOTP multi-factor authentication: enrolment with a QR code and ten recovery codes, the
two-step sign-in, codes that cannot be replayed, recovery codes that work once, wrong codes
that count toward the lockout, and a role's requirement that confines an unenrolled session to
enrolment and keeps tokens from being issued around it."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from django.conf import settings

from accord.core import clock
from accord.core.errors import PermissionDenied
from accord.identity import tokens
from accord.identity.models import (
    MfaDevice,
    ObjectPermission,
    RecoveryCode,
    Role,
    SecurityEvent,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PASSWORD = "correct horse battery staple"
T0 = dt.datetime(2026, 4, 1, 8, 0, 10, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=30)


def _login(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/login", {"username": username, "password": password})


def _code(secret: str) -> str:
    return pyotp.TOTP(secret).at(clock.now())


def _enrol(client) -> tuple[str, list[str]]:
    setup = client.post("/api/v1/auth/mfa/setup")
    assert setup.status_code == 200, setup.content
    secret = setup.json()["secret"]
    confirmed = client.post("/api/v1/auth/mfa/confirm", {"code": _code(secret)})
    assert confirmed.status_code == 200, confirmed.content
    return secret, confirmed.json()["recovery_codes"]


@pytest.fixture
def alice(make_user):
    return make_user(username="alice")


@pytest.fixture
def enrolled(alice, api_as):
    """Alice with MFA enabled (enrolled at T0 - 1 min): (secret, recovery codes)."""
    with clock.frozen(T0 - dt.timedelta(minutes=1)):
        return _enrol(api_as(alice))


def _kinds(outcome: str | None = None) -> list[str]:
    events = SecurityEvent.objects.order_by("at", "id")
    if outcome:
        events = events.filter(outcome=outcome)
    return list(events.values_list("kind", flat=True))


def test_setup_gives_secret_uri_and_qr_and_confirm_enables_with_ten_codes(alice, api_as):
    client = api_as(alice)
    with clock.frozen(T0):
        setup = client.post("/api/v1/auth/mfa/setup").json()
        assert setup["otpauth_uri"].startswith("otpauth://totp/Accord:alice?secret=")
        assert setup["secret"] in setup["otpauth_uri"]
        assert setup["qr_svg"].startswith("<svg")
        assert "<path" in setup["qr_svg"]
        assert not client.get("/api/v1/auth/me").json()["mfa"]["enabled"]

        codes = client.post("/api/v1/auth/mfa/confirm", {"code": _code(setup["secret"])})

    assert codes.status_code == 200
    recovery = codes.json()["recovery_codes"]
    assert len(recovery) == len(set(recovery)) == 10
    assert client.get("/api/v1/auth/me").json()["mfa"]["enabled"]
    # Only digests are stored.
    stored = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert not stored & set(recovery)
    assert "mfa_enabled" in _kinds()


def test_confirm_with_a_wrong_code_is_422_logged_and_enables_nothing(alice, api_as):
    client = api_as(alice)
    with clock.frozen(T0):
        client.post("/api/v1/auth/mfa/setup")
        response = client.post("/api/v1/auth/mfa/confirm", {"code": "000000"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "code"
    assert MfaDevice.objects.get(user=alice).confirmed_at is None
    assert not RecoveryCode.objects.exists()
    assert "mfa_challenge" in _kinds("failure")


def test_setup_again_while_enabled_is_409(enrolled, alice, api_as):
    assert api_as(alice).post("/api/v1/auth/mfa/setup").status_code == 409


def test_sign_in_with_mfa_needs_the_code_in_a_second_step(enrolled, alice, api_as):
    secret, _ = enrolled
    client = api_as(None)
    with clock.frozen(T0):
        first = _login(client, "alice")
        assert first.status_code == 200
        assert first.json() == {"status": "mfa_required", "user": None}
        assert client.get("/api/v1/auth/me").status_code == 401  # not signed in yet

        second = client.post("/api/v1/auth/login/mfa", {"code": _code(secret)})

    assert second.status_code == 200, second.content
    assert second.json()["status"] == "signed_in"
    assert client.get("/api/v1/contacts").status_code == 200
    login = SecurityEvent.objects.get(kind="login", outcome="success")
    assert login.details["second_factor"] == "totp"


def test_a_code_cannot_be_played_twice(enrolled, api_as):
    secret, _ = enrolled
    with clock.frozen(T0):
        code = _code(secret)
        first = api_as(None)
        _login(first, "alice")
        assert first.post("/api/v1/auth/login/mfa", {"code": code}).status_code == 200

        replay = api_as(None)
        _login(replay, "alice")
        assert replay.post("/api/v1/auth/login/mfa", {"code": code}).status_code == 401

        clock.advance(STEP)
        assert replay.post("/api/v1/auth/login/mfa", {"code": _code(secret)}).status_code == 200


def test_a_code_from_the_neighbouring_step_is_accepted_for_clock_drift(enrolled, api_as):
    secret, _ = enrolled
    client = api_as(None)
    with clock.frozen(T0):
        previous = pyotp.TOTP(secret).at(clock.now() - STEP)
        _login(client, "alice")
        assert client.post("/api/v1/auth/login/mfa", {"code": previous}).status_code == 200


def test_a_recovery_code_signs_in_once(enrolled, api_as):
    _, recovery = enrolled
    with clock.frozen(T0):
        client = api_as(None)
        _login(client, "alice")
        response = client.post("/api/v1/auth/login/mfa", {"code": recovery[0].upper()})
        assert response.status_code == 200

        again = api_as(None)
        _login(again, "alice")
        assert again.post("/api/v1/auth/login/mfa", {"code": recovery[0]}).status_code == 401

    used = SecurityEvent.objects.get(kind="recovery_code_used")
    assert used.details["left"] == 9


def test_the_second_step_without_the_first_or_too_late_is_refused(enrolled, api_as):
    secret, _ = enrolled
    with clock.frozen(T0):
        lone = api_as(None)
        response = lone.post("/api/v1/auth/login/mfa", {"code": _code(secret)})
        assert response.status_code == 401

        slow = api_as(None)
        _login(slow, "alice")
        clock.advance(dt.timedelta(minutes=6))
        assert slow.post("/api/v1/auth/login/mfa", {"code": _code(secret)}).status_code == 401
        assert slow.get("/api/v1/auth/me").status_code == 401


def test_wrong_codes_count_toward_the_lockout(enrolled, api_as):
    secret, _ = enrolled
    client = api_as(None)
    with clock.frozen(T0):
        _login(client, "alice")
        for _ in range(settings.LOGIN_MAX_FAILURES):
            assert client.post("/api/v1/auth/login/mfa", {"code": "123456"}).status_code == 401
        locked = client.post("/api/v1/auth/login/mfa", {"code": _code(secret)})
        assert locked.status_code == 429
        assert "Retry-After" in locked.headers
    assert _kinds("failure").count("mfa_challenge") == settings.LOGIN_MAX_FAILURES
    assert "login_locked" in _kinds()


def test_disable_needs_password_and_code(enrolled, alice, api_as):
    secret, _ = enrolled
    client = api_as(alice)
    with clock.frozen(T0):
        wrong_password = client.post(
            "/api/v1/auth/mfa/disable", {"password": "not my password", "code": _code(secret)}
        )
        assert wrong_password.status_code == 422
        assert wrong_password.json()["errors"][0]["field"] == "password"
        wrong_code = client.post("/api/v1/auth/mfa/disable", {"password": PASSWORD, "code": "1"})
        assert wrong_code.status_code == 422
        assert wrong_code.json()["errors"][0]["field"] == "code"
        assert MfaDevice.objects.filter(user=alice).exists()

        ok = client.post("/api/v1/auth/mfa/disable", {"password": PASSWORD, "code": _code(secret)})

    assert ok.status_code == 204
    assert not MfaDevice.objects.filter(user=alice).exists()
    assert not RecoveryCode.objects.filter(user=alice).exists()
    assert _login(api_as(None), "alice").json()["status"] == "signed_in"
    assert "mfa_disabled" in _kinds("success")


def test_regenerated_recovery_codes_replace_the_old_ones(enrolled, alice, api_as):
    secret, old = enrolled
    client = api_as(alice)
    with clock.frozen(T0):
        assert client.post("/api/v1/auth/mfa/recovery-codes", {"code": "000000"}).status_code == 422
        response = client.post("/api/v1/auth/mfa/recovery-codes", {"code": _code(secret)})
        assert response.status_code == 200
        new = response.json()["recovery_codes"]
        assert len(new) == 10
        assert not set(new) & set(old)

        stale = api_as(None)
        _login(stale, "alice")
        assert stale.post("/api/v1/auth/login/mfa", {"code": old[1]}).status_code == 401
        assert stale.post("/api/v1/auth/login/mfa", {"code": new[1]}).status_code == 200


def test_django_admin_login_refuses_people_with_mfa(enrolled, alice):
    from django.test import Client

    assert not Client().login(username="alice", password=PASSWORD)


# -- a role that requires MFA ------------------------------------------------------------------


@pytest.fixture
def guarded(alice):
    """Alice in a role that requires MFA."""
    role = Role.objects.create(name="Finance", path="/", mfa_required=True)
    ObjectPermission.objects.create(
        role=role, object_type="contact", can_create=True, can_read=True, can_edit=True
    )
    alice.role = role
    alice.save(update_fields=["role"])
    return alice


def test_role_requiring_mfa_confines_an_unenrolled_session_to_enrolment(guarded, api_as):
    client = api_as(None)
    with clock.frozen(T0):
        signed_in = _login(client, "alice")
        assert signed_in.status_code == 200
        assert signed_in.json()["user"]["mfa"] == {
            "enabled": False,
            "required": True,
            "enrolment_required": True,
        }

        for response in (
            client.get("/api/v1/contacts"),
            client.post("/api/v1/contacts", {"last_name": "X"}),
            client.post(
                "/api/v1/auth/password",
                {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
            ),
        ):
            assert response.status_code == 403, response.content
            assert "set up MFA first" in response.json()["detail"]
        assert client.get("/api/v1/auth/me").status_code == 200

        _enrol(client)

        assert client.get("/api/v1/contacts").status_code == 200


def test_an_enrolled_user_in_such_a_role_needs_the_code_to_sign_in(guarded, api_as):
    with clock.frozen(T0 - dt.timedelta(minutes=1)):
        secret, _ = _enrol(_session(api_as, "alice"))
    client = api_as(None)
    with clock.frozen(T0):
        assert _login(client, "alice").json()["status"] == "mfa_required"
        assert client.get("/api/v1/contacts").status_code == 401
        client.post("/api/v1/auth/login/mfa", {"code": _code(secret)})
        assert client.get("/api/v1/contacts").status_code == 200


def test_a_session_made_without_the_second_factor_is_confined(enrolled, alice):
    from django.test import Client

    client = Client()
    client.force_login(alice)
    response = client.get("/api/v1/contacts")
    assert response.status_code == 403
    assert "second factor" in response.json()["detail"]


def test_disabling_mfa_in_such_a_role_confines_the_session_again(guarded, api_as):
    client = api_as(None)
    with clock.frozen(T0):
        _login(client, "alice")
        secret, _ = _enrol(client)
        assert client.get("/api/v1/contacts").status_code == 200
        clock.advance(STEP)
        disabled = client.post(
            "/api/v1/auth/mfa/disable", {"password": PASSWORD, "code": _code(secret)}
        )
        assert disabled.status_code == 204
        assert client.get("/api/v1/contacts").status_code == 403


def test_no_token_is_issued_to_someone_who_must_enrol_first(guarded, api_as):
    with pytest.raises(PermissionDenied, match="requires MFA"):
        tokens.create_token(user=guarded, expires_at=None)
    with clock.frozen(T0):
        _enrol(_session(api_as, "alice"))
    token, _ = tokens.create_token(user=guarded, expires_at=None)
    assert token.pk


def _session(api_as, username: str):
    client = api_as(None)
    assert _login(client, username).status_code == 200
    return client


def test_the_command_line_refuses_a_token_for_someone_who_must_enrol(guarded):
    from typer.testing import CliRunner

    from accord.cli import app

    result = CliRunner().invoke(app, ["token", "create", "--user", "alice"])

    assert result.exit_code != 0
    assert "requires MFA" in result.output
    assert not guarded.api_tokens.exists()


def test_an_administrator_can_reset_a_lost_mfa_from_the_command_line(enrolled, alice, api_as):
    from typer.testing import CliRunner

    from accord.cli import app

    result = CliRunner().invoke(app, ["reset-mfa", "alice"])

    assert result.exit_code == 0, result.output
    assert not MfaDevice.objects.filter(user=alice).exists()
    assert not RecoveryCode.objects.filter(user=alice).exists()
    assert _login(api_as(None), "alice").json()["status"] == "signed_in"
    reset = SecurityEvent.objects.get(kind="mfa_disabled")
    assert reset.actor is None
    assert reset.details["by"] == "system"


def test_recovery_codes_are_never_kept_for_idempotent_replay(alice, api_as):
    from accord.core.models import IdempotentRequest

    client = api_as(alice)
    secret = client.post("/api/v1/auth/mfa/setup").json()["secret"]

    confirmed = client.post(
        "/api/v1/auth/mfa/confirm", {"code": _code(secret)}, HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert confirmed.status_code == 200
    assert not IdempotentRequest.objects.exists()

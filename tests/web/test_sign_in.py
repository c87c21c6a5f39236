"""The sign-in page: password step, generic errors, lockout shown with the wait, the MFA step,
enrolment forced by a role, sign-out, and pages that send anonymous visitors to sign in."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from django.test import Client

from accord.core import clock
from accord.identity import mfa
from accord.identity.models import SecurityEvent
from tests.web.fixtures import assert_page, make_role

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PASSWORD = "correct horse battery staple"
T0 = dt.datetime(2026, 4, 1, 8, 0, 10, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=30)


def _sign_in(client: Client, username: str, password: str = PASSWORD, next_url: str = ""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data)


def _signed_in_as(client: Client) -> str | None:
    response = client.get("/")
    if response.status_code != 200:
        return None
    return response.context["user"].username


def test_pages_send_anonymous_visitors_to_sign_in_and_back(staff):
    client = Client()
    response = client.get("/settings/users/?status=all")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/settings/users/%3Fstatus%3Dall"

    page = assert_page(client.get(response["Location"]))
    assert 'name="csrfmiddlewaretoken"' in page
    assert '<label for="id_username">' in page
    assert '<label for="id_password">' in page

    signed_in = _sign_in(client, "sam", next_url="/settings/users/?status=all")
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/settings/users/?status=all"
    assert _signed_in_as(client) == "sam"
    assert SecurityEvent.objects.filter(kind="login", outcome="success", actor=staff).exists()


def test_sign_in_never_redirects_to_another_site(staff):
    response = _sign_in(Client(), "sam", next_url="https://evil.example/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_generic_message(staff):
    client = Client()
    wrong = assert_page(_sign_in(client, "sam", "not the password at all"))
    unknown = assert_page(_sign_in(client, "nobody", "not the password at all"))
    message = "The username or password is not correct"
    assert message in wrong
    assert message in unknown
    assert _signed_in_as(client) is None
    assert SecurityEvent.objects.filter(kind="login", outcome="failure").count() == 2


def test_deactivated_user_gets_the_generic_message(make_user):
    make_user(username="gone", active=False)
    page = assert_page(_sign_in(Client(), "gone"))
    assert "The username or password is not correct" in page


def test_lockout_is_shown_inline_with_the_wait(staff, settings):
    settings.LOGIN_MAX_FAILURES = 2
    settings.LOGIN_LOCKOUT = 900
    client = Client()
    with clock.frozen(T0):
        for _ in range(2):
            _sign_in(client, "sam", "not the password at all")
        locked = _sign_in(client, "sam")  # the right password no longer helps
        page = assert_page(locked, 429)
    assert locked["Retry-After"] == "900"
    assert "try again in 15 minutes" in page
    assert 'role="alert"' in page
    assert _signed_in_as(client) is None


def test_sign_out_ends_the_session_and_needs_a_post(staff):
    client = Client()
    _sign_in(client, "sam")
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert SecurityEvent.objects.filter(kind="logout", actor=staff).exists()


@pytest.fixture
def enrolled(staff):
    """Sam with MFA on (enrolled a minute before T0): the app's secret."""
    with clock.frozen(T0 - dt.timedelta(minutes=1)):
        setup = mfa.start_setup(staff)
        mfa.confirm(staff, pyotp.TOTP(setup.secret).at(clock.now()))
    return setup.secret


def test_mfa_user_gives_a_code_after_the_password(enrolled):
    client = Client()
    with clock.frozen(T0):
        response = _sign_in(client, "sam", next_url="/settings/")
        assert response.status_code == 302
        assert response["Location"] == "/login/verify?next=%2Fsettings%2F"
        assert _signed_in_as(client) is None

        page = assert_page(client.get(response["Location"]))
        assert 'autocomplete="one-time-code"' in page

        wrong = assert_page(client.post("/login/verify", {"code": "000000", "next": "/sales/"}))
        assert "The code is not correct" in wrong
        assert 'aria-invalid="true"' in wrong
        assert _signed_in_as(client) is None

        code = pyotp.TOTP(enrolled).at(clock.now())
        right = client.post("/login/verify", {"code": code, "next": "/sales/"})
    assert right.status_code == 302
    assert right["Location"] == "/sales/"
    assert _signed_in_as(client) == "sam"


def test_verify_step_without_a_password_step_goes_back_to_sign_in(db):
    response = Client().get("/login/verify")
    assert response.status_code == 302
    assert response["Location"].startswith("/login?")


def test_role_that_requires_mfa_sends_an_unenrolled_user_to_enrol(staff):
    staff.role = make_role("Finance", mfa_required=True)
    staff.save()
    client = Client()
    with clock.frozen(T0):
        response = _sign_in(client, "sam", next_url="/sales/")
        assert response["Location"] == "/account/mfa?next=%2Fsales%2F"
        # Any other page sends them back to enrolment until it is done.
        blocked = client.get("/settings/")
        assert blocked.status_code == 302
        assert blocked["Location"].startswith("/account/mfa")

        page = assert_page(client.get("/account/mfa?next=/sales/"))
        assert "<svg" in page
        secret = staff.mfa_device.secret
        assert secret in page
        # A reload keeps the key the person may already have scanned.
        assert secret in client.get("/account/mfa").content.decode()

        wrong = assert_page(client.post("/account/mfa", {"code": "000000", "next": "/sales/"}))
        assert "This code is not a current code of your authenticator app." in wrong
        assert secret in wrong

        code = pyotp.TOTP(secret).at(clock.now())
        done = assert_page(client.post("/account/mfa", {"code": code, "next": "/sales/"}))
    recovery_codes = re.findall(r"<li>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</li>", done)
    assert len(recovery_codes) == 10  # shown this once
    assert mfa.is_enrolled(staff)
    assert client.get("/sales/").status_code == 200


def test_password_reset_by_mail_from_the_sign_in_page(staff, mailoutbox):
    staff.email = "sam@example.com"
    staff.save()
    client = Client()
    assert 'href="/forgot-password"' in assert_page(client.get("/login"))
    sent = assert_page(client.post("/forgot-password", {"email": "sam@example.com"}))
    unknown = assert_page(client.post("/forgot-password", {"email": "nobody@example.com"}))
    assert "If an account has this address" in sent
    assert "If an account has this address" in unknown  # the same answer
    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/reset-password\?\S+", mailoutbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    form = assert_page(client.get(f"/{path}"))
    uid = re.search(r'name="uid" value="([^"]+)"', form).group(1)
    token = re.search(r'name="token" value="([^"]+)"', form).group(1)
    weak = assert_page(
        client.post("/reset-password", {"uid": uid, "token": token, "new_password": "short"}),
        422,
    )
    field = weak.split('<label for="id_new_password">', 1)[1]
    assert 'class="errorlist"' in field
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)

    new = "a brand new passphrase for sam"
    done = client.post("/reset-password", {"uid": uid, "token": token, "new_password": new})
    assert done.status_code == 302
    assert done["Location"] == "/login"
    staff.refresh_from_db()
    assert staff.check_password(new)
    # The link works once.
    again = assert_page(
        client.post("/reset-password", {"uid": uid, "token": token, "new_password": new + "!"}),
        422,
    )
    assert "This reset link is invalid, used or expired." in again

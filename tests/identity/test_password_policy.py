"""Password rules after OWASP ASVS: argon2 storage, at least 12 and at most 128 characters,
no common password, nothing like the user's own name, and no composition rules; changing one's
own password needs the current one and ends the user's other sessions."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client

from accord.core.errors import InvalidInput
from accord.identity.models import SecurityEvent, User
from accord.identity.services import check_password, create_user

PASSWORD = "correct horse battery staple"


def test_passwords_are_stored_with_argon2id(db):
    user, _ = create_user(username="alice", password=PASSWORD)
    hasher = identify_hasher(user.password)
    assert hasher.algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize(
    "password",
    [
        "all lower case words",  # no digits, capitals or symbols needed
        "aaaaaaaaaaaB",  # 12 characters
        "ünïcödé pässwörd ✓",
        "x" * 128,
    ],
)
def test_long_enough_uncommon_passwords_pass_without_composition_rules(password):
    check_password(password, User(username="alice"))


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("elevenchars", "too short"),
        ("x" * 129, "too long"),
        ("password1234", "too common"),
        ("alice.wonderland", "too similar"),
    ],
)
def test_weak_passwords_are_422_naming_password(password, reason):
    with pytest.raises(InvalidInput) as caught:
        check_password(password, User(username="alice.wonderland"))
    assert caught.value.status == 422
    [error] = caught.value.errors
    assert error.field == "password"
    assert reason in error.message


@pytest.mark.usefixtures("fast_password_hashing")
class TestChangingOnesPassword:
    def _signed_in(self, username: str) -> Client:
        client = Client()
        response = client.post(
            "/api/v1/auth/login",
            {"username": username, "password": PASSWORD},
            content_type="application/json",
        )
        assert response.status_code == 200
        return client

    def _change(self, client: Client, current: str, new: str):
        return client.post(
            "/api/v1/auth/password",
            {"current_password": current, "new_password": new},
            content_type="application/json",
        )

    def test_needs_the_current_password_and_ends_other_sessions(self, make_user):
        user = make_user(username="alice")
        here, elsewhere = self._signed_in("alice"), self._signed_in("alice")

        response = self._change(here, PASSWORD, "a brand new passphrase")

        assert response.status_code == 204
        user.refresh_from_db()
        assert user.check_password("a brand new passphrase")
        assert here.get("/api/v1/auth/me").status_code == 200
        assert elsewhere.get("/api/v1/auth/me").status_code == 401
        assert SecurityEvent.objects.filter(kind="password_changed", outcome="success").exists()

    def test_a_wrong_current_password_is_422_logged_and_counted(self, make_user, settings):
        user = make_user(username="alice")
        client = self._signed_in("alice")

        response = self._change(client, "not my password", "a brand new passphrase")

        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "current_password"
        user.refresh_from_db()
        assert user.check_password(PASSWORD)
        assert SecurityEvent.objects.filter(kind="password_changed", outcome="failure").exists()
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            self._change(client, "not my password", "a brand new passphrase")
        assert self._change(client, PASSWORD, "a brand new passphrase").status_code == 429

    def test_a_weak_new_password_is_422_naming_new_password(self, make_user):
        user = make_user(username="alice")
        client = self._signed_in("alice")

        response = self._change(client, PASSWORD, "short")

        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"new_password"}
        user.refresh_from_db()
        assert user.check_password(PASSWORD)

"""API tokens: no token, an expired or revoked one, or one whose user left is a 401 problem on the
very next request; a token's scopes limit what it may read and write."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.core import clock
from accord.identity import tokens
from accord.parties.models import Account, Contact

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PROBLEM = "application/problem+json"
T0 = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)


def _assert_unauthorized(response) -> None:
    assert response.status_code == 401, response.content
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/accounts"),
        ("post", "/api/v1/accounts"),
        ("get", "/api/v1/contacts"),
        ("post", "/api/v1/contacts"),
        ("get", "/api/v1/tags"),
        ("get", "/api/v1/contacts/0190a000-0000-7000-8000-000000000000"),
    ],
)
def test_request_without_token_is_401_problem(method, path, api_as, db_state):
    before = db_state()
    response = getattr(api_as(None), method)(path, {"name": "x", "last_name": "x"})
    _assert_unauthorized(response)
    assert db_state() == before


@pytest.mark.parametrize(
    "header",
    ["Bearer acc_nothing_here", "Bearer ", "Basic YWRtaW46YWRtaW4=", "acc_abc_def", "Bearer  x y"],
)
def test_unknown_or_malformed_token_is_401(header, admin, token_api):
    client = token_api(None)
    _assert_unauthorized(client.get("/api/v1/contacts", headers={"Authorization": header}))


def test_expired_token_is_refused_on_the_next_request(admin, token_api):
    with clock.frozen(T0):
        _, plain = tokens.create_token(user=admin, expires_at=T0 + dt.timedelta(hours=1))
        client = token_api(plain)
        assert client.get("/api/v1/contacts").status_code == 200

        clock.advance(dt.timedelta(minutes=59, seconds=59))
        assert client.get("/api/v1/contacts").status_code == 200

        clock.advance(dt.timedelta(seconds=1))
        _assert_unauthorized(client.get("/api/v1/contacts"))


def test_revoked_token_is_refused_on_the_next_request(admin, token_api):
    token, plain = tokens.create_token(user=admin, expires_at=None)
    client = token_api(plain)
    assert client.get("/api/v1/contacts").status_code == 200

    tokens.revoke(token)

    _assert_unauthorized(client.get("/api/v1/contacts"))
    _assert_unauthorized(client.post("/api/v1/contacts", {"last_name": "After"}))
    assert not Contact.all_objects.exists()


def test_deactivated_users_token_is_refused_on_the_next_request(make_user, api_as):
    user = make_user()
    client = api_as(user)
    assert client.post("/api/v1/contacts", {"last_name": "Before"}).status_code == 201

    user.is_active = False
    user.save(update_fields=["is_active"])

    _assert_unauthorized(client.get("/api/v1/contacts"))
    _assert_unauthorized(client.post("/api/v1/contacts", {"last_name": "After"}))
    assert list(Contact.all_objects.values_list("last_name", flat=True)) == ["Before"]


def test_read_scope_may_get_but_not_write(admin, api_as, make_account, db_state):
    account = make_account(name="Acme")
    client = api_as(admin, scopes=["accounts:read"])

    assert client.get("/api/v1/accounts").status_code == 200
    assert client.get(f"/api/v1/accounts/{account.pk}").status_code == 200

    before = db_state()
    for response in (
        client.post("/api/v1/accounts", {"name": "Not allowed"}),
        client.patch(f"/api/v1/accounts/{account.pk}", {"name": "Renamed"}, if_match='"1"'),
        client.delete(f"/api/v1/accounts/{account.pk}", if_match='"1"'),
    ):
        assert response.status_code == 403, response.content
        assert response.headers["Content-Type"] == PROBLEM
        assert "accounts:write" in response.json()["detail"]
    assert db_state() == before


def test_token_scoped_to_contacts_is_403_on_accounts(admin, api_as, make_account, db_state):
    account = make_account(name="Acme")
    client = api_as(admin, scopes=["contacts:write"])

    assert client.get("/api/v1/contacts").status_code == 200
    assert client.post("/api/v1/contacts", {"last_name": "Allowed"}).status_code == 201

    before = db_state()
    for response in (
        client.get("/api/v1/accounts"),
        client.get(f"/api/v1/accounts/{account.pk}"),
        client.post("/api/v1/accounts", {"name": "Not allowed"}),
        client.delete(f"/api/v1/accounts/{account.pk}", if_match='"1"'),
    ):
        assert response.status_code == 403, response.content
        assert response.headers["Content-Type"] == PROBLEM
    assert db_state() == before
    assert Account.objects.count() == 1


def test_wildcard_scope_reaches_every_collection(admin, api_as):
    client = api_as(admin, scopes=["*"])
    for path in ("/api/v1/accounts", "/api/v1/contacts", "/api/v1/tags"):
        assert client.get(path).status_code == 200

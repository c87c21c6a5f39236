"""Who sees and changes whose records, from the org-wide sharing default: private records are
invisible (404, absent from lists) to non-owners, public-read ones are read-only (403 on writes),
and superusers see everything. A hidden account cannot be referenced either."""

from __future__ import annotations

import pytest

from accord.core.models import OutboxEvent
from accord.identity.models import Access, SharingDefault
from accord.parties.models import Contact

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PROBLEM = "application/problem+json"


@pytest.fixture
def other(make_user):
    return make_user(username="other")


@pytest.fixture
def owners_contact(owner, make_contact):
    return make_contact(last_name="Owned", owner=owner)


def _share(object_type: str, access: str) -> None:
    SharingDefault.objects.update_or_create(object_type=object_type, defaults={"access": access})


def _listed_ids(client, path: str) -> set[str]:
    response = client.get(path, {"limit": 200})
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


def test_private_contact_is_invisible_to_a_non_owner(
    owner, other, owners_contact, make_contact, api_as, db_state
):
    _share("contact", Access.PRIVATE)
    others_own = make_contact(last_name="Mine", owner=other)
    client = api_as(other)
    url = f"/api/v1/contacts/{owners_contact.pk}"
    before = db_state()

    for response in (
        client.get(url),
        client.patch(url, {"title": "Snooped"}, if_match='"1"'),
        client.patch(url, {"title": "Snooped"}, if_match="*"),
        client.delete(url, if_match='"1"'),
    ):
        assert response.status_code == 404, response.content
        assert response.headers["Content-Type"] == PROBLEM

    assert db_state() == before
    assert _listed_ids(client, "/api/v1/contacts") == {str(others_own.pk)}
    assert client.get("/api/v1/contacts", {"owner_id": str(owner.pk)}).json()["items"] == []
    assert client.get(f"/api/v1/contacts/{others_own.pk}").status_code == 200


def test_private_contact_answers_like_an_unknown_one(other, owners_contact, api_as):
    _share("contact", Access.PRIVATE)
    client = api_as(other)
    hidden = client.get(f"/api/v1/contacts/{owners_contact.pk}").json()
    unknown_id = "0190a000-0000-7000-8000-000000000000"
    unknown = client.get(f"/api/v1/contacts/{unknown_id}").json()

    assert hidden["title"] == unknown["title"]
    assert hidden["detail"].replace(str(owners_contact.pk), "<id>") == unknown["detail"].replace(
        unknown_id, "<id>"
    )


def test_owner_keeps_full_access_to_a_private_contact(owner, owners_contact, api_as):
    _share("contact", Access.PRIVATE)
    client = api_as(owner)
    url = f"/api/v1/contacts/{owners_contact.pk}"

    assert client.get(url).status_code == 200
    assert _listed_ids(client, "/api/v1/contacts") == {str(owners_contact.pk)}
    assert client.patch(url, {"title": "Boss"}, if_match='"1"').status_code == 200
    assert client.delete(url, if_match='"2"').status_code == 204


def test_public_read_contact_is_visible_but_read_only_to_a_non_owner(
    other, owners_contact, api_as, db_state
):
    _share("contact", Access.PUBLIC_READ)
    client = api_as(other)
    url = f"/api/v1/contacts/{owners_contact.pk}"

    assert client.get(url).status_code == 200
    assert _listed_ids(client, "/api/v1/contacts") == {str(owners_contact.pk)}

    before = db_state()
    for response in (
        client.patch(url, {"title": "Vandal"}, if_match='"1"'),
        client.delete(url, if_match='"1"'),
    ):
        assert response.status_code == 403, response.content
        assert response.headers["Content-Type"] == PROBLEM
    assert db_state() == before


def test_public_read_write_contact_may_be_changed_by_a_non_owner(other, owners_contact, api_as):
    _share("contact", Access.PUBLIC_READ_WRITE)
    client = api_as(other)
    url = f"/api/v1/contacts/{owners_contact.pk}"

    changed = client.patch(url, {"title": "Helper"}, if_match='"1"')

    assert changed.status_code == 200
    assert changed.json()["owner_id"] == str(owners_contact.owner_id)
    assert changed.json()["updated_by_id"] == str(other.pk)


def test_superuser_sees_and_changes_every_private_record(
    owner, other, owners_contact, make_contact, admin_api
):
    _share("contact", Access.PRIVATE)
    others_own = make_contact(last_name="Other", owner=other)
    url = f"/api/v1/contacts/{owners_contact.pk}"

    assert _listed_ids(admin_api, "/api/v1/contacts") == {
        str(owners_contact.pk),
        str(others_own.pk),
    }
    assert admin_api.get(url).status_code == 200
    assert admin_api.patch(url, {"title": "Audited"}, if_match='"1"').status_code == 200
    assert admin_api.delete(url, if_match='"2"').status_code == 204


def test_private_accounts_are_filtered_from_lists_and_details(owner, other, make_account, api_as):
    _share("account", Access.PRIVATE)
    hidden = make_account(name="Hidden", owner=owner)
    mine = make_account(name="Mine", owner=other)
    client = api_as(other)

    assert _listed_ids(client, "/api/v1/accounts") == {str(mine.pk)}
    assert client.get(f"/api/v1/accounts/{hidden.pk}").status_code == 404


def test_contact_cannot_point_at_an_account_the_caller_cannot_see(
    owner, other, make_account, api_as, db_state
):
    _share("account", Access.PRIVATE)
    hidden = make_account(name="Hidden", owner=owner)
    client = api_as(other)
    unknown_id = "0190a000-0000-7000-8000-000000000000"
    before = db_state()

    refused = client.post("/api/v1/contacts", {"last_name": "Spy", "account_id": str(hidden.pk)})
    unknown = client.post("/api/v1/contacts", {"last_name": "Spy", "account_id": unknown_id})

    assert refused.status_code == unknown.status_code == 422
    assert refused.headers["Content-Type"] == PROBLEM
    (error,) = refused.json()["errors"]
    (unknown_error,) = unknown.json()["errors"]
    assert error["field"] == unknown_error["field"] == "account_id"
    assert error["message"].replace(str(hidden.pk), "<id>") == unknown_error["message"].replace(
        unknown_id, "<id>"
    )
    assert db_state() == before


def test_contact_cannot_be_moved_to_an_account_the_caller_cannot_see(
    owner, other, make_account, make_contact, api_as, db_state
):
    _share("account", Access.PRIVATE)
    hidden = make_account(name="Hidden", owner=owner)
    contact = make_contact(last_name="Mine", owner=other)
    client = api_as(other)
    before = db_state()

    response = client.patch(
        f"/api/v1/contacts/{contact.pk}", {"account_id": str(hidden.pk)}, if_match='"1"'
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["account_id"]
    assert db_state() == before


def test_account_cannot_take_a_hidden_parent(owner, other, make_account, api_as, db_state):
    _share("account", Access.PRIVATE)
    hidden = make_account(name="Hidden", owner=owner)
    client = api_as(other)
    before = db_state()

    response = client.post("/api/v1/accounts", {"name": "Child", "parent_id": str(hidden.pk)})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["parent_id"]
    assert db_state() == before


def test_superuser_may_link_a_contact_to_anyones_private_account(owner, make_account, admin_api):
    _share("account", Access.PRIVATE)
    account = make_account(name="Private", owner=owner)

    response = admin_api.post(
        "/api/v1/contacts", {"last_name": "Linked", "account_id": str(account.pk)}
    )

    assert response.status_code == 201
    assert Contact.objects.get(pk=response.json()["id"]).account_id == account.pk
    assert OutboxEvent.objects.filter(object_id=response.json()["id"]).count() == 1

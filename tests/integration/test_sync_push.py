"""``POST /api/v1/sync``: offline edits go through the record services with their base version;
a record changed since then is a per-record conflict carrying both versions, and nothing is
overwritten; unknown records, wrong base versions and fields the user may not set are
per-record 4xx; a malformed body is a plain 422 and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from tests.identity.access_factories import make_role, with_role

from accord.core.models import HistoryEntry, OutboxEvent
from accord.identity.models import SharingDefault
from accord.integration import sync
from accord.parties import services
from accord.parties.models import Account, Contact

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

UNKNOWN = "0190a000-0000-7000-8000-000000000000"


def push(client: Any, *changes: dict[str, Any], **options: Any) -> dict[str, Any]:
    response = client.post("/api/v1/sync", {"changes": list(changes), **options})
    assert response.status_code == 200, response.content
    return response.json()


def update(record: Any, base_version: int, **changes: Any) -> dict[str, Any]:
    return {
        "op": "update",
        "object_type": record.object_type,
        "id": str(record.pk),
        "base_version": base_version,
        "changes": changes,
    }


def test_an_edit_applies_through_the_service(admin, admin_api, make_contact):
    contact = make_contact(last_name="Lovelace")

    answer = push(admin_api, update(contact, 1, title="CTO"))

    [result] = answer["results"]
    assert (answer["applied"], answer["conflicts"], answer["rejected"]) == (1, 0, 0)
    assert (result["status"], result["code"], result["version"]) == ("applied", 200, 2)
    assert result["record"]["title"] == "CTO"
    contact.refresh_from_db()
    assert (contact.title, contact.version) == ("CTO", 2)
    entry = HistoryEntry.objects.get(object_id=contact.pk, version=2)
    assert (entry.changes["title"], entry.actor_id) == (["", "CTO"], admin.pk)
    assert OutboxEvent.objects.filter(object_id=contact.pk, type="accord.contact.updated").exists()


def test_a_record_changed_since_the_base_version_is_a_conflict_with_both_versions(
    admin, admin_api, make_contact
):
    contact = make_contact(last_name="Lovelace")
    services.contacts.update(
        actor=admin, record_id=contact.pk, data={"title": "CEO"}, expected_version=1
    )

    answer = push(admin_api, update(contact, 1, title="CTO"))

    [result] = answer["results"]
    assert (result["status"], result["code"], result["version"]) == ("conflict", 409, 2)
    assert result["server"]["title"] == "CEO"
    assert result["server"]["version"] == 2
    assert result["mine"] == {"op": "update", "base_version": 1, "changes": {"title": "CTO"}}
    assert answer["conflicts"] == 1
    contact.refresh_from_db()
    assert (contact.title, contact.version) == ("CEO", 2), "nothing was overwritten"


def test_a_delete_of_a_changed_record_is_a_conflict_too(admin, admin_api, make_contact):
    contact = make_contact(last_name="Lovelace")
    services.contacts.update(
        actor=admin, record_id=contact.pk, data={"title": "CEO"}, expected_version=1
    )
    edit = {"op": "delete", "object_type": "contact", "id": str(contact.pk), "base_version": 1}

    [conflict] = push(admin_api, edit)["results"]
    [deleted] = push(admin_api, {**edit, "base_version": 2})["results"]

    assert conflict["status"] == "conflict"
    assert conflict["server"]["title"] == "CEO"
    assert (deleted["status"], deleted["code"]) == ("applied", 204)
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_creates_return_ids_for_temp_ids_which_later_edits_may_use(admin, admin_api):
    answer = push(
        admin_api,
        {"op": "create", "object_type": "account", "temp_id": "a1", "changes": {"name": "Acme"}},
        {
            "op": "create",
            "object_type": "contact",
            "temp_id": "c1",
            "changes": {"last_name": "Hopper", "account_id": "a1"},
        },
    )

    account_result, contact_result = answer["results"]
    assert [r["status"] for r in answer["results"]] == ["applied", "applied"]
    assert (account_result["temp_id"], account_result["code"]) == ("a1", 201)
    account = Account.objects.get(pk=account_result["id"])
    contact = Contact.objects.get(pk=contact_result["id"])
    assert contact.account_id == account.pk
    assert contact_result["record"]["account_id"] == str(account.pk)


def test_edits_apply_each_on_its_own(admin, admin_api, make_contact):
    good, other = make_contact(last_name="Good"), make_contact(last_name="Other")

    answer = push(
        admin_api,
        update(good, 1, title="CTO"),
        update(other, 1, emails=["not an email"]),
    )

    statuses = [(r["status"], r["code"]) for r in answer["results"]]
    assert statuses == [("applied", 200), ("rejected", 422)]
    assert answer["results"][1]["errors"][0]["field"].startswith("emails")
    good.refresh_from_db()
    other.refresh_from_db()
    assert (good.title, other.version) == ("CTO", 1)


def test_all_or_none_applies_nothing_when_one_edit_fails(admin, admin_api, make_contact):
    good, stale = make_contact(last_name="Good"), make_contact(last_name="Stale")
    services.contacts.update(
        actor=admin, record_id=stale.pk, data={"title": "X"}, expected_version=1
    )
    events = OutboxEvent.objects.count()

    answer = push(
        admin_api,
        update(good, 1, title="CTO"),
        {"op": "create", "object_type": "tag", "changes": {"name": "vip"}},
        update(stale, 1, title="CFO"),
        all_or_none=True,
    )

    assert [r["status"] for r in answer["results"]] == ["rolled_back", "rolled_back", "conflict"]
    assert answer["results"][1]["id"] is None
    good.refresh_from_db()
    assert (good.title, good.version) == ("", 1)
    assert OutboxEvent.objects.count() == events


@pytest.mark.parametrize(
    ("edit", "code", "field"),
    [
        ({"op": "update", "id": UNKNOWN, "base_version": 1, "changes": {"title": "X"}}, 404, None),
        ({"op": "update", "base_version": 1, "changes": {"title": "X"}}, 422, "id"),
        ({"op": "update", "id": "{id}", "changes": {"title": "X"}}, 422, "base_version"),
        ({"op": "update", "id": "{id}", "base_version": 7, "changes": {}}, 422, "base_version"),
        ({"op": "update", "id": "{id}", "base_version": 1, "changes": {"shoe": 1}}, 422, None),
        ({"op": "create", "id": "{id}", "changes": {"last_name": "X"}}, 422, "id"),
        ({"op": "create", "changes": {"title": "no last name"}}, 422, None),
        ({"op": "delete", "id": "{id}", "base_version": 1, "changes": {"a": 1}}, 422, "changes"),
    ],
)
def test_bad_edits_are_per_record_4xx_and_change_nothing(
    admin, admin_api, make_contact, edit, code, field
):
    contact = make_contact(last_name="Kept")
    edit = {"object_type": "contact", **edit}
    if edit.get("id") == "{id}":
        edit["id"] = str(contact.pk)
    events = OutboxEvent.objects.count()

    [result] = push(admin_api, edit)["results"]

    assert (result["status"], result["code"]) == ("rejected", code), result
    if field is not None:
        assert field in [e["field"] for e in result["errors"]]
    assert OutboxEvent.objects.count() == events
    assert Contact.objects.get(pk=contact.pk).version == 1


def test_an_unknown_object_type_is_a_per_record_422(admin_api):
    [result] = push(admin_api, {"op": "create", "object_type": "spaceship", "changes": {}})[
        "results"
    ]

    assert (result["code"], result["errors"][0]["field"]) == (422, "object_type")


def test_records_the_user_may_not_see_are_unknown(api_as, make_user, make_contact):
    SharingDefault.objects.create(object_type="contact", access="private")
    owner, other = make_user(username="owner"), make_user(username="other")
    contact = make_contact(last_name="Private", owner_id=str(owner.pk))

    [result] = push(api_as(other), update(contact, 1, title="Spy"))["results"]

    assert (result["status"], result["code"]) == ("rejected", 404)
    assert Contact.objects.get(pk=contact.pk).title == ""


@pytest.mark.parametrize("access", ["read_only", "hidden"])
def test_fields_the_role_may_not_set_are_a_per_record_403(api_as, make_user, make_contact, access):
    rules = {"read_only": [("contact", "title")], "hidden": []}[access]
    hidden = {"read_only": [], "hidden": [("contact", "title")]}[access]
    user = with_role(
        make_user(username="rep"), make_role(name="Rep", read_only=rules, hidden=hidden)
    )
    contact = make_contact(last_name="Locked", owner_id=str(user.pk))

    [result] = push(api_as(user), update(contact, 1, title="CTO"))["results"]

    assert (result["status"], result["code"]) == ("rejected", 403)
    assert [e["field"] for e in result["errors"]] == ["title"]
    assert Contact.objects.get(pk=contact.pk).title == ""


def test_a_conflict_shows_only_the_fields_the_user_may_see(admin, api_as, make_user, make_contact):
    user = with_role(
        make_user(username="rep"), make_role(name="Rep", hidden=[("contact", "emails")])
    )
    contact = make_contact(last_name="Seen", emails=["secret@example.com"])
    services.contacts.update(
        actor=admin, record_id=contact.pk, data={"title": "A"}, expected_version=1
    )

    [result] = push(api_as(user), update(contact, 1, title="B"))["results"]

    assert result["status"] == "conflict"
    assert "emails" not in result["server"]


def test_a_token_without_the_types_write_scope_is_refused_per_record(admin, api_as, make_contact):
    contact = make_contact(last_name="Scoped")
    client = api_as(admin, scopes=["sync:write", "contacts:read"])

    [result] = push(client, update(contact, 1, title="CTO"))["results"]

    assert (result["status"], result["code"]) == ("rejected", 403)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"changes": []},
        {"changes": [{"object_type": "contact", "changes": {}}]},
        {"changes": [{"op": "merge", "object_type": "contact"}]},
        {"changes": [{"op": "update", "object_type": "contact", "id": "not-a-uuid"}]},
        {"changes": [{"op": "update", "object_type": "contact", "base_version": 0}]},
        {"changes": [{"op": "create", "object_type": "contact", "extra": 1}]},
        {"changes": [{"op": "create", "object_type": "contact"}] * (sync.MAX_PUSH + 1)},
        {"changes": [], "all_or_none": "yes"},
    ],
)
def test_a_malformed_body_is_a_plain_422(admin_api, make_contact, body):
    make_contact(last_name="Kept")
    events = OutboxEvent.objects.count()

    response = admin_api.post("/api/v1/sync", body)

    assert response.status_code == 422, response.content
    assert response.headers["Content-Type"] == "application/problem+json"
    assert OutboxEvent.objects.count() == events

"""``GET /api/v1/sync``: a first pull pages through everything the user may see; later pulls
bring what changed or newly became visible, and tombstones for what was deleted or left the
user's sight, whatever the cause, each cause tested; records carry only the fields the user
may see; a lost page is made again; bad, foreign, future and expired cursors are clear 4xx."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tests.identity.access_factories import ALL, make_role, with_role

from accord.core import clock
from accord.core.models import OutboxEvent
from accord.core.tasks import purge_type
from accord.identity import visibility
from accord.identity.models import (
    FieldPermission,
    ObjectPermission,
    RecordShare,
    SharingRule,
    Team,
)
from accord.integration import sync
from accord.integration.models import SyncHolding, SyncReplica
from accord.parties import services
from accord.parties.models import Account, Contact

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "relay_numbers_events")

PROBLEM = "application/problem+json"


def pull(client: Any, cursor: str | None = None, **params: Any) -> dict[str, Any]:
    if cursor is not None:
        params["cursor"] = cursor
    response = client.get("/api/v1/sync", params)
    assert response.status_code == 200, response.content
    return response.json()


def pull_all(client: Any, cursor: str | None = None, **params: Any) -> tuple[list[dict], str]:
    """Every page of one pass: its items and the cursor to continue with."""
    items: list[dict[str, Any]] = []
    while True:
        page = pull(client, cursor, **params)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items, cursor


def keys(items: list[dict[str, Any]]) -> set[tuple[str, str, bool]]:
    return {(i["object_type"], i["id"], i["deleted"]) for i in items}


def ids(items: list[dict[str, Any]], *, deleted: bool = False) -> set[str]:
    return {i["id"] for i in items if i["deleted"] is deleted}


def test_first_pull_pages_through_everything_visible(admin, admin_api, make_contact):
    made = {str(make_contact(last_name=f"Person {n}").pk) for n in range(7)}

    first = pull(admin_api, limit=3, types="contact")
    second = pull(admin_api, first["next_cursor"], limit=3, types="contact")
    third = pull(admin_api, second["next_cursor"], limit=3, types="contact")

    pages = [first, second, third]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert set().union(*(ids(p["items"]) for p in pages)) == made
    item = first["items"][0]
    contact = Contact.objects.get(pk=item["id"])
    assert item["version"] == contact.version == 1
    assert item["record"] == services.contacts.payload(contact)


def test_records_look_as_the_api_shows_them(admin, admin_api, make_contact, make_account, make_tag):
    for name in ("zebra", "Alpha", "mango"):
        make_tag(name=name)
    account = make_account(name="Acme", tags=["mango", "zebra"])
    contact = make_contact(
        last_name="Hopper",
        account_id=str(account.pk),
        emails=["g@x.org", "grace@navy.mil"],
        phones=["+14155550100", "+14155550101"],
        tags=["zebra", "Alpha", "mango"],
    )
    make_contact(last_name="Plain")

    items, _ = pull_all(admin_api, types="account,contact")

    by_id = {i["id"]: i["record"] for i in items}
    for path, record in (("accounts", account), ("contacts", contact)):
        shown = admin_api.get(f"/api/v1/{path}/{record.pk}").json()
        synced = by_id[str(record.pk)]
        assert synced.keys() >= shown.keys()
        assert {k: synced[k] for k in shown if not k.endswith("_at")} == {
            k: v for k, v in shown.items() if not k.endswith("_at")
        }
    assert by_id[str(contact.pk)]["tags"] == ["Alpha", "mango", "zebra"]
    assert by_id[str(contact.pk)]["emails"] == ["g@x.org", "grace@navy.mil"]
    for record in Contact.objects.all():
        assert by_id[str(record.pk)] == services.contacts.payload(record)


def test_an_incremental_pull_brings_only_what_changed(admin, admin_api, make_contact):
    kept, changed = make_contact(last_name="Kept"), make_contact(last_name="Changed")
    _, cursor = pull_all(admin_api, types="contact")

    services.contacts.update(
        actor=admin, record_id=changed.pk, data={"title": "CTO"}, expected_version=1
    )
    new = make_contact(last_name="New")
    items, cursor = pull_all(admin_api, cursor, types="contact")
    idle, _ = pull_all(admin_api, cursor, types="contact")

    assert ids(items) == {str(changed.pk), str(new.pk)}
    assert str(kept.pk) not in ids(items)
    updated = next(i for i in items if i["id"] == str(changed.pk))
    assert (updated["version"], updated["record"]["title"]) == (2, "CTO")
    assert idle == []


def test_deleted_and_purged_records_become_tombstones(admin, admin_api, make_contact):
    deleted, purged, kept = (make_contact(last_name=n) for n in ("Deleted", "Purged", "Kept"))
    _, cursor = pull_all(admin_api, types="contact")

    services.contacts.delete(actor=admin, record_id=deleted.pk, expected_version=None)
    services.contacts.delete(actor=admin, record_id=purged.pk, expected_version=None)
    Contact.all_objects.filter(pk=purged.pk).update(deleted_at=clock.now() - dt.timedelta(days=30))
    assert purge_type(Contact) == 1
    items, cursor = pull_all(admin_api, cursor, types="contact")
    again, _ = pull_all(admin_api, cursor, types="contact")

    assert {(i["id"], i["reason"]) for i in items} == {
        (str(deleted.pk), "deleted"),
        (str(purged.pk), "deleted"),
    }
    assert all(i["deleted"] and i["record"] is None for i in items)
    assert again == [], "a tombstone is sent once"
    assert str(kept.pk) in {
        str(pk) for pk in SyncHolding.objects.values_list("record_id", flat=True)
    }


def test_a_restored_record_comes_back(admin, admin_api, make_contact):
    contact = make_contact(last_name="Back")
    _, cursor = pull_all(admin_api, types="contact")
    services.contacts.delete(actor=admin, record_id=contact.pk, expected_version=None)
    gone, cursor = pull_all(admin_api, cursor, types="contact")

    services.contacts.restore(actor=admin, record_id=contact.pk)
    back, _ = pull_all(admin_api, cursor, types="contact")

    assert keys(gone) == {("contact", str(contact.pk), True)}
    assert keys(back) == {("contact", str(contact.pk), False)}


# -- leaving (and entering) the user's sight, one cause at a time --------------------------------


@pytest.mark.usefixtures("private_contacts")
def test_owner_change_sends_a_tombstone(admin, api_as, reader, owner, make_contact):
    mine = make_contact(last_name="Mine", owner_id=str(reader.pk))
    client = api_as(reader)
    first, cursor = pull_all(client, types="contact")

    services.contacts.update(
        actor=admin, record_id=mine.pk, data={"owner_id": str(owner.pk)}, expected_version=None
    )
    items, _ = pull_all(client, cursor, types="contact")

    assert keys(first) == {("contact", str(mine.pk), False)}
    assert [(i["id"], i["deleted"], i["reason"]) for i in items] == [(str(mine.pk), True, "access")]


@pytest.mark.usefixtures("private_contacts")
def test_team_change_sends_a_tombstone(admin, api_as, reader, owner, make_contact):
    shared = make_contact(last_name="Shared", owner_id=str(owner.pk))
    team = Team.objects.create(name="Key accounts")
    team.members.add(reader)
    RecordShare.objects.create(object_type="contact", record_id=shared.pk, team=team, level="read")
    client = api_as(reader)
    first, cursor = pull_all(client, types="contact")

    team.members.remove(reader)
    items, _ = pull_all(client, cursor, types="contact")

    assert keys(first) == {("contact", str(shared.pk), False)}
    assert [(i["id"], i["reason"]) for i in items] == [(str(shared.pk), "access")]
    assert not OutboxEvent.objects.filter(object_id=shared.pk, type__endswith="updated").exists()


@pytest.mark.usefixtures("private_contacts")
def test_role_change_sends_tombstones(admin, api_as, reader, owner, make_contact):
    boss = make_role(name="Boss")
    with_role(owner, make_role(name="Rep", parent=boss))
    with_role(reader, boss)
    theirs = make_contact(last_name="Theirs", owner_id=str(owner.pk))
    client = api_as(reader)
    first, cursor = pull_all(client, types="contact")

    with_role(reader, make_role(name="Elsewhere"))
    items, _ = pull_all(client, cursor, types="contact")

    assert keys(first) == {("contact", str(theirs.pk), False)}
    assert keys(items) == {("contact", str(theirs.pk), True)}


def test_losing_the_read_permission_tombstones_the_whole_type(api_as, reader, make_contact):
    role = make_role(name="Reps", permissions={"contact": ALL})
    with_role(reader, role)
    contacts = {str(make_contact(last_name=f"C{n}").pk) for n in range(3)}
    client = api_as(reader)
    first, cursor = pull_all(client, types="contact")

    ObjectPermission.objects.filter(role=role, object_type="contact").update(can_read=False)
    visibility.access_model_changed()  # as every write to the access model does
    items, _ = pull_all(client, cursor, types="contact")

    assert ids(first) == contacts
    assert ids(items, deleted=True) == contacts


@pytest.mark.usefixtures("private_contacts")
def test_sharing_rule_change_sends_tombstones_and_new_records(admin, api_as, reader, owner):
    ceo = services.contacts.create(
        actor=owner, data={"last_name": "Boss", "title": "CEO", "owner_id": str(owner.pk)}
    )
    cfo = services.contacts.create(
        actor=owner, data={"last_name": "Money", "title": "CFO", "owner_id": str(owner.pk)}
    )
    rule = SharingRule.objects.create(
        name="CEOs",
        object_type="contact",
        criteria=[{"field": "title", "op": "eq", "value": "CEO"}],
        grantee_type="user",
        grantee_id=reader.pk,
        level="read",
    )
    client = api_as(reader)
    first, cursor = pull_all(client, types="contact")
    events_before = OutboxEvent.objects.count()

    rule.criteria = [{"field": "title", "op": "eq", "value": "CFO"}]
    rule.save()
    items, _ = pull_all(client, cursor, types="contact")

    assert keys(first) == {("contact", str(ceo.pk), False)}
    assert keys(items) == {("contact", str(ceo.pk), True), ("contact", str(cfo.pk), False)}
    assert OutboxEvent.objects.count() == events_before, "no event told of the change"


def test_territory_change_sends_tombstones(api_as, reader, nordics):
    account, contact, territory = nordics
    client = api_as(reader)
    first, cursor = pull_all(client, types="account,contact")

    territory.rules = [{"country": "SE"}]
    territory.save()
    items, _ = pull_all(client, cursor, types="account,contact")

    expected = {("account", str(account.pk)), ("contact", str(contact.pk))}
    assert {(i["object_type"], i["id"]) for i in first} == expected
    assert {(i["object_type"], i["id"]) for i in items} == expected
    assert all(i["deleted"] and i["reason"] == "access" for i in items)


# -- field-level security ------------------------------------------------------------------------


def test_hidden_fields_stay_out_and_a_policy_change_resends(api_as, reader, make_contact):
    role = make_role(name="Reps", hidden=[("contact", "emails")])
    with_role(reader, role)
    contact = make_contact(last_name="Private", emails=["p@example.com"], title="CTO")
    client = api_as(reader)
    first, cursor = pull_all(client, types="contact")

    FieldPermission.objects.filter(role=role).update(field="title")
    visibility.access_model_changed()  # as every write to the access model does
    items, _ = pull_all(client, cursor, types="contact")

    [before] = first
    assert "emails" not in before["record"]
    assert before["record"]["title"] == "CTO"
    [after] = items
    assert after["id"] == str(contact.pk)
    assert after["version"] == before["version"]
    assert "title" not in after["record"]
    assert after["record"]["emails"] == ["p@example.com"]


# -- delivery: the next cursor confirms a page ---------------------------------------------------


def test_a_lost_page_is_made_again_and_an_older_cursor_is_gone(admin, admin_api, make_contact):
    for n in range(4):
        make_contact(last_name=f"Person {n}")
    first = pull(admin_api, limit=2, types="contact")
    lost = pull(admin_api, first["next_cursor"], limit=2, types="contact")

    retry = pull(admin_api, first["next_cursor"], limit=2, types="contact")
    done = pull(admin_api, retry["next_cursor"], limit=2, types="contact")
    stale = admin_api.get("/api/v1/sync", {"cursor": first["next_cursor"], "types": "contact"})

    assert ids(retry["items"]) == ids(lost["items"])
    assert done["items"] == []
    assert not done["has_more"]
    assert stale.status_code == 410, stale.content
    assert "resynchronise fully" in stale.json()["detail"]
    assert SyncHolding.objects.count() == 4


def test_pending_records_count_as_held_only_once_confirmed(admin, admin_api, make_contact):
    make_contact(last_name="Only")
    page = pull(admin_api, types="contact")

    assert SyncHolding.objects.count() == 0
    pull(admin_api, page["next_cursor"], types="contact")
    assert SyncHolding.objects.count() == 1


# -- bad input ---------------------------------------------------------------------------------


def test_a_garbled_cursor_is_a_422(admin_api):
    response = admin_api.get("/api/v1/sync", {"cursor": "not-a-cursor"})

    assert response.status_code == 422, response.content
    assert response.headers["Content-Type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["cursor"]


def test_a_tampered_cursor_is_a_422(admin_api):
    cursor = pull(admin_api)["next_cursor"]
    head, _, signature = cursor.rpartition(":")

    response = admin_api.get("/api/v1/sync", {"cursor": f"{head}:{signature[::-1]}"})

    assert response.status_code == 422, response.content


def test_another_users_cursor_is_forbidden(admin_api, api_as, reader):
    cursor = pull(admin_api)["next_cursor"]

    response = api_as(reader).get("/api/v1/sync", {"cursor": cursor})

    assert response.status_code == 403, response.content
    assert "another user" in response.json()["detail"]


def test_a_cursor_from_the_future_is_a_409(admin_api):
    cursor = sync.Cursor.decode(pull(admin_api)["next_cursor"])
    ahead = sync.Cursor(cursor.replica, cursor.page, cursor.sequence + 5, None, cursor.issued)
    beyond = sync.Cursor(cursor.replica, cursor.page + 3, cursor.sequence, None, cursor.issued)

    for future in (ahead, beyond):
        response = admin_api.get("/api/v1/sync", {"cursor": future.encode()})
        assert response.status_code == 409, response.content
        assert "resynchronise fully" in response.json()["detail"]


def test_an_expired_cursor_is_a_410(admin_api, monkeypatch):
    cursor = pull(admin_api)["next_cursor"]
    later = clock.now() + dt.timedelta(hours=73)
    monkeypatch.setattr(clock, "now", lambda: later)

    response = admin_api.get("/api/v1/sync", {"cursor": cursor})

    assert response.status_code == 410, response.content
    assert response.headers["Content-Type"] == PROBLEM
    assert "resynchronise fully" in response.json()["detail"]


def test_idle_replicas_are_dropped_and_their_cursor_is_gone(admin, admin_api, make_contact):
    make_contact(last_name="Held")
    _, cursor = pull_all(admin_api)
    SyncReplica.objects.update(pulled_at=clock.now() - dt.timedelta(hours=80))

    assert sync.purge_replicas() == 1
    response = admin_api.get("/api/v1/sync", {"cursor": cursor})

    assert SyncHolding.objects.count() == 0
    assert response.status_code == 410, response.content


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"types": "contact,spaceship"}, "types"),
        ({"limit": "0"}, "limit"),
        ({"limit": str(sync.MAX_LIMIT + 1)}, "limit"),
        ({"cursor": "x" * 2001}, "cursor"),
    ],
)
def test_bad_types_and_limits_are_422s(admin_api, params, field):
    response = admin_api.get("/api/v1/sync", params)

    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_token_pulls_only_the_types_its_scopes_allow(admin, api_as, make_contact, make_account):
    contact, account = make_contact(last_name="In"), make_account(name="Out")
    client = api_as(admin, scopes=["sync:read", "contacts:read"])

    items, _ = pull_all(client)
    asked = client.get("/api/v1/sync", {"types": "account"})

    assert keys(items) == {("contact", str(contact.pk), False)}
    assert str(account.pk) not in ids(items)
    assert asked.status_code == 422, asked.content


def test_a_user_keeps_at_most_a_few_replicas(admin_api):
    for _ in range(sync.MAX_REPLICAS + 3):
        pull(admin_api, types="tag")

    assert SyncReplica.objects.count() == sync.MAX_REPLICAS


def test_a_new_replica_gets_everything_again(admin, admin_api, make_contact):
    make_contact(last_name="Twice")
    first, _ = pull_all(admin_api, types="contact")
    second, _ = pull_all(admin_api, types="contact")

    assert ids(first) == ids(second)
    assert len(first) == 1
    assert Account.objects.count() == 0

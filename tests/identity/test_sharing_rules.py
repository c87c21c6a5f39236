"""Sharing rules and manual shares: they only ever widen access, take effect on the next
request through the same lists everyone reads, and bad rules are refused whole."""

from __future__ import annotations

import pytest

from accord.identity.models import RecordShare, SharingDefault, SharingRule, Team

from .access_factories import (
    PROBLEM,
    access_state,
    error_fields,
    events,
    make_role,
    with_role,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

UNKNOWN = "0190a000-0000-7000-8000-000000000000"


@pytest.fixture(autouse=True)
def private_contacts(db):
    SharingDefault.objects.create(object_type="contact", access="private")


@pytest.fixture
def manager(make_user):
    return with_role(make_user(username="manager"), make_role(name="Admins", manages_access=True))


@pytest.fixture
def team(reader):
    team = Team.objects.create(name="Key accounts")
    team.members.add(reader)
    return team


def _ids(client, path="/api/v1/contacts"):
    response = client.get(path, {"limit": 200})
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def _rule(team, **overrides):
    return {
        "name": "CEOs to key accounts",
        "object_type": "contact",
        "criteria": [{"field": "title", "op": "eq", "value": "CEO"}],
        "grantee_type": "team",
        "grantee_id": str(team.pk),
        **overrides,
    }


def test_a_sharing_rule_widens_what_a_user_sees(manager, owner, reader, team, make_contact, api_as):
    ceo = make_contact(last_name="Boss", title="CEO", owner=owner)
    make_contact(last_name="Clerk", title="Clerk", owner=owner)
    client = api_as(reader)
    assert _ids(client) == set()

    created = api_as(manager).post("/api/v1/sharing-rules", _rule(team))
    assert created.status_code == 201, created.content
    assert _ids(client) == {str(ceo.pk)}
    assert client.get(f"/api/v1/contacts/{ceo.pk}").status_code == 200
    denied = client.patch(f"/api/v1/contacts/{ceo.pk}", {"title": "Chair"}, if_match='"1"')
    assert denied.status_code == 403  # a read rule does not let them edit

    rule_id = created.json()["id"]
    api_as(manager).patch(f"/api/v1/sharing-rules/{rule_id}", {"level": "read_write"})
    edited = client.patch(f"/api/v1/contacts/{ceo.pk}", {"title": "Chair"}, if_match='"1"')
    assert edited.status_code == 200, edited.content

    api_as(manager).patch(f"/api/v1/sharing-rules/{rule_id}", {"active": False})
    assert _ids(client) == set()
    actions = [e.details["action"] for e in events("sharing_rule_changed", outcome="success")]
    assert actions == ["create", "change", "change"]


def test_a_rule_for_a_role_and_below_reaches_the_roles_under_it(
    manager, owner, make_user, make_contact, api_as
):
    top = make_role(name="Marketing lead")
    below = make_role(name="Marketing user", parent=top)
    beside = make_role(name="Service agent")
    member_below = with_role(make_user(), below)
    member_beside = with_role(make_user(), beside)
    contact = make_contact(title="CEO", owner=owner)
    rule = {
        "name": "CEOs to marketing",
        "object_type": "contact",
        "criteria": [{"field": "title", "op": "in", "value": ["CEO", "CFO"]}],
        "grantee_type": "role_and_below",
        "grantee_id": str(top.pk),
    }
    assert api_as(manager).post("/api/v1/sharing-rules", rule).status_code == 201
    assert _ids(api_as(member_below)) == {str(contact.pk)}
    assert _ids(api_as(member_beside)) == set()


@pytest.mark.parametrize(
    ("criteria", "fields"),
    [
        ([{"field": "shoe_size", "op": "eq", "value": 42}], ["criteria[0].field"]),
        ([{"field": "title", "op": "like", "value": "C%"}], ["criteria[0].op"]),
        ([{"field": "created_at", "op": "gt", "value": "yesterday"}], ["criteria[0].value"]),
        ([{"field": "title", "op": "in", "value": "CEO"}], ["criteria[0].value"]),
        ([{"field": "title", "value": "CEO", "extra": 1}], ["criteria[0]"]),
    ],
)
def test_invalid_criteria_are_refused_whole_and_logged(
    manager, team, api_as, db_state, criteria, fields
):
    before, records = access_state(), db_state()
    response = api_as(manager).post("/api/v1/sharing-rules", _rule(team, criteria=criteria))
    assert (response.status_code, response.headers["Content-Type"]) == (422, PROBLEM)
    assert error_fields(response) == fields
    assert (access_state(), db_state()) == (before, records)
    [failed] = events("sharing_rule_changed", outcome="failed")
    assert failed.actor == manager
    assert failed.details["errors"][0]["field"] == fields[0]


def test_empty_criteria_unknown_grantee_and_ownerless_types_are_refused(manager, team, api_as):
    client = api_as(manager)
    empty = client.post("/api/v1/sharing-rules", _rule(team, criteria=[]))
    assert (empty.status_code, error_fields(empty)) == (422, ["criteria"])
    nobody = client.post("/api/v1/sharing-rules", _rule(team, grantee_id=UNKNOWN))
    assert (nobody.status_code, error_fields(nobody)) == (422, ["grantee_id"])
    wrong_kind = client.post("/api/v1/sharing-rules", _rule(team, grantee_type="role"))
    assert (wrong_kind.status_code, error_fields(wrong_kind)) == (422, ["grantee_id"])
    tags = client.post(
        "/api/v1/sharing-rules",
        _rule(team, object_type="tag", criteria=[{"field": "name", "value": "vip"}]),
    )
    assert (tags.status_code, error_fields(tags)) == (422, ["object_type"])
    planet = client.post("/api/v1/sharing-rules", _rule(team, object_type="planet"))
    assert (planet.status_code, error_fields(planet)) == (422, ["object_type"])
    assert not SharingRule.objects.exists()


def test_changing_the_object_type_revalidates_the_criteria(manager, team, api_as):
    rule = api_as(manager).post("/api/v1/sharing-rules", _rule(team)).json()
    moved = api_as(manager).patch(f"/api/v1/sharing-rules/{rule['id']}", {"object_type": "deal"})
    assert (moved.status_code, error_fields(moved)) == (422, ["criteria[0].field"])
    assert SharingRule.objects.get(pk=rule["id"]).object_type == "contact"


def test_non_managers_cannot_read_or_write_sharing_rules(reader, team, api_as):
    client = api_as(reader)
    assert client.post("/api/v1/sharing-rules", _rule(team)).status_code == 403
    assert client.get("/api/v1/sharing-rules").status_code == 403
    assert not SharingRule.objects.exists()
    assert events("sharing_rule_changed", outcome="denied")


def test_a_team_a_rule_grants_to_cannot_be_deleted(manager, team, api_as):
    api_as(manager).post("/api/v1/sharing-rules", _rule(team))
    assert api_as(manager).delete(f"/api/v1/teams/{team.pk}").status_code == 409
    rule = SharingRule.objects.get()
    assert api_as(manager).delete(f"/api/v1/sharing-rules/{rule.pk}").status_code == 204
    assert api_as(manager).delete(f"/api/v1/teams/{team.pk}").status_code == 204


def test_sharing_rules_list_filters_by_object_type(manager, team, api_as):
    client = api_as(manager)
    client.post("/api/v1/sharing-rules", _rule(team))
    listed = client.get("/api/v1/sharing-rules", {"object_type": "contact"}).json()["items"]
    assert [r["name"] for r in listed] == ["CEOs to key accounts"]
    assert client.get("/api/v1/sharing-rules", {"object_type": "deal"}).json()["items"] == []


# -- manual shares ---------------------------------------------------------------------------


def test_the_owner_shares_one_record_with_a_user_and_unshares_it(
    owner, reader, make_contact, api_as
):
    contact = make_contact(last_name="Secret", owner=owner)
    other = make_contact(last_name="Other", owner=owner)
    share = api_as(owner).post(
        "/api/v1/record-shares",
        {"object_type": "contact", "record_id": str(contact.pk), "user_id": str(reader.pk)},
    )
    assert share.status_code == 201, share.content
    assert _ids(api_as(reader)) == {str(contact.pk)}
    assert api_as(reader).get(f"/api/v1/contacts/{other.pk}").status_code == 404

    listed = api_as(owner).get(
        "/api/v1/record-shares", {"object_type": "contact", "record_id": str(contact.pk)}
    )
    assert [s["user_id"] for s in listed.json()["items"]] == [str(reader.pk)]
    [event] = events("record_shared")
    assert (event.actor, event.details["record_id"]) == (owner, str(contact.pk))

    gone = api_as(owner).delete(f"/api/v1/record-shares/{share.json()['id']}")
    assert gone.status_code == 204
    assert _ids(api_as(reader)) == set()
    assert events("record_unshared")


def test_sharing_with_a_team_at_read_write_lets_members_edit(
    owner, reader, team, make_contact, api_as
):
    contact = make_contact(owner=owner)
    response = api_as(owner).post(
        "/api/v1/record-shares",
        {
            "object_type": "contact",
            "record_id": str(contact.pk),
            "team_id": str(team.pk),
            "level": "read_write",
        },
    )
    assert response.status_code == 201, response.content
    edited = api_as(reader).patch(
        f"/api/v1/contacts/{contact.pk}", {"title": "CTO"}, if_match='"1"'
    )
    assert edited.status_code == 200, edited.content


def test_only_owner_editors_and_managers_share_and_hidden_records_are_404(
    owner, reader, manager, make_user, make_contact, api_as
):
    contact = make_contact(owner=owner)
    body = {"object_type": "contact", "record_id": str(contact.pk), "user_id": str(reader.pk)}
    stranger = make_user(username="stranger")
    hidden = api_as(stranger).post("/api/v1/record-shares", body)
    assert (hidden.status_code, hidden.headers["Content-Type"]) == (404, PROBLEM)

    # The reader sees the record through a read share, but may not pass it on.
    RecordShare.objects.create(object_type="contact", record_id=contact.pk, user=reader)
    passed_on = api_as(reader).post("/api/v1/record-shares", {**body, "user_id": str(stranger.pk)})
    assert passed_on.status_code == 403
    listing = api_as(reader).get(
        "/api/v1/record-shares", {"object_type": "contact", "record_id": str(contact.pk)}
    )
    assert listing.status_code == 403
    assert events("record_shared", outcome="denied")
    assert RecordShare.objects.count() == 1


def test_bad_share_requests_are_refused(owner, reader, team, make_contact, api_as):
    contact = make_contact(owner=owner)
    client = api_as(owner)
    base = {"object_type": "contact", "record_id": str(contact.pk)}
    both = client.post(
        "/api/v1/record-shares", {**base, "user_id": str(reader.pk), "team_id": str(team.pk)}
    )
    assert (both.status_code, error_fields(both)) == (422, ["user_id"])
    neither = client.post("/api/v1/record-shares", base)
    assert neither.status_code == 422
    nobody = client.post("/api/v1/record-shares", {**base, "user_id": UNKNOWN})
    assert (nobody.status_code, error_fields(nobody)) == (422, ["user_id"])
    unknown_record = client.post(
        "/api/v1/record-shares", {**base, "record_id": UNKNOWN, "user_id": str(reader.pk)}
    )
    assert unknown_record.status_code == 404
    client.post("/api/v1/record-shares", {**base, "user_id": str(reader.pk)})
    again = client.post("/api/v1/record-shares", {**base, "user_id": str(reader.pk)})
    assert again.status_code == 409
    assert RecordShare.objects.count() == 1

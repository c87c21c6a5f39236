"""A record's timeline merges its field changes and its activities, newest first."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.activities import queries
from accord.core import clock
from accord.core.errors import InvalidInput, NotFound
from accord.core.models import Source
from accord.identity.models import SharingDefault
from accord.parties import services as parties_services

from .conftest import START

HOUR = dt.timedelta(hours=1)
PROBLEM = "application/problem+json"


def _kinds(entries):
    return [e.kind for e in entries]


@pytest.fixture
def busy_contact(admin, make_contact, create_activity):
    """A contact with two changes and one activity of each kind, at known times."""
    with clock.frozen(START):
        contact = make_contact()
        clock.advance(HOUR)
        create_activity("note", contact, body="Met at the fair")
        create_activity("call", contact, occurred_at=(START + HOUR / 2).isoformat())
        create_activity(
            "meeting",
            contact,
            starts_at=(START + 72 * HOUR).isoformat(),
            ends_at=(START + 73 * HOUR).isoformat(),
        )
        create_activity("email_log", contact, sent_at=(START + 1.5 * HOUR).isoformat())
        clock.advance(HOUR)
        parties_services.contacts.update(
            actor=admin,
            record_id=contact.pk,
            data={"title": "CEO"},
            expected_version=1,
            source=Source.IMPORT,
        )
        clock.advance(HOUR / 2)
        create_activity("task", contact, subject="Send the quote")
    return contact


def test_timeline_merges_changes_and_activities_newest_first(admin, busy_contact):
    entries, next_cursor = queries.timeline(admin, "contact", busy_contact.pk)
    assert next_cursor is None
    assert _kinds(entries) == [
        "meeting",  # starts in three days
        "task",  # created at +2.5 h
        "change",  # title changed at +2 h
        "email_log",  # sent at +1.5 h
        "note",  # created at +1 h
        "call",  # occurred at +0.5 h
        "change",  # the contact was created
    ]
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    update, created = entries[2].change, entries[-1].change
    assert update == {
        "verb": "updated",
        "changes": {"title": ["", "CEO"]},
        "actor_id": admin.pk,
        "actor_name": "admin",
        "source": "import",
        "version": 2,
    }
    assert (created["verb"], created["source"], created["version"]) == ("created", "api", 1)
    assert entries[1].activity["summary"] == "Send the quote"
    assert entries[1].activity["details"]["status"] == "open"
    assert entries[4].activity["summary"] == "Met at the fair"


def test_timeline_pages_are_stable_across_ties_and_new_entries(admin, contact, create_activity):
    with clock.frozen(START):
        # Same created_at for all: the id breaks the tie.
        for n in range(7):
            create_activity("note", contact, body=f"note {n}")
    everything, _ = queries.timeline(admin, "contact", contact.pk, limit=50)
    assert len(everything) == 8

    seen, cursor = [], None
    while True:
        page, cursor = queries.timeline(admin, "contact", contact.pk, cursor=cursor, limit=3)
        seen += page
        if cursor is None:
            break
        # Something newer arriving mid-way never shifts the pages still to come.
        create_activity("note", contact, body="late")
    assert [e.id for e in seen] == [e.id for e in everything]


def test_timeline_of_a_hidden_or_deleted_record_is_not_found(admin, make_user, make_contact):
    SharingDefault.objects.create(object_type="contact", access="private")
    member = make_user()
    hidden = make_contact(owner=admin)
    with pytest.raises(NotFound):
        queries.timeline(member, "contact", hidden.pk)
    own = make_contact(owner=member)
    parties_services.contacts.delete(actor=member, record_id=own.pk, expected_version=1)
    with pytest.raises(NotFound):
        queries.timeline(member, "contact", own.pk)
    with pytest.raises(NotFound):
        queries.timeline(admin, "planet", own.pk)


def test_timeline_leaves_out_activities_the_user_cannot_see(
    admin, make_user, contact, create_activity
):
    SharingDefault.objects.create(object_type="note", access="private")
    reader, writer = make_user(), make_user()
    mine = create_activity("note", contact, actor=reader, body="mine")
    create_activity("note", contact, actor=writer, body="not yours")
    call = create_activity("call", contact, actor=writer)

    entries, _ = queries.timeline(reader, "contact", contact.pk)
    assert {e.id for e in entries if e.kind != "change"} == {mine.pk, call.pk}
    everything, _ = queries.timeline(admin, "contact", contact.pk)
    assert len([e for e in everything if e.kind == "note"]) == 2


def test_timeline_refuses_malformed_cursor_and_limit(admin, contact):
    with pytest.raises(InvalidInput) as exc:
        queries.timeline(admin, "contact", contact.pk, cursor="bm90IGpzb24")
    assert exc.value.errors[0].field == "cursor"
    with pytest.raises(InvalidInput):
        queries.timeline(admin, "contact", contact.pk, limit=0)


def test_timeline_endpoint_for_any_record_collection(admin_api, busy_contact, account):
    response = admin_api.get(f"/api/v1/contacts/{busy_contact.pk}/timeline", {"limit": 4})
    assert response.status_code == 200, response.content
    page = response.json()
    assert [e["kind"] for e in page["items"]] == ["meeting", "task", "change", "email_log"]
    assert page["items"][2]["change"]["changes"] == {"title": ["", "CEO"]}
    assert page["items"][2]["activity"] is None
    rest = admin_api.get(
        f"/api/v1/contacts/{busy_contact.pk}/timeline", {"cursor": page["next_cursor"]}
    ).json()
    assert [e["kind"] for e in rest["items"]] == ["note", "call", "change"]
    assert rest["next_cursor"] is None

    account_timeline = admin_api.get(f"/api/v1/accounts/{account.pk}/timeline").json()
    assert [e["change"]["verb"] for e in account_timeline["items"]] == ["created"]


def test_timeline_endpoint_does_not_shadow_item_routes(admin_api, contact, create_activity):
    assert admin_api.get(f"/api/v1/contacts/{contact.pk}").json()["id"] == str(contact.pk)
    email = create_activity("email_log", contact)
    own = admin_api.get(f"/api/v1/email-logs/{email.pk}/timeline")
    assert [e["change"]["verb"] for e in own.json()["items"]] == ["created"]


def test_timeline_endpoint_answers_problems(admin_api, api_as, make_user, make_contact, contact):
    for url in (
        f"/api/v1/planets/{contact.pk}/timeline",
        "/api/v1/contacts/not-a-uuid/timeline",
    ):
        response = admin_api.get(url)
        assert (response.status_code, response.headers["Content-Type"]) == (404, PROBLEM)
    bad = admin_api.get(f"/api/v1/contacts/{contact.pk}/timeline", {"limit": 500})
    assert (bad.status_code, [e["field"] for e in bad.json()["errors"]]) == (422, ["limit"])

    SharingDefault.objects.create(object_type="contact", access="private")
    member = make_user()
    hidden = api_as(member).get(f"/api/v1/contacts/{contact.pk}/timeline")
    assert (hidden.status_code, hidden.headers["Content-Type"]) == (404, PROBLEM)


def test_timeline_needs_the_timeline_scope(api_as, admin, contact):
    url = f"/api/v1/contacts/{contact.pk}/timeline"
    assert api_as(admin, scopes=["timeline:read"]).get(url).status_code == 200
    assert api_as(admin, scopes=["contacts:read"]).get(url).status_code == 403

"""Field history by API (``/{collection}/{id}/history``) and the masking of hidden fields in
it and in the timeline: a hidden field never appears to a role that may not see it."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.activities import queries
from accord.activities import services as activity_services
from accord.core import clock
from accord.core.models import HistoryEntry, Source
from accord.identity.models import SharingDefault
from accord.parties import services as parties_services

from .access_factories import ALL, PROBLEM, error_fields, make_role, with_role

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

START = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def tier(admin):
    return parties_services.custom_fields.create(
        actor=admin, data={"record_type": "contact", "key": "tier", "label": "Tier", "type": "text"}
    )


@pytest.fixture
def contact(admin, tier):
    """A contact created, then changed three times a minute apart: title, tier, both."""
    with clock.frozen(START):
        contact = parties_services.contacts.create(actor=admin, data={"last_name": "Lovelace"})
        for version, data in enumerate(
            (
                {"title": "CTO"},
                {"custom_fields": {"tier": "gold"}},
                {"title": "CEO", "first_name": "Ada"},
            ),
            start=1,
        ):
            clock.advance(MINUTE)
            contact = parties_services.contacts.update(
                actor=admin,
                record_id=contact.pk,
                data=data,
                expected_version=version,
                source=Source.API,
            )
    return contact


@pytest.fixture
def restricted(make_user):
    """Someone whose role may use contacts but sees neither their title nor their tier."""
    role = make_role(
        name="Service agent",
        permissions={"contact": ALL},
        hidden=[("contact", "title"), ("contact", "custom_fields.tier")],
    )
    return with_role(make_user(username="agent"), role)


def _history(client, contact, **params):
    response = client.get(f"/api/v1/contacts/{contact.pk}/history", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_history_lists_each_change_newest_first_with_pages(admin_api, contact):
    first = _history(admin_api, contact, limit=2)
    assert [e["version"] for e in first["items"]] == [4, 3]
    assert first["items"][0]["changes"] == {"title": ["CTO", "CEO"], "first_name": ["", "Ada"]}
    assert first["items"][0]["actor_name"] == "admin"
    rest = _history(admin_api, contact, limit=2, cursor=first["next_cursor"])
    assert [e["verb"] for e in rest["items"]] == ["updated", "created"]
    assert rest["next_cursor"] is None


def test_history_filters_by_field_and_custom_field(admin_api, contact):
    titles = _history(admin_api, contact, field="title")["items"]
    assert [e["version"] for e in titles] == [4, 2]
    assert titles[1]["changes"] == {"title": ["", "CTO"]}
    tiers = _history(admin_api, contact, field="custom_fields.tier")["items"]
    assert [e["version"] for e in tiers] == [3]
    assert _history(admin_api, contact, field="website")["items"] == []


def test_hidden_fields_never_appear_in_history(api_as, restricted, contact):
    items = _history(api_as(restricted), contact)["items"]
    # version 2 changed the title only and version 3 the hidden tier only: both left out.
    assert [e["version"] for e in items] == [4, 1]
    assert items[0]["changes"] == {"first_name": ["", "Ada"]}
    created = items[1]["changes"]
    assert "title" not in created
    assert "tier" not in str(created)


def test_filtering_history_by_a_hidden_field_is_refused(api_as, restricted, contact):
    for field in ("title", "custom_fields.tier"):
        response = api_as(restricted).get(
            f"/api/v1/contacts/{contact.pk}/history", {"field": field}
        )
        assert (response.status_code, error_fields(response)) == (403, ["field"])


def test_hidden_fields_never_appear_in_the_timeline(api_as, restricted, contact):
    response = api_as(restricted).get(f"/api/v1/contacts/{contact.pk}/timeline")
    assert response.status_code == 200, response.content
    changes = [e["change"] for e in response.json()["items"] if e["kind"] == "change"]
    assert [c["version"] for c in changes] == [4, 1]
    assert "title" not in str(changes)
    assert "gold" not in str(changes)


def test_a_custom_field_change_keeps_only_the_visible_keys(admin, make_user, tier, contact):
    parties_services.custom_fields.create(
        actor=admin, data={"record_type": "contact", "key": "shoe", "label": "Shoe", "type": "text"}
    )
    parties_services.contacts.update(
        actor=admin,
        record_id=contact.pk,
        data={"custom_fields": {"tier": "platinum", "shoe": "42"}},
        expected_version=4,
    )
    role = make_role(
        name="Shoe seller",
        permissions={"contact": ALL},
        hidden=[("contact", "custom_fields.tier")],
    )
    seller = with_role(make_user(username="seller"), role)
    [latest, *_] = queries.history(seller, "contact", contact.pk)[0]
    assert latest.changes == {"custom_fields": [{}, {"shoe": "42"}]}


def test_copied_history_hides_the_source_type_s_fields(api_as, make_user, contact):
    HistoryEntry.objects.create(
        object_type="contact",
        object_id=contact.pk,
        version=1,
        verb="lead_updated",
        changes={"score": [10, 90], "status": ["new", "qualified"]},
        source=Source.API,
        at=START - MINUTE,
    )
    role = make_role(
        name="Marketing user",
        permissions={"contact": ALL, "lead": ALL},
        hidden=[("lead", "score")],
    )
    marketer = with_role(make_user(username="marketer"), role)
    copied = _history(api_as(marketer), contact)["items"][-1]
    assert (copied["verb"], copied["changes"]) == ("lead_updated", {"status": ["new", "qualified"]})


def test_hidden_activity_fields_leave_the_timeline(api_as, admin, make_user, contact):
    activity_services.tasks.create(
        actor=admin,
        data={
            "related_type": "contact",
            "related_id": str(contact.pk),
            "subject": "Discuss the merger",
            "priority": "high",
        },
    )
    role = make_role(
        name="Assistant",
        permissions={"contact": ALL, "task": ALL},
        hidden=[("task", "subject"), ("task", "priority")],
    )
    assistant = with_role(make_user(username="assistant"), role)
    items = api_as(assistant).get(f"/api/v1/contacts/{contact.pk}/timeline").json()["items"]
    [task] = [e["activity"] for e in items if e["kind"] == "task"]
    assert task["summary"] == "Task"
    assert "priority" not in task["details"]
    assert "merger" not in str(items)


def test_history_of_a_hidden_or_unknown_record_is_404(api_as, make_user, contact, admin_api):
    SharingDefault.objects.create(object_type="contact", access="private")
    stranger = make_user(username="stranger")
    for client, url in (
        (api_as(stranger), f"/api/v1/contacts/{contact.pk}/history"),
        (admin_api, "/api/v1/contacts/0190a000-0000-7000-8000-000000000000/history"),
        (admin_api, f"/api/v1/planets/{contact.pk}/history"),
        (admin_api, "/api/v1/contacts/not-an-id/history"),
    ):
        response = client.get(url)
        assert (response.status_code, response.headers["Content-Type"]) == (404, PROBLEM), url


def test_history_needs_the_history_scope(api_as, admin, contact):
    url = f"/api/v1/contacts/{contact.pk}/history"
    assert api_as(admin, scopes=["history:read"]).get(url).status_code == 200
    assert api_as(admin, scopes=["contacts:read"]).get(url).status_code == 403


def test_history_refuses_a_malformed_cursor_and_limit(admin_api, contact):
    url = f"/api/v1/contacts/{contact.pk}/history"
    bad_cursor = admin_api.get(url, {"cursor": "bm90IGpzb24"})
    assert (bad_cursor.status_code, error_fields(bad_cursor)) == (422, ["cursor"])
    assert admin_api.get(url, {"limit": 0}).status_code == 422

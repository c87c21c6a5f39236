"""``GET /api/v1/events``: sequenced events in order with a resumable cursor, only about records
the caller may see now and without the fields they may not see; bad cursors and types are clear
4xx, a cursor older than retention is a 410. ``GET /api/v1/events/status`` for administrators."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tests.identity.access_factories import ALL, make_role, with_role

from accord.core import clock
from accord.core.models import OutboxEvent
from accord.core.tasks import purge_type
from accord.identity.models import Access, SharingDefault
from accord.integration import sequencer
from accord.integration.models import Destination
from accord.integration.tasks import purge_outbox
from accord.parties import services
from accord.parties.models import Contact

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PROBLEM = "application/problem+json"


def _sequence() -> None:
    assert sequencer.hold("test", seconds=60)
    while sequencer.number("test", batch=1000):
        pass


def _events(client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/events", params)
    assert response.status_code == 200, response.content
    return response.json()


def _contacts(actor, count: int, *, prefix: str = "Person") -> list[Contact]:
    return [
        services.contacts.create(actor=actor, data={"last_name": f"{prefix} {n}"})
        for n in range(count)
    ]


def test_events_come_in_sequence_order_and_the_cursor_resumes(admin, admin_api):
    made = _contacts(admin, 5)
    _sequence()

    first = _events(admin_api, limit=2)
    second = _events(admin_api, limit=2, after=first["next_cursor"])
    third = _events(admin_api, limit=2, after=second["next_cursor"])
    idle = _events(admin_api, limit=2, after=third["next_cursor"])

    pages = [first, second, third]
    assert [[e["sequence"] for e in p["items"]] for p in pages] == [[1, 2], [3, 4], [5]]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert (idle["items"], idle["next_cursor"], idle["has_more"]) == ([], "5", False)
    event = first["items"][0]
    stored = OutboxEvent.objects.get(sequence=1)
    assert event == {**stored.envelope, "sequence": 1}
    assert event["subject"] == f"contact/{made[0].pk}"
    assert event["type"] == "accord.contact.created"


def test_events_without_a_sequence_number_are_not_served_yet(admin, admin_api):
    _contacts(admin, 2)
    _sequence()
    _contacts(admin, 1, prefix="Late")

    page = _events(admin_api)

    assert [e["sequence"] for e in page["items"]] == [1, 2]
    assert page["next_cursor"] == "2"


def test_types_filter_by_exact_type_and_by_object(admin, admin_api, make_account):
    contact = _contacts(admin, 1)[0]
    make_account(name="Acme")
    services.contacts.update(
        actor=admin, record_id=contact.pk, data={"title": "CTO"}, expected_version=None
    )
    _sequence()

    updated = _events(admin_api, types="accord.contact.updated")["items"]
    contacts = _events(admin_api, types="accord.contact.*")["items"]
    either = _events(admin_api, types="accord.account.created, accord.contact.updated")["items"]

    assert [e["type"] for e in updated] == ["accord.contact.updated"]
    assert [e["type"] for e in contacts] == ["accord.contact.created", "accord.contact.updated"]
    assert [e["type"] for e in either] == ["accord.account.created", "accord.contact.updated"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "abc"}, "after"),
        ({"after": "-1"}, "after"),
        ({"after": "1e3"}, "after"),
        ({"after": "99999999999999999999"}, "after"),
        ({"types": "contact.updated"}, "types"),
        ({"types": "accord.spaceship.created"}, "types"),
        ({"types": "accord.contact.up-dated"}, "types"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
    ],
)
def test_malformed_cursors_types_and_limits_are_clear_422s(admin_api, params, field):
    response = admin_api.get("/api/v1/events", params)

    assert response.status_code == 422, response.content
    assert response.headers["Content-Type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_cursor_from_the_future_is_refused(admin, admin_api):
    _contacts(admin, 2)
    _sequence()

    response = admin_api.get("/api/v1/events", {"after": "3"})

    assert response.status_code == 422
    assert "ahead of the newest event (2)" in response.json()["detail"]
    assert _events(admin_api, after="2")["items"] == []


def test_a_cursor_older_than_retention_answers_410_asking_for_a_full_resync(admin, admin_api):
    with clock.frozen(dt.datetime.now(dt.UTC) - dt.timedelta(days=4)):
        _contacts(admin, 3, prefix="Old")
    _contacts(admin, 1, prefix="New")
    _sequence()
    Destination.objects.create(name="nats:ACCORD", kind="nats", position=4)
    assert purge_outbox() == 3

    response = admin_api.get("/api/v1/events", {"after": "2"})

    assert response.status_code == 410
    assert response.headers["Content-Type"] == PROBLEM
    assert "resynchronise fully" in response.json()["detail"]
    assert [e["sequence"] for e in _events(admin_api, after="3")["items"]] == [4]
    assert [e["sequence"] for e in _events(admin_api)["items"]] == [4], "default: oldest kept"


def test_only_events_of_records_the_caller_may_see_now_are_served(make_user, api_as, admin):
    SharingDefault.objects.update_or_create(
        object_type="contact", defaults={"access": Access.PRIVATE}
    )
    alice, bob = make_user(username="alice"), make_user(username="bob")
    alices = _contacts(alice, 2, prefix="Alice's")
    bobs = _contacts(bob, 1, prefix="Bob's")
    _sequence()

    page = _events(api_as(bob))

    assert [e["subject"] for e in page["items"]] == [f"contact/{bobs[0].pk}"]
    assert page["next_cursor"] == "3", "the cursor moves past what bob may not see"

    # Visibility is decided now: once the record is bob's, its whole history is his to read.
    services.contacts.update(
        actor=admin,
        record_id=alices[0].pk,
        data={"owner_id": str(bob.pk)},
        expected_version=None,
    )
    _sequence()
    subjects = [e["subject"] for e in _events(api_as(bob))["items"]]
    assert subjects == [
        f"contact/{alices[0].pk}",
        f"contact/{bobs[0].pk}",
        f"contact/{alices[0].pk}",
    ]
    assert [e["subject"] for e in _events(api_as(alice))["items"]] == [f"contact/{alices[1].pk}"]


def test_a_page_of_invisible_events_still_moves_the_cursor_on(make_user, api_as):
    SharingDefault.objects.update_or_create(
        object_type="contact", defaults={"access": Access.PRIVATE}
    )
    alice, bob = make_user(username="alice"), make_user(username="bob")
    _contacts(alice, 4)
    mine = _contacts(bob, 1)
    _sequence()

    first = _events(api_as(bob), limit=2)

    assert [e["subject"] for e in first["items"]] == [f"contact/{mine[0].pk}"]
    assert first["next_cursor"] == "5"
    assert first["has_more"] is False


def test_hidden_fields_are_left_out_of_the_record_and_its_changes(make_user, api_as, admin):
    role = make_role(name="Agent", permissions={"contact": ALL}, hidden=[("contact", "title")])
    agent = with_role(make_user(username="agent"), role)
    contact = services.contacts.create(actor=admin, data={"last_name": "Lovelace", "title": "CTO"})
    services.contacts.update(
        actor=admin,
        record_id=contact.pk,
        data={"title": "CEO", "first_name": "Ada"},
        expected_version=None,
    )
    _sequence()

    created, updated = _events(api_as(agent))["items"]
    full = _events(api_as(admin))["items"]

    assert "title" not in created["data"]["record"]
    assert "title" not in created["data"]["changed"]
    assert created["data"]["record"]["last_name"] == "Lovelace"
    assert updated["data"]["changed"] == {"first_name": ["", "Ada"]}
    assert full[1]["data"]["changed"]["title"] == ["CTO", "CEO"]
    assert full[1]["data"]["record"]["title"] == "CEO"


def test_a_purged_record_leaves_only_its_purge_event_for_readers_of_its_type(
    make_user, api_as, admin
):
    reader = make_user(username="reader")
    contact = _contacts(admin, 1)[0]
    with clock.frozen(dt.datetime.now(dt.UTC) - dt.timedelta(days=30)):
        services.contacts.delete(actor=admin, record_id=contact.pk, expected_version=None)
    assert purge_type(Contact) == 1
    _sequence()

    seen = [e["type"] for e in _events(api_as(reader))["items"]]
    everything = [e["type"] for e in _events(api_as(admin))["items"]]

    assert seen == ["accord.contact.purged"]
    assert everything == [
        "accord.contact.created",
        "accord.contact.deleted",
        "accord.contact.purged",
    ]


def test_reading_events_needs_the_events_scope(admin, api_as):
    _contacts(admin, 1)
    _sequence()

    assert api_as(admin, scopes=["contacts:read"]).get("/api/v1/events").status_code == 403
    assert api_as(admin, scopes=["events:read"]).get("/api/v1/events").status_code == 200
    assert api_as(None).get("/api/v1/events").status_code == 401


def test_status_shows_backlog_lease_and_destination_lag_to_administrators(
    admin, admin_api, make_user, api_as
):
    _contacts(admin, 3)
    _sequence()
    _contacts(admin, 2, prefix="Waiting")
    Destination.objects.create(name="nats:ACCORD", kind="nats", position=1)

    response = admin_api.get("/api/v1/events/status")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["last_sequence"] == 3
    assert body["unsequenced"] == 2
    assert body["oldest_unsequenced_at"] is not None
    assert (body["holder"], body["lease_held"]) == ("test", True)
    [nats] = body["destinations"]
    assert (nats["name"], nats["position"], nats["lag_events"]) == ("nats:ACCORD", 1, 2)
    assert nats["lag_seconds"] >= 0
    staff = make_user(username="staff")
    assert api_as(staff).get("/api/v1/events/status").status_code == 403
    keeper = with_role(
        make_user(username="keeper"), make_role(name="Access admin", manages_access=True)
    )
    assert api_as(keeper).get("/api/v1/events/status").status_code == 200

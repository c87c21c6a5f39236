"""The activity collections keep the API contract: problem+json, ETag/If-Match, filters."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from accord.core.models import OutboxEvent
from accord.identity.models import SharingDefault

from .conftest import COLLECTIONS, KINDS, SERVICES, START, body_for

PROBLEM = "application/problem+json"

#: One invalid field per kind, caught either by the schema or by the service.
BAD_INPUT = {
    "task": {"status": "finished"},
    "note": {"body": ""},
    "call": {"duration_seconds": -5},
    "meeting": {"ends_at": (START - dt.timedelta(minutes=5)).isoformat()},
    "email_log": {"from_address": "not an address"},
}


def _written(kind: str) -> tuple[int, int]:
    model = SERVICES[kind].model
    return model.all_objects.count(), OutboxEvent.objects.filter(object_type=kind).count()


def _fields(response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize("kind", KINDS)
def test_activity_round_trip_keeps_etag_contract(kind, admin_api, admin, contact, account):
    url = f"/api/v1/{COLLECTIONS[kind]}"
    created = admin_api.post(url, body_for(kind, contact))
    assert created.status_code == 201, created.content
    body = created.json()
    item = f"{url}/{body['id']}"
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == item
    assert (body["related_type"], body["related_id"]) == ("contact", str(contact.pk))
    assert body["owner_id"] == str(admin.pk)

    read = admin_api.get(item)
    assert (read.status_code, read.headers["ETag"]) == (200, '"1"')
    assert read.json() == body

    move = {"related_type": "account", "related_id": str(account.pk)}
    assert admin_api.patch(item, move).status_code == 428
    updated = admin_api.patch(item, move, if_match='"1"')
    assert (updated.status_code, updated.headers["ETag"]) == (200, '"2"')
    assert updated.json()["related_type"] == "account"
    stale = admin_api.patch(item, {"related_type": "contact"}, if_match='"1"')
    assert (stale.status_code, stale.json()["current_version"]) == (412, 2)
    assert admin_api.patch(item, {"owner_id": None}, if_match="*").status_code == 422

    assert admin_api.delete(item, if_match='"1"').status_code == 412
    assert admin_api.delete(item, if_match='"2"').status_code == 204
    gone = admin_api.get(item)
    assert (gone.status_code, gone.headers["Content-Type"]) == (404, PROBLEM)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(kind, admin_api, contact):
    url = f"/api/v1/{COLLECTIONS[kind]}"
    cases = [
        (BAD_INPUT[kind], next(iter(BAD_INPUT[kind]))),
        ({"related_id": str(uuid.uuid4())}, "related_id"),
        ({"related_type": "planet"}, "related_type"),
        ({"colour": "red"}, "colour"),
    ]
    for fields, name in cases:
        response = admin_api.post(url, body_for(kind, contact, **fields))
        assert response.status_code == 422, (fields, response.content)
        assert response.headers["Content-Type"] == PROBLEM
        assert name in _fields(response), response.json()
    assert _written(kind) == (0, 0)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_patch_changes_nothing(kind, admin_api, contact):
    url = f"/api/v1/{COLLECTIONS[kind]}"
    item = f"{url}/{admin_api.post(url, body_for(kind, contact)).json()['id']}"
    before = _written(kind)
    response = admin_api.patch(item, BAD_INPUT[kind], if_match='"1"')
    assert response.status_code == 422
    assert _fields(response) == set(BAD_INPUT[kind])
    assert response.headers["Content-Type"] == PROBLEM
    assert _written(kind) == before
    assert admin_api.get(item).headers["ETag"] == '"1"'


def test_overlong_text_in_a_patch_is_refused(admin_api, contact):
    note = admin_api.post("/api/v1/notes", body_for("note", contact)).json()
    response = admin_api.patch(
        f"/api/v1/notes/{note['id']}", {"body": "x" * 20_001}, if_match='"1"'
    )
    assert response.status_code == 422
    assert _fields(response) == {"body"}


def test_lists_filter_by_related_record(admin_api, contact, account, create_activity):
    on_contact = create_activity("call", contact)
    create_activity("call", account)
    listed = admin_api.get(
        "/api/v1/calls", {"related_type": "contact", "related_id": str(contact.pk)}
    )
    assert [c["id"] for c in listed.json()["items"]] == [str(on_contact.pk)]
    bad = admin_api.get("/api/v1/calls", {"related_id": "nope"})
    assert (bad.status_code, _fields(bad)) == (422, {"related_id"})


def test_task_list_filters_by_status_assignee_and_due_date(
    admin_api, admin, make_user, contact, create_activity
):
    colleague = make_user()
    soon = create_activity("task", contact, due_at=START.isoformat())
    later = create_activity(
        "task", contact, due_at=(START + dt.timedelta(days=7)).isoformat(), status="in_progress"
    )
    theirs = create_activity("task", contact, assignee_id=colleague.pk)

    def ids(**params):
        response = admin_api.get("/api/v1/tasks", params)
        assert response.status_code == 200, response.content
        return {t["id"] for t in response.json()["items"]}

    assert ids(status="in_progress") == {str(later.pk)}
    assert ids(assignee_id=str(colleague.pk)) == {str(theirs.pk)}
    assert ids(assignee_id=str(admin.pk)) == {str(soon.pk), str(later.pk)}
    assert ids(due_before=(START + dt.timedelta(days=1)).isoformat()) == {str(soon.pk)}
    assert ids(owner_id=str(colleague.pk)) == set()
    assert admin_api.get("/api/v1/tasks", {"status": "finished"}).status_code == 422


def test_meeting_attendees_round_trip(admin_api, make_contact, contact):
    guest = make_contact(last_name="Babbage")
    body = body_for("meeting", contact, attendee_contact_ids=[str(guest.pk), str(contact.pk)])
    created = admin_api.post("/api/v1/meetings", body)
    assert created.status_code == 201
    assert sorted(created.json()["attendee_contact_ids"]) == sorted(
        [str(guest.pk), str(contact.pk)]
    )


def test_logging_an_email_twice_is_a_409(admin_api, contact):
    body = body_for("email_log", contact, message_id="<once@example.com>")
    assert admin_api.post("/api/v1/email-logs", body).status_code == 201
    again = admin_api.post("/api/v1/email-logs", body)
    assert (again.status_code, again.headers["Content-Type"]) == (409, PROBLEM)
    assert _fields(again) == {"message_id"}
    assert _written("email_log") == (1, 1)


def test_private_activities_are_404_to_others(api_as, make_user, contact, create_activity):
    SharingDefault.objects.create(object_type="note", access="private")
    author, other = make_user(), make_user()
    note = create_activity("note", contact, actor=author)
    url = f"/api/v1/notes/{note.pk}"
    assert api_as(author).get(url).status_code == 200
    assert api_as(other).get(url).status_code == 404
    assert api_as(other).patch(url, {"body": "mine now"}, if_match="*").status_code == 404
    assert api_as(other).get("/api/v1/notes").json()["items"] == []


def test_token_scopes_cover_each_collection(api_as, admin, contact):
    client = api_as(admin, scopes=["notes:read"])
    assert client.get("/api/v1/notes").status_code == 200
    assert client.post("/api/v1/notes", body_for("note", contact)).status_code == 403
    assert client.get("/api/v1/tasks").status_code == 403


def test_activities_follow_their_record_out_of_sight(
    api_as, make_user, make_contact, create_activity
):
    # Notes are public by default, but a note about a contact nobody else may see stays with it.
    SharingDefault.objects.create(object_type="contact", access="private")
    owner, other = make_user(), make_user()
    hidden = make_contact(last_name="Hidden", owner=owner)
    shown = make_contact(last_name="Shown", owner=other)
    secret = create_activity("note", hidden, actor=owner)
    public = create_activity("note", shown, actor=other)
    client = api_as(other)

    listed = client.get("/api/v1/notes", {"related_id": str(hidden.pk)}).json()["items"]
    everything = {item["id"] for item in client.get("/api/v1/notes").json()["items"]}

    assert listed == []
    assert everything == {str(public.pk)}
    assert client.get(f"/api/v1/notes/{secret.pk}").status_code == 404
    assert (
        client.patch(f"/api/v1/notes/{secret.pk}", {"body": "x"}, if_match="*").status_code == 404
    )
    assert api_as(owner).get(f"/api/v1/notes/{secret.pk}").status_code == 200

"""The API contract on one round trip: create, read with ETag, conditional update, delete."""

from __future__ import annotations

from accord.core.models import HistoryEntry, OutboxEvent


def test_contact_round_trip_keeps_etag_contract(admin_api):
    created = admin_api.post(
        "/api/v1/contacts", {"first_name": "Ann", "emails": ["Ann@Example.com"]}
    )
    assert created.status_code == 201
    contact = created.json()
    assert contact["emails"] == ["ann@example.com"]
    url = f"/api/v1/contacts/{contact['id']}"

    read = admin_api.get(url)
    assert read.headers["ETag"] == '"1"'

    assert admin_api.patch(url, {"title": "CEO"}).status_code == 428
    updated = admin_api.patch(url, {"title": "CEO"}, if_match='"1"')
    assert updated.status_code == 200
    assert updated.headers["ETag"] == '"2"'
    assert admin_api.patch(url, {"title": "CFO"}, if_match='"1"').status_code == 412

    assert admin_api.delete(url, if_match='"2"').status_code == 204
    assert admin_api.get(url).status_code == 404

    types = list(
        OutboxEvent.objects.filter(object_id=contact["id"])
        .order_by("id")
        .values_list("type", flat=True)
    )
    assert types == ["accord.contact.created", "accord.contact.updated", "accord.contact.deleted"]
    assert HistoryEntry.objects.filter(object_id=contact["id"]).count() == 3

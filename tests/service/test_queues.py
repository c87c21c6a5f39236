"""Queues: configuration that administrators keep and everyone reads."""

from __future__ import annotations

import pytest

from accord.service.models import Queue
from tests.catalog.helpers import error_fields, events_of, snapshot

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_admin_creates_queue_with_one_event(admin_api):
    response = admin_api.post("/api/v1/queues", {"name": "Support DE"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["active"], body["description"]) == ("Support DE", True, "")
    assert [e.type for e in events_of(body["id"])] == ["accord.queue.created"]


def test_non_superuser_reads_queues_but_cannot_write_them(make_user, make_queue, api_as):
    queue = make_queue(name="Billing")
    client = api_as(make_user())
    before = snapshot(Queue)

    assert client.get("/api/v1/queues").json()["items"][0]["name"] == "Billing"
    assert client.post("/api/v1/queues", {"name": "Mine"}).status_code == 403
    patched = client.patch(f"/api/v1/queues/{queue.pk}", {"active": False}, if_match='"1"')
    assert patched.status_code == 403
    assert snapshot(Queue) == before


def test_queue_names_are_unique(admin_api, make_queue):
    make_queue(name="Billing")
    before = snapshot(Queue)

    assert admin_api.post("/api/v1/queues", {"name": "Billing"}).status_code == 409
    assert snapshot(Queue) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "Q" * 101}, "name"),
        ({"name": "Q", "active": 1}, "active"),
        ({"name": "Q", "sla": "4h"}, "sla"),
    ],
)
def test_bad_queue_input_is_422_and_writes_nothing(admin_api, body, field):
    before = snapshot(Queue)

    assert field in error_fields(admin_api.post("/api/v1/queues", body))
    assert snapshot(Queue) == before


def test_queue_patch_keeps_the_etag_contract(admin_api, make_queue):
    queue = make_queue()
    url = f"/api/v1/queues/{queue.pk}"

    assert admin_api.patch(url, {"active": False}).status_code == 428
    assert admin_api.patch(url, {"active": False}, if_match='"2"').status_code == 412
    assert admin_api.patch(url, {"active": False}, if_match='"1"').status_code == 200
    assert admin_api.get("/api/v1/queues", {"active": "false"}).json()["items"][0]["id"] == str(
        queue.pk
    )

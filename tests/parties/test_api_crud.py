"""The happy path of /api/v1/accounts, /contacts and /tags: create, read, list, change, delete,
with ETags, Location, events and history, declared once for all three record types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from accord.core.models import HistoryEntry, OutboxEvent

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Collection:
    object_type: str
    path: str
    create: dict[str, Any]
    shown: dict[str, Any]
    change: dict[str, Any]
    changed: dict[str, Any]

    def __str__(self) -> str:
        return self.object_type


COLLECTIONS = [
    Collection(
        object_type="tag",
        path="/api/v1/tags",
        create={"name": "VIP", "color": "#1a7f37"},
        shown={"name": "VIP", "color": "#1a7f37"},
        change={"color": "#ffffff"},
        changed={"color": "#ffffff"},
    ),
    Collection(
        object_type="account",
        path="/api/v1/accounts",
        create={
            "name": "Acme Ltd",
            "website": "https://www.acme.example/",
            "employee_count": 250,
            "annual_revenue": "1250000.50",
            "billing_address": {"city": "Leeds", "country": "gb"},
        },
        shown={
            "name": "Acme Ltd",
            "domain": "acme.example",
            "employee_count": 250,
            "annual_revenue": "1250000.50",
            "billing_address": {
                "street": "",
                "city": "Leeds",
                "region": "",
                "postal_code": "",
                "country": "GB",
            },
        },
        change={"industry": "Rail", "employee_count": None},
        changed={"industry": "Rail", "employee_count": None},
    ),
    Collection(
        object_type="contact",
        path="/api/v1/contacts",
        create={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": ["Ada@Example.com"],
            "phones": ["(415) 555-2671"],
            "lifecycle_stage": "customer",
            "email_opt_in": True,
        },
        shown={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": ["ada@example.com"],
            "phones": ["+14155552671"],
            "lifecycle_stage": "customer",
            "email_opt_in": True,
        },
        change={"title": "Countess", "phones": []},
        changed={"title": "Countess", "phones": []},
    ),
]


def _subset(body: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {key: body.get(key) for key in expected}


@pytest.mark.parametrize("collection", COLLECTIONS, ids=str)
def test_create_read_list_change_delete_round_trip(collection, admin, admin_api):
    created = admin_api.post(collection.path, collection.create)
    assert created.status_code == 201, created.content
    body = created.json()
    assert _subset(body, collection.shown) == collection.shown
    assert body["version"] == 1
    record_id = body["id"]
    url = f"{collection.path}/{record_id}"
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == url
    assert body["created_by_id"] == str(admin.pk)

    read = admin_api.get(url)
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    assert read.json() == body

    listed = admin_api.get(collection.path)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [record_id]
    assert listed.json()["next_cursor"] is None

    updated = admin_api.patch(url, collection.change, if_match='"1"')
    assert updated.status_code == 200, updated.content
    assert updated.headers["ETag"] == '"2"'
    assert _subset(updated.json(), collection.changed) == collection.changed
    # Only the fields sent change.
    kept = {k: v for k, v in collection.shown.items() if k not in collection.changed}
    assert _subset(updated.json(), kept) == kept
    assert admin_api.get(url).json() == updated.json()

    assert admin_api.delete(url, if_match='"2"').status_code == 204
    assert admin_api.get(url).status_code == 404
    assert admin_api.get(collection.path).json()["items"] == []

    types = list(
        OutboxEvent.objects.filter(object_id=record_id)
        .order_by("id")
        .values_list("type", flat=True)
    )
    noun = collection.object_type
    assert types == [f"accord.{noun}.created", f"accord.{noun}.updated", f"accord.{noun}.deleted"]
    history = HistoryEntry.objects.filter(object_id=record_id).order_by("version")
    assert [(h.verb, h.version, h.source) for h in history] == [
        ("created", 1, "api"),
        ("updated", 2, "api"),
        ("deleted", 3, "api"),
    ]


@pytest.mark.parametrize("collection", COLLECTIONS, ids=str)
def test_patch_that_changes_nothing_keeps_etag_and_writes_no_event(collection, admin_api, db_state):
    record_id = admin_api.post(collection.path, collection.create).json()["id"]
    url = f"{collection.path}/{record_id}"
    before = db_state()

    same = admin_api.patch(url, collection.create, if_match='"1"')

    assert same.status_code == 200
    assert same.headers["ETag"] == '"1"'
    assert same.json()["version"] == 1
    assert db_state()["core.OutboxEvent"] == before["core.OutboxEvent"]
    assert db_state()["core.HistoryEntry"] == before["core.HistoryEntry"]


@pytest.mark.parametrize("collection", COLLECTIONS, ids=str)
def test_if_match_star_overwrites_any_version(collection, admin_api):
    record_id = admin_api.post(collection.path, collection.create).json()["id"]
    url = f"{collection.path}/{record_id}"

    changed = admin_api.patch(url, collection.change, if_match="*")

    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'


def test_patch_null_clears_a_nullable_field_but_is_refused_for_a_required_one(admin_api, db_state):
    account = admin_api.post(
        "/api/v1/accounts", {"name": "Acme", "employee_count": 12, "industry": "Steel"}
    ).json()
    url = f"/api/v1/accounts/{account['id']}"

    cleared = admin_api.patch(url, {"employee_count": None, "industry": None}, if_match='"1"')
    assert cleared.status_code == 200
    assert cleared.json()["employee_count"] is None
    assert cleared.json()["industry"] == ""

    before = db_state()
    refused = admin_api.patch(url, {"name": None}, if_match='"2"')
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == PROBLEM
    assert [e["field"] for e in refused.json()["errors"]] == ["name"]
    assert db_state() == before


def test_contact_links_to_a_visible_account_and_tags_by_name(admin_api, make_account, make_tag):
    account = make_account(name="Initech")
    make_tag(name="VIP")
    make_tag(name="Partner")

    created = admin_api.post(
        "/api/v1/contacts",
        {"last_name": "Lumbergh", "account_id": str(account.pk), "tags": ["VIP", "Partner"]},
    )

    assert created.status_code == 201, created.content
    assert created.json()["account_id"] == str(account.pk)
    assert sorted(created.json()["tags"]) == ["Partner", "VIP"]
    listed = admin_api.get("/api/v1/contacts", {"account_id": str(account.pk), "tag": "VIP"})
    assert [c["id"] for c in listed.json()["items"]] == [created.json()["id"]]

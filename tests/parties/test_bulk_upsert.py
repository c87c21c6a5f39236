"""Bulk upsert: matched on a natural key, a result per row, nothing dropped silently."""

from __future__ import annotations

from accord.core.models import HistoryEntry, OutboxEvent
from accord.parties import services
from accord.parties.models import Contact


def upsert(api, records, match_on="email", **extra):
    return api.post("/api/v1/contacts/bulk", {"match_on": match_on, "records": records, **extra})


def test_bulk_upsert_creates_updates_and_reports_each_row(admin, admin_api):
    ann = services.contacts.create(
        actor=admin, data={"first_name": "Ann", "emails": ["ann@example.com"]}
    )
    response = upsert(
        admin_api,
        [
            {"emails": ["ANN@example.com"], "title": "CEO"},
            {"first_name": "Bob", "emails": ["bob@example.com"]},
            {"first_name": "Eve", "emails": ["not-an-email"]},
            {"first_name": "Unknown", "surprise": 1},
            {"emails": ["ann@example.com"], "title": "CEO"},
        ],
    )
    assert response.status_code == 200, response.content
    body = response.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["updated", "created", "error", "error", "error"]
    assert body["results"][0]["id"] == str(ann.pk)
    assert body["results"][0]["version"] == 2
    assert body["results"][2]["errors"][0]["field"] == "emails[0]"
    assert body["results"][3]["errors"][0]["field"] == "surprise"
    assert "same record as row 0" in body["results"][4]["errors"][0]["message"]
    assert (body["created"], body["updated"], body["failed"]) == (1, 1, 3)

    ann.refresh_from_db()
    assert ann.title == "CEO"
    assert Contact.objects.count() == 2
    assert OutboxEvent.objects.filter(object_id=ann.pk, type="accord.contact.updated").count() == 1
    bob_id = body["results"][1]["id"]
    assert HistoryEntry.objects.filter(object_id=bob_id, verb="created").count() == 1


def test_unchanged_rows_write_no_event(admin, admin_api):
    services.contacts.create(actor=admin, data={"first_name": "Ann", "emails": ["a@example.com"]})
    before = OutboxEvent.objects.count()
    response = upsert(admin_api, [{"first_name": "Ann", "emails": ["a@example.com"]}])
    assert response.json()["results"][0]["status"] == "unchanged"
    assert OutboxEvent.objects.count() == before


def test_all_or_none_writes_nothing_when_a_row_fails(admin_api):
    response = upsert(
        admin_api,
        [{"first_name": "Ok", "emails": ["ok@example.com"]}, {"emails": ["broken"]}],
        all_or_none=True,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records[1].emails[0]"
    assert Contact.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_accounts_match_on_domain_from_website(admin, admin_api):
    acme = services.accounts.create(actor=admin, data={"name": "Acme", "website": "acme.com"})
    response = admin_api.post(
        "/api/v1/accounts/bulk",
        {
            "match_on": "domain",
            "records": [
                {"name": "Acme Inc", "website": "https://www.acme.com"},
                {"name": "Globex", "domain": "globex.com"},
            ],
        },
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["updated", "created"]
    assert results[0]["id"] == str(acme.pk)


def test_unknown_match_key_and_oversized_batch_are_rejected(admin_api):
    assert upsert(admin_api, [], match_on="phone").json()["errors"][0]["field"] == "match_on"
    response = upsert(admin_api, [{"first_name": "x"}] * 1001)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records"


def test_match_on_id_refuses_unknown_ids(admin_api):
    response = upsert(
        admin_api,
        [{"id": "01890000-0000-7000-8000-000000000000", "first_name": "x"}],
        match_on="id",
    )
    assert response.json()["results"][0]["errors"][0]["field"] == "id"

"""Bulk upsert: matched on a natural key, a result per row, nothing dropped silently."""

from __future__ import annotations

import gc

from accord.core.models import HistoryEntry, OutboxEvent
from accord.parties import services
from accord.parties.models import Contact, ContactEmail


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


def test_updated_rows_event_and_history_hold_the_stored_record(admin, admin_api):
    """The event's payload is the record as stored after the update (new version and stamps),
    and its history names the changed fields only; numbers, nulls and text columns travel
    together in the one UPDATE of the batch."""
    acme = services.accounts.create(
        actor=admin, data={"name": "Acme", "domain": "acme.com", "employee_count": 5}
    )
    response = admin_api.post(
        "/api/v1/accounts/bulk",
        {
            "match_on": "domain",
            "records": [
                {"domain": "acme.com", "name": "Acme Ltd", "employee_count": None},
                {"domain": "globex.com", "name": "Globex", "annual_revenue": "12.50"},
            ],
        },
    )
    assert [r["status"] for r in response.json()["results"]] == ["updated", "created"]
    acme.refresh_from_db()
    assert (acme.name, acme.employee_count, acme.version) == ("Acme Ltd", None, 2)
    event = OutboxEvent.objects.get(object_id=acme.pk, type="accord.account.updated")
    assert event.envelope["data"]["record"] == services.accounts.payload(acme)
    assert event.envelope["data"]["changed"] == {
        "name": ["Acme", "Acme Ltd"],
        "employee_count": [5, None],
    }
    entry = HistoryEntry.objects.get(object_id=acme.pk, verb="updated")
    assert (entry.version, entry.changes) == (2, event.envelope["data"]["changed"])


def test_the_garbage_collector_is_back_after_a_batch(admin_api):
    upsert(admin_api, [{"first_name": "Gus", "emails": ["gus@example.com"]}])
    assert gc.isenabled()
    gc.disable()
    try:
        upsert(admin_api, [{"first_name": "Gus", "emails": ["gus@example.com"], "title": "x"}])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_repeated_addresses_keep_their_rows_and_new_ones_replace_them(admin, admin_api):
    ann = services.contacts.create(
        actor=admin, data={"first_name": "Ann", "emails": ["ann@example.com"], "phones": []}
    )
    bob = services.contacts.create(
        actor=admin,
        data={"first_name": "Bob", "emails": ["bob@example.com"], "phones": ["+12125550100"]},
    )
    kept = ContactEmail.objects.get(contact=ann).pk
    response = upsert(
        admin_api,
        [
            {"emails": ["ann@example.com"], "phones": [], "title": "CEO"},
            {"emails": ["bob@example.com", "b@example.com"], "phones": ["+12125550199"]},
        ],
    )
    assert [r["status"] for r in response.json()["results"]] == ["updated", "updated"]
    assert list(ContactEmail.objects.filter(contact=ann).values_list("pk", flat=True)) == [kept]
    assert list(bob.email_rows.values_list("email", flat=True)) == [
        "bob@example.com",
        "b@example.com",
    ]
    assert list(bob.phone_rows.values_list("number", flat=True)) == ["+12125550199"]
    for contact in (ann, bob):
        contact.refresh_from_db()
        event = OutboxEvent.objects.get(object_id=contact.pk, type="accord.contact.updated")
        assert event.envelope["data"]["record"] == services.contacts.payload(contact)
    changed = OutboxEvent.objects.get(object_id=bob.pk, type="accord.contact.updated")
    assert changed.envelope["data"]["changed"]["phones"] == [["+12125550100"], ["+12125550199"]]

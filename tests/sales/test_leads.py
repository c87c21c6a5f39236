"""Leads: the write path (history and one event per write), validation, the API and its ETags."""

from __future__ import annotations

import pytest

from accord.core.errors import Conflict, InvalidInput
from accord.core.models import HistoryEntry, Source
from accord.sales.models import Lead
from accord.sales.services import leads
from tests.sales.conftest import assert_one_write, last_event_id

PROBLEM = "application/problem+json"


def test_create_normalises_contact_data_and_writes_one_event(admin):
    before = last_event_id()
    lead = leads.create(
        actor=admin,
        data={
            "first_name": " Ada ",
            "last_name": "Lovelace",
            "email": "Ada@Example.COM",
            "phone": "+44 20 7946 0018",
            "website": "https://analytical.example/",
            "source": "referral",
            "score": 70,
            "captured": {"budget": "50k", "seats": 12, "urgent": True, "note": None},
        },
        source=Source.WEB,
    )
    assert (lead.first_name, lead.email, lead.phone) == ("Ada", "ada@example.com", "+442079460018")
    assert (lead.status, lead.owner, lead.score) == (Lead.Status.NEW, admin, 70)
    assert lead.captured == {"budget": "50k", "seats": 12, "urgent": True, "note": None}
    event = assert_one_write(before, lead, "created")
    assert event.envelope["data"]["record"]["captured"]["seats"] == 12
    assert HistoryEntry.objects.get(event_id=event.event_id).source == "web"


def test_update_records_old_and_new_values(admin, make_lead):
    lead = make_lead(score=10)
    before = last_event_id()
    updated = leads.update(
        actor=admin,
        record_id=lead.pk,
        data={"score": 55, "status": "working"},
        expected_version=1,
    )
    event = assert_one_write(before, updated, "updated")
    assert event.envelope["data"]["changed"] == {"score": [10, 55], "status": ["new", "working"]}
    assert updated.version == 2


def test_delete_writes_one_event(admin, make_lead):
    lead = make_lead()
    before = last_event_id()
    leads.delete(actor=admin, record_id=lead.pk, expected_version=1)
    assert_one_write(before, lead, "deleted")
    assert not Lead.objects.filter(pk=lead.pk).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"last_name": "X", "email": "not-an-address"}, "email"),
        ({"last_name": "X", "phone": "12"}, "phone"),
        ({"last_name": "X", "website": "not a site"}, "website"),
        ({"last_name": "X", "score": 101}, "score"),
        ({"last_name": "X", "score": "50"}, "score"),
        ({"last_name": "X", "score": True}, "score"),
        ({"last_name": "X", "source": "fax"}, "source"),
        ({"last_name": "X", "status": "converted"}, "status"),
        ({"last_name": 5}, "last_name"),
        ({"last_name": "X" * 101}, "last_name"),
        ({"last_name": "nul\x00"}, "last_name"),
        ({"company": "Nameless Ltd"}, "last_name"),
        ({"last_name": "X", "captured": ["a"]}, "captured"),
        ({"last_name": "X", "captured": {"k" * 51: 1}}, "captured"),
        ({"last_name": "X", "captured": {"list": [1]}}, "captured.list"),
        ({"last_name": "X", "captured": {"nan": float("nan")}}, "captured.nan"),
        ({"last_name": "X", "captured": {"big": 2**60}}, "captured.big"),
        # jsonb would hand this float back as a different integer.
        ({"last_name": "X", "captured": {"big": 4.733442065930366e16}}, "captured.big"),
        ({"last_name": "X", "owner_id": "00000000-0000-0000-0000-000000000000"}, "owner_id"),
    ],
)
def test_invalid_lead_input_names_the_field_and_writes_nothing(admin, sales_state, data, field):
    snapshot = sales_state()
    with pytest.raises(InvalidInput) as caught:
        leads.create(actor=admin, data=data)
    assert field in [e.field for e in caught.value.errors]
    assert sales_state() == snapshot


def test_converted_status_cannot_be_set_by_update(admin, make_lead):
    lead = make_lead()
    with pytest.raises(InvalidInput) as caught:
        leads.update(
            actor=admin, record_id=lead.pk, data={"status": "converted"}, expected_version=1
        )
    assert caught.value.errors[0].field == "status"


def test_private_lead_of_another_owner_is_invisible(make_user, make_lead, api_as):
    from accord.identity.models import Access, SharingDefault

    SharingDefault.objects.create(object_type="lead", access=Access.PRIVATE)
    owner, other = make_user(), make_user()
    lead = make_lead(actor=owner)
    assert api_as(owner).get(f"/api/v1/leads/{lead.pk}").status_code == 200
    assert api_as(other).get(f"/api/v1/leads/{lead.pk}").status_code == 404
    assert api_as(other).get("/api/v1/leads").json()["items"] == []


# -- API -----------------------------------------------------------------------------------------


def test_api_lead_round_trip_keeps_etag_contract(admin_api):
    created = admin_api.post(
        "/api/v1/leads",
        {"last_name": "Hopper", "company": "Navy", "captured": {" spaced ": " kept "}},
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["captured"] == {" spaced ": " kept "}, "captured values are kept verbatim"
    url = f"/api/v1/leads/{body['id']}"
    assert created.headers["Location"].endswith(url)
    assert admin_api.get(url).headers["ETag"] == '"1"'
    assert admin_api.patch(url, {"score": 40}).status_code == 428
    changed = admin_api.patch(url, {"score": 40}, if_match='"1"')
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'
    stale = admin_api.patch(url, {"score": 41}, if_match='"1"')
    assert stale.status_code == 412
    assert stale.headers["Content-Type"] == PROBLEM
    assert admin_api.delete(url, if_match='"2"').status_code == 204
    assert admin_api.get(url).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"last_name": "X", "score": "high"}, "score"),
        ({"last_name": "X", "score": 101}, "score"),
        ({"last_name": "X", "shoe_size": 44}, "shoe_size"),
        ({"last_name": "X", "status": "converted"}, "status"),
        ({"last_name": "X", "captured": {"a": {"nested": 1}}}, "captured.a"),
        ({"last_name": "X", "email": "nope"}, "email"),
    ],
)
def test_api_rejects_bad_lead_input_with_422(admin_api, body, field):
    response = admin_api.post("/api/v1/leads", body)
    assert response.status_code == 422
    assert response.headers["Content-Type"] == PROBLEM
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f == field or f.startswith(f"{field}.") for f in fields), fields


def test_api_lists_leads_filtered_by_status(admin_api, make_lead):
    make_lead(last_name="New")
    make_lead(last_name="Qualified", status="qualified")
    response = admin_api.get("/api/v1/leads", {"status": "qualified"})
    assert [lead["last_name"] for lead in response.json()["items"]] == ["Qualified"]
    assert admin_api.get("/api/v1/leads", {"status": "lost"}).status_code == 422


def test_converted_lead_is_read_only(admin, admin_api, make_lead, account):
    from accord.sales.services import convert_lead

    lead = make_lead(status="qualified")
    convert_lead(
        actor=admin, lead_id=lead.pk, expected_version=1, account_id=account.pk, source="api"
    )
    lead.refresh_from_db()
    response = admin_api.patch(
        f"/api/v1/leads/{lead.pk}", {"score": 99}, if_match=f'"{lead.version}"'
    )
    assert response.status_code == 409
    assert "read-only" in response.json()["detail"]
    with pytest.raises(Conflict):
        leads.update(actor=admin, record_id=lead.pk, data={"score": 1}, expected_version=None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"last_name": "X" * 101}, "last_name"),
        ({"score": -1}, "score"),
        ({"last_name": None, "first_name": None}, "last_name"),
        ({"captured": {"k": "v" * 1001}}, "captured.k"),
    ],
)
def test_api_patch_checks_bounds_like_create(admin_api, make_lead, body, field):
    lead = make_lead(email="")
    response = admin_api.patch(f"/api/v1/leads/{lead.pk}", body, if_match='"1"')
    assert response.status_code == 422, response.json()
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f == field or f.startswith(f"{field}.") for f in fields), fields
    assert Lead.objects.get(pk=lead.pk).version == 1

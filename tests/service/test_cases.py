"""Cases: references are checked, the contact fits the account, every write is one event."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.core import clock
from accord.core.errors import InvalidInput
from accord.identity.models import Access, SharingDefault
from accord.service.models import Case, CaseNumberCounter
from accord.service.services import cases
from tests.catalog.helpers import UNKNOWN_ID, error_fields, events_of, history_of, snapshot

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def unchanged() -> dict:
    return snapshot(Case, CaseNumberCounter)


def test_case_is_opened_with_a_number_and_the_caller_as_owner(
    admin, admin_api, make_account, make_contact, make_product, make_queue
):
    account = make_account()
    contact = make_contact(account_id=account.pk)
    product = make_product()
    queue = make_queue()

    with clock.frozen(T0):
        response = admin_api.post(
            "/api/v1/cases",
            {
                "subject": "Pump leaks",
                "account_id": str(account.pk),
                "contact_id": str(contact.pk),
                "product_id": str(product.pk),
                "queue_id": str(queue.pk),
                "priority": "high",
                "origin": "phone",
            },
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("C-")
    assert len(body["number"]) == len("C-000001")
    assert body["owner_id"] == str(admin.pk)
    assert (body["status"], body["priority"], body["origin"]) == ("new", "high", "phone")
    assert dt.datetime.fromisoformat(body["opened_at"]) == T0
    assert body["first_response_at"] is body["resolved_at"] is body["closed_at"] is None
    [event] = events_of(body["id"])
    assert event.type == "accord.case.created"
    assert event.envelope["data"]["record"]["number"] == body["number"]
    assert len(history_of(body["id"])) == 1


def test_case_numbers_follow_each_other_across_single_and_batch_creates(admin, make_case):
    first = make_case()
    batch = cases.create_many(actor=admin, rows=[{"subject": f"Bulk {i}"} for i in range(3)])
    last = make_case()

    numbers = [c.number for c in [first, *batch, last]]
    assert numbers == list(range(first.number, first.number + 5))
    assert last.reference == f"C-{last.number:06d}"


def test_counter_lost_restarts_after_the_highest_number(make_case):
    make_case()
    top = make_case().number
    CaseNumberCounter.objects.all().delete()

    assert make_case().number == top + 1


def test_case_naming_only_a_contact_takes_its_account(admin_api, make_account, make_contact):
    account = make_account()
    contact = make_contact(account_id=account.pk)

    response = admin_api.post("/api/v1/cases", {"subject": "Hi", "contact_id": str(contact.pk)})

    assert response.json()["account_id"] == str(account.pk)


def test_contact_without_account_may_join_any_account(admin_api, make_account, make_contact):
    account = make_account()
    loner = make_contact()

    response = admin_api.post(
        "/api/v1/cases",
        {"subject": "Hi", "account_id": str(account.pk), "contact_id": str(loner.pk)},
    )

    assert response.status_code == 201
    assert response.json()["contact_id"] == str(loner.pk)


def test_contact_of_another_account_is_refused_on_contact_id(admin_api, make_account, make_contact):
    mine = make_account(name="Mine")
    theirs = make_account(name="Theirs")
    stranger = make_contact(account_id=theirs.pk)
    before = unchanged()

    response = admin_api.post(
        "/api/v1/cases",
        {"subject": "Hi", "account_id": str(mine.pk), "contact_id": str(stranger.pk)},
    )

    assert error_fields(response) == ["contact_id"]
    assert unchanged() == before


def test_moving_a_case_to_another_account_keeps_its_contact_consistent(
    admin_api, make_account, make_contact
):
    first = make_account(name="First")
    second = make_account(name="Second")
    contact = make_contact(account_id=first.pk)
    case = admin_api.post("/api/v1/cases", {"subject": "Hi", "contact_id": str(contact.pk)})
    url = f"/api/v1/cases/{case.json()['id']}"

    refused = admin_api.patch(url, {"account_id": str(second.pk)}, if_match='"1"')
    moved = admin_api.patch(url, {"account_id": str(second.pk), "contact_id": None}, if_match='"1"')

    assert error_fields(refused) == ["contact_id"]
    assert moved.status_code == 200
    assert (moved.json()["account_id"], moved.json()["contact_id"]) == (str(second.pk), None)


@pytest.mark.parametrize(
    "field", ["account_id", "contact_id", "product_id", "queue_id", "owner_id"]
)
def test_unknown_reference_is_422_naming_the_field(admin_api, field):
    before = unchanged()

    response = admin_api.post("/api/v1/cases", {"subject": "Hi", field: UNKNOWN_ID})

    assert error_fields(response) == [field]
    assert unchanged() == before


@pytest.mark.parametrize("field", ["account_id", "contact_id", "product_id", "queue_id"])
def test_deleted_reference_is_422_naming_the_field(
    admin, admin_api, make_account, make_contact, make_product, make_queue, field
):
    record = {
        "account_id": make_account,
        "contact_id": make_contact,
        "product_id": make_product,
        "queue_id": make_queue,
    }[field]()
    type(record).objects.filter(pk=record.pk).update(deleted_at=clock.now())

    response = admin_api.post("/api/v1/cases", {"subject": "Hi", field: str(record.pk)})

    assert error_fields(response) == [field]


def test_inactive_owner_is_refused(admin_api, make_user):
    gone = make_user(active=False)

    response = admin_api.post("/api/v1/cases", {"subject": "Hi", "owner_id": str(gone.pk)})

    assert error_fields(response) == ["owner_id"]


def test_inactive_product_and_queue_take_no_new_cases(admin_api, make_product, make_queue):
    product = make_product(active=False)
    queue = make_queue(active=False)

    response = admin_api.post(
        "/api/v1/cases",
        {"subject": "Hi", "product_id": str(product.pk), "queue_id": str(queue.pk)},
    )

    assert error_fields(response) == ["product_id", "queue_id"]


def test_case_keeps_a_product_deactivated_after_it_was_chosen(
    admin, admin_api, make_case, make_product
):
    product = make_product()
    case = make_case(product_id=product.pk)
    product.active = False
    product.save(update_fields=["active"])

    response = admin_api.patch(
        f"/api/v1/cases/{case.pk}",
        {"product_id": str(product.pk), "priority": "low"},
        if_match='"1"',
    )

    assert response.status_code == 200, response.content
    assert response.json()["product_id"] == str(product.pk)


def test_account_hidden_from_the_caller_reads_as_unknown(make_user, make_account, api_as):
    SharingDefault.objects.create(object_type="account", access=Access.PRIVATE)
    hidden = make_account(owner=make_user())

    response = api_as(make_user()).post(
        "/api/v1/cases", {"subject": "Hi", "account_id": str(hidden.pk)}
    )

    assert error_fields(response) == ["account_id"]
    assert "unknown account" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"subject": "S" * 201}, "subject"),
        ({"subject": "S", "description": "d" * 10_001}, "description"),
        ({"subject": "S", "priority": "critical"}, "priority"),
        ({"subject": "S", "status": "done"}, "status"),
        ({"subject": "S", "origin": 3}, "origin"),
        ({"subject": "S", "account_id": "acme"}, "account_id"),
        ({"subject": "S", "opened_at": "yesterday"}, "opened_at"),
        ({"subject": "S", "opened_at": 1767225600}, "opened_at"),
        ({"subject": "S", "opened_at": "2999-01-01T00:00:00Z"}, "opened_at"),
        ({"subject": "S", "number": "C-000001"}, "number"),
        ({"subject": "S", "resolved_at": "2026-01-01T00:00:00Z"}, "resolved_at"),
    ],
)
def test_bad_case_input_is_422_naming_the_field_and_writes_nothing(admin_api, body, field):
    before = unchanged()

    assert field in error_fields(admin_api.post("/api/v1/cases", body))
    assert unchanged() == before


def test_import_may_back_date_a_new_case_but_nobody_may_move_it_later(admin, make_case):
    with clock.frozen(T0):
        case = make_case(opened_at=T0 - dt.timedelta(days=3))

    assert case.opened_at == T0 - dt.timedelta(days=3)
    with pytest.raises(InvalidInput) as caught:
        cases.update(actor=admin, record_id=case.pk, data={"opened_at": T0}, expected_version=None)
    assert [e.field for e in caught.value.errors] == ["opened_at"]


def test_case_patch_keeps_the_etag_contract(admin_api, make_case):
    case = make_case()
    url = f"/api/v1/cases/{case.pk}"

    assert admin_api.patch(url, {"priority": "urgent"}).status_code == 428
    assert admin_api.patch(url, {"priority": "urgent"}, if_match='"3"').status_code == 412
    changed = admin_api.patch(url, {"priority": "urgent"}, if_match='"1"')

    assert changed["ETag"] == '"2"'
    assert history_of(case.pk)[-1].changes == {"priority": ["normal", "urgent"]}
    assert [e.type for e in events_of(case.pk)] == ["accord.case.created", "accord.case.updated"]
    assert admin_api.delete(url, if_match='"1"').status_code == 412
    assert admin_api.delete(url, if_match='"2"').status_code == 204
    assert events_of(case.pk)[-1].type == "accord.case.deleted"


def test_private_cases_are_invisible_to_other_users(make_user, make_case, api_as):
    SharingDefault.objects.create(object_type="case", access=Access.PRIVATE)
    owner = make_user()
    case = make_case(owner=owner)
    other = api_as(make_user())

    assert other.get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert other.get("/api/v1/cases").json()["items"] == []
    assert api_as(owner).get(f"/api/v1/cases/{case.pk}").status_code == 200


def test_case_list_filters(
    admin_api, make_user, make_account, make_contact, make_product, make_queue, make_case
):
    account = make_account()
    contact = make_contact(account_id=account.pk)
    product = make_product()
    queue = make_queue()
    agent = make_user()
    with clock.frozen(T0):
        old = make_case(subject="Old one")
    with clock.frozen(T0 + dt.timedelta(days=2)):
        make_case(
            subject="Linked",
            contact_id=contact.pk,
            product_id=product.pk,
            queue_id=queue.pk,
            priority="urgent",
            owner_id=agent.pk,
        )
        make_case(subject="Worked", status="open")
    with clock.frozen(T0 + dt.timedelta(days=3)):
        cases.update(
            actor=old.owner, record_id=old.pk, data={"priority": "low"}, expected_version=1
        )

    def subjects(**query):
        response = admin_api.get("/api/v1/cases", query)
        assert response.status_code == 200, response.content
        return sorted(c["subject"] for c in response.json()["items"])

    assert subjects(account_id=str(account.pk)) == ["Linked"]
    assert subjects(contact_id=str(contact.pk)) == ["Linked"]
    assert subjects(product_id=str(product.pk)) == ["Linked"]
    assert subjects(queue_id=str(queue.pk)) == ["Linked"]
    assert subjects(owner_id=str(agent.pk)) == ["Linked"]
    assert subjects(priority="urgent") == ["Linked"]
    assert subjects(status="open") == ["Worked"]
    assert subjects(opened_since=(T0 + dt.timedelta(days=1)).isoformat()) == ["Linked", "Worked"]
    since = (T0 + dt.timedelta(days=1)).isoformat()
    assert subjects(updated_since=since) == ["Linked", "Old one", "Worked"]
    assert subjects(q=old.reference) == ["Old one"]
    assert subjects(q="worked") == ["Worked"]
    assert [
        c["subject"] for c in admin_api.get("/api/v1/cases", {"sort": "-number"}).json()["items"]
    ] == ["Worked", "Linked", "Old one"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "done"}, "status"),
        ({"priority": "meh"}, "priority"),
        ({"queue_id": "nope"}, "queue_id"),
        ({"opened_since": "last week"}, "opened_since"),
        ({"sort": "priority"}, "sort"),
    ],
)
def test_bad_case_filters_are_422(admin_api, query, field):
    assert error_fields(admin_api.get("/api/v1/cases", query)) == [field]


def test_batch_create_resolves_references_in_a_fixed_number_of_queries(
    admin, make_account, make_contact, make_product, make_queue, django_assert_max_num_queries
):
    accounts = [make_account(name=f"A{i}") for i in range(3)]
    contacts = [make_contact(account_id=a.pk) for a in accounts]
    product = make_product()
    queue = make_queue()
    rows = [
        {
            "subject": f"Case {i}",
            "contact_id": contacts[i % 3].pk,
            "product_id": product.pk,
            "queue_id": queue.pk,
            "owner_id": admin.pk,
        }
        for i in range(30)
    ]

    with django_assert_max_num_queries(25):
        made = cases.create_many(actor=admin, rows=rows)

    assert {c.account_id for c in made} == {a.pk for a in accounts}

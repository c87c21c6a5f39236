"""Deals: pipeline and stage placement, money, closing, visibility of what they link, the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accord.core import clock
from accord.core.errors import InvalidInput
from accord.core.money import company_currency
from accord.identity.models import Access, SharingDefault
from accord.parties import services as parties
from accord.sales.models import Deal
from accord.sales.services import deals
from tests.sales.conftest import assert_one_write, last_event_id

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
PROBLEM = "application/problem+json"


def test_new_deal_starts_in_the_first_stage_of_the_default_pipeline(admin, board, make_deal):
    before = last_event_id()
    deal = make_deal()
    assert (deal.pipeline, deal.stage) == (board.pipeline, board.open)
    assert (deal.probability, deal.amount) == (10, Decimal("0.00"))
    assert deal.currency == company_currency() == "EUR"
    assert deal.closed_at is None
    assert deal.owner == admin
    event = assert_one_write(before, deal, "created")
    assert event.envelope["data"]["record"]["amount"] == "0.00"


def test_deal_named_by_stage_alone_takes_the_stage_pipeline(other_board, make_deal):
    deal = make_deal(stage_id=other_board.proposal.pk)
    assert (deal.pipeline, deal.probability) == (other_board.pipeline, 60)


def test_naming_only_a_pipeline_picks_its_first_stage(other_board, make_deal):
    deal = make_deal(pipeline_id=other_board.pipeline.pk)
    assert deal.stage == other_board.open


def test_stage_from_another_pipeline_is_refused_on_stage_id(admin, board, other_board, make_deal):
    with pytest.raises(InvalidInput) as caught:
        make_deal(pipeline_id=board.pipeline.pk, stage_id=other_board.proposal.pk)
    assert [e.field for e in caught.value.errors] == ["stage_id"]
    deal = make_deal()
    with pytest.raises(InvalidInput) as caught:
        deals.update(
            actor=admin,
            record_id=deal.pk,
            data={"stage_id": other_board.proposal.pk},
            expected_version=1,
        )
    assert [e.field for e in caught.value.errors] == ["stage_id"]


def test_moving_through_stages_sets_probability_and_closes_and_reopens(admin, board, make_deal):
    deal = make_deal(amount="1200.50", currency="usd", contact_ids=[])
    assert (deal.amount, deal.currency) == (Decimal("1200.50"), "USD")
    deal = deals.update(
        actor=admin, record_id=deal.pk, data={"stage_id": board.proposal.pk}, expected_version=1
    )
    assert (deal.probability, deal.closed_at) == (60, None)
    with clock.frozen(T0):
        before = last_event_id()
        deal = deals.update(
            actor=admin, record_id=deal.pk, data={"stage_id": board.won.pk}, expected_version=2
        )
    event = assert_one_write(before, deal, "updated")
    assert event.envelope["data"]["changed"] == {
        "stage_id": [str(board.proposal.pk), str(board.won.pk)],
        "probability": [60, 100],
        "closed_at": [None, T0.isoformat()],
    }
    deal = deals.update(
        actor=admin,
        record_id=deal.pk,
        data={"stage_id": board.open.pk, "probability": 35},
        expected_version=3,
    )
    assert (deal.closed_at, deal.probability) == (None, 35)


def test_moving_to_another_pipeline_lands_in_its_first_stage(admin, other_board, make_deal):
    deal = make_deal()
    deal = deals.update(
        actor=admin,
        record_id=deal.pk,
        data={"pipeline_id": other_board.pipeline.pk},
        expected_version=1,
    )
    assert (deal.pipeline, deal.stage) == (other_board.pipeline, other_board.open)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"amount": True}, "amount"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": 978}, "currency"),
        ({"probability": 120}, "probability"),
        ({"expected_close": "next week"}, "expected_close"),
        ({"name": ""}, "name"),
        ({"stage_id": "not-a-uuid"}, "stage_id"),
        ({"contact_ids": "abc"}, "contact_ids"),
        ({"contact_ids": ["00000000-0000-0000-0000-000000000000"]}, "contact_ids[0]"),
    ],
)
def test_invalid_deal_input_names_the_field_and_writes_nothing(
    board, make_deal, sales_state, data, field
):
    snapshot = sales_state()
    with pytest.raises(InvalidInput) as caught:
        make_deal(**data)
    assert field in [e.field for e in caught.value.errors]
    assert sales_state() == snapshot


def test_unknown_or_deleted_account_is_refused_on_account_id(admin, board, account, make_deal):
    with pytest.raises(InvalidInput) as caught:
        make_deal(account_id="0190a1a1-0000-7000-8000-000000000000")
    assert [e.field for e in caught.value.errors] == ["account_id"]
    parties.accounts.delete(actor=admin, record_id=account.pk, expected_version=1)
    with pytest.raises(InvalidInput) as caught:
        make_deal(account_id=account.pk)
    assert [e.field for e in caught.value.errors] == ["account_id"]


def test_contacts_must_be_visible_to_the_actor(make_user, admin, board, account, contact):
    SharingDefault.objects.create(object_type="contact", access=Access.PRIVATE)
    seller = make_user()
    with pytest.raises(InvalidInput) as caught:
        deals.create(
            actor=seller,
            data={"name": "D", "account_id": account.pk, "contact_ids": [contact.pk]},
        )
    assert [e.field for e in caught.value.errors] == ["contact_ids[0]"]
    deal = deals.create(
        actor=admin, data={"name": "D", "account_id": account.pk, "contact_ids": [contact.pk]}
    )
    assert list(deal.contacts.all()) == [contact]


def test_create_many_places_every_deal_and_writes_one_event_each(admin, board, account, contact):
    before = last_event_id()
    made = deals.create_many(
        actor=admin,
        rows=[
            {"name": f"D{i}", "account_id": account.pk, "contact_ids": [contact.pk]}
            for i in range(5)
        ]
        + [{"name": "Won", "account_id": account.pk, "stage_id": board.won.pk}],
    )
    assert [d.stage for d in made] == [board.open] * 5 + [board.won]
    assert made[-1].closed_at is not None
    assert Deal.contacts.through.objects.filter(contact=contact).count() == 5
    from tests.sales.conftest import events_since

    assert [e.type for e in events_since(before)] == ["accord.deal.created"] * 6


# -- API -----------------------------------------------------------------------------------------


def test_api_deal_round_trip_and_board_filters(admin_api, board, account, contact):
    created = admin_api.post(
        "/api/v1/deals",
        {
            "name": "Gateways",
            "account_id": str(account.pk),
            "contact_ids": [str(contact.pk)],
            "amount": "25000.00",
            "currency": "GBP",
            "expected_close": "2026-06-30",
        },
    )
    assert created.status_code == 201, created.json()
    deal = created.json()
    assert deal["amount"] == "25000.00"
    assert deal["contact_ids"] == [str(contact.pk)]
    assert deal["stage_id"] == str(board.open.pk)
    url = f"/api/v1/deals/{deal['id']}"
    moved = admin_api.patch(url, {"stage_id": str(board.won.pk)}, if_match='"1"')
    assert moved.status_code == 200
    assert moved.json()["closed_at"] is not None
    assert admin_api.patch(url, {"name": "X"}, if_match='"1"').status_code == 412

    def names(**query: str) -> list[str]:
        response = admin_api.get("/api/v1/deals", query)
        assert response.status_code == 200, response.json()
        return [d["name"] for d in response.json()["items"]]

    assert names(stage_id=str(board.won.pk)) == ["Gateways"]
    assert names(stage_id=str(board.open.pk)) == []
    assert names(account_id=str(account.pk), pipeline_id=str(board.pipeline.pk)) == ["Gateways"]
    assert names(expected_close_before="2026-06-30") == ["Gateways"]
    assert names(expected_close_after="2026-07-01") == []
    assert admin_api.get("/api/v1/deals", {"stage_id": "nope"}).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": -5}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"currency": "euro"}, "currency"),
        ({"currency": "ZZZ"}, "currency"),
        ({"probability": "high"}, "probability"),
        ({"colour": "red"}, "colour"),
        ({"account_id": "0190a1a1-0000-7000-8000-000000000000"}, "account_id"),
    ],
)
def test_api_rejects_bad_deal_input(admin_api, board, account, body, field):
    response = admin_api.post("/api/v1/deals", {"name": "D", "account_id": str(account.pk), **body})
    assert response.status_code == 422, response.json()
    assert response.headers["Content-Type"] == PROBLEM
    assert field in [e["field"] for e in response.json()["errors"]]


def test_api_stage_of_another_pipeline_is_422_on_stage_id(admin_api, board, other_board, account):
    response = admin_api.post(
        "/api/v1/deals",
        {
            "name": "D",
            "account_id": str(account.pk),
            "pipeline_id": str(board.pipeline.pk),
            "stage_id": str(other_board.won.pk),
        },
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["stage_id"]


def test_api_null_clears_expected_close_but_not_the_account(admin_api, board, make_deal):
    deal = make_deal(expected_close="2026-05-01")
    url = f"/api/v1/deals/{deal.pk}"
    cleared = admin_api.patch(url, {"expected_close": None}, if_match='"1"')
    assert cleared.status_code == 200
    assert cleared.json()["expected_close"] is None
    refused = admin_api.patch(url, {"account_id": None}, if_match='"2"')
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["account_id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X" * 201}, "name"),
        ({"amount": "-5"}, "amount"),
        ({"amount": None}, "amount"),
        ({"currency": "EURO"}, "currency"),
        ({"probability": "50"}, "probability"),
        ({"stage_id": None}, "stage_id"),
    ],
)
def test_api_patch_checks_bounds_like_create(admin_api, board, make_deal, body, field):
    deal = make_deal()
    response = admin_api.patch(f"/api/v1/deals/{deal.pk}", body, if_match='"1"')
    assert response.status_code == 422, response.json()
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Deal.objects.get(pk=deal.pk).version == 1

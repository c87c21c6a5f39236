"""Campaigns: dates in order, a budget in a real currency, products that exist, one event each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from accord.core import clock
from accord.core.errors import InvalidInput
from accord.identity.models import Access, SharingDefault
from accord.marketing.models import Campaign
from accord.marketing.services import campaigns
from tests.catalog.helpers import UNKNOWN_ID, error_fields, events_of, history_of, snapshot

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def unchanged() -> dict:
    return snapshot(Campaign, Campaign.products.through)


def test_campaign_is_created_with_products_budget_and_the_caller_as_owner(
    admin, admin_api, make_product
):
    pumps, valves = make_product(sku="PUMP"), make_product(sku="VALVE")

    response = admin_api.post(
        "/api/v1/campaigns",
        {
            "name": "Spring pumps",
            "type": "webinar",
            "starts_on": "2026-04-01",
            "ends_on": "2026-04-30",
            "budget": "2500.5",
            "currency": "usd",
            "product_ids": [str(pumps.pk), str(valves.pk), str(pumps.pk)],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["type"], body["owner_id"]) == ("planned", "webinar", str(admin.pk))
    assert (body["budget"], body["currency"]) == ("2500.50", "USD")
    assert sorted(body["product_ids"]) == sorted([str(pumps.pk), str(valves.pk)])
    [event] = events_of(body["id"])
    assert event.type == "accord.campaign.created"
    assert sorted(event.envelope["data"]["record"]["product_ids"]) == sorted(body["product_ids"])
    assert len(history_of(body["id"])) == 1


def test_campaign_without_dates_or_budget_is_planned(make_campaign):
    campaign = make_campaign()

    assert (campaign.status, campaign.starts_on, campaign.budget) == ("planned", None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": "N" * 201}, "name"),
        ({"name": "N", "starts_on": "2026-05-02", "ends_on": "2026-05-01"}, "ends_on"),
        ({"name": "N", "starts_on": "May 1st"}, "starts_on"),
        ({"name": "N", "starts_on": 0}, "starts_on"),
        ({"name": "N", "ends_on": "2026-05-01T00:00:00"}, "ends_on"),
        ({"name": "N", "budget": "-1"}, "budget"),
        ({"name": "N", "budget": "1.001"}, "budget"),
        ({"name": "N", "budget": "lots"}, "budget"),
        ({"name": "N", "currency": "EU"}, "currency"),
        ({"name": "N", "currency": "ABC"}, "currency"),
        ({"name": "N", "status": "launched"}, "status"),
        ({"name": "N", "type": "tv"}, "type"),
        ({"name": "N", "product_ids": "all"}, "product_ids"),
        ({"name": "N", "product_ids": ["pump"]}, "product_ids[0]"),
        ({"name": "N", "product_ids": [UNKNOWN_ID] * 201}, "product_ids"),
        ({"name": "N", "owner_id": UNKNOWN_ID}, "owner_id"),
        ({"name": "N", "segment_id": UNKNOWN_ID}, "segment_id"),
    ],
)
def test_bad_campaign_input_is_422_naming_the_field_and_writes_nothing(admin_api, body, field):
    before = unchanged()

    assert field in error_fields(admin_api.post("/api/v1/campaigns", body))
    assert unchanged() == before


def test_unknown_and_deleted_products_are_named_by_position(admin_api, make_product):
    live = make_product()
    gone = make_product()
    admin_api.delete(f"/api/v1/products/{gone.pk}", if_match='"1"')
    before = unchanged()

    response = admin_api.post(
        "/api/v1/campaigns",
        {"name": "N", "product_ids": [str(live.pk), UNKNOWN_ID, str(gone.pk)]},
    )

    assert error_fields(response) == ["product_ids[1]", "product_ids[2]"]
    assert unchanged() == before


def test_inactive_products_may_still_be_promoted(make_campaign, make_product):
    clearance = make_product(active=False)

    campaign = make_campaign(product_ids=[clearance.pk])

    assert list(campaign.products.all()) == [clearance]


def test_moving_the_start_after_the_end_is_refused_on_ends_on(admin_api, make_campaign):
    campaign = make_campaign(starts_on=dt.date(2026, 5, 1), ends_on=dt.date(2026, 5, 31))
    url = f"/api/v1/campaigns/{campaign.pk}"

    refused = admin_api.patch(url, {"starts_on": "2026-06-01"}, if_match='"1"')
    cleared = admin_api.patch(url, {"starts_on": "2026-06-01", "ends_on": None}, if_match='"1"')

    assert error_fields(refused) == ["ends_on"]
    assert cleared.status_code == 200
    assert (cleared.json()["starts_on"], cleared.json()["ends_on"]) == ("2026-06-01", None)


def test_database_refuses_an_end_before_the_start_too(make_campaign):
    campaign = make_campaign(starts_on=dt.date(2026, 5, 1))

    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(ends_on=dt.date(2026, 4, 1))


def test_changing_products_is_one_event_with_the_old_and_new_sets(
    admin_api, make_campaign, make_product
):
    first, second = make_product(), make_product()
    campaign = make_campaign(product_ids=[first.pk])
    url = f"/api/v1/campaigns/{campaign.pk}"

    response = admin_api.patch(url, {"product_ids": [str(second.pk)]}, if_match='"1"')

    assert response.json()["product_ids"] == [str(second.pk)]
    assert history_of(campaign.pk)[-1].changes == {
        "product_ids": [[str(first.pk)], [str(second.pk)]]
    }
    assert [e.type for e in events_of(campaign.pk)] == [
        "accord.campaign.created",
        "accord.campaign.updated",
    ]


def test_same_products_in_another_order_change_nothing(admin_api, make_campaign, make_product):
    first, second = make_product(), make_product()
    campaign = make_campaign(product_ids=[first.pk, second.pk])

    response = admin_api.patch(
        f"/api/v1/campaigns/{campaign.pk}",
        {"product_ids": [str(second.pk), str(first.pk)]},
        if_match='"1"',
    )

    assert response["ETag"] == '"1"'
    assert len(events_of(campaign.pk)) == 1


def test_campaign_patch_keeps_the_etag_contract(admin_api, make_campaign):
    campaign = make_campaign()
    url = f"/api/v1/campaigns/{campaign.pk}"

    assert admin_api.patch(url, {"status": "active"}).status_code == 428
    assert admin_api.patch(url, {"status": "active"}, if_match='"0"').status_code == 412
    assert admin_api.patch(url, {"status": "active"}, if_match='"1"').status_code == 200
    assert admin_api.delete(url, if_match='"2"').status_code == 204
    assert [e.type for e in events_of(campaign.pk)][-1] == "accord.campaign.deleted"


def test_only_the_owner_changes_a_campaign_when_others_may_only_read(
    make_user, make_campaign, api_as
):
    owner = make_user()
    campaign = make_campaign(owner=owner)
    url = f"/api/v1/campaigns/{campaign.pk}"

    other = api_as(make_user()).patch(url, {"status": "paused"}, if_match='"1"')
    mine = api_as(owner).patch(url, {"status": "paused"}, if_match='"1"')

    assert (other.status_code, mine.status_code) == (403, 200)


def test_private_campaigns_stay_with_their_owner(make_user, make_campaign, api_as):
    SharingDefault.objects.create(object_type="campaign", access=Access.PRIVATE)
    campaign = make_campaign(owner=make_user())

    assert api_as(make_user()).get(f"/api/v1/campaigns/{campaign.pk}").status_code == 404


def test_campaign_list_filters(admin_api, make_user, make_campaign, make_product):
    pump = make_product()
    marketer = make_user()
    with clock.frozen(T0):
        make_campaign(name="Winter", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 1, 31))
    with clock.frozen(T0 + dt.timedelta(days=1)):
        make_campaign(
            name="Spring",
            status="active",
            starts_on=dt.date(2026, 3, 1),
            ends_on=dt.date(2026, 3, 31),
            product_ids=[pump.pk],
            owner_id=marketer.pk,
        )
        make_campaign(name="Open-ended", starts_on=dt.date(2026, 2, 15))
        make_campaign(name="Someday")

    def names(**query):
        response = admin_api.get("/api/v1/campaigns", query)
        assert response.status_code == 200, response.content
        return sorted(c["name"] for c in response.json()["items"])

    assert names(active_on="2026-03-31") == ["Open-ended", "Spring"]
    assert names(active_on="2026-01-31") == ["Winter"]
    assert names(active_on="2026-02-01") == []
    assert names(product_id=str(pump.pk)) == ["Spring"]
    assert names(owner_id=str(marketer.pk)) == ["Spring"]
    assert names(status="active") == ["Spring"]
    assert names(updated_since=(T0 + dt.timedelta(hours=1)).isoformat()) == [
        "Open-ended",
        "Someday",
        "Spring",
    ]
    assert names(q="wint") == ["Winter"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "launched"}, "status"),
        ({"product_id": "pump"}, "product_id"),
        ({"active_on": "soon"}, "active_on"),
        ({"active_on": "0"}, "active_on"),
        ({"sort": "budget"}, "sort"),
    ],
)
def test_bad_campaign_filters_are_422(admin_api, query, field):
    assert error_fields(admin_api.get("/api/v1/campaigns", query)) == [field]


def test_create_many_links_products_and_writes_one_event_each(admin, make_product):
    pump = make_product()
    rows = [{"name": f"C{i}", "product_ids": [pump.pk], "budget": 100} for i in range(3)]

    made = campaigns.create_many(actor=admin, rows=rows)

    assert [list(c.products.all()) for c in made] == [[pump]] * 3
    assert all(len(events_of(c.pk)) == 1 for c in made)


def test_service_rejects_datetimes_as_dates(admin):
    with pytest.raises(InvalidInput) as caught:
        campaigns.create(actor=admin, data={"name": "N", "starts_on": T0})

    assert [e.field for e in caught.value.errors] == ["starts_on"]

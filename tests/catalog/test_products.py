"""Products: administrators keep the catalogue, everyone reads it, every write is one event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accord.catalog.models import Product
from accord.catalog.services import products
from accord.core import clock
from accord.core.errors import InvalidInput, PermissionDenied
from accord.core.models import Source
from tests.catalog.helpers import UNKNOWN_ID, error_fields, events_of, history_of, snapshot

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_admin_creates_product_with_normalised_sku_and_defaults(admin_api):
    response = admin_api.post(
        "/api/v1/products", {"sku": "  ab-12x ", "name": "Widget", "list_price": "19.9"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["ETag"] == '"1"'
    assert response["Location"] == f"/api/v1/products/{body['id']}"
    assert body["sku"] == "AB-12X"
    assert body["list_price"] == "19.90"
    assert body["currency"] == "EUR"
    assert body["active"] is True
    [event] = events_of(body["id"])
    assert event.type == "accord.product.created"
    assert event.envelope["data"]["record"]["sku"] == "AB-12X"
    [entry] = history_of(body["id"])
    assert entry.verb == "created"
    assert entry.changes["list_price"] == [None, "19.90"]


def test_everyone_reads_the_catalogue(make_user, make_product, api_as):
    product = make_product(sku="R-1")
    client = api_as(make_user())

    assert client.get(f"/api/v1/products/{product.pk}").json()["sku"] == "R-1"
    assert [p["sku"] for p in client.get("/api/v1/products").json()["items"]] == ["R-1"]


def test_non_superuser_cannot_create_change_or_delete_products(make_user, make_product, api_as):
    product = make_product()
    client = api_as(make_user())
    before = snapshot(Product)
    url = f"/api/v1/products/{product.pk}"

    created = client.post("/api/v1/products", {"sku": "X", "name": "X", "list_price": "1"})
    changed = client.patch(url, {"name": "Cheap"}, if_match='"1"')
    deleted = client.delete(url, if_match='"1"')

    assert [created.status_code, changed.status_code, deleted.status_code] == [403, 403, 403]
    assert snapshot(Product) == before


def test_service_refuses_product_writes_by_non_superusers(make_user, make_product):
    with pytest.raises(PermissionDenied):
        products.create(actor=make_user(), data={"sku": "A", "name": "A", "list_price": 1})
    with pytest.raises(PermissionDenied):
        products.update(
            actor=make_user(),
            record_id=make_product().pk,
            data={"active": False},
            expected_version=None,
        )


def test_sku_is_unique_whatever_its_case(admin_api, make_product):
    make_product(sku="DUP-1")
    before = snapshot(Product)

    response = admin_api.post(
        "/api/v1/products", {"sku": " dup-1", "name": "Again", "list_price": "1"}
    )

    assert response.status_code == 409
    assert snapshot(Product) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No SKU", "list_price": "1"}, "sku"),
        ({"sku": "   ", "name": "Blank", "list_price": "1"}, "sku"),
        ({"sku": "S" * 65, "name": "Long", "list_price": "1"}, "sku"),
        ({"sku": "S", "name": "N" * 201, "list_price": "1"}, "name"),
        (
            {"sku": "S", "name": "Desc", "list_price": "1", "description": "d" * 10_001},
            "description",
        ),
        ({"sku": "S", "name": "No price"}, "list_price"),
        ({"sku": "S", "name": "Neg", "list_price": "-0.01"}, "list_price"),
        ({"sku": "S", "name": "Cents", "list_price": "1.005"}, "list_price"),
        ({"sku": "S", "name": "Text", "list_price": "cheap"}, "list_price"),
        ({"sku": "S", "name": "Huge", "list_price": "1" * 17}, "list_price"),
        ({"sku": "S", "name": "Inf", "list_price": "Infinity"}, "list_price"),
        ({"sku": "S", "name": "Cur", "list_price": "1", "currency": "EURO"}, "currency"),
        ({"sku": "S", "name": "Cur", "list_price": "1", "currency": "XYZ"}, "currency"),
        ({"sku": "S", "name": "Cur", "list_price": "1", "currency": "E1R"}, "currency"),
        ({"sku": "S", "name": "Bool", "list_price": "1", "active": "yes"}, "active"),
        ({"sku": 12, "name": "Type", "list_price": "1"}, "sku"),
        ({"sku": "S", "name": "Extra", "list_price": "1", "colour": "red"}, "colour"),
    ],
)
def test_bad_product_input_is_422_naming_the_field_and_writes_nothing(admin_api, body, field):
    before = snapshot(Product)

    response = admin_api.post("/api/v1/products", body)

    assert field in error_fields(response)
    assert snapshot(Product) == before


def test_service_reports_every_bad_field_at_once(admin):
    with pytest.raises(InvalidInput) as caught:
        products.create(
            actor=admin, data={"sku": " ", "name": "", "list_price": -3, "currency": "eu"}
        )

    assert {e.field for e in caught.value.errors} == {"sku", "name", "list_price", "currency"}


def test_currency_is_stored_upper_case(admin):
    product = products.create(
        actor=admin, data={"sku": "C", "name": "C", "list_price": 5, "currency": "usd"}
    )

    assert (product.currency, product.list_price) == ("USD", Decimal("5.00"))


def test_patch_needs_the_current_etag(admin_api, make_product):
    product = make_product()
    url = f"/api/v1/products/{product.pk}"

    assert admin_api.patch(url, {"name": "New"}).status_code == 428
    assert admin_api.patch(url, {"name": "New"}, if_match='"7"').status_code == 412
    changed = admin_api.patch(url, {"name": "New", "list_price": "12.5"}, if_match='"1"')

    assert changed.status_code == 200
    assert changed["ETag"] == '"2"'
    assert [e.type for e in events_of(product.pk)] == [
        "accord.product.created",
        "accord.product.updated",
    ]
    assert history_of(product.pk)[-1].changes == {
        "name": ["Widget", "New"],
        "list_price": ["10.00", "12.50"],
    }


def test_patch_that_changes_nothing_writes_no_event(admin_api, make_product):
    product = make_product(list_price="12.50")
    url = f"/api/v1/products/{product.pk}"

    response = admin_api.patch(url, {"list_price": "12.5", "sku": "sku-0"}, if_match='"1"')

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert len(events_of(product.pk)) == 1


def test_patch_null_on_required_field_is_422(admin_api, make_product):
    product = make_product()

    response = admin_api.patch(
        f"/api/v1/products/{product.pk}", {"list_price": None}, if_match='"1"'
    )

    assert error_fields(response) == ["list_price"]


def test_deactivated_product_stays_readable(admin_api, make_product):
    product = make_product()
    url = f"/api/v1/products/{product.pk}"

    admin_api.patch(url, {"active": False}, if_match='"1"')

    assert admin_api.get(url).json()["active"] is False
    assert history_of(product.pk)[-1].changes == {"active": [True, False]}


def test_deleted_product_leaves_the_catalogue_with_one_event(admin_api, make_product):
    product = make_product()
    url = f"/api/v1/products/{product.pk}"

    assert admin_api.delete(url, if_match='"1"').status_code == 204

    assert admin_api.get(url).status_code == 404
    assert admin_api.get("/api/v1/products").json()["items"] == []
    assert events_of(product.pk)[-1].type == "accord.product.deleted"
    assert Product.all_objects.get(pk=product.pk).deleted_at is not None


def test_unknown_and_malformed_ids_are_404(admin_api):
    assert admin_api.get(f"/api/v1/products/{UNKNOWN_ID}").status_code == 404
    assert admin_api.get("/api/v1/products/not-an-id").status_code == 404


def test_list_filters_by_active_sku_updated_since_and_search(admin_api, make_product):
    with clock.frozen(T0):
        make_product(sku="OLD-1", name="Old gear")
    with clock.frozen(T0 + dt.timedelta(days=1)):
        make_product(sku="NEW-1", name="Fresh gear")
        make_product(sku="OFF-1", name="Retired", active=False)

    def skus(**query):
        response = admin_api.get("/api/v1/products", query)
        assert response.status_code == 200, response.content
        return sorted(p["sku"] for p in response.json()["items"])

    assert skus(active="true") == ["NEW-1", "OLD-1"]
    assert skus(active="false") == ["OFF-1"]
    assert skus(sku=" new-1 ") == ["NEW-1"]
    assert skus(updated_since=(T0 + dt.timedelta(hours=1)).isoformat()) == ["NEW-1", "OFF-1"]
    assert skus(q="gear") == ["NEW-1", "OLD-1"]
    assert skus(q="off-1") == ["OFF-1"]


def test_list_pages_by_sku(admin_api, make_product):
    for sku in ("C", "A", "B"):
        make_product(sku=sku)

    first = admin_api.get("/api/v1/products", {"sort": "sku", "limit": 2}).json()
    second = admin_api.get(
        "/api/v1/products", {"sort": "sku", "limit": 2, "cursor": first["next_cursor"]}
    ).json()

    assert [p["sku"] for p in first["items"] + second["items"]] == ["A", "B", "C"]
    assert second["next_cursor"] is None


def test_create_many_writes_one_event_per_product(admin):
    made = products.create_many(
        actor=admin,
        rows=[{"sku": f"B-{i}", "name": f"Bulk {i}", "list_price": i} for i in range(3)],
        source=Source.IMPORT,
    )

    for product in made:
        [event] = events_of(product.pk)
        assert event.type == "accord.product.created"
        assert history_of(product.pk)[0].source == Source.IMPORT


def test_create_many_names_the_bad_row_and_writes_nothing(admin):
    before = snapshot(Product)
    rows = [
        {"sku": "OK-1", "name": "Fine", "list_price": 1},
        {"sku": "OK-2", "name": "Bad", "list_price": -1},
    ]

    with pytest.raises(InvalidInput) as caught:
        products.create_many(actor=admin, rows=rows)

    assert [e.field for e in caught.value.errors] == ["[1].list_price"]
    assert snapshot(Product) == before

"""The demo catalogue loads through the service and can be loaded twice."""

from __future__ import annotations

from accord.catalog import demo
from accord.catalog.models import Product
from accord.core.models import OutboxEvent
from tests.catalog.demo import demo_context


def test_demo_loads_fifty_products_and_records_their_ids(admin):
    ctx, done = demo_context(admin)

    demo.load(ctx)

    assert len(ctx.ids["product"]) == demo.PRODUCTS == Product.objects.count()
    assert done["Products"] == demo.PRODUCTS
    assert Product.objects.filter(active=True).exists()
    assert OutboxEvent.objects.filter(type="accord.product.created").count() == demo.PRODUCTS


def test_second_demo_load_reuses_the_products(admin):
    first, _ = demo_context(admin)
    demo.load(first)
    second, _ = demo_context(admin)

    demo.load(second)

    assert sorted(second.ids["product"]) == sorted(first.ids["product"])
    assert Product.objects.count() == demo.PRODUCTS

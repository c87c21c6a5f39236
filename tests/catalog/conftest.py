from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from accord.catalog.models import Product
from accord.catalog.services import products
from accord.identity.models import User


@pytest.fixture
def make_product(admin: User) -> Callable[..., Product]:
    counter = iter(range(1_000_000))

    def make(
        *, sku: str | None = None, name: str = "Widget", list_price: str = "10.00", **data: Any
    ) -> Product:
        values = {
            "sku": sku or f"SKU-{next(counter)}",
            "name": name,
            "list_price": Decimal(list_price),
            **data,
        }
        return products.create(actor=admin, data=values)

    return make

"""REST endpoints of catalog (mounted by accord.api)."""

from __future__ import annotations

from typing import Any

from accord.catalog import queries, schemas, services
from accord.core.api import Resource, crud_router

products = crud_router(
    Resource(
        name="product",
        service=services.products,
        read=queries.get_product,
        browse=queries.list_products,
        out=schemas.ProductOut,
        create_in=schemas.ProductIn,
        patch_in=schemas.ProductPatch,
        filters=schemas.ProductFilters,
        tags=["products"],
    )
)

#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES: list[tuple[str, Any, str]] = [("/products", products, "products")]

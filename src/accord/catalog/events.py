"""How products appear in events, field history and API responses."""

from __future__ import annotations

from accord.catalog.models import Product
from accord.core.records import Payload, jsonable


def product_record(product: Product) -> Payload:
    return {
        "id": str(product.pk),
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "list_price": jsonable(product.list_price),
        "currency": product.currency,
        "active": product.active,
        "external_id": product.external_id,
        "custom_fields": product.custom_fields,
        "version": product.version,
        "created_at": jsonable(product.created_at),
        "updated_at": jsonable(product.updated_at),
        "created_by_id": jsonable(product.created_by_id),
        "updated_by_id": jsonable(product.updated_by_id),
        "deleted_at": jsonable(product.deleted_at),
    }

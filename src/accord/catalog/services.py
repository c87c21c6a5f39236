"""All writes to products (see core.services for the write path).

The catalogue is shared configuration: everyone reads it, only administrators change it (the
identity issue may hand this right to a product-manager role through ``may_create``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accord.catalog import events
from accord.catalog.models import Product, normalize_sku
from accord.core import search
from accord.core.money import clean_amount, normalize_currency
from accord.core.records import Payload
from accord.core.validation import Cleaner
from accord.identity.records import VisibleRecordService
from accord.identity.visibility import can_edit


def _is_admin(actor: Any) -> bool:
    return bool(actor is not None and actor.is_active and actor.is_superuser)


class ProductService(VisibleRecordService[Product]):
    model = Product

    def may_create(self, actor: Any) -> bool:
        return _is_admin(actor)

    def may_edit(self, actor: Any, record: Product) -> bool:
        return _is_admin(actor) and can_edit(actor, record)

    def payload(self, record: Product) -> Payload:
        return events.product_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Product | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        cleaner.text("sku", required=True, normalize=normalize_sku)
        cleaner.text("name", required=True)
        cleaner.text("description")
        clean_amount(cleaner, "list_price", required=True)
        if cleaner.has("currency"):
            cleaner.text("currency", required=True, normalize=normalize_currency)
        cleaner.value("active")
        if "active" in cleaner.out and not isinstance(cleaner.out["active"], bool):
            cleaner.error("active", "must be true or false")
        cleaner.text("external_id")
        for key in ("sku", "name"):
            if cleaner.out.get(key) == "":
                # Whitespace passes Cleaner.get's emptiness check but strips to nothing.
                cleaner.error(key, "is required and cannot be empty")
        return cleaner.done()

    search_fields = ("sku", "name", "external_id")

    def search_document(self, record: Product) -> search.Document:
        return search.document(sku=record.sku, name=record.name, external_id=record.external_id)


products = ProductService()

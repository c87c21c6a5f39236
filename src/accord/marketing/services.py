"""All writes to campaigns (see core.services for the write path)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from accord.catalog.models import Product
from accord.catalog.queries import products_visible_to
from accord.core import search
from accord.core.ids import parse_id
from accord.core.money import clean_amount, normalize_currency
from accord.core.records import Payload
from accord.core.validation import MISSING, Cleaner, lookup, prime
from accord.identity.models import User
from accord.identity.records import VisibleRecordService
from accord.marketing import events
from accord.marketing.models import Campaign

MAX_PRODUCTS = 200


def _fetch(kind: str, key: Any, fetch: Callable[[Any], Any]) -> Any:
    # Keyed by the canonical id, the form preload records a batch's rows under.
    pk = parse_id(key)
    return lookup(kind, pk, fetch) if pk is not None else None


def _owner(pk: Any) -> User | None:
    return _fetch("marketing.user", pk, lambda k: User.objects.filter(pk=k, is_active=True).first())


def _product(actor: Any, pk: Any) -> Product | None:
    return _fetch(
        "marketing.product", pk, lambda k: products_visible_to(actor).filter(pk=k).first()
    )


def _ids(values: Any) -> set[str]:
    return {str(pk) for value in values if (pk := parse_id(str(value))) is not None}


class CampaignService(VisibleRecordService[Campaign]):
    model = Campaign
    related = ("products",)
    prefetch = ("products",)

    def payload(self, record: Campaign) -> Payload:
        return events.campaign_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Campaign | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        cleaner.text("name", required=True)
        if cleaner.out.get("name") == "":
            # Whitespace passes Cleaner.get's emptiness check but strips to nothing.
            cleaner.error("name", "is required and cannot be empty")
        cleaner.text("description")
        cleaner.text("external_id")
        for key, choices in (("type", Campaign.Type), ("status", Campaign.Status)):
            if cleaner.has(key):
                cleaner.choice(key, choices)
        clean_amount(cleaner, "budget")
        if cleaner.has("currency"):
            cleaner.text("currency", required=True, normalize=normalize_currency)
        cleaner.related("owner_id", _owner, attr="owner", what="user")
        self._clean_dates(cleaner, record)
        self._clean_products(actor, cleaner)
        return cleaner.done()

    @staticmethod
    def _clean_dates(cleaner: Cleaner, record: Campaign | None) -> None:
        for key in ("starts_on", "ends_on"):
            value = cleaner.get(key)
            if value is MISSING:
                continue
            if value is not None and (
                not isinstance(value, dt.date) or isinstance(value, dt.datetime)
            ):
                cleaner.error(key, "must be a date (YYYY-MM-DD)")
                continue
            cleaner.out[key] = value
        starts = cleaner.out.get("starts_on", record.starts_on if record else None)
        ends = cleaner.out.get("ends_on", record.ends_on if record else None)
        if starts is not None and ends is not None and ends < starts:
            cleaner.error("ends_on", f"cannot be before starts_on ({starts.isoformat()})")

    @staticmethod
    def _clean_products(actor: Any, cleaner: Cleaner) -> None:
        ids = cleaner.get("product_ids")
        if ids is MISSING:
            return
        if ids is None:
            cleaner.out["products"] = []
            return
        if len(ids) > MAX_PRODUCTS:
            cleaner.error("product_ids", f"at most {MAX_PRODUCTS} products")
            return
        found: dict[str, Product] = {}
        for index, pk in enumerate(ids):
            product = _product(actor, pk)
            if product is None:
                cleaner.error(f"product_ids[{index}]", f"unknown product {pk}")
            else:
                found.setdefault(str(product.pk), product)
        cleaner.out["products"] = list(found.values())

    def preload(self, actor: Any, rows: list[Mapping[str, Any]]) -> None:
        owners = _ids(r.get("owner_id") for r in rows)
        if owners:
            users = User.objects.filter(pk__in=owners, is_active=True)
            prime("marketing.user", owners, {str(u.pk): u for u in users})
        products = _ids(p for r in rows for p in (r.get("product_ids") or []))
        if products:
            found = products_visible_to(actor).filter(pk__in=products)
            prime("marketing.product", products, {str(p.pk): p for p in found})

    def save_related(
        self, records: list[Campaign], cleaned: list[dict[str, Any]], *, creating: bool
    ) -> None:
        if creating:
            through = Campaign.products.through
            through.objects.bulk_create(
                through(campaign_id=record.pk, product_id=product.pk)
                for record, values in zip(records, cleaned, strict=True)
                for product in values.get("products") or []
            )
            return
        for record, values in zip(records, cleaned, strict=True):
            if "products" in values:
                record.products.set(values["products"])

    search_fields = ("name", "external_id")

    def search_document(self, record: Campaign) -> search.Document:
        return search.document(name=record.name, external_id=record.external_id)


campaigns = CampaignService()

"""What the company sells. Variants, configuration options, price books and availability extend
products in the quote-to-order issue; they hang off :class:`Product` by foreign key."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from accord.core.models import Record, recycle_bin_index
from accord.core.money import company_currency

SKU_MAX = 64


def normalize_sku(raw: str) -> str:
    """SKUs compare without regard to case or surrounding blanks: stored upper-case, trimmed."""
    sku = raw.strip().upper()
    if len(sku) > SKU_MAX:
        raise ValueError(f"at most {SKU_MAX} characters")
    if any(not ch.isprintable() for ch in sku):
        raise ValueError("cannot contain control characters")
    return sku


class Product(Record):
    """Something the company sells, identified by its SKU; the catalogue every department shares.

    Cases and campaigns point at products, so the impact radar can tell which campaign a surge of
    cases follows. A product that is no longer sold is deactivated (``active``), which keeps it on
    the records that name it but stops new cases from choosing it. Catalogue data is readable by
    everyone and changed only by administrators.
    """

    object_type: ClassVar[str] = "product"

    sku = models.CharField(
        max_length=SKU_MAX, unique=True, help_text="Stored trimmed and upper-case"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    list_price = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3, default=company_currency, help_text="ISO 4217")
    active = models.BooleanField(default=True)
    external_id = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(list_price__gte=0), name="product_price_not_negative"
            )
        ]
        indexes = [
            recycle_bin_index("product_deleted"),
            models.Index(fields=["name", "id"], name="product_name"),
            models.Index(fields=["active", "name", "id"], name="product_active"),
            models.Index(fields=["updated_at", "id"], name="product_updated"),
            models.Index(fields=["created_at", "id"], name="product_created"),
            models.Index(fields=["external_id"], name="product_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

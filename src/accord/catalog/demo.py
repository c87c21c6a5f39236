"""Demo catalogue: about fifty products for the cases and campaigns that follow."""

from __future__ import annotations

from decimal import Decimal

from accord.catalog.models import Product
from accord.catalog.services import products
from accord.core.demo import DemoContext
from accord.core.models import Source

PRODUCTS = 50
_LINES = ("Sensor", "Controller", "Gateway", "Drive", "Pump", "Valve", "Display", "Licence")
_GRADES = ("Lite", "Standard", "Pro", "Max", "XL")


def load(ctx: DemoContext) -> None:
    """Create the products (a few of them discontinued) and record them in ``ctx.ids``."""
    advance = ctx.progress("Products", PRODUCTS)
    rnd = ctx.faker.random
    rows = []
    for index in range(PRODUCTS):
        line = _LINES[index % len(_LINES)]
        grade = _GRADES[(index // len(_LINES)) % len(_GRADES)]
        rows.append(
            {
                "sku": f"{line[:3].upper()}-{index + 1:04d}",
                "name": f"{line} {grade} {index // (len(_LINES) * len(_GRADES)) + 1}",
                "description": ctx.faker.sentence(nb_words=12),
                "list_price": Decimal(rnd.randint(900, 250_000)) / 100,
                "active": rnd.random() > 0.1,
            }
        )
    # A second load (``accord demo`` run again) reuses the products it made the first time.
    skus = [row["sku"] for row in rows]
    existing = set(Product.all_objects.filter(sku__in=skus).values_list("sku", flat=True))
    missing = [row for row in rows if row["sku"] not in existing]
    if missing:
        products.create_many(actor=ctx.actor, rows=missing, source=Source.SYSTEM)
    ctx.ids["product"] = list(Product.objects.filter(sku__in=skus).values_list("pk", flat=True))
    advance(len(rows))

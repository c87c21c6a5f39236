"""Demo service data: two queues and cases from the demo contacts about the demo products."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from accord.catalog.queries import products_visible_to
from accord.core import clock
from accord.core.demo import DemoContext
from accord.core.models import Source
from accord.service.models import Queue
from accord.service.services import cases, queues

QUEUES = (
    {"name": "Support", "description": "Product questions and faults"},
    {"name": "Billing", "description": "Invoices, payments and refunds"},
)
_SUBJECTS = (
    "Device does not start",
    "Question about my invoice",
    "Error message after update",
    "Request for a replacement part",
    "How do I configure this?",
    "Delivery arrived damaged",
    "Refund request",
    "Performance has degraded",
)
_PRIORITIES = (("low", 2), ("normal", 6), ("high", 2), ("urgent", 1))
_STATUSES = (("new", 2), ("open", 3), ("pending", 1), ("resolved", 3), ("closed", 4))
_ORIGINS = ("email", "phone", "web", "portal", "other")


#: Rows per create_many: one transaction each, and enough per owner that assignment
#: notifications come as one summary per owner and batch (activities.notifications).
BATCH = 5_000


def load(ctx: DemoContext) -> None:
    """Create the queues (once), then ``cases_per_100`` cases per 100 contacts in batches,
    owned by the service department's people."""
    rnd = ctx.faker.random
    names = [q["name"] for q in QUEUES]
    existing = set(Queue.all_objects.filter(name__in=names).values_list("name", flat=True))
    missing = [q for q in QUEUES if q["name"] not in existing]
    if missing:
        queues.create_many(actor=ctx.actor, rows=missing, source=Source.SYSTEM)
    ctx.ids["queue"] = list(Queue.objects.filter(name__in=names).values_list("pk", flat=True))
    contacts = ctx.ids.get("contact", [])
    total = len(contacts) * ctx.size.cases_per_100 // 100
    advance = ctx.progress("Cases", total)
    # Inactive products take no new cases.
    products = list(
        products_visible_to(ctx.actor)
        .filter(pk__in=ctx.ids.get("product", []), active=True)
        .values_list("pk", flat=True)
    )
    by_department = ctx.extra.get("users_by_department", {})
    owners = by_department.get("service") or ctx.ids.get("user") or [ctx.actor.pk]
    now = clock.now()
    created: list[uuid.UUID] = []
    for start, stop in ctx.batches(total, BATCH):
        rows = []
        for _ in range(start, stop):
            row = {
                "subject": rnd.choice(_SUBJECTS),
                "description": ctx.faker.paragraph(nb_sentences=2),
                "contact_id": rnd.choice(contacts),
                "queue_id": rnd.choice(ctx.ids["queue"]),
                "owner_id": rnd.choice(owners),
                "priority": _weighted(rnd, _PRIORITIES),
                "status": _weighted(rnd, _STATUSES),
                "origin": rnd.choice(_ORIGINS),
                "opened_at": now - dt.timedelta(minutes=rnd.randint(0, 90 * 24 * 60)),
            }
            if products and rnd.random() < 0.7:
                row["product_id"] = rnd.choice(products)
            rows.append(row)
        batch = cases.create_many(actor=ctx.actor, rows=rows, source=Source.SYSTEM)
        created.extend(c.pk for c in batch)
        advance(len(batch))
    ctx.ids["case"] = created


def _weighted(rnd: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    values = [value for value, _ in options]
    weights = [weight for _, weight in options]
    return rnd.choices(values, weights=weights)[0]

"""Demo pipeline, leads, deals and a web form (``accord demo``; see core.demo for the contract).

Rows go through ``create_many`` in batches of 1,000, so every one is validated like an API write
and each batch commits with its history and events. Faker fills small pools of names once and
the rows are composed from them with Faker's seeded generator (Faker is slow per call).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from decimal import Decimal
from random import Random
from typing import Any

from accord.core import clock
from accord.core.demo import DemoContext
from accord.core.models import Source
from accord.identity.demo import ascii_fold
from accord.parties.models import Contact
from accord.sales.models import Lead, LeadSource, Pipeline, Stage, WebForm
from accord.sales.services import deals, leads, pipelines, stages
from accord.sales.webforms import web_forms

#: Rows per create_many: one transaction each, and enough per owner that assignment
#: notifications come as one summary per owner and batch (activities.notifications).
BATCH = 5_000
POOL = 200
PIPELINE = "New business"

#: (name, probability, won, lost, share of deals).
STAGES: tuple[tuple[str, int, bool, bool, int], ...] = (
    ("Prospecting", 10, False, False, 25),
    ("Qualification", 20, False, False, 20),
    ("Proposal", 50, False, False, 18),
    ("Negotiation", 75, False, False, 12),
    ("Closed won", 100, True, False, 15),
    ("Closed lost", 0, False, True, 10),
)
LEAD_STATUSES = (
    (Lead.Status.NEW, 40),
    (Lead.Status.WORKING, 30),
    (Lead.Status.QUALIFIED, 20),
    (Lead.Status.UNQUALIFIED, 10),
)
INTERESTS = ("Sensors", "Controllers", "Gateways", "Service contract", "Training")
BUDGETS = ("< 10k", "10k-50k", "50k-250k", "> 250k")
#: The reserved ``.example`` TLD (RFC 2606): demo addresses never reach a real inbox.
EMAIL_DOMAIN = "leads.accord-demo.example"


def load(ctx: DemoContext) -> None:
    stage_list = _ensure_pipeline(ctx)
    ctx.extra["pipeline_id"] = stage_list[0].pipeline_id
    #: The default pipeline's stage ids in board order.
    ctx.extra["stage_ids"] = [s.pk for s in stage_list]
    sellers = _sellers(ctx)
    _load_leads(ctx, sellers)
    _load_deals(ctx, sellers, stage_list)
    _ensure_web_form(ctx)


def _sellers(ctx: DemoContext) -> list[Any]:
    by_department = ctx.extra.get("users_by_department", {})
    return list(by_department.get("sales") or ctx.ids.get("user") or [ctx.actor.pk])


def _ensure_pipeline(ctx: DemoContext) -> list[Stage]:
    """The demo pipeline and its stages; loading twice reuses the first load's."""
    pipeline = Pipeline.objects.filter(name=PIPELINE).first()
    if pipeline is None:
        pipeline = pipelines.create(
            actor=ctx.actor, data={"name": PIPELINE, "is_default": True}, source=Source.SYSTEM
        )
        for position, (name, probability, won, lost, _) in enumerate(STAGES):
            stages.create(
                actor=ctx.actor,
                data={
                    "pipeline_id": pipeline.pk,
                    "name": name,
                    "position": position,
                    "probability": probability,
                    "is_won": won,
                    "is_lost": lost,
                },
                source=Source.SYSTEM,
            )
    return list(Stage.objects.filter(pipeline=pipeline).order_by("position"))


def _lead_rows(ctx: DemoContext, sellers: list[Any], total: int) -> Iterator[dict[str, Any]]:
    faker, rng = ctx.faker, ctx.faker.random
    first_names = [faker.first_name() for _ in range(POOL)]
    last_names = [faker.last_name() for _ in range(POOL)]
    companies = [faker.company() for _ in range(POOL)]
    titles = [faker.job() for _ in range(POOL // 4)]
    statuses, weights = zip(*LEAD_STATUSES, strict=True)
    sources = [s for s in LeadSource.values]
    for index in range(total):
        first, last = rng.choice(first_names), rng.choice(last_names)
        source = rng.choice(sources)
        row: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "company": rng.choice(companies),
            "title": rng.choice(titles)[:200],
            "email": f"{ascii_fold(first) or 'lead'}.{ascii_fold(last) or index}{index}"
            f"@{EMAIL_DOMAIN}",
            "phone": f"+1202555{rng.randint(100, 199):04d}",
            "source": source,
            "status": rng.choices(statuses, weights=weights)[0],
            "score": rng.randint(0, 100),
            "owner_id": rng.choice(sellers),
        }
        if source == LeadSource.WEB_FORM:
            row["captured"] = {
                "product_interest": rng.choice(INTERESTS),
                "budget": rng.choice(BUDGETS),
            }
        yield row


def _load_leads(ctx: DemoContext, sellers: list[Any]) -> None:
    total = ctx.size.contacts // 10
    advance = ctx.progress("Leads", total)
    ids = ctx.ids.setdefault("lead", [])
    rows = _lead_rows(ctx, sellers, total)
    while batch := list(itertools.islice(rows, BATCH)):
        created = leads.create_many(actor=ctx.actor, rows=batch, source=Source.SYSTEM)
        ids.extend(lead.pk for lead in created)
        advance(len(created))


def _deal_rows(
    ctx: DemoContext, sellers: list[Any], stage_list: list[Stage], total: int
) -> Iterator[dict[str, Any]]:
    rng: Random = ctx.faker.random
    contact_ids: list[uuid.UUID] = ctx.ids.get("contact") or []
    account_ids: list[uuid.UUID] = ctx.ids.get("account") or []
    if not account_ids:
        return
    weights = [share for *_, share in STAGES][: len(stage_list)]
    today = clock.now().date()
    picked = rng.choices(contact_ids, k=total) if contact_ids else []
    for start in range(0, total, BATCH):
        chunk = picked[start : start + BATCH]
        account_of = dict(Contact.objects.filter(pk__in=chunk).values_list("pk", "account_id"))
        for offset in range(min(BATCH, total - start)):
            contact = chunk[offset] if offset < len(chunk) else None
            account = account_of.get(contact) if contact else None
            stage = rng.choices(stage_list, weights=weights)[0]
            yield {
                "name": f"{rng.choice(INTERESTS)} {rng.choice(('rollout', 'pilot', 'renewal'))}",
                "account_id": account or rng.choice(account_ids),
                "contact_ids": [contact] if account else [],
                "amount": Decimal(rng.randint(10, 5_000) * 100),
                "stage_id": stage.pk,
                "expected_close": (today + dt.timedelta(days=rng.randint(-60, 180))).isoformat(),
                "owner_id": rng.choice(sellers),
            }


def _load_deals(ctx: DemoContext, sellers: list[Any], stage_list: list[Stage]) -> None:
    total = ctx.size.contacts * ctx.size.deals_per_100 // 100
    advance = ctx.progress("Deals", total)
    ids = ctx.ids.setdefault("deal", [])
    rows = _deal_rows(ctx, sellers, stage_list, total)
    while batch := list(itertools.islice(rows, BATCH)):
        created = deals.create_many(actor=ctx.actor, rows=batch, source=Source.SYSTEM)
        ids.extend(deal.pk for deal in created)
        advance(len(created))


def _ensure_web_form(ctx: DemoContext) -> None:
    if WebForm.objects.filter(slug="contact-us").exists():
        return
    web_forms.create(
        actor=ctx.actor,
        data={
            "name": "Contact us",
            "slug": "contact-us",
            "field_map": {
                "first_name": "first_name",
                "last_name": "last_name",
                "email": "email",
                "company": "company",
                "interest": "captured.product_interest",
                "message": "captured.message",
            },
        },
        source=Source.SYSTEM,
    )

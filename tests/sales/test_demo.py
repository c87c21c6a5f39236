"""Demo data: a default pipeline, leads (some qualified) and deals linked to demo accounts."""

from __future__ import annotations

from faker import Faker

from accord.core.demo import SIZES, DemoContext
from accord.parties import services as parties
from accord.sales import demo
from accord.sales.models import Deal, Lead, Pipeline, Stage, WebForm
from accord.sales.services import leads


def _ctx(admin, **ids):
    faker = Faker()
    faker.seed_instance(11)
    progress: dict[str, list[int]] = {}

    def start(label: str, total: int):
        progress[label] = [total]
        return progress[label].append

    ctx = DemoContext(size=SIZES["tiny"], faker=faker, actor=admin, progress=start, ids=ids)
    return ctx, progress


def test_demo_loads_pipeline_leads_and_deals_on_demo_records(admin, make_user):
    accounts = parties.accounts.create_many(
        actor=admin, rows=[{"name": f"Account {n}"} for n in range(5)]
    )
    contacts = parties.contacts.create_many(
        actor=admin,
        rows=[
            {"last_name": f"Contact {n}", "account_id": accounts[n % 5].pk if n % 4 else None}
            for n in range(SIZES["tiny"].contacts)
        ],
    )
    seller = make_user()
    ctx, progress = _ctx(
        admin,
        user=[admin.pk, seller.pk],
        account=[a.pk for a in accounts],
        contact=[c.pk for c in contacts],
    )

    demo.load(ctx)

    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
    assert len(stages) == 6
    assert ctx.extra["stage_ids"] == [s.pk for s in stages]
    assert sum(s.is_won for s in stages) == sum(s.is_lost for s in stages) == 1

    expected_leads = SIZES["tiny"].contacts // 10
    assert Lead.objects.count() == len(ctx.ids["lead"]) == expected_leads
    assert Lead.objects.filter(status="qualified").exists()
    assert progress["Leads"] == [expected_leads, expected_leads]

    expected_deals = SIZES["tiny"].contacts * SIZES["tiny"].deals_per_100 // 100
    assert Deal.objects.count() == len(ctx.ids["deal"]) == expected_deals
    deals = list(Deal.objects.prefetch_related("contacts"))
    assert {d.account_id for d in deals} <= {a.pk for a in accounts}
    for deal in deals:
        assert all(c.account_id == deal.account_id for c in deal.contacts.all())
    assert all(d.closed_at is not None for d in deals if d.stage.is_closed)
    assert WebForm.objects.filter(slug="contact-us", active=True).exists()


def test_demo_rows_are_what_the_lead_service_accepts(admin):
    """Every demo lead went through create_many, so a qualified one converts cleanly."""
    ctx, _ = _ctx(admin)
    demo.load(ctx)
    assert Deal.objects.count() == 0, "no accounts, no deals"
    lead = Lead.objects.filter(status="qualified").first()
    assert lead is not None
    from accord.sales.services import convert_lead

    result = convert_lead(actor=admin, lead_id=lead.pk, expected_version=None, source="system")
    assert result.contact.last_name == lead.last_name
    assert leads.payload(Lead.objects.get(pk=lead.pk))["status"] == "converted"


def test_loading_twice_reuses_the_pipeline(admin):
    demo.load(_ctx(admin)[0])
    demo.load(_ctx(admin)[0])
    assert Pipeline.objects.count() == 1
    assert WebForm.objects.count() == 1

"""Demo cases come from the demo contacts, about the demo products, in the demo queues."""

from __future__ import annotations

from accord.catalog import demo as catalog_demo
from accord.parties.services import accounts, contacts
from accord.service import demo
from accord.service.models import Case, Queue
from tests.catalog.demo import demo_context


def test_demo_opens_cases_per_hundred_contacts_linked_to_contacts_and_products(admin):
    ctx, done = demo_context(admin, cases_per_100=50)
    account = accounts.create(actor=admin, data={"name": "Acme"})
    people = contacts.create_many(
        actor=admin,
        rows=[
            {"last_name": f"P{i}", **({"account_id": account.pk} if i % 2 else {})}
            for i in range(20)
        ],
    )
    ctx.ids["contact"] = [c.pk for c in people]
    catalog_demo.load(ctx)

    demo.load(ctx)

    made = Case.objects.all()
    assert len(ctx.ids["case"]) == made.count() == 10 == done["Cases"]
    assert Queue.objects.count() == len(ctx.ids["queue"]) == len(demo.QUEUES)
    assert {c.contact_id for c in made} <= set(ctx.ids["contact"])
    assert all(c.account_id == c.contact.account_id for c in made)
    assert all(c.product is None or c.product.active for c in made)
    assert len({c.number for c in made}) == 10


def test_demo_without_contacts_makes_queues_only(admin):
    ctx, _ = demo_context(admin)

    demo.load(ctx)
    demo.load(ctx)

    assert (Queue.objects.count(), Case.objects.count()) == (len(demo.QUEUES), 0)

"""Demo data: a mix of activities on demo contacts and accounts, in batches."""

from __future__ import annotations

from faker import Faker

from accord.activities import demo
from accord.activities.models import ACTIVITY_MODELS, Meeting
from accord.core.demo import SIZES, DemoContext
from accord.core.models import HistoryEntry
from accord.parties import services as parties_services


def test_demo_makes_activities_per_100_contacts(admin, make_user):
    member = make_user()
    contacts = parties_services.contacts.create_many(
        actor=admin, rows=[{"last_name": f"Contact {n}"} for n in range(40)]
    )
    accounts = parties_services.accounts.create_many(
        actor=admin, rows=[{"name": f"Account {n}"} for n in range(3)]
    )
    faker = Faker()
    faker.seed_instance(7)
    progress: dict[str, list[int]] = {}

    def start(label: str, total: int):
        progress[label] = [total]
        return progress[label].append

    ctx = DemoContext(
        size=SIZES["tiny"],
        faker=faker,
        actor=admin,
        progress=start,
        ids={
            "user": [admin.pk, member.pk],
            "contact": [c.pk for c in contacts],
            "account": [a.pk for a in accounts],
        },
    )
    demo.load(ctx)

    expected = 40 * SIZES["tiny"].activities_per_100 // 100
    made = {model.object_type: model.objects.count() for model in ACTIVITY_MODELS}
    assert made == demo.counts(expected)
    assert all(made.values()), "every kind appears"
    assert progress["Activities"][0] == expected
    assert sum(progress["Activities"][1:]) == expected
    assert {kind: len(ctx.ids[kind]) for kind in made} == made
    related = {m.related_type for model in ACTIVITY_MODELS for m in model.objects.all()}
    assert related <= {"contact", "account"}
    assert HistoryEntry.objects.filter(object_type="note", source="system").count() == made["note"]
    for meeting in Meeting.objects.all():
        attendees = [c.pk for c in meeting.attendees.all()]
        assert attendees == ([meeting.related_id] if meeting.related_type == "contact" else [])


def test_demo_without_contacts_makes_nothing(admin):
    ctx = DemoContext(
        size=SIZES["tiny"], faker=Faker(), actor=admin, progress=lambda label, total: print
    )
    demo.load(ctx)
    assert not any(model.objects.exists() for model in ACTIVITY_MODELS)

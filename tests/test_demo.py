"""``accord demo``: sizes, one ``created`` event per record, rows the services would accept."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from faker import Faker
from typer.testing import CliRunner

from accord.cli import Size, app
from accord.core import records as records_
from accord.core.demo import SIZES, DemoContext
from accord.core.models import HistoryEntry, OutboxEvent, SearchEntry
from accord.core.validation import normalize_email, normalize_phone
from accord.identity import demo as identity_demo
from accord.identity.models import Department, User
from accord.parties import demo as parties_demo
from accord.parties import events
from accord.parties.models import Account, Contact
from accord.parties.services import accounts, contacts

TINY = SIZES["tiny"]


def load_tiny() -> Any:
    result = CliRunner().invoke(app, ["demo", "--size", "tiny"])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def tiny_demo(admin: User) -> User:
    load_tiny()
    return admin


def test_size_choices_are_the_demo_sizes() -> None:
    assert {s.value for s in Size} == set(SIZES)


@pytest.mark.django_db
def test_demo_tiny_creates_the_tiny_counts_and_says_so() -> None:
    result = load_tiny()

    assert Department.objects.count() == TINY.departments
    staff = User.objects.filter(department__isnull=False)
    assert staff.count() == TINY.users
    assert Account.objects.count() == TINY.accounts
    assert Contact.objects.count() == TINY.contacts
    assert User.objects.filter(username="admin", is_superuser=True).exists()
    assert f"{TINY.contacts:,} contacts" in result.stdout


def test_every_demo_account_and_contact_has_exactly_one_created_event(tiny_demo: User) -> None:
    for model, object_type in ((Account, "account"), (Contact, "contact")):
        created = Counter(
            OutboxEvent.objects.filter(type=f"accord.{object_type}.created").values_list(
                "object_id", flat=True
            )
        )
        ids = set(model.objects.values_list("id", flat=True))
        assert set(created) == ids
        assert set(created.values()) == {1}


def test_demo_accounts_are_what_the_account_service_would_have_stored(tiny_demo: User) -> None:
    for account in Account.objects.prefetch_related("tags"):
        record = events.account_record(account)
        sent = {
            key: record[key]
            for key in (
                "name",
                "website",
                "domain",
                "industry",
                "employee_count",
                "billing_address",
                "shipping_address",
                "owner_id",
                "parent_id",
                "tags",
            )
        }
        sent["annual_revenue"] = account.annual_revenue
        cleaned = accounts.clean_all(tiny_demo, sent, None)
        for key, value in cleaned.items():
            if key == "tags":
                assert sorted(t.name for t in value) == record["tags"]
            elif key in ("owner", "parent"):
                assert getattr(value, "pk", None) == getattr(account, f"{key}_id")
            else:
                assert value == getattr(account, key), key


def test_demo_contacts_are_what_the_contact_service_would_have_stored(tiny_demo: User) -> None:
    for contact in Contact.objects.prefetch_related("tags", "email_rows", "phone_rows"):
        record = events.contact_record(contact)
        assert 1 <= len(record["emails"]) <= 2
        assert 1 <= len(record["phones"]) <= 2
        assert record["emails"] == [normalize_email(e) for e in record["emails"]]
        assert record["phones"] == [normalize_phone(p) for p in record["phones"]]
        sent = {
            key: record[key]
            for key in (
                "first_name",
                "last_name",
                "title",
                "emails",
                "phones",
                "lifecycle_stage",
                "email_opt_in",
                "sms_opt_in",
                "do_not_call",
                "account_id",
                "owner_id",
                "tags",
            )
        }
        cleaned = contacts.clean_all(tiny_demo, sent, None)
        for key, value in cleaned.items():
            if key == "tags":
                assert sorted(t.name for t in value) == record["tags"]
            elif key in ("owner", "account"):
                assert getattr(value, "pk", None) == getattr(contact, f"{key}_id")
            elif key in ("emails", "phones"):
                assert value == record[key]
            else:
                assert value == getattr(contact, key), key


def test_demo_spreads_owners_and_links_most_contacts_to_accounts(tiny_demo: User) -> None:
    owners = set(Contact.objects.values_list("owner_id", flat=True))
    assert len(owners) > 1
    assert tiny_demo.pk not in owners
    linked = Contact.objects.filter(account__isnull=False).count()
    assert TINY.contacts // 2 < linked < TINY.contacts
    assert Account.objects.filter(parent__isnull=False).exists()
    assert all(d.members.exists() for d in Department.objects.all())


def test_demo_is_repeatable_and_a_second_load_reuses_the_users(tiny_demo: User) -> None:
    first = list(Account.objects.order_by("id").values_list("name", flat=True))
    users = User.objects.count()

    load_tiny()

    both = list(Account.objects.order_by("id").values_list("name", flat=True))
    assert both[: len(first)] == first
    assert both[len(first) :] == first
    assert User.objects.count() == users


@pytest.mark.django_db(transaction=True)
def test_a_load_in_many_batches_writes_what_the_services_would(
    admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL this many batches go to worker processes, which need committed data.
    monkeypatch.setattr(parties_demo, "BATCH", 7)
    faker = Faker()
    faker.seed_instance(1)
    ctx = DemoContext(
        size=TINY, faker=faker, actor=admin, progress=lambda label, total: lambda n: None
    )

    identity_demo.load(ctx)
    parties_demo.load(ctx)

    assert set(ctx.ids["account"]) == set(Account.objects.values_list("id", flat=True))
    assert set(ctx.ids["contact"]) == set(Contact.objects.values_list("id", flat=True))
    assert len(ctx.ids["contact"]) == TINY.contacts
    assert Account.objects.filter(parent__isnull=False).exists()
    pairs = (
        (accounts, Account.objects.prefetch_related("tags")),
        (contacts, Contact.objects.prefetch_related("tags", "email_rows", "phone_rows")),
    )
    for service, records in pairs:
        for record in records:
            payload = service.payload(record)
            (event,) = OutboxEvent.objects.filter(object_id=record.pk)
            assert event.type == f"accord.{service.model.object_type}.created"
            assert event.envelope["data"]["record"] == payload
            (entry,) = HistoryEntry.objects.filter(object_id=record.pk)
            assert entry.changes == records_.created_changes(payload)
            assert entry.event_id == event.event_id
            assert entry.source == "system"
            (search_entry,) = SearchEntry.objects.filter(record_id=record.pk)
            assert search_entry.fields == service.search_document(record)

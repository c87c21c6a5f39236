"""The write path of tags, accounts and contacts: every committed write leaves one field-history
entry and one CloudEvents outbox row beside the data; a refused write leaves nothing at all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from accord.core import clock
from accord.core.errors import InvalidInput, NotFound, PreconditionFailed
from accord.core.models import HistoryEntry, OutboxEvent, Source
from accord.core.services import RecordService
from accord.core.validation import normalize_phone
from accord.parties import services
from accord.parties.models import Contact, ContactPhone

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Entity:
    object_type: str
    service: RecordService[Any]
    create: dict[str, Any]
    created_field: str
    change: dict[str, Any]
    invalid: dict[str, Any]
    invalid_field: str

    def __str__(self) -> str:
        return self.object_type


ENTITIES = [
    Entity(
        object_type="tag",
        service=services.tags,
        create={"name": "VIP", "color": "#1a7f37"},
        created_field="name",
        change={"color": "#000000"},
        invalid={"name": "VIP", "color": "green"},
        invalid_field="color",
    ),
    Entity(
        object_type="account",
        service=services.accounts,
        create={"name": "Acme", "industry": "Steel"},
        created_field="name",
        change={"industry": "Rail"},
        invalid={"name": "Acme", "annual_revenue": -5},
        invalid_field="annual_revenue",
    ),
    Entity(
        object_type="contact",
        service=services.contacts,
        create={"last_name": "Lovelace", "title": "Analyst"},
        created_field="last_name",
        change={"title": "Countess"},
        invalid={"last_name": "Lovelace", "emails": ["not-an-address"]},
        invalid_field="emails[0]",
    ),
]


def _new_rows(before: int) -> tuple[list[OutboxEvent], list[HistoryEntry]]:
    events = list(OutboxEvent.objects.filter(id__gt=before).order_by("id"))
    history = list(HistoryEntry.objects.filter(event_id__in=[e.event_id for e in events]))
    return events, history


def _last_outbox_id() -> int:
    return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _assert_one_event(
    entity: Entity,
    record: Any,
    *,
    before: int,
    verb: str,
    changed: dict[str, list[Any]] | None = None,
    created: dict[str, Any] | None = None,
    actor: Any,
    source: str,
) -> None:
    """``changed`` is the exact ``data.changed``; for a create, ``created`` names fields that
    must appear in it as ``[None, value]`` (every other set field appears the same way)."""
    events, history = _new_rows(before)
    assert len(events) == 1, f"{verb}: expected exactly one outbox row, got {len(events)}"
    assert HistoryEntry.objects.count() == OutboxEvent.objects.count()
    event = events[0]
    envelope = event.envelope
    record = entity.service.model.all_objects.get(pk=record.pk)
    assert envelope["specversion"] == "1.0"
    assert envelope["id"] == str(event.event_id)
    assert envelope["type"] == event.type == f"accord.{entity.object_type}.{verb}"
    assert envelope["subject"] == f"{entity.object_type}/{record.pk}"
    assert envelope["source"] == f"/accord/{settings.ACCORD_INSTANCE}"
    assert envelope["time"] == T0.isoformat()
    assert envelope["datacontenttype"] == "application/json"
    assert "sequence" not in envelope, "only the sequencer numbers events"
    assert envelope["recordversion"] == event.record_version == record.version
    assert envelope["data"]["record"] == entity.service.payload(record)
    if created is None:
        assert envelope["data"]["changed"] == changed
    else:
        changed = envelope["data"]["changed"]
        assert {k: changed.get(k) for k in created} == {k: [None, v] for k, v in created.items()}
        payload = envelope["data"]["record"]
        assert all(change == [None, payload[k]] for k, change in changed.items())
    assert (event.object_type, event.object_id) == (entity.object_type, record.pk)

    assert len(history) == 1
    entry = history[0]
    assert (entry.object_type, entry.object_id) == (entity.object_type, record.pk)
    assert (entry.verb, entry.version) == (verb, record.version)
    assert entry.changes == changed
    assert entry.actor == actor
    assert entry.source == source
    assert entry.at == T0


@pytest.mark.parametrize("entity", ENTITIES, ids=str)
def test_each_write_leaves_one_history_entry_and_one_cloudevent(entity, admin):
    with clock.frozen(T0):
        before = _last_outbox_id()
        record = entity.service.create(actor=admin, data=entity.create, source=Source.IMPORT)
        assert record.version == 1
        _assert_one_event(
            entity,
            record,
            before=before,
            verb="created",
            created=entity.create,
            actor=admin,
            source="import",
        )

        before = _last_outbox_id()
        ((key, new),) = entity.change.items()
        old = entity.service.payload(record)[key]
        record = entity.service.update(
            actor=admin,
            record_id=record.pk,
            data=entity.change,
            expected_version=1,
            source=Source.WEB,
        )
        assert record.version == 2
        _assert_one_event(
            entity,
            record,
            before=before,
            verb="updated",
            changed={key: [old, new]},
            actor=admin,
            source="web",
        )

        before = _last_outbox_id()
        record = entity.service.delete(actor=admin, record_id=record.pk, expected_version=2)
        assert record.version == 3
        assert not entity.service.model.objects.filter(pk=record.pk).exists()
        _assert_one_event(
            entity,
            record,
            before=before,
            verb="deleted",
            changed={"deleted_at": [None, T0.isoformat()]},
            actor=admin,
            source="api",
        )

        before = _last_outbox_id()
        record = entity.service.restore(actor=admin, record_id=record.pk, expected_version=3)
        assert record.version == 4
        assert entity.service.model.objects.filter(pk=record.pk).exists()
        _assert_one_event(
            entity,
            record,
            before=before,
            verb="restored",
            changed={"deleted_at": [T0.isoformat(), None]},
            actor=admin,
            source="api",
        )


@pytest.mark.parametrize("entity", ENTITIES, ids=str)
def test_invalid_create_writes_no_row_no_history_no_event(entity, admin, db_state):
    before = db_state()
    with pytest.raises(InvalidInput) as raised:
        entity.service.create(actor=admin, data=entity.invalid)
    assert entity.invalid_field in [e.field for e in raised.value.errors]
    assert db_state() == before


@pytest.mark.parametrize("entity", ENTITIES, ids=str)
def test_invalid_update_writes_nothing_and_keeps_the_version(entity, admin, db_state):
    record = entity.service.create(actor=admin, data=entity.create)
    before = db_state()
    with pytest.raises(InvalidInput) as raised:
        entity.service.update(
            actor=admin, record_id=record.pk, data=entity.invalid, expected_version=1
        )
    assert entity.invalid_field in [e.field for e in raised.value.errors]
    assert db_state() == before


@pytest.mark.parametrize("entity", ENTITIES, ids=str)
def test_stale_version_is_refused_and_writes_nothing(entity, admin, db_state):
    record = entity.service.create(actor=admin, data=entity.create)
    entity.service.update(actor=admin, record_id=record.pk, data=entity.change, expected_version=1)
    before = db_state()

    with pytest.raises(PreconditionFailed) as raised:
        entity.service.update(
            actor=admin, record_id=record.pk, data=entity.create, expected_version=1
        )
    assert raised.value.current_version == 2
    with pytest.raises(PreconditionFailed):
        entity.service.delete(actor=admin, record_id=record.pk, expected_version=1)

    assert db_state() == before


@pytest.mark.parametrize("entity", ENTITIES, ids=str)
def test_update_that_changes_nothing_writes_no_event_and_keeps_the_version(entity, admin, db_state):
    record = entity.service.create(actor=admin, data=entity.create)
    before = db_state()

    same = entity.service.update(
        actor=admin, record_id=record.pk, data=entity.create, expected_version=1
    )

    assert same.version == 1
    assert db_state() == before


def test_update_that_only_renormalises_contact_data_writes_no_event(admin, db_state):
    contact = services.contacts.create(
        actor=admin,
        data={"last_name": "Hopper", "emails": ["grace@navy.mil"], "phones": ["+14155552671"]},
    )
    before = db_state()

    same = services.contacts.update(
        actor=admin,
        record_id=contact.pk,
        data={"emails": ["Grace@NAVY.mil"], "phones": ["(415) 555-2671"], "last_name": " Hopper "},
        expected_version=1,
    )

    assert same.version == 1
    assert db_state()["core.OutboxEvent"] == before["core.OutboxEvent"]
    assert db_state()["core.HistoryEntry"] == before["core.HistoryEntry"]
    assert db_state()["parties.Contact"] == before["parties.Contact"]


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(415) 555-2671", "+14155552671"),
        ("415.555.2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 (0)30 901820", "+4930901820"),
    ],
)
def test_phone_numbers_are_stored_in_e164(raw, e164, admin):
    contact = services.contacts.create(actor=admin, data={"last_name": "Bell", "phones": [raw]})

    assert list(ContactPhone.objects.filter(contact=contact).values_list("number", flat=True)) == [
        e164
    ]
    assert services.contacts.payload(contact)["phones"] == [e164]
    event = OutboxEvent.objects.get(object_id=contact.pk)
    assert event.envelope["data"]["record"]["phones"] == [e164]


def test_unparseable_phone_number_is_refused_naming_its_position(admin):
    with pytest.raises(InvalidInput) as raised:
        services.contacts.create(
            actor=admin, data={"last_name": "Bell", "phones": ["+14155552671", "call me maybe"]}
        )
    assert [e.field for e in raised.value.errors] == ["phones[1]"]
    assert not Contact.all_objects.exists()


def test_an_update_parses_only_the_numbers_it_does_not_already_store(admin, monkeypatch):
    contact = services.contacts.create(
        actor=admin, data={"last_name": "Bell", "phones": ["(415) 555-2671"]}
    )
    parsed: list[str] = []

    def counting(raw: str) -> str:
        parsed.append(raw)
        return normalize_phone(raw)

    monkeypatch.setattr(services, "normalize_phone", counting)
    updated = services.contacts.update(
        actor=admin,
        record_id=contact.pk,
        data={"phones": ["+14155552671", "415.555.2672", "+14155552671"]},
        expected_version=contact.version,
    )
    assert parsed == ["415.555.2672"]
    assert services.contacts.payload(updated)["phones"] == ["+14155552671", "+14155552672"]
    # A stored number in another spelling is parsed, and still the same number.
    again = services.contacts.update(
        actor=admin,
        record_id=contact.pk,
        data={"phones": ["415 555 2671"]},
        expected_version=updated.version,
    )
    assert services.contacts.payload(again)["phones"] == ["+14155552671"]


def test_emails_are_lower_cased_and_kept_in_order_without_duplicates(admin):
    contact = services.contacts.create(
        actor=admin,
        data={"emails": ["Ada@Example.COM", "ada@example.com", "Lovelace@Analytical.org"]},
    )

    assert services.contacts.payload(contact)["emails"] == [
        "ada@example.com",
        "lovelace@analytical.org",
    ]
    found = services.contacts.update(
        actor=admin, record_id=contact.pk, data={"emails": ["NEW@Example.com"]}, expected_version=1
    )
    assert services.contacts.payload(found)["emails"] == ["new@example.com"]


@pytest.mark.parametrize(
    ("website", "domain"),
    [
        ("https://www.Example.com/about", "example.com"),
        ("http://shop.example.co.uk:8080/cart", "shop.example.co.uk"),
        ("example.org", "example.org"),
        ("WWW.ACME.IO", "acme.io"),
    ],
)
def test_account_domain_is_derived_from_website(website, domain, admin):
    account = services.accounts.create(actor=admin, data={"name": "Acme", "website": website})

    assert account.domain == domain
    assert account.website == website


def test_explicit_domain_wins_over_website_and_website_change_rederives_it(admin):
    account = services.accounts.create(
        actor=admin,
        data={"name": "Acme", "website": "https://acme.example.com", "domain": "Acme.COM"},
    )
    assert account.domain == "acme.com"

    moved = services.accounts.update(
        actor=admin,
        record_id=account.pk,
        data={"website": "https://www.acme-group.net/"},
        expected_version=1,
    )
    assert moved.domain == "acme-group.net"
    event = OutboxEvent.objects.filter(object_id=account.pk).order_by("-id").first()
    assert event is not None
    assert event.envelope["data"]["changed"]["domain"] == ["acme.com", "acme-group.net"]


def test_account_website_that_is_no_web_address_is_refused(admin, db_state):
    before = db_state()
    with pytest.raises(InvalidInput) as raised:
        services.accounts.create(actor=admin, data={"name": "Acme", "website": "not a site"})
    assert [e.field for e in raised.value.errors] == ["website"]
    assert db_state() == before


def test_account_cannot_be_its_own_parent(admin, make_account, db_state):
    account = make_account(name="Solo")
    before = db_state()
    with pytest.raises(InvalidInput) as raised:
        services.accounts.update(
            actor=admin, record_id=account.pk, data={"parent_id": account.pk}, expected_version=1
        )
    assert [e.field for e in raised.value.errors] == ["parent_id"]
    assert db_state() == before


def test_parent_cycle_through_the_hierarchy_is_refused(admin, make_account, db_state):
    group = make_account(name="Group")
    division = make_account(name="Division", parent_id=group.pk)
    branch = make_account(name="Branch", parent_id=division.pk)
    before = db_state()

    with pytest.raises(InvalidInput) as raised:
        services.accounts.update(
            actor=admin, record_id=group.pk, data={"parent_id": branch.pk}, expected_version=1
        )

    assert [e.field for e in raised.value.errors] == ["parent_id"]
    assert db_state() == before
    # Re-parenting without a cycle is fine.
    moved = services.accounts.update(
        actor=admin, record_id=branch.pk, data={"parent_id": group.pk}, expected_version=1
    )
    assert moved.parent_id == group.pk


@pytest.mark.parametrize("entity", ENTITIES, ids=str)
def test_restore_from_recycle_bin_works_within_15_days(entity, admin):
    with clock.frozen(T0):
        record = entity.service.create(actor=admin, data=entity.create)
        entity.service.delete(actor=admin, record_id=record.pk, expected_version=1)
        clock.advance(dt.timedelta(days=15))

        restored = entity.service.restore(actor=admin, record_id=record.pk)

    assert restored.deleted_at is None
    assert restored.version == 3
    assert entity.service.model.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize("entity", ENTITIES, ids=str)
def test_restore_after_15_days_is_refused_and_writes_nothing(entity, admin, db_state):
    with clock.frozen(T0):
        record = entity.service.create(actor=admin, data=entity.create)
        entity.service.delete(actor=admin, record_id=record.pk, expected_version=1)
        clock.advance(dt.timedelta(days=15, seconds=1))
        before = db_state()

        with pytest.raises(NotFound):
            entity.service.restore(actor=admin, record_id=record.pk)

    assert db_state() == before
    assert not entity.service.model.objects.filter(pk=record.pk).exists()


def test_restoring_a_live_record_is_not_found(admin, make_contact, db_state):
    contact = make_contact()
    before = db_state()
    with pytest.raises(NotFound):
        services.contacts.restore(actor=admin, record_id=contact.pk)
    assert db_state() == before


def test_deleting_a_record_twice_is_not_found(admin, make_contact, db_state):
    contact = make_contact()
    services.contacts.delete(actor=admin, record_id=contact.pk, expected_version=1)
    before = db_state()
    with pytest.raises(NotFound):
        services.contacts.delete(actor=admin, record_id=contact.pk, expected_version=None)
    assert db_state() == before

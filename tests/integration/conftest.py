"""Fixtures of the integration tests."""

from __future__ import annotations

from typing import Any

import pytest

from accord.identity.models import SharingDefault, Territory
from accord.integration import sequencer, sync
from accord.parties import services


@pytest.fixture
def relay_numbers_events(db, monkeypatch):
    """Number the outbox before each sync pull, as the relay running beside the server does:
    an incremental pull then compares only the records of events numbered after its last
    pass began (ADR 0011). Unnumbered events count as new, so without this every record a
    test made would be compared again, and the narrowing would go untested."""
    pull = sync.pull

    def numbered_first(*args: Any, **kwargs: Any) -> Any:
        assert sequencer.hold("tests", seconds=60)
        while sequencer.number("tests", batch=1000):
            pass
        return pull(*args, **kwargs)

    monkeypatch.setattr(sync, "pull", numbered_first)


# -- people and records of the sync feed's tests -------------------------------------------------


@pytest.fixture
def private_contacts(db):
    SharingDefault.objects.create(object_type="contact", access="private")
    SharingDefault.objects.create(object_type="account", access="private")


@pytest.fixture
def nordics(owner, reader, private_contacts) -> tuple[Any, Any, Territory]:
    """The owner's Norwegian account and its contact, which ``reader`` sees only through the
    Nordics territory (contacts and accounts private)."""
    account = services.accounts.create(
        actor=owner,
        data={"name": "Fjord AS", "owner_id": str(owner.pk), "billing_address": {"country": "NO"}},
    )
    contact = services.contacts.create(
        actor=owner,
        data={"last_name": "Nordmann", "owner_id": str(owner.pk), "account_id": str(account.pk)},
    )
    territory = Territory.objects.create(name="Nordics", rules=[{"country": "NO"}], level="read")
    territory.members.add(reader)
    return account, contact, territory

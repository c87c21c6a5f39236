"""Factories for activity tests: records to hang activities on, and one valid body per kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from accord.activities import services
from accord.core.models import Source
from accord.identity.models import User
from accord.parties import services as parties_services
from accord.parties.models import Account, Contact

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def make_contact(admin: User) -> Callable[..., Contact]:
    def make(*, owner: User | None = None, last_name: str = "Lovelace") -> Contact:
        data: dict[str, Any] = {"last_name": last_name}
        if owner is not None:
            data["owner_id"] = owner.pk
        return parties_services.contacts.create(actor=admin, data=data)

    return make


@pytest.fixture
def contact(make_contact: Callable[..., Contact]) -> Contact:
    return make_contact()


@pytest.fixture
def account(admin: User) -> Account:
    return parties_services.accounts.create(actor=admin, data={"name": "Analytical Engines"})


def body_for(kind: str, related: Any, **fields: Any) -> dict[str, Any]:
    """A valid create body of ``kind`` about ``related``; ``fields`` override or add."""
    values: dict[str, dict[str, Any]] = {
        "task": {"subject": "Send the quote"},
        "note": {"body": "Prefers email over calls."},
        "call": {"direction": "outbound", "duration_seconds": 120, "phone": "+1 201 555 0123"},
        "meeting": {
            "subject": "Kick-off",
            "starts_at": START.isoformat(),
            "ends_at": (START + dt.timedelta(hours=1)).isoformat(),
        },
        "email_log": {
            "direction": "inbound",
            "from_address": "ada@example.com",
            "to_addresses": ["sales@example.com"],
            "subject": "Question about pricing",
        },
    }
    return {
        "related_type": related.object_type,
        "related_id": str(related.pk),
        **values[kind],
        **fields,
    }


SERVICES: dict[str, services.ActivityService[Any]] = {
    "task": services.tasks,
    "note": services.notes,
    "call": services.calls,
    "meeting": services.meetings,
    "email_log": services.email_logs,
}

COLLECTIONS = {
    "task": "tasks",
    "note": "notes",
    "call": "calls",
    "meeting": "meetings",
    "email_log": "email-logs",
}

KINDS = list(SERVICES)


@pytest.fixture
def create_activity(admin: User) -> Callable[..., Any]:
    """``create_activity(kind, related, actor=…, **fields)`` through the service."""

    def create(kind: str, related: Any, *, actor: User | None = None, **fields: Any) -> Any:
        return SERVICES[kind].create(
            actor=actor or admin, data=body_for(kind, related, **fields), source=Source.WEB
        )

    return create

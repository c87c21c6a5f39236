"""Sales fixtures: a default pipeline with stages, and factories for leads, deals and web forms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Model

from accord.core.models import HistoryEntry, OutboxEvent
from accord.identity.models import User
from accord.parties import services as parties
from accord.parties.models import Account, Contact, CustomField
from accord.sales.models import Deal, Lead, Pipeline, Stage, WebForm, WebFormSubmission
from accord.sales.services import deals, leads, pipelines, stages
from accord.sales.webforms import web_forms


@dataclass(frozen=True)
class Board:
    pipeline: Pipeline
    open: Stage
    proposal: Stage
    won: Stage
    lost: Stage


def make_board(actor: User, name: str, *, default: bool) -> Board:
    pipeline = pipelines.create(actor=actor, data={"name": name, "is_default": default})
    made = [
        stages.create(actor=actor, data={"pipeline_id": pipeline.pk, "name": n, **extra})
        for n, extra in (
            ("Prospecting", {"probability": 10}),
            ("Proposal", {"probability": 60}),
            ("Closed won", {"is_won": True}),
            ("Closed lost", {"is_lost": True}),
        )
    ]
    return Board(pipeline, *made)


@pytest.fixture
def board(admin: User) -> Board:
    """The default pipeline: Prospecting (10 %), Proposal (60 %), Closed won, Closed lost."""
    return make_board(admin, "New business", default=True)


@pytest.fixture
def other_board(admin: User, board: Board) -> Board:
    return make_board(admin, "Renewals", default=False)


@pytest.fixture
def account(admin: User) -> Account:
    return parties.accounts.create(actor=admin, data={"name": "Acme Ltd"})


@pytest.fixture
def contact(admin: User, account: Account) -> Contact:
    return parties.contacts.create(
        actor=admin, data={"last_name": "Lovelace", "account_id": account.pk}
    )


@pytest.fixture
def make_lead(admin: User) -> Callable[..., Lead]:
    def make(*, actor: User | None = None, **data: Any) -> Lead:
        values = {"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Ltd"}
        return leads.create(actor=actor or admin, data={**values, **data})

    return make


@pytest.fixture
def make_deal(admin: User, account: Account) -> Callable[..., Deal]:
    def make(*, actor: User | None = None, **data: Any) -> Deal:
        values = {"name": "Sensors rollout", "account_id": account.pk}
        return deals.create(actor=actor or admin, data={**values, **data})

    return make


@pytest.fixture
def make_web_form(admin: User) -> Callable[..., WebForm]:
    def make(**data: Any) -> WebForm:
        values = {
            "name": "Contact us",
            "slug": "contact-us",
            "field_map": {
                "given": "first_name",
                "family": "last_name",
                "mail": "email",
                "org": "company",
                "budget": "captured.budget",
            },
        }
        return web_forms.create(actor=admin, data={**values, **data})

    return make


@pytest.fixture
def make_custom_field(admin: User) -> Callable[..., CustomField]:
    def make(record_type: str, key: str, type: str = "text", **data: Any) -> CustomField:
        return parties.custom_fields.create(
            actor=admin,
            data={"record_type": record_type, "key": key, "label": key, "type": type, **data},
        )

    return make


_TABLES: tuple[type[Model], ...] = (
    Lead,
    Pipeline,
    Stage,
    Deal,
    Deal.contacts.through,
    WebForm,
    WebFormSubmission,
    Account,
    Contact,
    HistoryEntry,
    OutboxEvent,
)


@pytest.fixture
def sales_state(db: None) -> Callable[[], dict[str, list[dict[str, Any]]]]:
    """``sales_state()``: every row a sales write could touch; equal snapshots mean nothing was
    written."""

    def snapshot() -> dict[str, list[dict[str, Any]]]:
        return {
            model._meta.label: list(
                getattr(model, "all_objects", model._default_manager).order_by("pk").values()
            )
            for model in _TABLES
        }

    return snapshot


def last_event_id() -> int:
    return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def events_since(before: int) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(id__gt=before).order_by("id"))


def assert_one_write(before: int, record: Any, verb: str) -> OutboxEvent:
    """Exactly one outbox event and one history entry were written, for ``record``."""
    events = events_since(before)
    assert [(e.type, e.object_id) for e in events] == [
        (f"accord.{record.object_type}.{verb}", record.pk)
    ]
    event = events[0]
    entry = HistoryEntry.objects.get(event_id=event.event_id)
    assert (entry.object_type, entry.object_id, entry.verb) == (record.object_type, record.pk, verb)
    assert entry.version == event.record_version == event.envelope["recordversion"]
    return event

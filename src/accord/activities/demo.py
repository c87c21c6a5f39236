"""Demo activities: tasks, notes, calls, meetings and logged emails on contacts and accounts."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

from accord.activities import services
from accord.core import clock
from accord.core.demo import DemoContext
from accord.core.ids import new_id
from accord.core.models import Source

#: The mix of kinds, by weight.
MIX = {"task": 3, "note": 3, "call": 2, "meeting": 1, "email_log": 2}

SERVICES: dict[str, services.ActivityService[Any]] = {
    "task": services.tasks,
    "note": services.notes,
    "call": services.calls,
    "meeting": services.meetings,
    "email_log": services.email_logs,
}

_DAY = 86_400
#: Rows per create_many: one transaction each, and enough per owner that assignment
#: notifications come as one summary per owner and batch (activities.notifications).
BATCH = 5_000
#: Texts are drawn from small pools: generating each one with Faker would dominate the run.
_POOL = 200


def counts(total: int) -> dict[str, int]:
    """``total`` split over the kinds by MIX; the rounding remainder goes to notes."""
    weight = sum(MIX.values())
    out = {kind: total * share // weight for kind, share in MIX.items()}
    out["note"] += total - sum(out.values())
    return out


class _Rows:
    """Makes one kind's rows; every value is valid, so a batch never fails on demo input."""

    def __init__(self, ctx: DemoContext) -> None:
        self.faker = ctx.faker
        self.rng: random.Random = ctx.faker.random
        self.now = clock.now()
        self.users = ctx.ids.get("user") or [ctx.actor.pk]
        self.contacts = ctx.ids.get("contact", [])
        self.accounts = ctx.ids.get("account", [])
        self.subjects = [self.faker.sentence(nb_words=5).rstrip(".") for _ in range(_POOL)]
        self.paragraphs = [self.faker.paragraph(nb_sentences=4) for _ in range(_POOL)]
        self.emails = [self.faker.email() for _ in range(_POOL)]
        self.places = [self.faker.city() for _ in range(_POOL)]

    def _moment(self, *, past_days: int, future_days: int = 0) -> dt.datetime:
        offset = self.rng.randint(-past_days * _DAY, future_days * _DAY)
        return self.now + dt.timedelta(seconds=offset)

    def _base(self) -> dict[str, Any]:
        if self.accounts and self.rng.random() < 0.3:
            related: tuple[str, uuid.UUID] = ("account", self.rng.choice(self.accounts))
        else:
            related = ("contact", self.rng.choice(self.contacts))
        return {
            "related_type": related[0],
            "related_id": related[1],
            "owner_id": self.rng.choice(self.users),
        }

    def task(self) -> dict[str, Any]:
        return {
            **self._base(),
            "subject": self.rng.choice(self.subjects),
            "description": self.rng.choice(self.paragraphs) if self.rng.random() < 0.5 else "",
            "due_at": self._moment(past_days=30, future_days=30),
            "status": self.rng.choice(["open", "open", "in_progress", "done", "cancelled"]),
            "priority": self.rng.choice(["low", "normal", "normal", "high"]),
        }

    def note(self) -> dict[str, Any]:
        return {**self._base(), "body": self.rng.choice(self.paragraphs)}

    def call(self) -> dict[str, Any]:
        return {
            **self._base(),
            "subject": self.rng.choice(self.subjects),
            "direction": self.rng.choice(["inbound", "outbound"]),
            "occurred_at": self._moment(past_days=180),
            "duration_seconds": self.rng.randint(0, 3_600),
            "outcome": self.rng.choice(["connected", "voicemail", "no answer", "busy"]),
            "phone": f"+1 {self.rng.randint(201, 989)} 555 {self.rng.randint(0, 9999):04d}",
        }

    def meeting(self) -> dict[str, Any]:
        row = self._base()
        starts = self._moment(past_days=120, future_days=30).replace(minute=0, second=0)
        attendees = [row["related_id"]] if row["related_type"] == "contact" else []
        return {
            **row,
            "subject": self.rng.choice(self.subjects),
            "starts_at": starts,
            "ends_at": starts + dt.timedelta(minutes=self.rng.choice([30, 45, 60, 90])),
            "location": self.rng.choice(self.places),
            "attendee_contact_ids": attendees,
        }

    def email_log(self) -> dict[str, Any]:
        return {
            **self._base(),
            "subject": self.rng.choice(self.subjects),
            "direction": self.rng.choice(["inbound", "outbound"]),
            "from_address": self.rng.choice(self.emails),
            "to_addresses": [self.rng.choice(self.emails)],
            "sent_at": self._moment(past_days=180),
            "body": self.rng.choice(self.paragraphs),
            "message_id": f"{new_id()}@demo.accord.invalid",
        }


def load(ctx: DemoContext) -> None:
    """``activities_per_100`` activities per 100 demo contacts, on contacts and accounts."""
    total = len(ctx.ids.get("contact", [])) * ctx.size.activities_per_100 // 100
    if total == 0:
        return
    advance = ctx.progress("Activities", total)
    rows = _Rows(ctx)
    for kind, count in counts(total).items():
        make: Callable[[], dict[str, Any]] = getattr(rows, kind)
        made = ctx.ids.setdefault(kind, [])
        for start, stop in ctx.batches(count, BATCH):
            batch = [make() for _ in range(start, stop)]
            created = SERVICES[kind].create_many(actor=ctx.actor, rows=batch, source=Source.SYSTEM)
            made.extend(record.pk for record in created)
            advance(stop - start)

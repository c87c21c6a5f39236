"""Turning sequenced events into deliveries: which events a subscription gets, and what of them
its owner may see.

A subscription reads the outbox by ``sequence`` from its position (its
:class:`~accord.integration.models.Destination` row). Queueing a batch is one short transaction
that locks that row (``SKIP LOCKED``: a batch another worker is queueing is left to it), inserts
the batch's deliveries and moves the position, so every event is queued exactly once per
subscription however many workers run. A replay works the same way through a range of sequences.

For each event, in this order:

1. its type must match the subscription's types (in SQL);
2. an ``updated`` event must change one of the subscription's fields, if it names any, counting
   only fields the owner may see (a change to a hidden field triggers nothing);
3. the owner must be allowed to see the record now (``identity.visibility``, one query per object
   type per batch) and to export its type; an event they may not see is recorded as
   ``skipped`` and never sent;
4. the payload leaves without the fields hidden from the owner (field-level security).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q

from accord.core import clock
from accord.core.ids import new_id
from accord.core.models import OutboxEvent
from accord.core.records import instance
from accord.core.rows import write
from accord.identity.visibility import permitted
from accord.integration import sequencer
from accord.integration.models import (
    DeliveryStatus,
    DeliveryTrigger,
    Destination,
    WebhookDelivery,
    WebhookReplay,
)

# The events API's visibility and masking of one page, which webhook payloads must match.
from accord.integration.queries import _masked, _Shown

#: Verbs events carry: the record verbs every type has, and the domain verbs of some types. A
#: subscription naming another verb is refused; ``accord.<object>.*`` takes every verb,
#: including ones added later.
VERBS = frozenset(
    {"created", "updated", "deleted", "restored", "purged", "merged", "converted", "launched"}
)
TYPE = re.compile(r"^accord\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*|\*)$")
#: A field filter entry: a field of the record, or ``custom_fields.<key>``.
FIELD = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)?$")
log = logging.getLogger(__name__)

COLUMNS = ("sequence", "event_id", "object_type", "object_id", "type", "envelope", "created_at")


@dataclass(frozen=True)
class Selection:
    """Which events a subscription takes: ``(object_type, verb or "*")`` pairs and the field
    filter of ``updated`` events."""

    types: tuple[tuple[str, str], ...]
    fields: frozenset[str] = frozenset()

    @classmethod
    def of(cls, event_types: Iterable[str], fields: Iterable[str] = ()) -> Selection:
        pairs = []
        for name in event_types:
            match = TYPE.match(name)
            if match is not None:
                pairs.append((match[1], match[2]))
        return cls(types=tuple(pairs), fields=frozenset(fields))

    def q(self) -> Q:
        if not self.types:
            return Q(pk__in=[])
        q = Q()
        for object_type, verb in self.types:
            if verb == "*":
                q |= Q(object_type=object_type)
            else:
                q |= Q(type=f"accord.{object_type}.{verb}")
        return q

    def changed(self, event: dict[str, Any]) -> bool:
        """Whether ``event`` (already masked for the owner) passes the field filter."""
        if not self.fields or not event.get("type", "").endswith(".updated"):
            return True
        data = event.get("data")
        changes = data.get("changed") if isinstance(data, dict) else None
        if not isinstance(changes, dict):
            return False
        for name in self.fields:
            key, _, custom = name.partition(".")
            if key not in changes:
                continue
            if not custom:
                return True
            pair = changes[key]
            if isinstance(pair, list) and len(pair) == 2:
                old, new = ((side or {}) if isinstance(side, dict) else {} for side in pair)
                if old.get(custom) != new.get(custom):
                    return True
        return False


@dataclass
class Job:
    """A delivery a worker has claimed and is about to attempt (what it needs, in memory)."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: str
    body: str
    created_at: dt.datetime
    claimed_until: dt.datetime
    attempts: int = 0
    attempt_log: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Queued:
    """What queueing one batch did."""

    jobs: list[Job]
    queued: int = 0
    skipped: int = 0
    full: bool = False


def _delivery(**values: Any) -> WebhookDelivery:
    row: dict[str, Any] = {
        "id": None,
        "subscription_id": None,
        "event_id": None,
        "event_type": "",
        "sequence": 0,
        "trigger": DeliveryTrigger.EVENT,
        "status": DeliveryStatus.PENDING,
        "body": "",
        "created_at": None,
        "attempts": 0,
        "next_attempt_at": None,
        "claimed_until": None,
        "last_attempt_at": None,
        "delivered_at": None,
        "response_status": None,
        "latency_ms": None,
        "response_excerpt": "",
        "error": "",
        "attempt_log": [],
    }
    row.update(values)
    return instance(WebhookDelivery, **row)


def body_of(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def deliveries(
    subscription_id: uuid.UUID,
    owner: Any,
    selection: Selection,
    rows: Sequence[dict[str, Any]],
    *,
    trigger: str,
    now: dt.datetime,
    send_now: bool,
    claim: dt.timedelta,
    retry_first: dt.timedelta,
) -> tuple[list[WebhookDelivery], list[Job], int]:
    """The deliveries of ``rows`` (outbox rows of the subscription's types, in sequence order)
    and the jobs to attempt right away; how many were skipped (the owner may not see them).

    ``send_now`` false (the endpoint is failing) queues them for the first retry instead, so a
    dead endpoint is probed by retries rather than hit by every new event.
    """
    shown = _Shown.of(owner, list(rows))
    exportable = {t: permitted(owner, t, "export") for t in {row["object_type"] for row in rows}}
    made: list[WebhookDelivery] = []
    jobs: list[Job] = []
    skipped = 0
    for row in rows:
        event = _masked(owner, row)
        if not selection.changed(event):
            continue
        common = {
            "id": new_id(),
            "subscription_id": subscription_id,
            "event_id": row["event_id"],
            "event_type": row["type"],
            "sequence": row["sequence"],
            "trigger": trigger,
            "created_at": now,
        }
        if not (exportable[row["object_type"]] and shown.shows(row)):
            skipped += 1
            reason = (
                "the subscription's owner may not see this record"
                if exportable[row["object_type"]]
                else f"the subscription's owner may not export {row['object_type']} records"
            )
            made.append(_delivery(**common, status=DeliveryStatus.SKIPPED, error=reason))
            continue
        body = body_of(event)
        if send_now:
            delivery = _delivery(
                **common, body=body, next_attempt_at=now, claimed_until=now + claim
            )
            jobs.append(
                Job(
                    delivery_id=delivery.id,
                    subscription_id=subscription_id,
                    event_id=str(row["event_id"]),
                    body=body,
                    created_at=now,
                    claimed_until=now + claim,
                )
            )
        else:
            delivery = _delivery(**common, body=body, next_attempt_at=now + retry_first)
        made.append(delivery)
    return made, jobs, skipped


def _rows(query: Any, limit: int) -> list[dict[str, Any]]:
    return list(query.order_by("sequence").values(*COLUMNS)[:limit])


def queue_new_events(
    subscription: Any,
    owner: Any,
    *,
    limit: int,
    send_now: bool,
    claim: dt.timedelta,
    retry_first: dt.timedelta,
) -> Queued | None:
    """Queue the next events after the subscription's position (at most ``limit``) and move the
    position past them; None when another worker holds the subscription's row."""
    state = sequencer.current()
    top = state.last_sequence
    selection = Selection.of(subscription.event_types, subscription.fields)
    with transaction.atomic():
        destination = (
            Destination.objects.select_for_update(skip_locked=True)
            .filter(name=subscription.destination_id, active=True)
            .first()
        )
        if destination is None:
            return None
        after = destination.position
        if after >= top:
            return Queued(jobs=[])
        if after < state.purged_through:
            log.warning(
                "Webhook %s missed events %d to %d: purged while it was disabled",
                subscription.pk,
                after + 1,
                state.purged_through,
            )
        rows = _rows(
            OutboxEvent.objects.filter(sequence__gt=after, sequence__lte=top).filter(selection.q()),
            limit,
        )
        full = len(rows) == limit
        position = rows[-1]["sequence"] if full else top
        now = clock.now()
        made, jobs, skipped = deliveries(
            subscription.pk,
            owner,
            selection,
            rows,
            trigger=DeliveryTrigger.EVENT,
            now=now,
            send_now=send_now,
            claim=claim,
            retry_first=retry_first,
        )
        write(WebhookDelivery, made)
        Destination.objects.filter(name=destination.name).update(
            position=position, published_at=now
        )
    return Queued(jobs=jobs, queued=len(made) - skipped, skipped=skipped, full=full)


def queue_replay(
    replay_id: uuid.UUID,
    subscription: Any,
    owner: Any,
    *,
    limit: int,
    send_now: bool,
    claim: dt.timedelta,
    retry_first: dt.timedelta,
) -> Queued | None:
    """Queue the next batch of a replay; None when another worker has it (or it is done)."""
    selection = Selection.of(subscription.event_types, subscription.fields)
    with transaction.atomic():
        replay = (
            WebhookReplay.objects.select_for_update(skip_locked=True)
            .filter(pk=replay_id, finished_at__isnull=True)
            .first()
        )
        if replay is None:
            return None
        rows = _rows(
            OutboxEvent.objects.filter(sequence__gt=replay.after, sequence__lte=replay.through),
            limit,
        )
        full = len(rows) == limit
        after = rows[-1]["sequence"] if full else replay.through
        wanted = [
            row
            for row in rows
            if replay.start <= row["created_at"] < replay.end and _selected(selection, row)
        ]
        now = clock.now()
        made, jobs, skipped = deliveries(
            subscription.pk,
            owner,
            selection,
            wanted,
            trigger=DeliveryTrigger.REPLAY,
            now=now,
            send_now=send_now,
            claim=claim,
            retry_first=retry_first,
        )
        write(WebhookDelivery, made)
        replay.after = after
        replay.queued += len(made) - skipped
        replay.skipped += skipped
        replay.finished_at = None if full else now
        replay.save(update_fields=["after", "queued", "skipped", "finished_at"])
    return Queued(jobs=jobs, queued=len(made) - skipped, skipped=skipped, full=full)


def _selected(selection: Selection, row: dict[str, Any]) -> bool:
    object_type, verb = row["object_type"], row["type"].rsplit(".", 1)[-1]
    return any(t == object_type and v in ("*", verb) for t, v in selection.types)

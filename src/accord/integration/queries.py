"""Reads of the event backbone: the events feed as one user may see it, and its status.

The feed reads only by ``sequence``. An event leaves only if its caller may see the record now
(``identity.visibility``, one query per object type per page), with the fields the caller may not
see removed from ``data.record`` and ``data.changed``.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Min, Q

from accord.core import clock, registry
from accord.core.errors import AccordError, FieldError, InvalidInput
from accord.core.models import OutboxEvent, record_types
from accord.identity.visibility import permitted, visible
from accord.integration import sequencer
from accord.integration.models import Destination

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_TYPES = 50
#: Rows one page may look at, so a caller who may see few events still gets a quick answer
#: (with a cursor past what was looked at).
SCAN_LIMIT = 5000
CHUNK = 200
_SEQUENCE = re.compile(r"^\d{1,18}$")
_TYPE = re.compile(r"^accord\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*|\*)$")


class CursorExpired(AccordError):
    """The cursor points before the oldest event still kept: events were purged since."""

    status = 410
    title = "Gone"


@dataclass(frozen=True)
class EventsPage:
    items: list[dict[str, Any]]
    next_cursor: str
    has_more: bool


def parse_after(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if not _SEQUENCE.match(text):
        raise InvalidInput.field(
            "after", "must be the sequence number of an event (a next_cursor you were given)"
        )
    return int(text)


def parse_types(raw: str | None) -> list[tuple[str, str]]:
    """``accord.contact.updated,accord.deal.*`` as ``[(object_type, verb or "*")]``."""
    if not raw:
        return []
    names = [t.strip() for t in raw.split(",") if t.strip()]
    if len(names) > MAX_TYPES:
        raise InvalidInput.field("types", f"at most {MAX_TYPES} event types")
    known = record_types()
    parsed: list[tuple[str, str]] = []
    errors: list[FieldError] = []
    for name in names:
        match = _TYPE.match(name)
        if match is None:
            errors.append(
                FieldError("types", f"{name!r} is not an event type like accord.contact.updated")
            )
        elif match[1] not in known:
            errors.append(FieldError("types", f"{name!r}: there are no {match[1]} records"))
        else:
            parsed.append((match[1], match[2]))
    if errors:
        raise InvalidInput("; ".join(e.message for e in errors), errors)
    return parsed


def _type_filter(types: list[tuple[str, str]]) -> Q:
    q = Q()
    for object_type, verb in types:
        if verb == "*":
            q |= Q(object_type=object_type)
        else:
            q |= Q(type=f"accord.{object_type}.{verb}")
    return q


def events_page(
    user: Any, *, after: int | None, types: list[tuple[str, str]], limit: int
) -> EventsPage:
    """The events after ``after`` (default: the oldest kept) that ``user`` may see."""
    state = sequencer.current()
    if after is not None and after > state.last_sequence:
        raise InvalidInput.field(
            "after",
            f"is ahead of the newest event ({state.last_sequence}); use a next_cursor this "
            "server gave you",
        )
    start = state.purged_through if after is None else after
    rows = OutboxEvent.objects.filter(sequence__gt=start).order_by("sequence")
    if types:
        rows = rows.filter(_type_filter(types))
    columns = ("sequence", "object_type", "object_id", "type", "envelope")
    items: list[dict[str, Any]] = []
    # Rows are read in chunks of at least CHUNK, so a small page for a caller who may see
    # few events still costs a handful of queries.
    size = max(limit, CHUNK)
    cursor, scanned, exhausted = start, 0, False
    while len(items) < limit and scanned < SCAN_LIMIT:
        chunk = list(rows.filter(sequence__gt=cursor).values(*columns)[:size])
        exhausted = len(chunk) < size
        scanned += len(chunk)
        shown = _Shown.of(user, chunk)
        for row in chunk:
            cursor = row["sequence"]
            if shown.shows(row):
                items.append(_masked(user, row))
                if len(items) == limit:
                    break
        if exhausted:
            break
    if after is not None and after < sequencer.current().purged_through:
        # Checked after reading: a purge that committed meanwhile may have taken events this
        # page should have had.
        raise CursorExpired(
            f"Events after {after} were purged (retention); resynchronise fully, then continue "
            f"from the newest sequence"
        )
    has_more = not exhausted or rows.filter(sequence__gt=cursor).exists()
    return EventsPage(items=items, next_cursor=str(cursor), has_more=has_more)


@dataclass(frozen=True)
class _Shown:
    """Which events of a chunk of rows a user may receive.

    A record that may be seen now (in the recycle bin too) shows all its events. A record that
    is gone (purged) shows only its ``purged`` event, which carries nothing but the id, to whoever
    may read the type, so that copies can be dropped; its older events carry its data and go to
    superusers only, who receive everything.
    """

    everything: bool
    records: frozenset[tuple[str, Any]] = frozenset()
    gone: frozenset[tuple[str, Any]] = frozenset()

    def shows(self, row: dict[str, Any]) -> bool:
        key = (row["object_type"], row["object_id"])
        if self.everything or key in self.records:
            return True
        return key in self.gone and row["type"].endswith(".purged")

    @classmethod
    def of(cls, user: Any, rows: list[dict[str, Any]]) -> _Shown:
        """One query per object type in ``rows``, and one more for types with purge events."""
        if getattr(user, "is_superuser", False) and user.is_active:
            return cls(everything=True)
        wanted: dict[str, set[Any]] = defaultdict(set)
        purged: dict[str, set[Any]] = defaultdict(set)
        for row in rows:
            wanted[row["object_type"]].add(row["object_id"])
            if row["type"].endswith(".purged"):
                purged[row["object_type"]].add(row["object_id"])
        known = record_types()
        records: set[tuple[str, Any]] = set()
        gone: set[tuple[str, Any]] = set()
        for object_type, ids in wanted.items():
            model = known.get(object_type)
            if model is None:
                continue
            found = visible(user, model.all_objects.filter(pk__in=ids)).values_list("pk", flat=True)
            records.update((object_type, pk) for pk in found)
            if purged[object_type] and permitted(user, object_type, "read"):
                kept = model.all_objects.filter(pk__in=purged[object_type]).values_list(
                    "pk", flat=True
                )
                gone.update((object_type, pk) for pk in purged[object_type] - set(kept))
        return cls(everything=False, records=frozenset(records), gone=frozenset(gone))


def _masked(user: Any, row: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = dict(row["envelope"])
    event["sequence"] = row["sequence"]
    policy = registry.field_policy(user, row["object_type"])
    data = event.get("data")
    if policy.hidden and isinstance(data, dict):
        data = copy.copy(data)
        if isinstance(data.get("record"), dict):
            data["record"] = policy.mask(data["record"])
        if isinstance(data.get("changed"), dict):
            data["changed"] = _mask_changes(policy, data["changed"])
        event["data"] = data
    return event


def _mask_changes(policy: registry.FieldPolicy, changed: dict[str, Any]) -> dict[str, Any]:
    """``changed`` without hidden fields, hidden custom fields inside ``custom_fields`` too."""
    masked = policy.mask_changes(changed)
    custom = masked.get("custom_fields")
    if isinstance(custom, list) and len(custom) == 2:
        old, new = (
            policy.mask({"custom_fields": side}).get("custom_fields") if side else side
            for side in custom
        )
        if old == new:
            del masked["custom_fields"]  # only hidden custom fields changed
        else:
            masked["custom_fields"] = [old, new]
    return masked


# -- status ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DestinationStatus:
    name: str
    kind: str
    active: bool
    position: int
    lag_events: int
    lag_seconds: float
    published_at: dt.datetime | None
    last_error: str
    failing_since: dt.datetime | None


@dataclass(frozen=True)
class Status:
    holder: str
    lease_held: bool
    lease_expires_at: dt.datetime | None
    last_sequence: int
    purged_through: int
    numbered_at: dt.datetime | None
    unsequenced: int
    oldest_unsequenced_at: dt.datetime | None
    retained: int
    destinations: list[DestinationStatus] = field(default_factory=list)


def status() -> Status:
    """The backbone's figures: backlog, lease, and each destination's position and lag."""
    now = clock.now()
    state = sequencer.current()
    waiting = OutboxEvent.objects.filter(sequence__isnull=True)
    oldest = waiting.aggregate(at=Min("created_at"))["at"]
    destinations = []
    for row in Destination.objects.order_by("name"):
        lag = max(state.last_sequence - row.position, 0)
        first_unpublished = (
            OutboxEvent.objects.filter(sequence__gt=row.position)
            .order_by("sequence")
            .values_list("created_at", flat=True)
            .first()
            if lag
            else None
        )
        seconds = (now - first_unpublished).total_seconds() if first_unpublished else 0.0
        destinations.append(
            DestinationStatus(
                name=row.name,
                kind=row.kind,
                active=row.active,
                position=row.position,
                lag_events=lag,
                lag_seconds=max(seconds, 0.0),
                published_at=row.published_at,
                last_error=row.last_error,
                failing_since=row.failing_since,
            )
        )
    expires = state.lease_expires_at
    return Status(
        holder=state.holder,
        lease_held=expires is not None and expires > now,
        lease_expires_at=expires,
        last_sequence=state.last_sequence,
        purged_through=state.purged_through,
        numbered_at=state.numbered_at,
        unsequenced=waiting.count(),
        oldest_unsequenced_at=oldest,
        retained=max(state.last_sequence - state.purged_through, 0),
        destinations=destinations,
    )

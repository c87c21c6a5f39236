"""All user-triggered reads of activities and record timelines, through the visibility filter."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Q, QuerySet

from accord.activities import events
from accord.activities.models import ACTIVITY_MODELS, Activity, Call, EmailLog, Meeting, Note, Task
from accord.core import pagination
from accord.core.errors import InvalidInput, NotFound
from accord.core.ids import parse_id
from accord.core.models import HistoryEntry, record_types
from accord.core.pagination import ListParams
from accord.identity.visibility import visible
from accord.parties import customfields

A = TypeVar("A", bound=Activity)

BASE_SORTS = {"id": "id", "created_at": "created_at", "updated_at": "updated_at"}


def _get(user: Any, queryset: QuerySet[A], record_id: Any) -> A:
    pk = parse_id(record_id)
    record = visible(user, queryset).filter(pk=pk).first() if pk else None
    if record is None:
        what = queryset.model.object_type.replace("_", " ")
        raise NotFound(f"No {what} with id {record_id}")
    return record


def _uuid_filter(field: str, raw: str) -> uuid.UUID:
    pk = parse_id(raw)
    if pk is None:
        raise InvalidInput.field(field, "must be a UUID")
    return pk


def _browse(
    user: Any,
    queryset: QuerySet[A],
    params: ListParams,
    sorts: Mapping[str, str],
    *,
    related_type: str | None,
    related_id: str | None,
    owner_id: str | None,
    updated_since: dt.datetime | None,
    custom: Mapping[str, str] | None,
) -> tuple[list[A], str | None]:
    qs = visible(user, queryset)
    if related_type:
        qs = qs.filter(related_type=related_type)
    if related_id:
        qs = qs.filter(related_id=_uuid_filter("related_id", related_id))
    if owner_id:
        qs = qs.filter(owner_id=_uuid_filter("owner_id", owner_id))
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    qs = customfields.filter_queryset(qs, queryset.model.object_type, custom)
    sort = pagination.parse_sort(params.sort, sorts)
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)


def get_task(user: Any, record_id: Any) -> Task:
    return _get(user, Task.objects.all(), record_id)


def list_tasks(
    user: Any,
    params: ListParams,
    *,
    related_type: str | None = None,
    related_id: str | None = None,
    owner_id: str | None = None,
    updated_since: dt.datetime | None = None,
    status: str | None = None,
    assignee_id: str | None = None,
    due_before: dt.datetime | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Task], str | None]:
    qs = Task.objects.all()
    if status:
        if status not in Task.Status.values:
            raise InvalidInput.field("status", f"must be one of: {', '.join(Task.Status.values)}")
        qs = qs.filter(status=status)
    if assignee_id:
        qs = qs.filter(assignee_id=_uuid_filter("assignee_id", assignee_id))
    if due_before:
        qs = qs.filter(due_at__lt=due_before)
    return _browse(
        user,
        qs,
        params,
        BASE_SORTS,
        related_type=related_type,
        related_id=related_id,
        owner_id=owner_id,
        updated_since=updated_since,
        custom=custom,
    )


def get_note(user: Any, record_id: Any) -> Note:
    return _get(user, Note.objects.all(), record_id)


def list_notes(
    user: Any,
    params: ListParams,
    *,
    related_type: str | None = None,
    related_id: str | None = None,
    owner_id: str | None = None,
    updated_since: dt.datetime | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Note], str | None]:
    return _browse(
        user,
        Note.objects.all(),
        params,
        BASE_SORTS,
        related_type=related_type,
        related_id=related_id,
        owner_id=owner_id,
        updated_since=updated_since,
        custom=custom,
    )


def get_call(user: Any, record_id: Any) -> Call:
    return _get(user, Call.objects.all(), record_id)


def list_calls(
    user: Any,
    params: ListParams,
    *,
    related_type: str | None = None,
    related_id: str | None = None,
    owner_id: str | None = None,
    updated_since: dt.datetime | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Call], str | None]:
    return _browse(
        user,
        Call.objects.all(),
        params,
        {**BASE_SORTS, "occurred_at": "occurred_at"},
        related_type=related_type,
        related_id=related_id,
        owner_id=owner_id,
        updated_since=updated_since,
        custom=custom,
    )


def get_meeting(user: Any, record_id: Any) -> Meeting:
    return _get(user, Meeting.objects.prefetch_related("attendees"), record_id)


def list_meetings(
    user: Any,
    params: ListParams,
    *,
    related_type: str | None = None,
    related_id: str | None = None,
    owner_id: str | None = None,
    updated_since: dt.datetime | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Meeting], str | None]:
    return _browse(
        user,
        Meeting.objects.prefetch_related("attendees"),
        params,
        {**BASE_SORTS, "starts_at": "starts_at"},
        related_type=related_type,
        related_id=related_id,
        owner_id=owner_id,
        updated_since=updated_since,
        custom=custom,
    )


def get_email_log(user: Any, record_id: Any) -> EmailLog:
    return _get(user, EmailLog.objects.all(), record_id)


def list_email_logs(
    user: Any,
    params: ListParams,
    *,
    related_type: str | None = None,
    related_id: str | None = None,
    owner_id: str | None = None,
    updated_since: dt.datetime | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[EmailLog], str | None]:
    return _browse(
        user,
        EmailLog.objects.all(),
        params,
        {**BASE_SORTS, "sent_at": "sent_at"},
        related_type=related_type,
        related_id=related_id,
        owner_id=owner_id,
        updated_since=updated_since,
        custom=custom,
    )


# -- the record timeline -----------------------------------------------------------------------

#: ``kind`` of a timeline entry that is a committed change to the record itself.
CHANGE = "change"

#: Long text the timeline never shows, left in the database.
_TIMELINE_DEFER: dict[type[Activity], tuple[str, ...]] = {
    Task: ("description",),
    Call: ("notes",),
    Meeting: ("notes",),
    EmailLog: ("body", "cc_addresses"),
}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a record's timeline: a change to the record, or an activity about it.

    ``kind`` is ``"change"`` (``change`` holds verb, changes, actor, source and version) or the
    activity's object type (``activity`` holds its summary, owner and a few fields).
    """

    id: uuid.UUID
    at: dt.datetime
    kind: str
    change: dict[str, Any] | None = None
    activity: dict[str, Any] | None = None


def object_type_of_collection(collection: str) -> str | None:
    """The object type an API collection serves: ``email-logs`` → ``email_log``."""
    for object_type in record_types():
        if collection == f"{object_type.replace('_', '-')}s":
            return object_type
    return None


def timeline(
    user: Any,
    object_type: str,
    record_id: Any,
    *,
    cursor: str | None = None,
    limit: int = pagination.DEFAULT_LIMIT,
) -> tuple[list[TimelineEntry], str | None]:
    """A record's changes and activities, newest first, and the cursor of the next page.

    Read from field history and the activity tables (never the outbox, which is purged). Each
    source is asked for one page past the cursor in its own index order, and the pages are
    merged, so a page costs the same however deep it is. 404 when the record is unknown,
    deleted or hidden from ``user``; activities ``user`` cannot see are left out.
    """
    if not 1 <= limit <= pagination.MAX_LIMIT:
        raise InvalidInput.field("limit", f"must be between 1 and {pagination.MAX_LIMIT}")
    model = record_types().get(object_type)
    pk = parse_id(record_id)
    if model is None or pk is None or not visible(user, model.objects.filter(pk=pk)).exists():
        raise NotFound(f"No {object_type.replace('_', ' ')} with id {record_id}")
    after = _decode_cursor(cursor) if cursor else None
    entries = _changes(object_type, pk, after, limit + 1)
    for activity_model in ACTIVITY_MODELS:
        entries += _activities(user, activity_model, object_type, pk, after, limit + 1)
    entries.sort(key=lambda e: (e.at, e.id), reverse=True)
    if len(entries) <= limit:
        return entries, None
    entries = entries[:limit]
    return entries, _encode_cursor(entries[-1])


def _older_than(field: str, after: tuple[dt.datetime, uuid.UUID]) -> Q:
    at, pk = after
    # The inclusive bound lets the planner seek the index (see core.pagination.page).
    return Q(**{f"{field}__lte": at}) & (Q(**{f"{field}__lt": at}) | Q(**{field: at, "pk__lt": pk}))


def _changes(
    object_type: str, pk: uuid.UUID, after: tuple[dt.datetime, uuid.UUID] | None, count: int
) -> list[TimelineEntry]:
    qs = HistoryEntry.objects.filter(object_type=object_type, object_id=pk)
    if after is not None:
        qs = qs.filter(_older_than("at", after))
    return [
        TimelineEntry(
            id=entry.pk,
            at=entry.at,
            kind=CHANGE,
            change={
                "verb": entry.verb,
                "changes": entry.changes,
                "actor_id": entry.actor_id,
                "actor_name": str(entry.actor) if entry.actor is not None else None,
                "source": entry.source,
                "version": entry.version,
            },
        )
        for entry in qs.select_related("actor").order_by("-at", "-id")[:count]
    ]


def _activities(
    user: Any,
    model: type[Activity],
    object_type: str,
    pk: uuid.UUID,
    after: tuple[dt.datetime, uuid.UUID] | None,
    count: int,
) -> list[TimelineEntry]:
    field = model.timeline_time
    qs = visible(user, model.objects.filter(related_type=object_type, related_id=pk))
    if after is not None:
        qs = qs.filter(_older_than(field, after))
    qs = qs.defer(*_TIMELINE_DEFER.get(model, ())).order_by(f"-{field}", "-pk")
    entries = []
    for record in qs[:count]:
        title, details = events.summary(record)
        entries.append(
            TimelineEntry(
                id=record.pk,
                at=getattr(record, field),
                kind=model.object_type,
                activity={"summary": title, "owner_id": record.owner_id, "details": details},
            )
        )
    return entries


def _encode_cursor(entry: TimelineEntry) -> str:
    raw = json.dumps([entry.at.isoformat(), str(entry.id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_text, pk_text = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at, pk = dt.datetime.fromisoformat(at_text), uuid.UUID(pk_text)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.field("cursor", "malformed cursor; start again without one") from None
    if at.utcoffset() is None:
        raise InvalidInput.field("cursor", "malformed cursor; start again without one")
    return at, pk

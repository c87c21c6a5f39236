"""All user-triggered reads of activities, record timelines and field history, through the
visibility filter and field-level security."""

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
from accord.core import pagination, registry
from accord.core.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from accord.core.ids import parse_id, require_id
from accord.core.models import HistoryEntry, record_types
from accord.core.pagination import ListParams
from accord.identity.visibility import permitted, visible, visible_one
from accord.parties import customfields
from accord.parties.models import Attachment

A = TypeVar("A", bound=Activity)

BASE_SORTS = {"id": "id", "created_at": "created_at", "updated_at": "updated_at"}


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
        qs = qs.filter(related_id=require_id("related_id", related_id))
    if owner_id:
        qs = qs.filter(owner_id=require_id("owner_id", owner_id))
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    qs = customfields.filter_queryset(qs, queryset.model.object_type, custom)
    sort = pagination.parse_sort(params.sort, sorts)
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)


def get_task(user: Any, record_id: Any) -> Task:
    return visible_one(user, Task.objects.all(), record_id)


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
        qs = qs.filter(assignee_id=require_id("assignee_id", assignee_id))
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
    return visible_one(user, Note.objects.all(), record_id)


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
    return visible_one(user, Call.objects.all(), record_id)


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
    return visible_one(user, Meeting.objects.prefetch_related("attendees"), record_id)


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
    return visible_one(user, EmailLog.objects.all(), record_id)


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


def _record_pk(user: Any, object_type: str, record_id: Any) -> uuid.UUID:
    """The id of a record ``user`` can see; 404 when it is unknown, deleted or hidden."""
    model = record_types().get(object_type)
    pk = parse_id(record_id)
    if model is None or pk is None or not visible(user, model.objects.filter(pk=pk)).exists():
        raise NotFound(f"No {object_type.replace('_', ' ')} with id {record_id}")
    return pk


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= pagination.MAX_LIMIT:
        raise InvalidInput.field("limit", f"must be between 1 and {pagination.MAX_LIMIT}")


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
    deleted or hidden from ``user``; activities ``user`` cannot see are left out, and so are
    the fields field-level security hides from ``user`` (a change of hidden fields only is
    left out whole).
    """
    _check_limit(limit)
    pk = _record_pk(user, object_type, record_id)
    after = _decode_cursor(cursor) if cursor else None
    entries = [
        TimelineEntry(
            id=entry.pk,
            at=entry.at,
            kind=CHANGE,
            change={
                "verb": entry.verb,
                "changes": changes,
                "actor_id": entry.actor_id,
                "actor_name": str(entry.actor) if entry.actor is not None else None,
                "source": entry.source,
                "version": entry.version,
            },
        )
        for entry, changes in _changes(user, object_type, pk, after, limit + 1)
    ]
    for activity_model in ACTIVITY_MODELS:
        entries += _activities(user, activity_model, object_type, pk, after, limit + 1)
    if permitted(user, Attachment.object_type, "read"):
        entries += _attachments(object_type, pk, after, limit + 1)
    entries.sort(key=lambda e: (e.at, e.id), reverse=True)
    if len(entries) <= limit:
        return entries, None
    entries = entries[:limit]
    return entries, _encode_cursor(entries[-1].at, entries[-1].id)


@dataclass(frozen=True)
class FieldChange:
    """One entry of a record's field history as a caller may see it."""

    id: uuid.UUID
    at: dt.datetime
    verb: str
    changes: dict[str, Any]
    actor_id: uuid.UUID | None
    actor_name: str | None
    source: str
    version: int


def history(
    user: Any,
    object_type: str,
    record_id: Any,
    *,
    field: str | None = None,
    cursor: str | None = None,
    limit: int = pagination.DEFAULT_LIMIT,
) -> tuple[list[FieldChange], str | None]:
    """A record's field history, newest first: who changed which field from what to what.

    ``field`` keeps the entries that changed it (``custom_fields.<key>`` for one custom
    field). Fields hidden from ``user`` are left out, an entry that changed nothing else too;
    filtering by a hidden field is refused, since the answer would tell when it changed.
    """
    _check_limit(limit)
    pk = _record_pk(user, object_type, record_id)
    if field is not None:
        _check_history_field(user, object_type, field)
    after = _decode_cursor(cursor) if cursor else None
    found = [
        FieldChange(
            id=entry.pk,
            at=entry.at,
            verb=entry.verb,
            changes=changes,
            actor_id=entry.actor_id,
            actor_name=str(entry.actor) if entry.actor is not None else None,
            source=entry.source,
            version=entry.version,
        )
        for entry, changes in _changes(user, object_type, pk, after, limit + 1, field=field)
    ]
    if len(found) <= limit:
        return found, None
    found = found[:limit]
    return found, _encode_cursor(found[-1].at, found[-1].id)


def _check_history_field(user: Any, object_type: str, field: str) -> None:
    if not field or len(field) > 100:
        raise InvalidInput.field("field", "must be a field name of 1 to 100 characters")
    policy = registry.field_policy(user, object_type)
    if field in policy.hidden or field.split(".", 1)[0] in policy.hidden:
        raise PermissionDenied(
            "The history filters on a hidden field",
            [FieldError("field", "you may not filter on this field")],
        )


def _older_than(field: str, after: tuple[dt.datetime, uuid.UUID]) -> Q:
    at, pk = after
    # The inclusive bound lets the planner seek the index (see core.pagination.page).
    return Q(**{f"{field}__lte": at}) & (Q(**{f"{field}__lt": at}) | Q(**{field: at, "pk__lt": pk}))


def _copied_from(verb: str, object_type: str) -> str | None:
    """The record type an entry was copied from (``lead_updated`` on a contact: ``lead``)."""
    for other in record_types():
        if other != object_type and verb.startswith(f"{other}_"):
            return other
    return None


def _touches(changes: Mapping[str, Any], field: str) -> bool:
    if not field.startswith("custom_fields."):
        return field in changes
    pair = changes.get("custom_fields")
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return False
    key = field.removeprefix("custom_fields.")
    old, new = (v if isinstance(v, Mapping) else {} for v in pair)
    return (key in old, old.get(key)) != (key in new, new.get(key))


#: History entries read per query while gathering a page: field-level security may leave
#: entries out, so a page can take more than one read.
_HISTORY_BATCH = 100


def _changes(
    user: Any,
    object_type: str,
    pk: uuid.UUID,
    after: tuple[dt.datetime, uuid.UUID] | None,
    count: int,
    *,
    field: str | None = None,
) -> list[tuple[HistoryEntry, dict[str, Any]]]:
    """Up to ``count`` history entries past ``after``, newest first, each with its changes
    as ``user`` may see them."""
    qs = HistoryEntry.objects.filter(object_type=object_type, object_id=pk)
    if field is not None:
        qs = qs.filter(changes__has_key=field.split(".", 1)[0])
    qs = qs.select_related("actor").order_by("-at", "-id")
    policies: dict[str, registry.FieldPolicy] = {}

    def policy(of: str) -> registry.FieldPolicy:
        if of not in policies:
            policies[of] = registry.field_policy(user, of)
        return policies[of]

    found: list[tuple[HistoryEntry, dict[str, Any]]] = []
    batch = max(count, _HISTORY_BATCH)
    while len(found) < count:
        rows = list((qs if after is None else qs.filter(_older_than("at", after)))[:batch])
        for entry in rows:
            changes = policy(object_type).mask_changes(entry.changes)
            source = _copied_from(entry.verb, object_type)
            if source is not None:
                changes = policy(source).mask_changes(changes)
            if entry.changes and not changes:
                continue  # it changed hidden fields only
            if field is not None and not _touches(changes, field):
                continue
            found.append((entry, changes))
        if len(rows) < batch:
            break
        after = (rows[-1].at, rows[-1].pk)
    return found[:count]


#: The field an activity's timeline summary is taken from.
_SUMMARY_FIELD: dict[type[Activity], str] = {
    Task: "subject",
    Note: "body",
    Call: "subject",
    Meeting: "subject",
    EmailLog: "subject",
}


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
    policy = registry.field_policy(user, model.object_type)
    entries = []
    for record in qs[:count]:
        title, details = events.summary(record)
        if _SUMMARY_FIELD[model] in policy.hidden:
            title = str(model._meta.verbose_name).capitalize()
        entries.append(
            TimelineEntry(
                id=record.pk,
                at=getattr(record, field),
                kind=model.object_type,
                activity={
                    "summary": title,
                    "owner_id": record.owner_id,
                    "details": policy.mask(details),
                },
            )
        )
    return entries


def _attachments(
    object_type: str, pk: uuid.UUID, after: tuple[dt.datetime, uuid.UUID] | None, count: int
) -> list[TimelineEntry]:
    """Files attached to the record (whoever may read attachments and sees the record sees
    them all: parties.attachments)."""
    qs = Attachment.objects.filter(related_type=object_type, related_id=pk)
    if after is not None:
        qs = qs.filter(_older_than("created_at", after))
    qs = qs.only("id", "created_at", "created_by_id", "filename", "content_type", "size")
    return [
        TimelineEntry(
            id=a.pk,
            at=a.created_at,
            kind=Attachment.object_type,
            activity={
                "summary": a.filename,
                "owner_id": a.created_by_id,
                "details": {"content_type": a.content_type, "size": a.size},
            },
        )
        for a in qs.order_by("-created_at", "-pk")[:count]
    ]


def _encode_cursor(at: dt.datetime, pk: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(pk)], separators=(",", ":"))
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

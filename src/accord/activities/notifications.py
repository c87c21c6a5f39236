"""Notifications: the one place any domain tells a person something ("this deal was assigned
to you", "case 1234 is about to breach its SLA"), their inbox, and their preferences.

:func:`notify` is the service every domain calls. It respects the recipient's preference for
the kind, tells nobody about a record they may not see, and leaves out of the body every field
field-level security hides from them. Email goes out after the commit, through Django's mail
backend: at once (``email_immediate``) or in a daily digest (``email_digest``; see
activities.tasks). Assignments are reported by :func:`assignments_changed`, which the write path
calls for every record change (core.registry's change listeners), so an assignment notifies the
new owner or assignee exactly once, whichever service made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from accord.activities.models import (
    DEFAULT_CHANNEL,
    Channel,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from accord.core import clock, pagination
from accord.core.errors import FieldError, InvalidInput, NotFound
from accord.core.ids import parse_id
from accord.core.models import Record, record_types
from accord.identity.models import User
from accord.identity.visibility import can_see, hidden_fields, seen_among, visible

#: Payload fields that name a record in a notification (when the recipient may see them).
LABEL_FIELDS = ("name", "subject", "title", "first_name", "last_name", "company", "number")

#: Fields whose new value is a person a record was just given to.
ASSIGNEE_FIELDS = ("owner_id", "assignee_id")

#: More assignments than this to one person in one write (a bulk reassignment, an import)
#: become one summary notification instead of one each.
BATCH_SUMMARY = 20


# -- preferences ------------------------------------------------------------------------------


def preferences(user: Any) -> dict[str, str]:
    """The channel of every kind for ``user`` (DEFAULT_CHANNEL where none was chosen)."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "channel"))
    return {kind: chosen.get(kind, DEFAULT_CHANNEL) for kind in NotificationKind.values}


def check_preferences(changes: Any) -> dict[str, str]:
    if not isinstance(changes, Mapping):
        raise InvalidInput("Send an object of kind → channel")
    errors = []
    for kind, channel in changes.items():
        if kind not in NotificationKind.values:
            errors.append(FieldError(str(kind), "unknown kind of notification"))
        elif channel not in Channel.values:
            choices = ", ".join(Channel.values)
            errors.append(FieldError(str(kind), f"must be one of: {choices}"))
    if errors:
        raise InvalidInput("Invalid notification preferences", errors)
    return {str(k): str(v) for k, v in changes.items()}


def set_preferences(user: Any, changes: Any) -> dict[str, str]:
    """Change the channels of the kinds ``changes`` names; the others keep theirs."""
    cleaned = check_preferences(changes)
    with transaction.atomic():
        for kind, channel in cleaned.items():
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"channel": channel}
            )
    return preferences(user)


def channel_for(user: Any, kind: str) -> str:
    found = (
        NotificationPreference.objects.filter(user=user, kind=kind)
        .values_list("channel", flat=True)
        .first()
    )
    return found or DEFAULT_CHANNEL


# -- sending ------------------------------------------------------------------------------------


def _label(name: str) -> str:
    return name.removesuffix("_id").replace("_", " ").capitalize()


def _body(recipient: Any, record: Record | None, body: str, fields: Mapping[str, Any]) -> str:
    lines = [body] if body else []
    hidden = hidden_fields(recipient, record.object_type) if record is not None else frozenset()
    for name, value in fields.items():
        if name in hidden or name.split(".")[0] in hidden or value in (None, "", [], {}):
            continue
        lines.append(f"{_label(name)}: {value}")
    return "\n".join(lines)


def _row(
    recipient: Any,
    kind: str,
    title: str,
    record: Record | None,
    body: str,
    fields: Mapping[str, Any],
    actor: Any,
    channel: str,
    dedupe_key: str,
    now: Any,
) -> Notification:
    """The unsaved notification ``notify`` and ``_notify_each`` write."""
    return Notification(
        recipient=recipient,
        kind=kind,
        title=title[:200],
        body=_body(recipient, record, body, fields),
        object_type=record.object_type if record is not None else "",
        object_id=record.pk if record is not None else None,
        actor=actor if getattr(actor, "pk", None) is not None else None,
        channel=channel,
        created_at=now,
        dedupe_key=dedupe_key[:200],
    )


def notify(
    *,
    recipient: Any,
    kind: str,
    title: str,
    record: Record | None = None,
    body: str = "",
    fields: Mapping[str, Any] | None = None,
    actor: Any = None,
    dedupe_key: str = "",
) -> Notification | None:
    """Tell ``recipient`` something, in their inbox and by email as they prefer.

    ``title`` and ``body`` are the caller's own words and must not carry a record's field
    values; those go in ``fields`` (``{field: value}``), each left out when field-level
    security hides it from the recipient. Nothing is sent (None) when the recipient is
    inactive, turned the kind off, or may not see ``record``; nor a second time for the same
    ``dedupe_key``. Joins the caller's transaction: a write that rolls back notifies nobody.
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown kind of notification {kind!r}")
    if recipient is None or not recipient.is_active:
        return None
    channel = channel_for(recipient, kind)
    if channel == Channel.OFF:
        return None
    if record is not None and not can_see(recipient, record):
        return None
    notification = _row(
        recipient, kind, title, record, body, fields or {}, actor, channel, dedupe_key, clock.now()
    )
    if (
        dedupe_key
        and Notification.objects.filter(
            recipient=recipient, dedupe_key=notification.dedupe_key
        ).exists()
    ):
        return None
    try:
        # A savepoint, so a duplicate that raced past the check leaves the caller's work alone.
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        return None
    if channel == Channel.EMAIL_IMMEDIATE:
        transaction.on_commit(_wake_mailer)
    return notification


def _wake_mailer() -> None:
    from accord.activities.tasks import send_notification_emails

    send_notification_emails.enqueue()


def _type_label(object_type: str) -> str:
    return object_type.replace("_", " ").capitalize()


def assignments_changed(changes: Sequence[Any], actor: Any) -> None:
    """The change listener (core.registry): notify whoever a record was just given to, as
    owner or assignee, unless they gave it to themselves. Keyed by the record's version, so
    one assignment is one notification however many fields named the same person."""
    actor_id = str(actor.pk) if getattr(actor, "pk", None) is not None else None
    given: dict[str, list[Any]] = {}
    for change in changes:
        if change.verb not in ("created", "updated"):
            continue
        people = {
            str(change.changes[f][1])
            for f in ASSIGNEE_FIELDS
            if f in change.changes and change.changes[f][1]
        }
        for person in people - {actor_id}:
            given.setdefault(person, []).append(change)
    if not given:
        return
    users = {str(u.pk): u for u in User.objects.filter(pk__in=list(given), is_active=True)}
    each: dict[User, list[Any]] = {}
    for person, assigned in given.items():
        user = users.get(person)
        if user is None:
            continue
        if len(assigned) > BATCH_SUMMARY:
            _notify_batch(user, assigned, actor)
        else:
            each[user] = assigned
    if each:
        _notify_each(each, actor, by_someone=actor_id is not None)


def _notify_each(given: Mapping[User, list[Any]], actor: Any, *, by_someone: bool) -> None:
    """One notification per record given to each user, as :func:`notify` sends them, checked
    together: the channels in one query, visibility in at most one query per user and type,
    earlier deliveries in one query, the rows in one insert. A write giving many people a few
    records each (a batch of imported or demo records) would otherwise pay six or seven round
    trips per record."""
    kind = NotificationKind.ASSIGNMENT
    by_id = {user.pk: user for user in given}
    channels: dict[Any, str] = dict.fromkeys(by_id, str(DEFAULT_CHANNEL))
    chosen = NotificationPreference.objects.filter(user__in=list(by_id), kind=kind)
    channels.update(chosen.values_list("user_id", "channel"))
    open_to = [user for user in given if channels[user.pk] != Channel.OFF]
    if not open_to:
        return

    def key(record: Record) -> str:
        return f"assignment:{record.object_type}:{record.pk}:{record.version}"

    sent = set(
        Notification.objects.filter(
            recipient__in=open_to,
            dedupe_key__in={key(change.record) for user in open_to for change in given[user]},
        ).values_list("recipient_id", "dedupe_key")
    )
    now = clock.now()
    rows: dict[tuple[Any, str], Notification] = {}
    for user in open_to:
        assigned = given[user]
        shown = seen_among(user, [change.record for change in assigned])
        for change in assigned:
            record = change.record
            dedupe = key(record)
            if record.pk not in shown or (user.pk, dedupe) in sent or (user.pk, dedupe) in rows:
                continue
            noun = _type_label(record.object_type)
            fields = {k: change.payload[k] for k in LABEL_FIELDS if k in change.payload}
            body = f"{actor} assigned you this {noun.lower()}." if by_someone else ""
            title = f"{noun} assigned to you"
            rows[(user.pk, dedupe)] = _row(
                user, kind, title, record, body, fields, actor, channels[user.pk], dedupe, now
            )
    if not rows:
        return
    # A duplicate that raced past the check is skipped by the database (the dedupe index).
    Notification.objects.bulk_create(list(rows.values()), ignore_conflicts=True)
    if any(row.channel == Channel.EMAIL_IMMEDIATE for row in rows.values()):
        transaction.on_commit(_wake_mailer)


def _notify_batch(user: User, assigned: list[Any], actor: Any) -> None:
    by_type: dict[str, list[Any]] = {}
    for change in assigned:
        by_type.setdefault(change.record.object_type, []).append(change.record.pk)
    for object_type, pks in by_type.items():
        model = record_types()[object_type]
        seen = visible(user, model._base_manager.filter(pk__in=pks)).count()
        if not seen:
            continue
        noun = _type_label(object_type).lower()
        notify(
            recipient=user,
            kind=NotificationKind.ASSIGNMENT,
            title=f"{seen} {noun} records assigned to you",
            actor=actor,
            dedupe_key=f"assignment-batch:{object_type}:{min(pks)}:{len(pks)}",
        )


# -- the inbox -----------------------------------------------------------------------------------

INBOX_SORT = pagination.Sort(field="created_at", descending=True)


def inbox(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def list_inbox(
    user: Any, *, unread: bool = False, cursor: str | None = None, limit: int = 50
) -> tuple[list[Notification], str | None]:
    """``user``'s notifications, newest first (only the unread ones with ``unread``)."""
    queryset = inbox(user)
    if unread:
        queryset = queryset.filter(read_at__isnull=True)
    return pagination.page(queryset, sort=INBOX_SORT, cursor=cursor, limit=limit)


def unread_count(user: Any) -> int:
    """One COUNT over the partial ``notification_unread`` index."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def get(user: Any, notification_id: Any) -> Notification:
    pk = parse_id(notification_id)
    found = inbox(user).filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise NotFound(f"No notification with id {notification_id}")
    return found


def mark_read(user: Any, notification_id: Any) -> Notification:
    """Mark one of ``user``'s notifications read (again: a no-op); 404 for anyone else's."""
    with transaction.atomic():
        found = get(user, notification_id)
        if found.read_at is None:
            found.read_at = clock.now()
            found.save(update_fields=["read_at"])
    return found


def mark_all_read(user: Any) -> int:
    """Mark every unread notification of ``user`` read; how many were."""
    return inbox(user).filter(read_at__isnull=True).update(read_at=clock.now())

"""Every write to webhook subscriptions, their deliveries and replays.

A subscription is managed by its owner and by access managers (``manages_access``); to anyone
else it does not exist (404). Its events go out as its owner may see them, so the owner must be
active and allowed to export each object type it subscribes to. The secret is generated here and
returned once, on creation and on rotation; it is never shown again.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Min

from accord.core import clock
from accord.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from accord.core.ids import parse_id
from accord.core.models import OutboxEvent, record_types
from accord.core.validation import MISSING, Cleaner
from accord.identity.models import Department, User
from accord.identity.visibility import manages_access, permitted
from accord.integration import sequencer
from accord.integration.models import (
    DeliveryStatus,
    DeliveryTrigger,
    Destination,
    DestinationKind,
    WebhookDelivery,
    WebhookReplay,
    WebhookSubscription,
)
from accord.integration.webhooks import config, emails, guard, signing
from accord.integration.webhooks.dispatch import FIELD, TYPE, VERBS
from accord.parties import customfields

log = logging.getLogger(__name__)

Data = Mapping[str, Any]

MAX_TYPES = 50
MAX_FIELDS = 100
#: Replays of one subscription that may be under way at once.
MAX_OPEN_REPLAYS = 5
#: Events are numbered in about the order they were written, but a long transaction can be
#: numbered after events written later; a replay looks this far beyond its range's ends so that
#: it finds those too (it sends only events whose time lies in the range).
REPLAY_MARGIN = dt.timedelta(minutes=10)
#: The longest overlap a rotation may ask for.
MAX_OVERLAP_HOURS = 24 * 30


# -- who may do what ---------------------------------------------------------------------------


def _may_manage(actor: Any, subscription: WebhookSubscription) -> bool:
    return subscription.owner_id == getattr(actor, "pk", None) or manages_access(actor)


def get_managed(actor: Any, subscription_id: Any, *, lock: bool = False) -> WebhookSubscription:
    """The subscription if ``actor`` may manage it; 404 otherwise (as for an unknown id)."""
    pk = parse_id(subscription_id)
    rows = WebhookSubscription.objects.select_related("destination")
    if lock:
        rows = rows.select_for_update(of=("self",))
    found = rows.filter(pk=pk).first() if pk is not None else None
    if found is None or not getattr(actor, "is_active", False) or not _may_manage(actor, found):
        raise NotFound("No such webhook subscription")
    return found


def _check_version(subscription: WebhookSubscription, expected: int | None) -> None:
    if expected is not None and expected != subscription.version:
        raise PreconditionFailed(
            "The subscription changed since you read it", current_version=subscription.version
        )


# -- input -------------------------------------------------------------------------------------


def _text_list(clean: Cleaner, key: str, limit: int) -> list[str] | None:
    value = clean.get(key, required=key == "event_types")
    if value is MISSING:
        return None
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        clean.error(key, "must be a list of strings")
        return None
    if len(value) > limit:
        clean.error(key, f"at most {limit} entries")
        return None
    return list(dict.fromkeys(v.strip() for v in value))


def _check_types(clean: Cleaner, names: list[str]) -> list[tuple[str, str]]:
    if not names:
        clean.error("event_types", "name at least one event type, e.g. accord.contact.updated")
        return []
    known = record_types()
    pairs = []
    for name in names:
        match = TYPE.match(name)
        if match is None:
            clean.error(
                "event_types",
                f"{name!r} is not an event type like accord.contact.updated or accord.deal.*",
            )
        elif match[1] not in known:
            clean.error("event_types", f"{name!r}: there are no {match[1]} records")
        elif match[2] != "*" and match[2] not in VERBS:
            verbs = ", ".join(sorted(VERBS))
            clean.error(
                "event_types", f"{name!r}: unknown verb {match[2]!r} (one of {verbs}, or *)"
            )
        else:
            pairs.append((match[1], match[2]))
    return pairs


def _field_names(object_type: str) -> set[str]:
    """What a change of a record of ``object_type`` can name: its fields (and ``<fk>_id``), the
    lists kept in other tables (``emails``, ``tags``), and ``custom_fields.<key>``."""
    model = record_types()[object_type]
    names: set[str] = set()
    for f in model._meta.get_fields():
        names.add(f.name)
        attname = getattr(f, "attname", None)
        if attname:
            names.add(attname)
        accessor = getattr(f, "related_name", None)
        if f.auto_created and accessor and accessor != "+":
            names.add(accessor)
    names.update(f"custom_fields.{key}" for key in customfields.definitions(object_type))
    return names


def _check_fields(clean: Cleaner, names: list[str], types: list[tuple[str, str]]) -> None:
    if not names or not types:
        return
    known: set[str] = set()
    for object_type in {t for t, _ in types}:
        known |= _field_names(object_type)
    for name in names:
        if not FIELD.match(name):
            clean.error("fields", f"{name!r} is not a field name")
        elif name not in known:
            objects = ", ".join(sorted({t for t, _ in types}))
            clean.error("fields", f"{name!r} is not a field of {objects}")


def _check_owner_may_export(owner: Any, types: list[tuple[str, str]]) -> None:
    """Reading and exporting each type: exporting alone shows the owner nothing to send."""
    denied = sorted(
        {t for t, _ in types if not (permitted(owner, t, "read") and permitted(owner, t, "export"))}
    )
    if denied:
        raise PermissionDenied(
            f"The subscription's owner may not export {', '.join(denied)} records",
            [FieldError("event_types", f"the owner may not export {t} records") for t in denied],
        )


def _department(raw: Any) -> Department | None:
    pk = parse_id(raw)
    return Department.objects.filter(pk=pk).first() if pk is not None else None


def _user(raw: Any) -> User | None:
    pk = parse_id(raw)
    return User.objects.filter(pk=pk, is_active=True).first() if pk is not None else None


def check_subscription(
    actor: Any, data: Data, existing: WebhookSubscription | None
) -> dict[str, Any]:
    """The model values ``data`` asks for, every problem reported at once (422 naming each
    field); 403 when the actor may not give it to someone else or the owner may not export."""
    unknown = set(data) - {
        "url",
        "event_types",
        "fields",
        "description",
        "department_id",
        "owner_id",
        "enabled",
    }
    if unknown:
        raise InvalidInput(
            "Unknown fields", [FieldError(name, "unknown field") for name in sorted(unknown)]
        )
    clean = Cleaner(data, creating=existing is None)
    url = clean.get("url", required=True)
    if url is not MISSING:
        problem = guard.check_url(url, config.allowed()) if isinstance(url, str) else "must be text"
        if problem:
            clean.error("url", problem)
        else:
            clean.out["url"] = url
    names = _text_list(clean, "event_types", MAX_TYPES)
    if names is not None:
        types = _check_types(clean, names)
        clean.out["event_types"] = names
    else:
        types = list(dispatch_types(existing)) if existing is not None else []
    fields = _text_list(clean, "fields", MAX_FIELDS)
    if fields is not None:
        clean.out["fields"] = fields
    if fields is not None or names is not None:
        kept = list(existing.fields) if existing is not None else []
        _check_fields(clean, fields if fields is not None else kept, types)
    description = clean.get("description")
    if description is not MISSING:
        text = "" if description is None else str(description).strip()
        if len(text) > 500:
            clean.error("description", "at most 500 characters")
        clean.out["description"] = text
    clean.related("department_id", _department, attr="department", what="department")
    owner = clean.related("owner_id", _user, attr="owner", nullable=False, what="active user")
    enabled = clean.get("enabled")
    if enabled is not MISSING:
        if not isinstance(enabled, bool):
            clean.error("enabled", "must be true or false")
        else:
            clean.out["enabled"] = enabled
    values = clean.done()
    current_owner = existing.owner if existing is not None else actor
    if owner is not MISSING and owner.pk != current_owner.pk and not manages_access(actor):
        raise PermissionDenied(
            "Only access managers may give a subscription to someone else",
            [FieldError("owner_id", "only access managers may change the owner")],
        )
    if existing is None or names is not None or "owner" in values:
        _check_owner_may_export(values.get("owner", current_owner), types)
    return values


def dispatch_types(subscription: WebhookSubscription) -> list[tuple[str, str]]:
    pairs = []
    for name in subscription.event_types:
        match = TYPE.match(name)
        if match is not None:
            pairs.append((match[1], match[2]))
    return pairs


# -- subscriptions -----------------------------------------------------------------------------


def create(*, actor: Any, data: Data) -> tuple[WebhookSubscription, str]:
    """A new subscription owned by ``actor`` (or, for access managers, by ``owner_id``), and
    its secret, which is shown this once. It receives the events numbered from now on."""
    if not getattr(actor, "is_active", False):
        raise PermissionDenied("Sign in to create webhook subscriptions")
    values = check_subscription(actor, data, None)
    owner = values.pop("owner", actor)
    enabled = values.pop("enabled", True)
    if "department" not in values:
        values["department"] = owner.department
    secret = signing.new_secret()
    now = clock.now()
    with transaction.atomic():
        subscription = WebhookSubscription(
            owner=owner,
            enabled=enabled,
            secret=secret,
            created_by=actor,
            created_at=now,
            updated_at=now,
            **values,
        )
        if not enabled:
            subscription.disabled_at = now
        subscription.destination = Destination.objects.create(
            name=f"webhook:{subscription.pk}",
            kind=DestinationKind.WEBHOOK,
            active=enabled,
            position=sequencer.current().last_sequence,
        )
        subscription.save(force_insert=True)
    log.info(
        "Webhook subscription %s to %s created by %s", subscription.pk, subscription.url, actor
    )
    return subscription, secret


def _apply(subscription: WebhookSubscription, values: dict[str, Any], now: dt.datetime) -> None:
    enabled = values.pop("enabled", None)
    for key, value in values.items():
        setattr(subscription, key, value)
    if enabled is not None and enabled != subscription.enabled:
        subscription.enabled = enabled
        subscription.disabled_at = None if enabled else now
        subscription.disabled_reason = ""
        destination = Destination.objects.filter(name=subscription.destination_id)
        if enabled:
            # A fresh start: the endpoint is tried at once again, from the position it reached.
            destination.update(active=True, failing_since=None, last_error="")
        else:
            destination.update(active=False)
    subscription.version += 1
    subscription.updated_at = now


def change(
    *, actor: Any, subscription_id: Any, data: Data, expected_version: int | None
) -> WebhookSubscription:
    """Change what ``data`` names. ``enabled: true`` turns a subscription Accord disabled back
    on; it continues from where it stopped (events purged meanwhile are missed: replay them if
    they are still kept)."""
    with transaction.atomic():
        subscription = get_managed(actor, subscription_id, lock=True)
        _check_version(subscription, expected_version)
        values = check_subscription(actor, data, subscription)
        _apply(subscription, values, clock.now())
        subscription.save()
    return subscription


def delete(*, actor: Any, subscription_id: Any, expected_version: int | None) -> None:
    """The subscription goes with its delivery log; deliveries in flight are dropped."""
    with transaction.atomic():
        subscription = get_managed(actor, subscription_id, lock=True)
        _check_version(subscription, expected_version)
        destination = subscription.destination_id
        subscription.delete()
        Destination.objects.filter(name=destination).delete()
    log.info("Webhook subscription %s deleted by %s", subscription_id, actor)


def rotate_secret(
    *, actor: Any, subscription_id: Any, overlap_hours: int | None = None
) -> tuple[WebhookSubscription, str]:
    """A new secret (shown this once). The previous one keeps signing beside it for
    ``overlap_hours`` (default ``ACCORD_WEBHOOK_SECRET_OVERLAP_HOURS``; 0: stop at once), so
    the receiver can switch whenever it likes within that time."""
    if overlap_hours is not None and not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
        raise InvalidInput.field("overlap_hours", f"must be between 0 and {MAX_OVERLAP_HOURS}")
    overlap = (
        config.webhooks().secret_overlap
        if overlap_hours is None
        else dt.timedelta(hours=overlap_hours)
    )
    secret = signing.new_secret()
    now = clock.now()
    with transaction.atomic():
        subscription = get_managed(actor, subscription_id, lock=True)
        if overlap > dt.timedelta(0):
            subscription.previous_secret = subscription.secret
            subscription.previous_secret_expires_at = now + overlap
        else:
            subscription.previous_secret = ""
            subscription.previous_secret_expires_at = None
        subscription.secret = secret
        subscription.version += 1
        subscription.updated_at = now
        subscription.save()
    log.info("Webhook subscription %s: secret rotated by %s", subscription.pk, actor)
    return subscription, secret


# -- deliveries --------------------------------------------------------------------------------


def _require_enabled(subscription: WebhookSubscription) -> None:
    if not subscription.enabled:
        raise Conflict("The subscription is disabled; enable it first")


def redeliver(*, actor: Any, subscription_id: Any, delivery_id: Any) -> WebhookDelivery:
    """Send a delivery's payload again, as a new delivery with the same event id (``webhook-id``)
    and retries of its own. A skipped delivery has no payload to send (409)."""
    with transaction.atomic():
        subscription = get_managed(actor, subscription_id)
        pk = parse_id(delivery_id)
        original = (
            WebhookDelivery.objects.filter(pk=pk, subscription=subscription).first() if pk else None
        )
        if original is None:
            raise NotFound("No such delivery")
        if original.status == DeliveryStatus.SKIPPED or not original.body:
            raise Conflict(
                "This event was skipped (its owner may not see the record): nothing to send"
            )
        _require_enabled(subscription)
        now = clock.now()
        return WebhookDelivery.objects.create(
            subscription=subscription,
            event_id=original.event_id,
            event_type=original.event_type,
            sequence=original.sequence,
            trigger=DeliveryTrigger.REDELIVERY,
            body=original.body,
            created_at=now,
            next_attempt_at=now,
        )


def _sequence_before(moment: dt.datetime, low: int, high: int) -> int:
    """The highest sequence in ``(low, high]`` whose event was written before ``moment``
    (``low`` if none), by bisection over the kept, gap-free sequence: a few index lookups."""
    while low < high:
        middle = (low + high + 1) // 2
        at = (
            OutboxEvent.objects.filter(sequence__gte=middle)
            .order_by("sequence")
            .values_list("created_at", flat=True)
            .first()
        )
        if at is not None and at < moment:
            low = middle
        else:
            high = middle - 1
    return low


def replay(
    *, actor: Any, subscription_id: Any, start: dt.datetime, end: dt.datetime
) -> WebhookReplay:
    """Queue the kept events written in ``[start, end)`` that match the subscription again (as
    its owner may see them now); the workers do it in batches (202)."""
    if end <= start:
        raise InvalidInput.field("to", "must be after from")
    state = sequencer.current()
    kept = OutboxEvent.objects.filter(sequence__gt=state.purged_through, sequence__isnull=False)
    oldest = kept.aggregate(at=Min("created_at"))["at"]
    if state.purged_through and (oldest is None or start < oldest):
        since = f"since {oldest.isoformat()}" if oldest else "none now"
        raise InvalidInput.field(
            "from", f"events before the retention horizon were purged (events are kept {since})"
        )
    with transaction.atomic():
        subscription = get_managed(actor, subscription_id, lock=True)
        _require_enabled(subscription)
        if subscription.replays.filter(finished_at__isnull=True).count() >= MAX_OPEN_REPLAYS:
            raise Conflict(f"{MAX_OPEN_REPLAYS} replays are under way; wait for one to finish")
        low, high = state.purged_through, state.last_sequence
        after = _sequence_before(start - REPLAY_MARGIN, low, high)
        through = _sequence_before(end + REPLAY_MARGIN, after, high)
        found = WebhookReplay.objects.create(
            subscription=subscription,
            start=start,
            end=end,
            after=after,
            through=through,
            requested_by=actor,
            created_at=clock.now(),
            finished_at=None if through > after else clock.now(),
        )
    log.info(
        "Webhook subscription %s: replay of %s to %s asked by %s",
        subscription.pk,
        start,
        end,
        actor,
    )
    return found


# -- what the workers decide -------------------------------------------------------------------


def disable(subscription_id: uuid.UUID, reason: str) -> bool:
    """Turn a subscription off on Accord's own account, log it and tell its owner (after the
    commit); whether it was on. Its retries stop; its position stays."""
    with transaction.atomic():
        subscription = (
            WebhookSubscription.objects.select_for_update()
            .select_related("owner")
            .filter(pk=subscription_id, enabled=True)
            .first()
        )
        if subscription is None:
            return False
        now = clock.now()
        WebhookSubscription.objects.filter(pk=subscription_id).update(
            enabled=False,
            disabled_reason=reason[:500],
            disabled_at=now,
            version=F("version") + 1,
            updated_at=now,
        )
        Destination.objects.filter(name=subscription.destination_id).update(active=False)
        log.warning(
            "Webhook subscription %s to %s (owner %s) disabled: %s",
            subscription.pk,
            subscription.url,
            subscription.owner,
            reason,
        )
        transaction.on_commit(lambda: emails.endpoint_disabled(subscription, reason))
    return True


def give_up(subscription_id: uuid.UUID, first_attempt: dt.datetime) -> None:
    """A delivery ran out of retries: disable the endpoint if nothing it was sent succeeded
    since that delivery's first attempt, i.e. it failed for a whole retry period."""
    failing_since = (
        Destination.objects.filter(webhook__pk=subscription_id)
        .values_list("failing_since", flat=True)
        .first()
    )
    if failing_since is not None and failing_since <= first_attempt:
        hours = config.webhooks().retry_for.total_seconds() / 3600
        disable(
            subscription_id,
            f"every delivery failed since {failing_since.isoformat()} "
            f"(each retried for {hours:g} hours)",
        )


def purge_log(*, before: dt.datetime, batch: int = 5000) -> int:
    """Delete delivery log entries created before ``before`` that are finished (pending ones
    stay until they are delivered or given up); how many."""
    total = 0
    while True:
        ids = list(
            WebhookDelivery.objects.filter(created_at__lt=before)
            .exclude(status=DeliveryStatus.PENDING)
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return total
        deleted, _ = WebhookDelivery.objects.filter(pk__in=ids).delete()
        total += deleted
        WebhookReplay.objects.filter(finished_at__lt=before).delete()

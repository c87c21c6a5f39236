"""All writes to cases and queues (see core.services for the write path).

Lifecycle times are the service's to set, never the caller's: ``first_response_at`` is stamped
the first time a case leaves *new* (an agent picked it up and answered: open, pending, or
straight to resolved/closed), ``resolved_at`` when it becomes resolved (or is closed without
having been resolved), ``closed_at`` when it is closed. Reopening (back to open or pending)
clears ``resolved_at`` and ``closed_at``; ``first_response_at`` stays, and a case never returns
to *new*.

SLA times are the service's too (service.sla): when a case is created, or its queue, priority
or account changes, the matching policy gives its due times, counted in the queue's business
calendar; a first response stops the first-response target, resolving stops the resolution
target. :func:`send_sla_alerts` warns, then reports the breach, once per target.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Max, QuerySet

from accord.activities.models import NotificationKind
from accord.activities.notifications import notify
from accord.catalog.models import Product
from accord.catalog.queries import products_visible_to
from accord.core import clock, search
from accord.core.ids import parse_id
from accord.core.models import Source
from accord.core.records import Payload
from accord.core.validation import MISSING, Cleaner, lookup, prime
from accord.identity.models import User
from accord.identity.records import VisibleRecordService
from accord.identity.visibility import can_edit, visible
from accord.parties.models import Account, Contact
from accord.parties.queries import accounts_visible_to
from accord.service import events, sla
from accord.service.models import BusinessCalendar, Case, CaseNumberCounter, Queue
from accord.service.sla_config import active_policies, hours_for

_COUNTER = "case"
_DONE = (Case.Status.RESOLVED, Case.Status.CLOSED)


def _is_admin(actor: Any) -> bool:
    return bool(actor is not None and actor.is_active and actor.is_superuser)


def _require_text(cleaner: Cleaner, *keys: str) -> None:
    for key in keys:
        if cleaner.out.get(key) == "":
            # Whitespace passes Cleaner.get's emptiness check but strips to nothing.
            cleaner.error(key, "is required and cannot be empty")


def _clean_flag(cleaner: Cleaner, key: str) -> None:
    cleaner.value(key)
    if key in cleaner.out and not isinstance(cleaner.out[key], bool):
        cleaner.error(key, "must be true or false")


class QueueService(VisibleRecordService[Queue]):
    """Queues are configuration: everyone reads them, administrators change them."""

    model = Queue

    def may_create(self, actor: Any) -> bool:
        return _is_admin(actor)

    def may_edit(self, actor: Any, record: Queue) -> bool:
        return _is_admin(actor) and can_edit(actor, record)

    def payload(self, record: Queue) -> Payload:
        return events.queue_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Queue | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        cleaner.text("name", required=True)
        cleaner.text("description")
        _clean_flag(cleaner, "active")
        _require_text(cleaner, "name")
        cleaner.related(
            "calendar_id",
            lambda pk: _fetch(
                "service.calendar",
                pk,
                lambda k: visible(actor, BusinessCalendar.objects.all()).filter(pk=k).first(),
            ),
            attr="calendar",
            what="business calendar",
        )
        return cleaner.done()


# -- references a case resolves (cached per batch by core.validation.lookup) --------------------


def _fetch(kind: str, key: Any, fetch: Callable[[Any], Any]) -> Any:
    # Keyed by the canonical id, the form _prime records a batch's rows under.
    pk = parse_id(key)
    return lookup(kind, pk, fetch) if pk is not None else None


def _owner(pk: Any) -> User | None:
    return _fetch("service.user", pk, lambda k: User.objects.filter(pk=k, is_active=True).first())


def _account(actor: Any, pk: Any) -> Account | None:
    return _fetch("service.account", pk, lambda k: accounts_visible_to(actor).filter(pk=k).first())


def _contacts(actor: Any) -> QuerySet[Contact]:
    return visible(actor, Contact.objects.all())


def _contact(actor: Any, pk: Any) -> Contact | None:
    return _fetch("service.contact", pk, lambda k: _contacts(actor).filter(pk=k).first())


def _product(actor: Any, pk: Any) -> Product | None:
    return _fetch("service.product", pk, lambda k: products_visible_to(actor).filter(pk=k).first())


def _queue(actor: Any, pk: Any) -> Queue | None:
    return _fetch(
        "service.queue", pk, lambda k: visible(actor, Queue.objects.all()).filter(pk=k).first()
    )


def _prime(kind: str, keys: set[str], rows: Any) -> None:
    if keys:
        prime(kind, keys, {str(row.pk): row for row in rows.filter(pk__in=keys)})


def _ids(rows: list[Mapping[str, Any]], key: str) -> set[str]:
    return {str(pk) for r in rows if (pk := parse_id(str(r.get(key)))) is not None}


# -- case numbers --------------------------------------------------------------------------------


def take_case_numbers(count: int) -> int:
    """Reserve ``count`` consecutive case numbers and return the first.

    Must run inside the transaction that inserts the cases: the counter row stays locked until it
    ends, so concurrent creators queue for it instead of drawing the same numbers.
    """
    taken = CaseNumberCounter.objects.filter(name=_COUNTER).update(last=F("last") + count)
    if not taken:
        # First case ever (or the counter row was lost): start after the highest number in use.
        highest = Case.all_objects.aggregate(top=Max("number"))["top"] or 0
        CaseNumberCounter.objects.bulk_create(
            [CaseNumberCounter(name=_COUNTER, last=highest)], ignore_conflicts=True
        )
        CaseNumberCounter.objects.filter(name=_COUNTER).update(last=F("last") + count)
    last = CaseNumberCounter.objects.values_list("last", flat=True).get(name=_COUNTER)
    return int(last) - count + 1


# -- lifecycle -----------------------------------------------------------------------------------


def lifecycle_times(record: Case | None, status: str, now: dt.datetime) -> dict[str, Any]:
    """The lifecycle timestamps that change when ``record`` (None: a new case) takes ``status``."""
    before = record.status if record is not None else None
    changes: dict[str, Any] = {}

    def stamp(field: str, value: dt.datetime | None) -> None:
        if getattr(record, field, None) != value:
            changes[field] = value

    if status != Case.Status.NEW and (record is None or record.first_response_at is None):
        stamp("first_response_at", now)
    if status == before:
        return changes
    if status in _DONE and (record is None or record.resolved_at is None):
        stamp("resolved_at", now)
    if status == Case.Status.CLOSED:
        stamp("closed_at", now)
    elif status == Case.Status.RESOLVED:
        stamp("closed_at", None)
    else:
        stamp("resolved_at", None)
        stamp("closed_at", None)
    return changes


class CaseService(VisibleRecordService[Case]):
    model = Case

    def payload(self, record: Case) -> Payload:
        return events.case_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Case | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        cleaner.text("subject", required=True)
        cleaner.text("description")
        cleaner.text("external_id")
        _require_text(cleaner, "subject")
        for key, choices in (
            ("priority", Case.Priority),
            ("status", Case.Status),
            ("origin", Case.Origin),
        ):
            if cleaner.has(key):
                cleaner.choice(key, choices)
        cleaner.related("owner_id", _owner, attr="owner", what="user")
        cleaner.related(
            "account_id", lambda pk: _account(actor, pk), attr="account", what="account"
        )
        cleaner.related(
            "contact_id", lambda pk: _contact(actor, pk), attr="contact", what="contact"
        )
        self._check_contact_account(actor, cleaner, record)
        product = cleaner.related(
            "product_id", lambda pk: _product(actor, pk), attr="product", what="product"
        )
        if (
            product not in (None, MISSING)
            and not product.active
            and (record is None or record.product_id != product.pk)
        ):
            cleaner.error("product_id", f"product {product.pk} is no longer sold (inactive)")
        queue = cleaner.related(
            "queue_id", lambda pk: _queue(actor, pk), attr="queue", what="queue"
        )
        if (
            queue not in (None, MISSING)
            and not queue.active
            and (record is None or record.queue_id != queue.pk)
        ):
            cleaner.error("queue_id", f"queue {queue.pk} is inactive")
        self._clean_opened_at(cleaner, record)
        self._clean_status(cleaner, record)
        if not cleaner.errors:
            self._clean_sla(cleaner, record)
        return cleaner.done()

    @staticmethod
    def _clean_sla(cleaner: Cleaner, record: Case | None) -> None:
        """Due times from the matching policy when the case is new or moves queue, priority or
        account; which target runs, and when the SLA job looks next, whenever that may change."""
        out = cleaner.out

        def now_(field: str, attname: str | None = None) -> Any:
            if field in out:
                value = out[field]
                return value.pk if attname and value is not None else value
            return getattr(record, attname or field, None) if record is not None else None

        queue_id = now_("queue", "queue_id")
        account = out.get("account", record.account if record else None)
        retime = record is None or (
            queue_id != record.queue_id
            or now_("priority") != record.priority
            or getattr(account, "pk", None) != record.account_id
        )
        timing: dict[str, Any] = {}
        if retime:
            if record is None:
                out.setdefault("opened_at", clock.now())
            opened_at = now_("opened_at")
            policy = sla.match_policy(
                active_policies(),
                queue_id=queue_id,
                priority=now_("priority") or Case.Priority.NORMAL,
                tier=getattr(account, "tier", ""),
            )
            calendar_id = _queue_calendar(queue_id, out.get("queue"))
            hours = hours_for(calendar_id)
            try:
                due = sla.targets(policy, opened_at, hours) if policy else None
            except sla.CalendarError:
                cleaner.error("queue_id", "the queue's business calendar has no opening hours")
                return
            timing = {
                "sla_policy": policy,
                "first_response_due_at": due.first_response_due_at if due else None,
                "resolution_due_at": due.resolution_due_at if due else None,
            }
            for target in ("first_response", "resolution"):
                if record is None or timing[f"{target}_due_at"] != getattr(
                    record, f"{target}_due_at"
                ):
                    # A new target may warn again.
                    timing[f"{target}_alert"] = ""
        elif not ({"first_response_at", "resolved_at", "status"} & set(out)):
            return
        else:
            policy = record.sla_policy if record is not None else None
            hours = hours_for(_queue_calendar(queue_id, out.get("queue")))
        state = {**sla_state(record), **out, **timing}
        timing.update(sla_schedule(state, policy, hours))
        out.update(timing)

    @staticmethod
    def _check_contact_account(actor: Any, cleaner: Cleaner, record: Case | None) -> None:
        """The contact must belong to the case's account (or to none). A case that names only a
        contact takes the contact's account."""
        if not (cleaner.has("account_id") or cleaner.has("contact_id")):
            return
        if any(e.field in ("account_id", "contact_id") for e in cleaner.errors):
            return
        if "contact" in cleaner.out:
            contact = cleaner.out["contact"]
        else:
            contact = record.contact if record is not None and record.contact_id else None
        if contact is None or contact.account_id is None:
            return
        if "account" in cleaner.out:
            account_id = cleaner.out["account"].pk if cleaner.out["account"] else None
        else:
            account_id = record.account_id if record is not None else None
        if account_id is None:
            if not cleaner.has("account_id"):
                account = _account(actor, contact.account_id)
                if account is not None:
                    cleaner.out["account"] = account
            return
        if account_id != contact.account_id:
            cleaner.error("contact_id", "the contact belongs to another account than the case")

    @staticmethod
    def _clean_opened_at(cleaner: Cleaner, record: Case | None) -> None:
        """Imports may back-date a new case; afterwards the opening time is history."""
        value = cleaner.get("opened_at")
        if value is MISSING:
            return
        if record is not None:
            if value != record.opened_at:
                cleaner.error("opened_at", "is set when the case is opened and cannot change")
            return
        if value is None:
            return
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            cleaner.error("opened_at", "must be a date and time with a time zone")
        elif value > clock.now():
            cleaner.error("opened_at", "cannot be in the future")
        else:
            cleaner.out["opened_at"] = value

    @staticmethod
    def _clean_status(cleaner: Cleaner, record: Case | None) -> None:
        status = cleaner.out.get("status", record.status if record else Case.Status.NEW)
        if record is not None and record.status != Case.Status.NEW and status == Case.Status.NEW:
            cleaner.error("status", "a case that has been worked on cannot return to new")
            return
        cleaner.out.update(lifecycle_times(record, status, clock.now()))

    def preload(self, actor: Any, rows: list[Mapping[str, Any]]) -> None:
        _prime("service.user", _ids(rows, "owner_id"), User.objects.filter(is_active=True))
        wanted = _ids(rows, "contact_id")
        found = list(_contacts(actor).filter(pk__in=wanted)) if wanted else []
        prime("service.contact", wanted, {str(c.pk): c for c in found})
        # Cases naming only a contact take the contact's account: load those accounts too.
        accounts = _ids(rows, "account_id") | {str(c.account_id) for c in found if c.account_id}
        _prime("service.account", accounts, accounts_visible_to(actor))
        _prime("service.product", _ids(rows, "product_id"), products_visible_to(actor))
        _prime("service.queue", _ids(rows, "queue_id"), visible(actor, Queue.objects.all()))

    def apply(self, record: Case, cleaned: dict[str, Any], *, creating: bool) -> None:
        if creating:
            record.number = take_case_numbers(1)
        super().apply(record, cleaned, creating=creating)

    def insert_cleaned(
        self, actor: Any, cleaned: list[dict[str, Any]], *, source: Source | str
    ) -> list[Case]:
        with transaction.atomic():
            first = take_case_numbers(len(cleaned)) if cleaned else 0
            numbered = [{**values, "number": first + i} for i, values in enumerate(cleaned)]
            return super().insert_cleaned(actor, numbered, source=source)

    # The reference is the payload's "number".
    search_fields = ("number", "subject", "external_id")

    def search_document(self, record: Case) -> search.Document:
        return search.document(
            number=record.reference, subject=record.subject, external_id=record.external_id
        )


def _queue_calendar(queue_id: Any, queue: Queue | None) -> Any:
    if queue_id is None:
        return None
    if queue is not None:
        return queue.calendar_id
    return Queue.all_objects.filter(pk=queue_id).values_list("calendar_id", flat=True).first()


_SLA_FIELDS = (
    "opened_at",
    "status",
    "first_response_at",
    "resolved_at",
    "first_response_due_at",
    "resolution_due_at",
    "first_response_alert",
    "resolution_alert",
)


def sla_state(record: Case | None) -> dict[str, Any]:
    """The fields of ``record`` its SLA clock reads (empty for a new case)."""
    return {f: getattr(record, f) for f in _SLA_FIELDS} if record is not None else {}


def sla_clock(state: Mapping[str, Any], policy: Any, hours: sla.Hours) -> sla.Clock | None:
    """The SLA situation of a case with the values ``state`` (the fields of _SLA_FIELDS)."""
    if policy is None or state.get("status") in _DONE:
        return None
    running = []
    if state.get("first_response_at") is None and state.get("first_response_due_at"):
        running.append(
            sla.Target(
                "first_response",
                policy.first_response_minutes,
                state["first_response_due_at"],
                state.get("first_response_alert") or "",
            )
        )
    if state.get("resolved_at") is None and state.get("resolution_due_at"):
        running.append(
            sla.Target(
                "resolution",
                policy.resolution_minutes,
                state["resolution_due_at"],
                state.get("resolution_alert") or "",
            )
        )
    return sla.Clock(state["opened_at"], hours, policy.warn_at_percent, running)


def sla_schedule(state: Mapping[str, Any], policy: Any, hours: sla.Hours) -> dict[str, Any]:
    """The queue's sort key (the running target's due time) and the SLA job's next look."""
    clock_ = sla_clock(state, policy, hours)
    if clock_ is None or not clock_.running:
        return {"sla_due_at": None, "sla_check_at": None}
    return {
        "sla_due_at": min(t.due_at for t in clock_.running),
        "sla_check_at": clock_.next_check({}),
    }


queues = QueueService()
cases = CaseService()


# -- SLA alerts ----------------------------------------------------------------------------------

_ALERT_TITLES = {
    ("first_response", sla.WARNING): "A case is close to missing its first-response target",
    ("first_response", sla.BREACHED): "A case missed its first-response target",
    ("resolution", sla.WARNING): "A case is close to missing its resolution target",
    ("resolution", sla.BREACHED): "A case missed its resolution target",
}


def send_sla_alerts(case: Case, now: dt.datetime) -> list[sla.Alert]:
    """Warn the case's owner of a target close to its due time, then of its breach: each once
    (the alert state on the case, and the notification's dedupe key naming the due time).

    Bookkeeping rather than a business change: the alert columns and the next look are written
    without a new version or event; the notification is the record of the alert.
    Call inside a transaction, with ``case`` locked.
    """
    hours = hours_for(case.queue.calendar_id if case.queue_id and case.queue else None)
    state = sla_state(case)
    clock_ = sla_clock(state, case.sla_policy, hours)
    alerts = clock_.due(now) if clock_ is not None else []
    for alert in alerts:
        due_at = getattr(case, f"{alert.target}_due_at")
        notify(
            recipient=case.owner,
            kind=NotificationKind.SLA_WARNING,
            title=_ALERT_TITLES[alert.target, alert.state],
            record=case,
            fields={"number": case.reference, "subject": case.subject, "due": due_at},
            dedupe_key=f"sla:{case.pk}:{alert.target}:{alert.state}:{due_at.isoformat()}",
        )
        setattr(case, f"{alert.target}_alert", alert.state)
    schedule = sla_schedule(sla_state(case), case.sla_policy, hours)
    case.sla_check_at = schedule["sla_check_at"]
    Case.all_objects.filter(pk=case.pk).update(
        first_response_alert=case.first_response_alert,
        resolution_alert=case.resolution_alert,
        sla_check_at=case.sla_check_at,
    )
    return alerts

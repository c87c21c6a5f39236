"""All writes to cases and queues (see core.services for the write path).

Lifecycle times are the service's to set, never the caller's: ``first_response_at`` is stamped
the first time a case leaves *new* (an agent picked it up and answered: open, pending, or
straight to resolved/closed), ``resolved_at`` when it becomes resolved (or is closed without
having been resolved), ``closed_at`` when it is closed. Reopening (back to open or pending)
clears ``resolved_at`` and ``closed_at``; ``first_response_at`` stays, and a case never returns
to *new*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Max, QuerySet

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
from accord.service import events
from accord.service.models import Case, CaseNumberCounter, Queue

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
        return cleaner.done()

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


queues = QueueService()
cases = CaseService()

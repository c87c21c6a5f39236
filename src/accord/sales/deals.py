"""Writes to deals: placing them in a pipeline stage, their money, and what they link to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from accord.core import clock, search
from accord.core.money import company_currency, normalize_amount, normalize_currency
from accord.core.records import Payload
from accord.core.validation import MISSING, Cleaner, prime
from accord.identity.models import User
from accord.identity.records import VisibleRecordService
from accord.identity.visibility import visible
from accord.parties.models import Contact
from accord.parties.queries import accounts_visible_to
from accord.sales import events
from accord.sales.checks import (
    active_user,
    check_int,
    check_text,
    default_pipeline,
    first_stage,
    live_stages,
    pipeline_by_id,
    stage_by_id,
    visible_account,
    visible_contact,
)
from accord.sales.models import Deal

MAX_DEAL_CONTACTS = 50


class DealService(VisibleRecordService[Deal]):
    model = Deal
    related = ("contacts",)
    prefetch = ("contacts",)

    def payload(self, record: Deal) -> Payload:
        return events.deal_record(record)

    search_fields = ("name",)

    def search_document(self, record: Deal) -> search.Document:
        return search.document(name=record.name)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Deal | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        check_text(cleaner, "name", 200, required=True)
        cleaner.related(
            "account_id",
            lambda pk: visible_account(actor, pk),
            attr="account",
            required=True,
            what="account",
        )
        self._clean_contacts(cleaner, actor)
        self._clean_money(cleaner, record)
        self._clean_expected_close(cleaner)
        check_int(cleaner, "probability", 0, 100)
        self._clean_stage(cleaner, record)
        cleaner.related("owner_id", active_user, attr="owner", what="user")
        return cleaner.done()

    @staticmethod
    def _clean_contacts(cleaner: Cleaner, actor: Any) -> None:
        ids = cleaner.get("contact_ids")
        if ids is MISSING:
            return
        if not isinstance(ids, list | tuple) and ids is not None:
            cleaner.error("contact_ids", "must be a list of contact ids")
            return
        if len(ids or ()) > MAX_DEAL_CONTACTS:
            cleaner.error("contact_ids", f"at most {MAX_DEAL_CONTACTS} contacts")
            return
        found: dict[Any, Contact] = {}
        for index, pk in enumerate(ids or ()):
            contact = visible_contact(actor, pk)
            if contact is None:
                cleaner.error(f"contact_ids[{index}]", f"unknown contact {pk}")
            else:
                found[contact.pk] = contact
        cleaner.out["contacts"] = list(found.values())

    @staticmethod
    def _clean_money(cleaner: Cleaner, record: Deal | None) -> None:
        amount = (
            cleaner.get("amount", required=True) if record is not None else cleaner.get("amount")
        )
        if amount is not MISSING:
            try:
                cleaner.out["amount"] = normalize_amount(amount)
            except ValueError as exc:
                cleaner.error("amount", str(exc))
        elif record is None:
            cleaner.out["amount"] = Decimal("0.00")
        currency = cleaner.get("currency", required=record is not None)
        if currency is not MISSING:
            if not isinstance(currency, str):
                cleaner.error("currency", "must be a three-letter ISO 4217 currency code")
            else:
                try:
                    cleaner.out["currency"] = normalize_currency(currency)
                except ValueError as exc:
                    cleaner.error("currency", str(exc))
        elif record is None:
            cleaner.out["currency"] = company_currency()

    @staticmethod
    def _clean_expected_close(cleaner: Cleaner) -> None:
        value = cleaner.get("expected_close")
        if value is MISSING:
            return
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            cleaner.out["expected_close"] = value
            return
        try:
            cleaner.out["expected_close"] = dt.date.fromisoformat(str(value))
        except ValueError:
            cleaner.error("expected_close", "must be a date (YYYY-MM-DD)")

    @staticmethod
    def _clean_stage(cleaner: Cleaner, record: Deal | None) -> None:
        """Place the deal in a pipeline and one of its stages, and close or reopen it."""
        pipeline = cleaner.related("pipeline_id", pipeline_by_id, attr="pipeline", what="pipeline")
        stage = cleaner.related("stage_id", stage_by_id, attr="stage", what="stage")
        for key, value in (("pipeline_id", pipeline), ("stage_id", stage)):
            if value is None:
                cleaner.error(key, "cannot be empty")
        if (
            pipeline is None
            or stage is None
            or any(e.field in ("pipeline_id", "stage_id") for e in cleaner.errors)
        ):
            return
        if stage is not MISSING:
            if pipeline is not MISSING:
                target = pipeline
            elif record is not None:
                target = record.pipeline
            else:
                target = stage.pipeline
            if stage.pipeline_id != target.pk:
                cleaner.error(
                    "stage_id",
                    f"stage {stage.name!r} belongs to another pipeline than {target.name!r}",
                )
                return
        elif pipeline is not MISSING:
            if record is not None and pipeline.pk == record.pipeline_id:
                stage = record.stage
            else:
                stage = first_stage(pipeline)
                if stage is None:
                    cleaner.error("pipeline_id", f"pipeline {pipeline.name!r} has no stages")
                    return
        elif record is None:
            pipeline = default_pipeline()
            stage = first_stage(pipeline) if pipeline is not None else None
            if stage is None:
                cleaner.error("stage_id", "no default pipeline with stages exists; name a stage")
                return
        else:
            return
        cleaner.out["pipeline"] = stage.pipeline
        cleaner.out["stage"] = stage
        if record is None or stage.pk != record.stage_id:
            if "probability" not in cleaner.out:
                cleaner.out["probability"] = stage.probability
            # A deal closes when it enters a won or lost stage and reopens when it leaves.
            cleaner.out["closed_at"] = clock.now() if stage.is_closed else None

    def preload(self, actor: Any, rows: list[Mapping[str, Any]]) -> None:
        """Fetch the accounts, contacts, stages and owners a batch names, one query each."""

        def keys(name: str) -> set[str]:
            return {str(r[name]) for r in rows if r.get(name)}

        def load(kind: str, wanted: set[str], queryset: Any) -> None:
            if wanted:
                try:
                    found = {str(x.pk): x for x in queryset.filter(pk__in=wanted)}
                except (ValueError, ValidationError):
                    return  # a malformed id: let the rows look up one by one
                prime(kind, wanted, found)

        load("account", keys("account_id"), accounts_visible_to(actor))
        contact_ids = {str(pk) for r in rows for pk in (r.get("contact_ids") or ())}
        load("contact", contact_ids, visible(actor, Contact.objects.all()))
        load("stage", keys("stage_id"), live_stages())
        load("user", keys("owner_id"), User.objects.filter(is_active=True))

    def save_related(
        self, records: list[Deal], cleaned: list[dict[str, Any]], *, creating: bool
    ) -> None:
        through = Deal.contacts.through
        if creating:
            through.objects.bulk_create(
                through(deal_id=record.pk, contact_id=contact.pk)
                for record, values in zip(records, cleaned, strict=True)
                for contact in values.get("contacts") or ()
            )
            return
        for record, values in zip(records, cleaned, strict=True):
            if "contacts" in values:
                record.contacts.set(values["contacts"])


deals = DealService()

"""All writes of sales: leads and lead conversion here, and, re-exported so that callers find
every sales write in one place, pipelines and stages (``pipelines``) and deals (``deals``).

The record services follow the write path in core.services; :func:`convert_lead` is a domain
action that owns its transaction and joins the parties services into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accord.activities.services import move_related
from accord.core import clock, history, records, search
from accord.core.errors import Conflict, FieldError, InvalidInput
from accord.core.models import Source
from accord.core.records import Payload
from accord.core.validation import Cleaner, normalize_domain, normalize_email, normalize_phone
from accord.identity.records import VisibleRecordService
from accord.parties import customfields
from accord.parties.models import Account, Contact
from accord.parties.services import accounts, contacts
from accord.sales import events
from accord.sales.checks import (
    active_user,
    check_captured,
    check_int,
    check_text,
    visible_account,
)
from accord.sales.deals import deals
from accord.sales.models import Deal, Lead, LeadSource
from accord.sales.pipelines import pipelines, stages

__all__ = [
    "ConversionResult",
    "LeadService",
    "convert_lead",
    "deals",
    "leads",
    "pipelines",
    "stages",
]

#: Record types whose custom fields receive captured values of the same key on conversion.
CARRIED_TO = ("account", "contact", "deal")


LEAD_TEXT = {"first_name": 100, "last_name": 100, "company": 200, "title": 200, "website": 255}


class LeadService(VisibleRecordService[Lead]):
    model = Lead

    def payload(self, record: Lead) -> Payload:
        return events.lead_record(record)

    search_fields = ("first_name", "last_name", "company", "email", "phone")

    def search_document(self, record: Lead) -> search.Document:
        return search.document(
            first_name=record.first_name,
            last_name=record.last_name,
            company=record.company,
            email=record.email,
            phone=record.phone,
        )

    def clean(self, actor: Any, data: Mapping[str, Any], record: Lead | None) -> dict[str, Any]:
        if record is not None and record.status == Lead.Status.CONVERTED:
            raise Conflict(
                f"Lead {record.pk} was converted (into contact {record.converted_contact_id}) "
                "and is read-only; change the records it became instead"
            )
        cleaner = Cleaner(data, creating=record is None)
        for key, limit in LEAD_TEXT.items():
            check_text(cleaner, key, limit)
        check_text(cleaner, "email", 254, normalize=normalize_email)
        check_text(cleaner, "phone", 20, normalize=normalize_phone)
        website = cleaner.out.get("website")
        if website:
            try:
                normalize_domain(website)
            except ValueError:
                cleaner.error("website", "not a web address")
        if "source" in data:
            cleaner.choice("source", LeadSource)
        if "status" in data:
            cleaner.choice("status", Lead.Status)
            if cleaner.out.get("status") == Lead.Status.CONVERTED:
                del cleaner.out["status"]
                cleaner.error(
                    "status", "a lead becomes converted only by converting it (POST …/convert)"
                )
        check_int(cleaner, "score", 0, 100)
        check_captured(cleaner)
        cleaner.related("owner_id", active_user, attr="owner", what="user")
        self._check_identifiable(cleaner, record)
        return cleaner.done()

    @staticmethod
    def _check_identifiable(cleaner: Cleaner, record: Lead | None) -> None:
        """A lead must be able to become a contact: it needs a name or an email address."""
        keys = ("first_name", "last_name", "email")
        if any(e.field in keys for e in cleaner.errors):
            return
        current = {k: cleaner.out.get(k, getattr(record, k) if record else "") for k in keys}
        if not any(current.values()):
            cleaner.error("last_name", "a lead needs a first name, last name or email")


leads = LeadService()


# -- lead conversion ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversionResult:
    """What a lead became. ``carried`` lists every captured value and the records it was
    copied to (``[]``: kept on the lead only, since no custom field of that key exists)."""

    lead: Lead
    account: Account
    contact: Contact
    deal: Deal | None
    carried: dict[str, dict[str, Any]] = field(default_factory=dict)


_DEAL_FIELDS = {"name": "deal_name", "amount": "deal_amount", "currency": "deal_currency"}


def _as_part(prefix: str, exc: InvalidInput) -> InvalidInput:
    """Name the errors of a record conversion creates after the part of the request they
    concern (``contact.custom_fields.size``, ``deal_amount``)."""

    def rename(name: str) -> str:
        if prefix == "deal" and name in _DEAL_FIELDS:
            return _DEAL_FIELDS[name]
        return f"{prefix}.{name}"

    errors = [FieldError(rename(e.field), e.message) for e in exc.errors]
    names = ", ".join(dict.fromkeys(e.field for e in errors))
    return InvalidInput(f"The lead cannot be converted; invalid value for: {names}", errors)


def check_conversion(
    *,
    create_deal: bool,
    deal_name: str | None,
    deal_amount: Any,
    deal_currency: str | None,
) -> None:
    """Refuse deal details without a deal: silently ignoring them would lose what was sent."""
    errors = [
        FieldError(key, "only with create_deal")
        for key, value in (
            ("deal_name", deal_name),
            ("deal_amount", deal_amount),
            ("deal_currency", deal_currency),
        )
        if value is not None and not create_deal
    ]
    if errors:
        raise InvalidInput("Deal details need create_deal", errors)


def check_convertible(lead: Lead) -> None:
    if lead.status == Lead.Status.CONVERTED:
        raise Conflict(
            f"Lead {lead.pk} was already converted (into contact {lead.converted_contact_id})"
        )
    if lead.status != Lead.Status.QUALIFIED:
        raise Conflict(
            f"Only a qualified lead can be converted; this one is {lead.status!r}. "
            "Set its status to qualified first."
        )


def convert_lead(
    *,
    actor: Any,
    lead_id: Any,
    expected_version: int | None,
    account_id: Any = None,
    create_deal: bool = False,
    deal_name: str | None = None,
    deal_amount: Any = None,
    deal_currency: str | None = None,
    source: Source | str,
) -> ConversionResult:
    """Turn a qualified lead into an account (or link ``account_id``), a contact and optionally
    a deal, in one transaction.

    Captured values whose key is a custom field of the account, contact or deal go into that
    record's custom fields unchanged; every captured value stays on the lead and is listed in
    the result. A linked existing account only receives values for custom fields it has no
    value for. The lead's activities move to the contact, its field history is copied there
    (verbs ``lead_<verb>``), and the lead ends read-only, ``converted``, linking to all three.
    """
    check_conversion(
        create_deal=create_deal,
        deal_name=deal_name,
        deal_amount=deal_amount,
        deal_currency=deal_currency,
    )
    with transaction.atomic():
        lead = leads.get_for_write(actor, lead_id, expected_version=expected_version)
        check_convertible(lead)
        captured = dict(lead.captured)
        carried: dict[str, dict[str, Any]] = {
            key: {"value": value, "to": []} for key, value in captured.items()
        }
        targets = {
            object_type: {
                key: value
                for key, value in captured.items()
                if key in customfields.definitions(object_type) and value not in (None, "")
            }
            for object_type in CARRIED_TO
        }
        owner_id = lead.owner_id if lead.owner.is_active else actor.pk

        account, to_account = _conversion_account(
            actor, lead, account_id, targets["account"], owner_id, source
        )
        try:
            contact = contacts.create(
                actor=actor,
                data={
                    "first_name": lead.first_name,
                    "last_name": lead.last_name,
                    "title": lead.title,
                    "emails": [lead.email] if lead.email else [],
                    "phones": [lead.phone] if lead.phone else [],
                    "account_id": account.pk,
                    "owner_id": owner_id,
                    "lifecycle_stage": (
                        Contact.LifecycleStage.OPPORTUNITY
                        if create_deal
                        else Contact.LifecycleStage.SALES_QUALIFIED
                    ),
                    "custom_fields": targets["contact"],
                },
                source=source,
            )
        except InvalidInput as exc:
            raise _as_part("contact", exc) from None
        deal = None
        if create_deal:
            deal_data: dict[str, Any] = {
                "name": deal_name or account.name,
                "account_id": account.pk,
                "contact_ids": [contact.pk],
                "owner_id": owner_id,
                "custom_fields": targets["deal"],
            }
            if deal_amount is not None:
                deal_data["amount"] = deal_amount
            if deal_currency is not None:
                deal_data["currency"] = deal_currency
            try:
                deal = deals.create(actor=actor, data=deal_data, source=source)
            except InvalidInput as exc:
                raise _as_part("deal", exc) from None

        for object_type, keys in (
            ("account", to_account),
            ("contact", targets["contact"]),
            ("deal", targets["deal"] if deal is not None else {}),
        ):
            for key in keys:
                carried[key]["to"].append(object_type)

        move_related(
            actor=actor,
            from_type=Lead.object_type,
            from_id=lead.pk,
            to_type=Contact.object_type,
            to_id=contact.pk,
            source=source,
        )
        history.copy_history(
            from_type=Lead.object_type,
            from_id=lead.pk,
            to_type=Contact.object_type,
            to_id=contact.pk,
            verb_prefix="lead_",
        )
        before = leads.payload(lead)
        lead.status = Lead.Status.CONVERTED
        lead.converted_at = clock.now()
        lead.converted_account = account
        lead.converted_contact = contact
        lead.converted_deal = deal
        records.stamp(lead, actor=actor)
        lead.save(
            update_fields=[
                "status",
                "converted_at",
                "converted_account",
                "converted_contact",
                "converted_deal",
                "updated_at",
                "updated_by",
                "version",
            ]
        )
        after = leads.payload(lead)
        records.write_change(
            lead,
            verb="converted",
            payload=after,
            changes=records.diff(before, after),
            actor=actor,
            source=source,
        )
    return ConversionResult(lead=lead, account=account, contact=contact, deal=deal, carried=carried)


def _conversion_account(
    actor: Any,
    lead: Lead,
    account_id: Any,
    values: dict[str, Any],
    owner_id: Any,
    source: Source | str,
) -> tuple[Account, list[str]]:
    """The account the lead becomes part of, and the captured keys written to it."""
    if account_id is None:
        if not lead.company:
            raise InvalidInput.field(
                "account_id",
                "the lead has no company to create an account from; "
                "name an existing account or set the lead's company",
            )
        try:
            account = accounts.create(
                actor=actor,
                data={
                    "name": lead.company,
                    "website": lead.website,
                    "owner_id": owner_id,
                    "custom_fields": values,
                },
                source=source,
            )
        except InvalidInput as exc:
            raise _as_part("account", exc) from None
        return account, list(values)
    existing = visible_account(actor, account_id)
    if existing is None:
        raise InvalidInput.field("account_id", f"unknown account {account_id}")
    # An existing account's own values win: fill only what it lacks, and only for an editor.
    blank = {k: v for k, v in values.items() if existing.custom_fields.get(k) in (None, "")}
    if not blank or not accounts.may_edit(actor, existing):
        return existing, []
    try:
        account = accounts.update(
            actor=actor,
            record_id=existing.pk,
            data={"custom_fields": blank},
            expected_version=None,
            source=source,
        )
    except InvalidInput as exc:
        raise _as_part("account", exc) from None
    return account, list(blank)

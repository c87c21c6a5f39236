"""All writes to accounts, contacts and tags (see core.services for the write path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accord.core.records import Payload
from accord.core.validation import (
    MISSING,
    Cleaner,
    normalize_country,
    normalize_domain,
    normalize_email,
    normalize_phone,
)
from accord.identity.models import User
from accord.identity.records import VisibleRecordService
from accord.identity.visibility import visible
from accord.parties import events
from accord.parties.models import ADDRESS_PARTS, Account, Contact, ContactEmail, ContactPhone, Tag

MAX_EMAILS = 10
MAX_PHONES = 10


def _active_user(pk: Any) -> User | None:
    try:
        return User.objects.filter(pk=pk, is_active=True).first()
    except (ValueError, TypeError):
        return None


def _visible_row(actor: Any, model: type[Account] | type[Contact], pk: Any) -> Any:
    try:
        return visible(actor, model.objects.all()).filter(pk=pk).first()
    except (ValueError, TypeError):
        return None


def _clean_owner(cleaner: Cleaner) -> None:
    cleaner.related("owner_id", _active_user, attr="owner", what="user")


def _clean_tags(cleaner: Cleaner) -> None:
    names = cleaner.get("tags")
    if names is MISSING:
        return
    names = list(dict.fromkeys(names or []))
    found = {t.name: t for t in Tag.objects.filter(name__in=names)}
    unknown = [n for n in names if n not in found]
    if unknown:
        cleaner.error("tags", f"unknown tag(s): {', '.join(unknown)}; create them first")
        return
    cleaner.out["tags"] = [found[n] for n in names]


def _save_with_tags(record: Account | Contact, cleaned: dict[str, Any], creating: bool) -> None:
    tags = cleaned.pop("tags", None)
    for key, value in cleaned.items():
        setattr(record, key, value)
    record.save(force_insert=creating)
    if tags is not None:
        record.tags.set(tags)


class TagService(VisibleRecordService[Tag]):
    model = Tag

    def payload(self, record: Tag) -> Payload:
        return events.tag_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Tag | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        cleaner.text("name", required=True)
        cleaner.text("color")
        color = cleaner.out.get("color")
        if color and not (len(color) == 7 and color.startswith("#")):
            cleaner.error("color", "must be a hex colour like #1a7f37")
        return cleaner.done()


class AccountService(VisibleRecordService[Account]):
    model = Account

    def payload(self, record: Account) -> Payload:
        return events.account_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Account | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        cleaner.text("name", required=True)
        cleaner.text("website")
        cleaner.text("domain", normalize=normalize_domain)
        website = cleaner.out.get("website")
        if website and not cleaner.has("domain"):
            try:
                cleaner.out["domain"] = normalize_domain(website)
            except ValueError:
                cleaner.error("website", "not a web address")
        cleaner.text("industry")
        cleaner.value("employee_count")
        cleaner.value("annual_revenue")
        revenue = cleaner.out.get("annual_revenue")
        if revenue is not None and revenue < 0:
            cleaner.error("annual_revenue", "cannot be negative")
        for prefix in ("billing", "shipping"):
            self._clean_address(cleaner, prefix)
        cleaner.text("external_id")
        _clean_owner(cleaner)
        parent = cleaner.related(
            "parent_id", lambda pk: _visible_row(actor, Account, pk), attr="parent", what="account"
        )
        if parent not in (None, MISSING) and record is not None:
            self._check_no_cycle(cleaner, record, parent)
        _clean_tags(cleaner)
        return cleaner.done()

    @staticmethod
    def _clean_address(cleaner: Cleaner, prefix: str) -> None:
        key = f"{prefix}_address"
        value = cleaner.get(key)
        if value is MISSING:
            return
        parts = dict.fromkeys(ADDRESS_PARTS, None) if value is None else value
        for part, raw in parts.items():
            text = "" if raw is None else str(raw).strip()
            if part == "country" and text:
                try:
                    text = normalize_country(text)
                except ValueError as exc:
                    cleaner.error(f"{key}.country", str(exc))
                    continue
            cleaner.out[f"{prefix}_{part}"] = text

    @staticmethod
    def _check_no_cycle(cleaner: Cleaner, record: Account, parent: Account) -> None:
        seen: set[Any] = set()
        node: Account | None = parent
        while node is not None and node.pk not in seen:
            if node.pk == record.pk:
                cleaner.error("parent_id", "an account cannot be its own ancestor")
                return
            seen.add(node.pk)
            node = Account.all_objects.filter(pk=node.parent_id).first() if node.parent_id else None

    def apply(self, record: Account, cleaned: dict[str, Any], *, creating: bool) -> None:
        _save_with_tags(record, cleaned, creating)


class ContactService(VisibleRecordService[Contact]):
    model = Contact

    def payload(self, record: Contact) -> Payload:
        return events.contact_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Contact | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        cleaner.text("first_name")
        cleaner.text("last_name")
        cleaner.text("title")
        cleaner.text("external_id")
        self._clean_list(cleaner, "emails", normalize_email, MAX_EMAILS)
        self._clean_list(cleaner, "phones", normalize_phone, MAX_PHONES)
        if "lifecycle_stage" in data:
            cleaner.choice("lifecycle_stage", Contact.LifecycleStage)
        for flag in ("email_opt_in", "sms_opt_in", "do_not_call"):
            cleaner.value(flag)
            if flag in cleaner.out and cleaner.out[flag] is None:
                cleaner.error(flag, "must be true or false")
        cleaner.related(
            "account_id",
            lambda pk: _visible_row(actor, Account, pk),
            attr="account",
            what="account",
        )
        _clean_owner(cleaner)
        _clean_tags(cleaner)
        self._check_identifiable(cleaner, record)
        return cleaner.done()

    @staticmethod
    def _clean_list(cleaner: Cleaner, key: str, normalize: Any, limit: int) -> None:
        values = cleaner.get(key)
        if values is MISSING:
            return
        out: list[str] = []
        for index, raw in enumerate(values or []):
            try:
                out.append(normalize(str(raw)))
            except ValueError as exc:
                cleaner.error(f"{key}[{index}]", str(exc))
        if len(out) > limit:
            cleaner.error(key, f"at most {limit} entries")
        cleaner.out[key] = list(dict.fromkeys(out))

    @staticmethod
    def _check_identifiable(cleaner: Cleaner, record: Contact | None) -> None:
        """A contact needs a name or an email address, or nobody can find them again."""

        def current(key: str) -> Any:
            if key in cleaner.out:
                return cleaner.out[key]
            if record is None:
                return None
            if key == "emails":
                return list(record.email_rows.all())
            return getattr(record, key)

        if not (current("first_name") or current("last_name") or current("emails")):
            cleaner.error("last_name", "a contact needs a first name, last name or email")

    def apply(self, record: Contact, cleaned: dict[str, Any], *, creating: bool) -> None:
        emails = cleaned.pop("emails", None)
        phones = cleaned.pop("phones", None)
        _save_with_tags(record, cleaned, creating)
        if emails is not None:
            replace_emails(record, emails, creating=creating)
        if phones is not None:
            replace_phones(record, phones, creating=creating)


def replace_emails(contact: Contact, emails: list[str], *, creating: bool) -> None:
    if not creating:
        ContactEmail.objects.filter(contact=contact).delete()
    ContactEmail.objects.bulk_create(
        ContactEmail(contact=contact, email=e, position=i) for i, e in enumerate(emails)
    )


def replace_phones(contact: Contact, phones: list[str], *, creating: bool) -> None:
    if not creating:
        ContactPhone.objects.filter(contact=contact).delete()
    ContactPhone.objects.bulk_create(
        ContactPhone(contact=contact, number=p, position=i) for i, p in enumerate(phones)
    )


tags = TagService()
accounts = AccountService()
contacts = ContactService()

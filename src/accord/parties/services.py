"""All writes to accounts, contacts and tags (see core.services for the write path)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accord.core import registry, rows, search
from accord.core.errors import Conflict
from accord.core.models import Source, record_types
from accord.core.records import Payload, instance, listed, related_rows, remember_related
from accord.core.validation import (
    MISSING,
    Cleaner,
    lookup,
    normalize_country,
    normalize_domain,
    normalize_email,
    normalize_phone,
    prime,
)
from accord.identity.models import User
from accord.identity.records import VisibleRecordService
from accord.identity.visibility import visible
from accord.parties import events
from accord.parties.models import (
    ADDRESS_PARTS,
    Account,
    Contact,
    ContactEmail,
    ContactPhone,
    CustomField,
    Tag,
)

MAX_EMAILS = 10
MAX_PHONES = 10


def _active_user(pk: Any) -> User | None:
    def fetch(key: Any) -> User | None:
        try:
            return User.objects.filter(pk=key, is_active=True).first()
        except (ValueError, TypeError, ValidationError):
            return None

    return lookup("user", pk, fetch)


def _visible_account(actor: Any, pk: Any) -> Account | None:
    def fetch(key: Any) -> Account | None:
        try:
            return visible(actor, Account.objects.all()).filter(pk=key).first()
        except (ValueError, TypeError, ValidationError):
            return None

    return lookup("account", pk, fetch)


def _tag(name: str) -> Tag | None:
    return lookup("tag", name, lambda key: Tag.objects.filter(name=key).first())


def _preload_references(actor: Any, rows: list[Mapping[str, Any]], *, account_key: str) -> None:
    """Load the owners, accounts and tags a batch names in one query each."""
    owners = {str(r["owner_id"]) for r in rows if r.get("owner_id")}
    if owners:
        found = User.objects.filter(pk__in=owners, is_active=True)
        prime("user", owners, {str(u.pk): u for u in found})
    accounts = {str(r[account_key]) for r in rows if r.get(account_key)}
    if accounts:
        found_accounts = visible(actor, Account.objects.all()).filter(pk__in=accounts)
        prime("account", accounts, {str(a.pk): a for a in found_accounts})
    names = {n for r in rows for n in (r.get("tags") or [])}
    if names:
        prime("tag", names, {t.name: t for t in Tag.objects.filter(name__in=names)})


def _match_ids(actor: Any, model: Any, rows: list[Mapping[str, Any]]) -> dict[int, Any]:
    wanted: dict[int, str] = {}
    for position, row in enumerate(rows):
        if row.get("id"):
            wanted[position] = str(row["id"])
    try:
        found = {
            str(pk)
            for pk in visible(actor, model.objects.all())
            .filter(pk__in=set(wanted.values()))
            .values_list("pk", flat=True)
        }
    except (ValueError, ValidationError):
        found = set()
    return {p: pk for p, pk in wanted.items() if pk in found}


def _match_column(
    actor: Any, model: Any, rows: list[Mapping[str, Any]], column: str, value_of: Any
) -> dict[int, Any]:
    """Rows whose ``value_of(row)`` equals ``column`` of a visible record; the oldest record
    wins when several share the value."""
    wanted: dict[int, str] = {}
    for position, row in enumerate(rows):
        value = value_of(row)
        if value:
            wanted[position] = value
    if not wanted:
        return {}
    found: dict[str, Any] = {}
    pairs = (
        visible(actor, model.objects.all())
        .filter(**{f"{column}__in": listed(set(wanted.values()))})
        .order_by("pk")
        .values_list(column, "pk")
    )
    for value, pk in pairs:
        found.setdefault(value, pk)
    return {p: found[v] for p, v in wanted.items() if v in found}


def _normalized(normalize: Any, raw: Any) -> str | None:
    if not raw:
        return None
    try:
        return str(normalize(str(raw)))
    except ValueError:
        return None


def _clean_owner(cleaner: Cleaner) -> None:
    # Omitted, the owner defaults to the caller; an explicit null would leave nobody owning it.
    cleaner.related("owner_id", _active_user, attr="owner", nullable=False, what="user")


def _clean_tags(cleaner: Cleaner) -> None:
    names = cleaner.get("tags")
    if names is MISSING:
        return
    found = {name: _tag(name) for name in dict.fromkeys(names or [])}
    unknown = [name for name, tag in found.items() if tag is None]
    if unknown:
        cleaner.error("tags", f"unknown tag(s): {', '.join(unknown)}; create them first")
        return
    cleaner.out["tags"] = list(found.values())


def _save_tags(records: list[Any], cleaned: list[dict[str, Any]], *, creating: bool) -> None:
    if not records:
        return
    through = type(records[0]).tags.through
    column = f"{type(records[0])._meta.model_name}_id"
    if creating:
        rows.write(
            through,
            [
                instance(through, id=None, tag_id=tag.pk, **{column: record.pk})
                for record, values in zip(records, cleaned, strict=True)
                for tag in values.get("tags") or []
            ],
        )
        for record, values in zip(records, cleaned, strict=True):
            chosen = values.get("tags") or []
            # Several tags come back in the database's collation, which Python cannot mimic.
            if len(chosen) <= 1:
                remember_related(record, "tags", chosen)
        return
    for record, values in zip(records, cleaned, strict=True):
        if "tags" in values:
            record.tags.set(values["tags"])


def _differing(
    pairs: list[tuple[Any, list[str]]], relation: str, column: str
) -> list[tuple[Any, list[str]]]:
    """The ``(record, values)`` pairs whose ``relation`` rows hold other values than
    ``values``; the others keep their rows, remembered again as they are (a bulk update that
    repeats a contact's addresses rewrote two rows per contact for nothing)."""
    out = []
    for record, values in pairs:
        current = list(related_rows(record, relation))
        if [getattr(row, column) for row in current] == values:
            remember_related(record, relation, current)
        else:
            out.append((record, values))
    return out


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


class CustomFieldService(VisibleRecordService[CustomField]):
    """Definitions are configuration: only administrators create and change them."""

    model = CustomField

    def may_create(self, actor: Any) -> bool:
        return bool(actor is not None and actor.is_superuser)

    def may_edit(self, actor: Any, record: CustomField) -> bool:
        return self.may_create(actor)

    def payload(self, record: CustomField) -> Payload:
        return events.custom_field_record(record)

    def delete(
        self,
        *,
        actor: Any,
        record_id: Any,
        expected_version: int | None,
        source: Source | str = Source.API,
    ) -> CustomField:
        """Refuse while anything (a rule, a saved view, a webhook filter…) still uses the field."""
        with transaction.atomic():
            field = self.get_for_write(actor, record_id, expected_version=expected_version)
            users = registry.references_to(field.record_type, field.key)
            if users:
                names = "; ".join(f"{r.domain} {r.kind} {r.label}" for r in users)
                raise Conflict(f"The field is still used by: {names}")
            return super().delete(
                actor=actor, record_id=record_id, expected_version=expected_version, source=source
            )

    def clean(
        self, actor: Any, data: Mapping[str, Any], record: CustomField | None
    ) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        for fixed in ("record_type", "key", "type"):
            if record is not None and fixed in data and data[fixed] != getattr(record, fixed):
                cleaner.error(fixed, "cannot change once the field exists")
        if record is None:
            cleaner.choice("record_type", _RecordTypes())
            cleaner.text("key", required=True)
            key = cleaner.out.get("key", "")
            if key and not _FIELD_KEY.match(key):
                cleaner.error("key", "lower-case letters, digits and _, starting with a letter")
            cleaner.choice("type", CustomField.Type)
        cleaner.text("label", required=True)
        cleaner.text("help_text")
        cleaner.value("required")
        cleaner.value("position")
        choices = cleaner.get("choices")
        kind = cleaner.out.get("type", record.type if record else None)
        if choices is not MISSING:
            cleaner.out["choices"] = list(dict.fromkeys(choices or []))
        final_choices = cleaner.out.get("choices", record.choices if record else [])
        if kind == CustomField.Type.CHOICE and not final_choices:
            cleaner.error("choices", "a choice field needs at least one choice")
        if kind != CustomField.Type.CHOICE and final_choices:
            cleaner.error("choices", "only choice fields have choices")
        if cleaner.out.get("required") is None:
            cleaner.out.pop("required", None)
        if cleaner.out.get("position") is None:
            cleaner.out.pop("position", None)
        return cleaner.done()

    def clean_all(
        self, actor: Any, data: Mapping[str, Any], record: CustomField | None
    ) -> dict[str, Any]:
        # Definitions have no custom fields of their own.
        return self.clean(actor, data, record)


class _RecordTypes:
    """The installed record types, shaped like a TextChoices for Cleaner.choice."""

    @property
    def values(self) -> list[str]:
        return sorted(t for t in record_types() if t != CustomField.object_type)


_FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


class AccountService(VisibleRecordService[Account]):
    model = Account
    related = ("tags",)
    prefetch = ("tags",)

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
        if cleaner.has("tier"):
            cleaner.choice("tier", Account.Tier)
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
            "parent_id", lambda pk: _visible_account(actor, pk), attr="parent", what="account"
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

    match_keys = ("domain", "external_id", "id")

    def match(self, actor: Any, rows: list[Mapping[str, Any]], key: str) -> dict[int, Any]:
        if key == "id":
            return _match_ids(actor, Account, rows)
        if key == "external_id":
            return _match_column(actor, Account, rows, "external_id", lambda r: r.get(key))
        return _match_column(
            actor,
            Account,
            rows,
            "domain",
            lambda r: _normalized(normalize_domain, r.get("domain") or r.get("website")),
        )

    search_fields = ("name", "domain", "external_id")

    def search_document(self, record: Account) -> search.Document:
        return search.document(
            name=record.name, domain=record.domain, external_id=record.external_id
        )

    def preload(self, actor: Any, rows: list[Mapping[str, Any]]) -> None:
        _preload_references(actor, rows, account_key="parent_id")

    def save_related(
        self, records: list[Account], cleaned: list[dict[str, Any]], *, creating: bool
    ) -> None:
        _save_tags(records, cleaned, creating=creating)


class ContactService(VisibleRecordService[Contact]):
    model = Contact
    related = ("tags", "emails", "phones")
    prefetch = ("tags", "email_rows", "phone_rows")

    def payload(self, record: Contact) -> Payload:
        return events.contact_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Contact | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        cleaner.text("first_name")
        cleaner.text("last_name")
        cleaner.text("title")
        cleaner.text("external_id")
        self._clean_list(cleaner, "emails", normalize_email, MAX_EMAILS, record, "email")
        self._clean_list(cleaner, "phones", normalize_phone, MAX_PHONES, record, "number")
        if "lifecycle_stage" in data:
            cleaner.choice("lifecycle_stage", Contact.LifecycleStage)
        for flag in ("email_opt_in", "sms_opt_in", "do_not_call"):
            cleaner.value(flag)
            if flag in cleaner.out and cleaner.out[flag] is None:
                cleaner.error(flag, "must be true or false")
        cleaner.related(
            "account_id",
            lambda pk: _visible_account(actor, pk),
            attr="account",
            what="account",
        )
        _clean_owner(cleaner)
        _clean_tags(cleaner)
        self._check_identifiable(cleaner, record)
        return cleaner.done()

    @staticmethod
    def _clean_list(
        cleaner: Cleaner,
        key: str,
        normalize: Any,
        limit: int,
        record: Contact | None,
        column: str,
    ) -> None:
        """``key``'s list, each value normalized; a value ``record`` already stores exactly
        (its ``column``) is in normal form already (an upsert that repeats a contact's
        phones parsed each one again, a tenth of the batch)."""
        values = cleaner.get(key)
        if values is MISSING:
            return
        stored: set[str] = set()
        if record is not None and values:
            stored = {getattr(row, column) for row in related_rows(record, f"{key[:-1]}_rows")}
        out: list[str] = []
        for index, raw in enumerate(values or []):
            text = str(raw)
            if text in stored:
                out.append(text)
                continue
            try:
                out.append(normalize(text))
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
                return list(related_rows(record, "email_rows"))
            return getattr(record, key)

        if not (current("first_name") or current("last_name") or current("emails")):
            cleaner.error("last_name", "a contact needs a first name, last name or email")

    match_keys = ("email", "external_id", "id")

    def match(self, actor: Any, rows: list[Mapping[str, Any]], key: str) -> dict[int, Any]:
        if key == "id":
            return _match_ids(actor, Contact, rows)
        if key == "external_id":
            return _match_column(actor, Contact, rows, "external_id", lambda r: r.get(key))
        return _match_column(
            actor,
            Contact,
            rows,
            "email_rows__email",
            lambda r: _normalized(normalize_email, (r.get("emails") or [None])[0]),
        )

    search_fields = ("first_name", "last_name", "emails", "phones", "external_id")

    def search_document(self, record: Contact) -> search.Document:
        return search.document(
            first_name=record.first_name,
            last_name=record.last_name,
            emails=[row.email for row in related_rows(record, "email_rows")],
            phones=[row.number for row in related_rows(record, "phone_rows")],
            external_id=record.external_id,
        )

    def preload(self, actor: Any, rows: list[Mapping[str, Any]]) -> None:
        _preload_references(actor, rows, account_key="account_id")

    def save_related(
        self, records: list[Contact], cleaned: list[dict[str, Any]], *, creating: bool
    ) -> None:
        _save_tags(records, cleaned, creating=creating)
        points: tuple[tuple[Any, str, str], ...] = (
            (ContactEmail, "emails", "email"),
            (ContactPhone, "phones", "number"),
        )
        for model, key, column in points:
            relation = model.contact.field.related_query_name()
            changed = [(r, v[key]) for r, v in zip(records, cleaned, strict=True) if key in v]
            if not creating:
                changed = _differing(changed, relation, column)
                if changed:
                    model.objects.filter(contact__in=[r for r, _ in changed]).delete()
            made = {
                record.pk: [
                    instance(model, id=None, contact_id=record.pk, position=i, **{column: value})
                    for i, value in enumerate(values)
                ]
                for record, values in changed
            }
            rows.write(model, [row for points_of in made.values() for row in points_of])
            for record in records if creating else [r for r, _ in changed]:
                remember_related(record, relation, made.get(record.pk, []))


custom_fields = CustomFieldService()
tags = TagService()
accounts = AccountService()
contacts = ContactService()

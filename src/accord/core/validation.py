"""Input checks shared by every service: collect every field's problem, then raise once."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import phonenumbers
from django.conf import settings
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from accord.core.errors import FieldError, InvalidInput

_MISSING = object()
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


#: The plain ASCII addresses almost everyone has (dot-atom local part, letter-ending domain),
#: which email-validator accepts unchanged apart from case; anything else goes to it.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z0-9][a-z0-9-]{0,61})?[a-z]"
)


def _plain_email(raw: str) -> str | None:
    """``raw`` lower-cased when it is a plain address email-validator would accept as is
    (tests/core/test_validation.py holds the two to the same answers), else None."""
    if not raw.isascii():
        return None
    text = raw.lower()
    if len(text) > 254 or not _PLAIN_EMAIL.fullmatch(text):
        return None
    local, domain = text.rsplit("@", 1)
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    if any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES):
        return None
    return text


def normalize_email(raw: str) -> str:
    """The address in canonical, lower-case form; ValueError with a reason when invalid.

    Deliverability (DNS) is not checked: Accord must work offline and in tests. Plain
    addresses skip email-validator, which costs ~100 µs an address (a bulk upsert's largest
    single cost).
    """
    plain = _plain_email(raw)
    if plain is not None:
        return plain
    try:
        info = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return info.normalized.lower()


def normalize_phone(raw: str) -> str:
    """The number in E.164; numbers without ``+`` are read in ``ACCORD_PHONE_REGION``."""
    try:
        number = phonenumbers.parse(raw, settings.ACCORD_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc})") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_domain(raw: str) -> str:
    text = raw.strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    text = text.split("/", 1)[0].split(":", 1)[0].removeprefix("www.")
    if not _HOSTNAME.match(text):
        raise ValueError("not a domain name")
    return text


def normalize_country(raw: str) -> str:
    text = raw.strip().upper()
    if not _COUNTRY.match(text):
        raise ValueError("must be a two-letter ISO 3166 country code")
    return text


class Cleaner:
    """Reads fields from ``data`` into model attributes, gathering every error before raising.

    ``record`` is None on create, so required fields must be present; on update only the fields
    sent change, and ``null`` clears a nullable field but is an error for a required one.
    """

    def __init__(self, data: Mapping[str, Any], *, creating: bool) -> None:
        self.data = data
        self.creating = creating
        self.errors: list[FieldError] = []
        self.out: dict[str, Any] = {}

    def has(self, key: str) -> bool:
        return key in self.data

    def error(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def get(self, key: str, *, required: bool = False) -> Any:
        """The sent value, or ``_MISSING``; records a missing/null error for required fields."""
        if key not in self.data:
            if required and self.creating:
                self.error(key, "is required")
            return _MISSING
        value = self.data[key]
        if required and (value is None or (isinstance(value, str) and not value.strip())):
            self.error(key, "is required and cannot be empty")
            return _MISSING
        return value

    def text(
        self,
        key: str,
        *,
        attr: str | None = None,
        required: bool = False,
        normalize: Callable[[str], str] | None = None,
    ) -> None:
        value = self.get(key, required=required)
        if value is _MISSING:
            return
        text = "" if value is None else str(value).strip()
        if text and normalize is not None:
            try:
                text = normalize(text)
            except ValueError as exc:
                self.error(key, str(exc))
                return
        self.out[attr or key] = text

    def value(self, key: str, *, attr: str | None = None, required: bool = False) -> None:
        value = self.get(key, required=required)
        if value is not _MISSING:
            self.out[attr or key] = value

    def choice(self, key: str, choices: Any, *, attr: str | None = None) -> None:
        value = self.get(key, required=True)
        if value is _MISSING:
            return
        if value not in choices.values:
            self.error(key, f"must be one of: {', '.join(choices.values)}")
            return
        self.out[attr or key] = value

    def related(
        self,
        key: str,
        resolve: Callable[[Any], Any | None],
        *,
        attr: str,
        required: bool = False,
        nullable: bool = True,
        what: str = "record",
    ) -> Any:
        """Resolve an id to a row the caller may use; unknown, deleted and invisible ids all
        read "unknown" so the error never confirms a hidden record exists."""
        value = self.get(key, required=required)
        if value is _MISSING:
            return _MISSING
        if value is None:
            if not nullable:
                self.error(key, "cannot be empty")
                return _MISSING
            self.out[attr] = None
            return None
        row = resolve(value)
        if row is None:
            self.error(key, f"unknown {what} {value}")
            return _MISSING
        self.out[attr] = row
        return row

    def done(self) -> dict[str, Any]:
        if self.errors:
            names = ", ".join(dict.fromkeys(e.field for e in self.errors))
            raise InvalidInput(f"Invalid value for: {names}", self.errors)
        return self.out


MISSING = _MISSING


_batch: ContextVar[dict[tuple[str, str], Any] | None] = ContextVar("accord_batch", default=None)


@contextmanager
def batch_lookups() -> Iterator[None]:
    """Within the block, :func:`lookup` remembers what it fetched, so cleaning a batch of
    1,000 rows that name the same owner asks the database once (and :func:`prime` can load a
    whole batch's references in one query beforehand)."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def lookup(kind: str, key: Any, fetch: Callable[[Any], Any | None]) -> Any | None:
    cache = _batch.get()
    if cache is None:
        return fetch(key)
    slot = (kind, str(key))
    if slot not in cache:
        cache[slot] = fetch(key)
    return cache[slot]


def prime(kind: str, keys: Iterable[Any], found: Mapping[str, Any]) -> None:
    """Record the rows of one batched fetch; keys not in ``found`` are remembered as missing."""
    cache = _batch.get()
    if cache is None:
        return
    for key in keys:
        cache[(kind, str(key))] = found.get(str(key))

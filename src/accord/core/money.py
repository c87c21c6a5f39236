"""Amounts and their currencies: list prices, deal amounts, campaign budgets, quotes later."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
from django.conf import settings

from accord.core.validation import MISSING, Cleaner

#: Every amount column is DECIMAL(18, 2).
MAX_DIGITS = 18
DECIMAL_PLACES = 2
_CENT = Decimal("0.01")
_LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)

#: Codes that are not money anyone prices in: precious metals, IMF and settlement units, the
#: testing and "no currency" codes.
_NOT_PRICED = frozenset("XAD XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX".split())  # noqa: SIM905
#: Active ISO 4217 codes, from pycountry's copy of the standard.
CODES = frozenset(c.alpha_3 for c in pycountry.currencies) - _NOT_PRICED

_SHAPE = re.compile(r"^[A-Z]{3}$")


def company_currency() -> str:
    """The currency amounts are in unless they say otherwise (``ACCORD_CURRENCY``)."""
    return str(settings.ACCORD_CURRENCY)


def normalize_currency(raw: str) -> str:
    """``raw`` as an upper-case ISO 4217 code; ValueError with a reason otherwise."""
    code = raw.strip().upper()
    if not _SHAPE.match(code):
        raise ValueError("must be a three-letter ISO 4217 currency code")
    if code not in CODES:
        raise ValueError(f"{code} is not an ISO 4217 currency code")
    return code


def normalize_amount(raw: Any) -> Decimal:
    """``raw`` as a non-negative amount with two decimal places; ValueError with a reason.

    Quantised so that 12.5 and 12.50 are the same value in history (the column returns 12.50).
    """
    if isinstance(raw, bool):
        raise ValueError("must be a decimal number")
    try:
        # str() first: a float's shortest repr (12.3) is the number its sender meant.
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError("must be a decimal number") from None
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value < 0:
        raise ValueError("cannot be negative")
    if value != value.quantize(_CENT):
        raise ValueError(f"at most {DECIMAL_PLACES} decimal places")
    if value >= _LIMIT:
        raise ValueError(f"must be less than {_LIMIT:,}")
    return value.quantize(_CENT)


def clean_amount(cleaner: Cleaner, key: str, *, required: bool = False) -> None:
    """Read ``key`` as an amount (``null`` allowed unless ``required``) into ``cleaner.out``."""
    value = cleaner.get(key, required=required)
    if value is MISSING:
        return
    if value is None:
        cleaner.out[key] = None
        return
    try:
        cleaner.out[key] = normalize_amount(value)
    except ValueError as exc:
        cleaner.error(key, str(exc))

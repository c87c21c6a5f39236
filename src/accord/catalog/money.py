"""Amounts and their currencies: list prices here, budgets in marketing, quotes later."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from accord.core.validation import MISSING, Cleaner

#: Every amount column is DECIMAL(18, 2).
MAX_DIGITS = 18
DECIMAL_PLACES = 2
_CENT = Decimal("0.01")
_LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)

#: Active ISO 4217 codes (funds and precious metals left out: nothing is priced in them).
_ISO_4217 = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG ZWL
"""
CODES = frozenset(_ISO_4217.split())

_SHAPE = re.compile(r"^[A-Z]{3}$")


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

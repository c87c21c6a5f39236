"""Input checks and lookups the sales services share (see core.validation.Cleaner)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import QuerySet

from accord.core.errors import Conflict
from accord.core.validation import MISSING, Cleaner, lookup
from accord.identity.models import User
from accord.identity.visibility import visible
from accord.parties.models import Account, Contact
from accord.parties.queries import accounts_visible_to
from accord.sales.models import Pipeline, Stage

MAX_CAPTURED = 100
CAPTURED_KEY_MAX = 50
CAPTURED_TEXT_MAX = 1000
#: Numbers beyond ±2^53 do not survive JSON unchanged: readers that use doubles (browsers, BI
#: tools) round such integers, and PostgreSQL's jsonb turns such floats into integers.
CAPTURED_NUMBER_MAX = 2**53


def check_text(cleaner: Cleaner, key: str, limit: int, **kw: Any) -> None:
    """``Cleaner.text`` that also refuses non-text values, NUL characters (PostgreSQL cannot
    store them) and text longer than the column."""
    value = cleaner.data.get(key)
    if value is not None and key in cleaner.data:
        if not isinstance(value, str):
            cleaner.error(key, "must be text")
            return
        if "\x00" in value:
            cleaner.error(key, "must not contain NUL characters")
            return
    cleaner.text(key, **kw)
    text = cleaner.out.get(key)
    if text is not None and len(text) > limit:
        del cleaner.out[key]
        cleaner.error(key, f"at most {limit} characters")


def check_int(cleaner: Cleaner, key: str, low: int, high: int) -> None:
    value = cleaner.get(key)
    if value is MISSING:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        cleaner.error(key, f"must be a whole number from {low} to {high}")
        return
    cleaner.out[key] = value


def check_flag(cleaner: Cleaner, key: str) -> None:
    value = cleaner.get(key)
    if value is MISSING:
        return
    if not isinstance(value, bool):
        cleaner.error(key, "must be true or false")
        return
    cleaner.out[key] = value


def active_user(pk: Any) -> User | None:
    return lookup(
        "user", pk, safe_fetch(lambda key: User.objects.filter(pk=key, is_active=True).first())
    )


def safe_fetch(fetch: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fetch`` answering None for a malformed id instead of raising."""

    def safe(key: Any) -> Any:
        try:
            return fetch(key)
        except (ValueError, TypeError, ValidationError):
            return None

    return safe


def visible_account(actor: Any, pk: Any) -> Account | None:
    return lookup(
        "account", pk, safe_fetch(lambda key: accounts_visible_to(actor).filter(pk=key).first())
    )


def visible_contact(actor: Any, pk: Any) -> Contact | None:
    return lookup(
        "contact",
        pk,
        safe_fetch(lambda key: visible(actor, Contact.objects.all()).filter(pk=key).first()),
    )


def pipeline_by_id(pk: Any) -> Pipeline | None:
    return lookup("pipeline", pk, safe_fetch(lambda key: Pipeline.objects.filter(pk=key).first()))


def live_stages() -> QuerySet[Stage]:
    return Stage.objects.select_related("pipeline").filter(pipeline__deleted_at__isnull=True)


def stage_by_id(pk: Any) -> Stage | None:
    return lookup("stage", pk, safe_fetch(lambda key: live_stages().filter(pk=key).first()))


def first_stage(pipeline: Pipeline) -> Stage | None:
    return lookup(
        "first_stage",
        pipeline.pk,
        lambda key: live_stages().filter(pipeline_id=key).order_by("position").first(),
    )


def default_pipeline() -> Pipeline | None:
    return lookup(
        "default_pipeline", "", lambda _: Pipeline.objects.filter(is_default=True).first()
    )


def superuser(actor: Any) -> bool:
    return bool(actor is not None and actor.is_active and actor.is_superuser)


def restore_or_conflict(restore: Callable[[], Any], detail: str) -> Any:
    """Run a restore whose record's unique value may have been taken while it was deleted."""
    try:
        return restore()
    except IntegrityError:
        raise Conflict(detail) from None


def captured_value_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a captured value, or None when it can."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if isinstance(value, int | float):
        return None if abs(value) <= CAPTURED_NUMBER_MAX else "numbers must be within ±2^53"
    if isinstance(value, str):
        if "\x00" in value:
            return "must not contain NUL characters"
        if len(value) > CAPTURED_TEXT_MAX:
            return f"at most {CAPTURED_TEXT_MAX} characters"
        return None
    return "must be text, a number, true, false or null"


def check_captured(cleaner: Cleaner) -> None:
    value = cleaner.get("captured")
    if value is MISSING:
        return
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        cleaner.error("captured", "must be an object of keys to values")
        return
    if len(value) > MAX_CAPTURED:
        cleaner.error("captured", f"at most {MAX_CAPTURED} values")
        return
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= CAPTURED_KEY_MAX or "\x00" in key:
            cleaner.error("captured", f"key {key!r}: keys are 1 to {CAPTURED_KEY_MAX} characters")
            continue
        problem = captured_value_problem(item)
        if problem:
            cleaner.error(f"captured.{key}", problem)
            continue
        out[key] = item
    cleaner.out["captured"] = out

"""Shapes every API shares: the problem body, the page envelope, the audit stamps of a record,
money and custom values, and the input rules every request body follows."""

import datetime as dt
import functools
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal
from types import NoneType, UnionType
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

import orjson
from ninja import Schema
from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

T = TypeVar("T")

# Bounded strings for request bodies; each bound matches the column the value lands in.
Text2 = Annotated[str, StringConstraints(max_length=2)]
Text7 = Annotated[str, StringConstraints(max_length=7)]
Text20 = Annotated[str, StringConstraints(max_length=20)]
Text100 = Annotated[str, StringConstraints(max_length=100)]
Text200 = Annotated[str, StringConstraints(max_length=200)]
Text255 = Annotated[str, StringConstraints(max_length=255)]
Name50 = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Name200 = Annotated[str, StringConstraints(min_length=1, max_length=200)]

#: An amount of money: never negative, at most the column's 18 digits with 2 decimals.
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
#: Values of a record's custom fields (``custom_fields``), checked against their definitions
#: by the service.
CustomValues = Annotated[dict[str, StrictBool | int | float | str | None], Field(max_length=100)]


class Audit(Schema):
    """Who changed a record and when, and its version: every record's answer carries these."""

    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    created_by_id: uuid.UUID | None
    updated_by_id: uuid.UUID | None
    deleted_at: dt.datetime | None


class FieldErrorOut(Schema):
    field: str
    message: str


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldErrorOut] = []


class Page(Schema, Generic[T]):
    """A keyset page: pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None


def _contains_nul(value: Any) -> bool:
    """Whether a NUL character is anywhere in ``value`` (strings, keys, nested lists and
    dicts). orjson writes every NUL as ``\\u0000``: where its text has none, there is none
    (a 1,000-row bulk body spent a twentieth of its time walking its values); where it has
    one, or cannot write the value, the values are walked (a backslash typed before
    ``u0000`` looks the same)."""
    if isinstance(value, str):
        return "\x00" in value
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return _walk_for_nul(value)
    return b"\\u0000" in text and _walk_for_nul(value)


def _walk_for_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_walk_for_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_walk_for_nul(k) or _walk_for_nul(v) for k, v in value.items())
    return False


def _text_limit(annotation: Any, metadata: Iterable[Any] = ()) -> int | None:
    """The ``max_length`` of a text type (possibly optional or ``Annotated``), else None."""
    if get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        return _text_limit(base, [*metadata, *extra])
    if annotation is str:
        limits = [m.max_length for m in metadata if getattr(m, "max_length", None) is not None]
        return min(limits) if limits else None
    if get_origin(annotation) in (Union, UnionType):
        found = [_text_limit(arg, metadata) for arg in get_args(annotation) if arg is not NoneType]
        return min((f for f in found if f is not None), default=None)
    return None


@functools.cache
def text_limits(schema: type[Any]) -> dict[str, tuple[int | None, int | None]]:
    """Per field of ``schema`` that holds text or a list of texts: the most characters the
    text, or each text of the list, may have. Bodies strip surrounding white space before
    pydantic counts, so these are checked on the text as sent, as the published schema's
    ``maxLength`` says."""
    found: dict[str, tuple[int | None, int | None]] = {}
    for name, info in schema.model_fields.items():
        own = _text_limit(info.annotation, info.metadata)
        items = None
        for arg in (info.annotation, *get_args(info.annotation)):
            while get_origin(arg) is Annotated:
                arg = get_args(arg)[0]
            if get_origin(arg) is list and get_args(arg):
                items = _text_limit(get_args(arg)[0])
        if own is not None or items is not None:
            found[name] = (own, items)
    return found


def too_long(value: Any, limits: tuple[int | None, int | None]) -> int | None:
    """The limit ``value`` (a text, or a list of texts) goes over, if any."""
    own, items = limits
    if own is not None and isinstance(value, str) and len(value) > own:
        return own
    if (
        items is not None
        and isinstance(value, list)
        and any(isinstance(v, str) and len(v) > items for v in value)
    ):
        return items
    return None


def _temporal_kind(annotation: Any) -> type | None:
    """dt.datetime or dt.date when the field holds one (possibly optional), else None."""
    kinds = (annotation, *get_args(annotation))
    for kind in (dt.datetime, dt.date):
        if kind in kinds:
            return kind
    return None


class CleanInput(Schema):
    """Rules every request body and query shares, whatever its fields.

    - No NUL characters anywhere: PostgreSQL cannot store them, so they would fail late.
    - Texts are no longer than their ``maxLength`` as sent, white space included (bodies
      strip it before pydantic counts).
    - Dates and date-times must be ISO 8601 text (pydantic would read a bare number as a Unix
      time); date-times are converted to UTC (an offset like +16:00 is valid ISO but beyond
      what databases take).
    """

    @field_validator("*", mode="before")
    @classmethod
    def _reject_nul_and_numeric_times(cls, value: Any, info: ValidationInfo) -> Any:
        if _contains_nul(value):
            raise ValueError("must not contain NUL characters")
        limits = text_limits(cls).get(info.field_name or "")
        if limits is not None and (limit := too_long(value, limits)) is not None:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": limit},
            )
        field = cls.model_fields.get(info.field_name or "")
        kind = _temporal_kind(field.annotation) if field is not None else None
        if kind is None or value is None or isinstance(value, dt.date):
            return value
        if kind is dt.datetime and not (isinstance(value, str) and _ISO_DATETIME.match(value)):
            raise ValueError("must be an ISO 8601 date-time, e.g. 2026-05-01T09:30:00Z")
        if kind is dt.date and not (isinstance(value, str) and _ISO_DATE.match(value)):
            raise ValueError("must be an ISO 8601 date, e.g. 2026-05-01")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _times_in_utc(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=dt.UTC)
            return value.astimezone(dt.UTC)
        return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")


class InputSchema(CleanInput):
    """Base of request bodies: unknown fields are rejected, never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def partial(schema: type[InputSchema], name: str) -> type[InputSchema]:
    """``schema`` with every field optional: the body of a PATCH, where only sent fields change.

    Constraints must live in the field types (``Annotated[...]``) so they carry over.
    """
    fields: dict[str, Any] = {
        # rebuild_annotation keeps the bounds and strictness held in the field's metadata.
        key: (info.rebuild_annotation() | None, None)
        for key, info in schema.model_fields.items()
    }
    return create_model(name, __base__=InputSchema, **fields)


#: Output fields that field-level security never hides: they identify the record.
ALWAYS_SHOWN = frozenset({"id", "version", "object_type"})


def maskable(schema: type[Schema]) -> type[Schema]:
    """``schema`` with every field but the identifying ones optional, for responses where
    field-level security may leave fields out. Routes using it answer with
    ``exclude_unset=True``, so a hidden field is absent rather than null."""
    fields: dict[str, Any] = {
        key: (info.rebuild_annotation() | None, None)
        for key, info in schema.model_fields.items()
        if key not in ALWAYS_SHOWN
    }
    name = schema.__name__.removesuffix("Out") or schema.__name__
    return create_model(name, __base__=schema, **fields)

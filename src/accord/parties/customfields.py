"""Custom fields: admin-defined fields on any record type, stored in its ``custom_fields`` JSON.

Definitions live in :class:`~accord.parties.models.CustomField`; values are validated here for
every service (registered with core at start-up) and filtered with ``cf.<key>=value`` in lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from accord.core.errors import FieldError, InvalidInput
from accord.core.validation import lookup
from accord.parties.models import CustomField

M = TypeVar("M", bound=Model)

MAX_TEXT = 1000


def definitions(object_type: str) -> dict[str, CustomField]:
    found: dict[str, CustomField] | None = lookup(
        "custom_fields",
        object_type,
        lambda key: {d.key: d for d in CustomField.objects.filter(record_type=key)},
    )
    return found or {}


def coerce(definition: CustomField, value: Any) -> Any:
    """``value`` as stored for ``definition``'s type; ValueError with a reason otherwise."""
    kind = definition.type
    if kind == CustomField.Type.TEXT:
        if not isinstance(value, str):
            raise ValueError("must be text")
        if len(value) > MAX_TEXT:
            raise ValueError(f"at most {MAX_TEXT} characters")
        return value
    if kind == CustomField.Type.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if isinstance(value, float) and value != value:  # NaN
            raise ValueError("must be a number")
        return value
    if kind == CustomField.Type.DATE:
        if not isinstance(value, str):
            raise ValueError("must be a date (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if kind == CustomField.Type.CHOICE:
        if value not in definition.choices:
            raise ValueError(f"must be one of: {', '.join(map(str, definition.choices))}")
        return value
    if kind == CustomField.Type.BOOL:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    raise ValueError(f"unsupported type {kind}")


def clean_values(
    object_type: str, values: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Validate ``values`` against the definitions and merge them over ``existing``.

    Required fields are enforced on create and when a caller clears them; records created before
    a field became required stay editable.
    """
    if not isinstance(values, Mapping):
        raise InvalidInput.field("custom_fields", "must be an object of field keys to values")
    defs = definitions(object_type)
    errors: list[FieldError] = []
    merged = dict(existing or {})
    for key, value in values.items():
        definition = defs.get(key)
        name = f"custom_fields.{key}"
        if definition is None:
            errors.append(FieldError(name, f"no custom field {key!r} on {object_type}"))
            continue
        if value is None or value == "":
            if definition.required:
                errors.append(FieldError(name, "is required"))
            merged.pop(key, None)
            continue
        try:
            merged[key] = coerce(definition, value)
        except ValueError as exc:
            errors.append(FieldError(name, str(exc)))
    if existing is None:
        for key, definition in defs.items():
            if definition.required and key not in merged and key not in values:
                errors.append(FieldError(f"custom_fields.{key}", "is required"))
    if errors:
        raise InvalidInput("Invalid custom field value(s)", errors)
    return merged


def _query_value(definition: CustomField, raw: str) -> Any:
    if definition.type == CustomField.Type.NUMBER:
        number = float(raw)
        return int(number) if number.is_integer() else number
    if definition.type == CustomField.Type.BOOL:
        if raw not in ("true", "false"):
            raise ValueError("must be true or false")
        return raw == "true"
    return coerce(definition, raw)


def filter_queryset(
    queryset: QuerySet[M], object_type: str, filters: Mapping[str, str] | None
) -> QuerySet[M]:
    """Apply ``cf.<key>=value`` filters; unknown keys and ill-typed values are a 422."""
    if not filters:
        return queryset
    defs = definitions(object_type)
    for key, raw in filters.items():
        definition = defs.get(key)
        if definition is None:
            raise InvalidInput.field(f"cf.{key}", f"no custom field {key!r} on {object_type}")
        try:
            value = _query_value(definition, raw)
        except ValueError as exc:
            raise InvalidInput.field(f"cf.{key}", str(exc)) from None
        queryset = queryset.filter(**{f"custom_fields__{key}": value})
    return queryset

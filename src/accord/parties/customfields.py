"""Custom fields: admin-defined fields on any record type, stored in its ``custom_fields`` JSON.

Definitions live in :class:`~accord.parties.models.CustomField`; values are validated here for
every service (registered with core at start-up) and filtered with ``cf.<key>=value`` in lists.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.signals import post_delete, post_migrate, post_save

from accord.core.errors import FieldError, InvalidInput
from accord.core.validation import lookup
from accord.parties.models import CustomField

M = TypeVar("M", bound=Model)

MAX_TEXT = 1000


#: How long another process's change to the definitions may go unseen here.
CACHE_SECONDS = 5.0


class _Definitions:
    """Custom field definitions per object type, kept by each process for CACHE_SECONDS.

    Every create and update validates custom fields, and reading the definitions was one of a
    create's round trips. A change made in this process empties the cache at once (and again
    when its transaction commits); one made by another process shows here within
    CACHE_SECONDS, at once when input names a field the cache does not know. While a
    transaction that changed definitions is open (or after it rolled back) nothing is cached,
    so no uncommitted definition outlives its transaction.
    """

    def __init__(self) -> None:
        self._by_type: dict[str, tuple[float, dict[str, CustomField]]] = {}
        self._dirty = False

    def get(self, object_type: str, *, fresh: bool = False) -> dict[str, CustomField]:
        if self._dirty and not connection.in_atomic_block:
            self._dirty = False
        cached = self._by_type.get(object_type)
        if cached is not None and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        if self._dirty and not fresh:
            # Not cacheable for now, but a batch (validation.batch_lookups) still reads once.
            found: dict[str, CustomField] = lookup("custom_fields", object_type, _read) or {}
            return found
        found = _read(object_type)
        if not self._dirty:
            self._by_type[object_type] = (time.monotonic(), found)
        return found

    def changed(self, **_: Any) -> None:
        self._by_type.clear()
        self._dirty = True
        transaction.on_commit(self._committed)

    def _committed(self) -> None:
        self._by_type.clear()
        self._dirty = False

    def reset(self) -> None:
        """Forget everything: a test starts with what its own transaction holds, since the
        rolled-back transaction of the test before never ran its on-commit clean-up."""
        self._by_type.clear()
        self._dirty = False

    def flushed(self, **_: Any) -> None:
        # ``flush`` (and a test's transactional reset) empties the table without signals.
        self._by_type.clear()


def _read(object_type: str) -> dict[str, CustomField]:
    return {d.key: d for d in CustomField.objects.filter(record_type=object_type)}


_definitions = _Definitions()
post_save.connect(_definitions.changed, sender=CustomField, dispatch_uid="custom_field_cache")
post_delete.connect(_definitions.changed, sender=CustomField, dispatch_uid="custom_field_cache")
post_migrate.connect(_definitions.flushed, dispatch_uid="custom_field_cache")


def reset_cache() -> None:
    _definitions.reset()


def definitions(object_type: str, *, fresh: bool = False) -> dict[str, CustomField]:
    """The live custom field definitions of ``object_type`` by key; ``fresh`` reads them from
    the database rather than the cache."""
    return _definitions.get(object_type, fresh=fresh)


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
    if any(key not in defs for key in values):
        defs = definitions(object_type, fresh=True)
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
    if any(key not in defs for key in filters):
        defs = definitions(object_type, fresh=True)
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

"""Bulk upsert validates rows through a quicker model (core.api.row_validator): every row must
come out exactly as the request schema itself would validate it, errors included."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError, create_model

from accord.activities.schemas import TaskPatch
from accord.core.api import row_validator
from accord.parties.schemas import AccountPatch, ContactPatch


def bulk_item(schema: Any) -> Any:
    # As core.api._bulk_route builds it.
    return create_model(f"{schema.__name__}BulkItem", __base__=schema, id=(uuid.UUID | None, None))


def outcome(validate: Any, raw: Any) -> Any:
    try:
        return ("ok", validate(raw))
    except ValidationError as exc:
        return ("error", [(e["loc"], e["msg"], e["type"]) for e in exc.errors()])


def same_as_schema(schema: Any, raw: Any) -> None:
    item = bulk_item(schema)

    def full(value: Any) -> Any:
        return item.model_validate(value).model_dump(exclude_unset=True)

    assert outcome(row_validator(item), raw) == outcome(full, raw)


ROWS = [
    {"first_name": "  Ann ", "emails": ["ann@example.org"], "phones": ["+49 30 1234567"]},
    {"last_name": "x" * 101},
    {"first_name": "A\x00nn"},
    {"first_name": "Ann", "unknown": 1},
    {"emails": "not a list"},
    {"email_opt_in": "yes"},
    {"id": "not-a-uuid"},
    {"id": str(uuid.uuid4()), "tags": ["VIP"], "custom_fields": {"tier": "gold"}},
    {"custom_fields": {"note": "bad\x00"}},
    {"lifecycle_stage": "nonsense"},
    "not an object",
    [],
    {},
]


@pytest.mark.parametrize("raw", ROWS)
def test_contact_rows_validate_as_the_schema_does(raw: Any) -> None:
    same_as_schema(ContactPatch, raw)


@pytest.mark.parametrize(
    "raw",
    [
        {"subject": "Call back", "due_at": "2026-05-01T09:30:00+02:00"},
        {"subject": "Call back", "due_at": "2026-05-01T09:30:00"},
        {"subject": "Call back", "due_at": "2026-05-01"},
        {"subject": "Call back", "due_at": 1_700_000_000},
        {"subject": "Call back", "due_at": "tomorrow"},
        {"subject": "Call back", "due_at": None},
        {"subject": "Call back", "due_at": "2026-05-01T25:30:00Z"},
    ],
)
def test_rows_with_times_validate_as_the_schema_does(raw: Any) -> None:
    same_as_schema(TaskPatch, raw)


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=5),
    st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
keys = st.sampled_from(
    ["name", "domain", "website", "employee_count", "annual_revenue", "tags", "owner_id", "x"]
)


@given(st.dictionaries(keys, values, max_size=5))
def test_any_account_row_validates_as_the_schema_does(raw: dict[str, Any]) -> None:
    same_as_schema(AccountPatch, raw)

"""The two places that read or write JSON text in C instead of Python keep the Python answer:
the NUL check of every request body (core.schemas) and the JSON columns of batched inserts
(core.rows)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from hypothesis import given
from hypothesis import strategies as st

from accord.core import rows
from accord.core.schemas import _contains_nul, _walk_for_nul

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from("ab\\u0\x00é")),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.sampled_from("k\\u0\x00"), max_size=6), inner, max_size=4
        )
    ),
    max_leaves=12,
)


@given(json_values)
def test_the_nul_check_agrees_with_walking_the_values(value: Any) -> None:
    assert _contains_nul(value) == _walk_for_nul(value)


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ({"emails": ["a@example.com"], "title": "Buyer"}, False),
        ({"note": "typed \\u0000 as text"}, False),  # a backslash, then u0000: no NUL
        ({"tags": [{"na\x00me": 1}]}, True),  # in a key
        ([{"a": ["b", "c\x00"]}], True),
        ({"big": 2**70, "nul": "\x00"}, True),  # orjson refuses the integer: walked
        ({"big": 2**70}, False),
    ],
)
def test_nul_anywhere_is_found(value: Any, found: bool) -> None:
    assert _contains_nul(value) is found


def test_json_columns_hold_what_the_field_encoder_would_write() -> None:
    dump = rows._json_dumper(DjangoJSONEncoder)
    at = dt.datetime(2026, 11, 30, 9, 30, 15, 123456, tzinfo=dt.UTC)
    value = {
        "at": at,
        "day": dt.date(2026, 11, 30),
        "id": uuid.UUID("01a22c45-adff-72af-bd3b-928d574cac77"),
        "amount": decimal.Decimal("12.50"),
        "nested": [{"n": 1, "text": "é"}],
        3: "a number as a key",
    }
    assert json.loads(dump(value)) == json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    assert json.loads(dump({"big": 2**70})) == {"big": 2**70}
    assert dump(None) is None

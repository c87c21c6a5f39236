"""Input normalisation: the fast path for plain email addresses answers as email-validator does."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given
from hypothesis import strategies as st

from accord.core.validation import _plain_email, normalize_email

ATOM = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
LABEL = "abcXYZ019-"
local_parts = st.text(alphabet=ATOM + ".", min_size=1, max_size=70)
labels = st.text(alphabet=LABEL, min_size=1, max_size=66)
domains = st.lists(labels, min_size=1, max_size=5).map(".".join) | st.sampled_from(
    ["x.test", "a.local", "b.localhost", "c.onion", "d.arpa", "e.invalid", "ab--cd.org"]
)
odd = st.text(alphabet=ATOM + LABEL + ".@ \u212a\u00e9\u0131", max_size=40)


def reference(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


@given(st.tuples(local_parts, domains).map("@".join) | odd)
@example("Ann.Smith@Example.ORG")
@example("a@b.c1")
@example("a@b.123")
@example("x@" + "a" * 63 + ".org")
@example("x@" + "a" * 64 + ".org")
@example("\u212aim@example.org")
@example("a@xn--bcher-kva.example")
def test_plain_addresses_normalise_as_email_validator_does(address: str) -> None:
    fast = _plain_email(address)
    if fast is not None:
        assert fast == reference(address)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann.Smith@Example.ORG", "ann.smith@example.org"),
        ("bob+tag@mail.example", "bob+tag@mail.example"),
        ("zoë@example.org", "zoë@example.org"),
    ],
)
def test_normalize_email_lower_cases_valid_addresses(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["a..b@example.org", "a@x.test", "a@example.123", "a@-x.org"])
def test_normalize_email_rejects_what_email_validator_rejects(raw: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        normalize_email(raw)

"""``rows.update`` stores what ``save()`` stores, for every kind of column a record has:
text, numbers, decimals, booleans, dates and times, foreign keys, JSON and nulls."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from accord.core import rows
from accord.core.models import Record
from accord.parties.models import Contact


@pytest.fixture(params=["json", "arrays"], autouse=True)
def statement(request, monkeypatch):
    """On PostgreSQL rows travel as one JSON parameter, or as arrays when a value has no
    plain JSON form: both ways are held to ``save()``."""
    if request.param == "arrays":
        if connection.vendor != "postgresql":
            pytest.skip("SQLite updates row by row")
        monkeypatch.setattr(rows, "_update_from_json", lambda *args: None)
    return request.param


def _stored(record: Record) -> dict[str, Any]:
    fresh = type(record)._base_manager.get(pk=record.pk)
    return {k: v for k, v in model_to_dict(fresh).items() if k not in {"id", "tags"}}


def _twins(make: Any, changes: dict[str, Any]) -> tuple[Record, Record]:
    """Two records given the same ``changes``: one saved by Django, one by rows.update."""
    by_save, by_rows = make(), make()
    for record in (by_save, by_rows):
        for name, value in changes.items():
            setattr(record, name, value)
    by_save.save(update_fields=list(changes))
    rows.update(type(by_rows), [by_rows], list(changes))
    return by_save, by_rows


@pytest.mark.parametrize(
    "changes",
    [
        {
            "name": "Analytical Engines ' \" \\ ; ünïcode",
            "employee_count": 120,
            "annual_revenue": decimal.Decimal("1234567.89"),
            "custom_fields": {
                "since": dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
                "budget": decimal.Decimal("10.50"),
                "nested": {"list": [1, "two", None, True]},
            },
            "deleted_at": dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC),
            "version": 7,
        },
        {"employee_count": None, "annual_revenue": None, "custom_fields": {}, "website": ""},
        {"annual_revenue": decimal.Decimal("1E+2")},
    ],
    ids=["values", "nulls", "exponent"],
)
def test_account_columns_are_stored_as_save_stores_them(make_account, admin, changes):
    by_save, by_rows = _twins(lambda: make_account(name="Twin"), changes)
    assert _stored(by_rows) == _stored(by_save)


def test_contact_foreign_keys_and_flags(make_contact, make_account, admin, owner):
    account = make_account()
    changes = {"account": account, "owner": owner, "email_opt_in": True, "title": "CTO"}
    by_save, by_rows = _twins(lambda: make_contact(), changes)
    stored = _stored(by_rows)
    assert stored == _stored(by_save)
    assert stored["account"] == account.pk
    assert stored["owner"] == owner.pk


def test_many_records_each_get_their_own_values(make_contact):
    contacts = [make_contact() for _ in range(30)]
    for number, contact in enumerate(contacts):
        contact.title = f"Title {number}"
        contact.version = number
    rows.update(Contact, contacts, ["title", "version"])
    written = Contact.objects.filter(pk__in=[c.pk for c in contacts])
    stored = dict(written.values_list("pk", "title"))
    assert stored == {c.pk: c.title for c in contacts}


def test_no_objects_or_fields_writes_nothing(make_contact, django_assert_num_queries):
    contact = make_contact()
    with django_assert_num_queries(0):
        rows.update(Contact, [], ["title"])
        rows.update(Contact, [contact], [])

"""``records.prefetch`` loads to-many relations of many records with plain rows, and gets the
same rows in the same order as Django's own prefetch, for the records' caches and for
``related_rows``."""

from __future__ import annotations

import datetime as dt
import gc
import weakref
from typing import Any

import pytest
from django.db.models import Prefetch, prefetch_related_objects

from accord.core import records
from accord.parties import services
from accord.parties.models import Contact

RELATIONS = ("tags", "email_rows", "phone_rows")


@pytest.fixture
def contacts(admin, make_tag) -> list[Contact]:
    tags = [make_tag(name=name) for name in ("zeta", "alpha", "mid")]
    rows = [
        {
            "last_name": f"Row {n}",
            "emails": [f"r{n}.{k}@example.com" for k in range(n % 3)],
            "phones": [f"+1415555{n:04d}"] if n % 2 else [],
            "tags": [t.name for t in tags[: n % 4]],
        }
        for n in range(records._FEW + 20)
    ]
    services.contacts.create_many(actor=admin, rows=rows)
    return list(Contact.objects.order_by("pk"))


def _django(contacts: list[Contact]) -> dict[str, dict[Any, list[Any]]]:
    fresh = list(Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    found: dict[str, dict[Any, list[Any]]] = {}
    for name in RELATIONS:
        prefetch_related_objects(fresh, Prefetch(name, to_attr="rows"))
        found[name] = {c.pk: [r.pk for r in c.__dict__.pop("rows")] for c in fresh}
    return found


@pytest.mark.parametrize("plain", [False, True])
def test_many_records_get_the_rows_django_would_give(contacts, plain, django_assert_num_queries):
    expected = _django(contacts)
    fresh = list(Contact.objects.filter(pk__in=[c.pk for c in contacts]))

    # One query per reverse foreign key, two for the many-to-many (links, then targets).
    with django_assert_num_queries(4):
        records.prefetch(fresh, *RELATIONS, plain=plain)

    for name in RELATIONS:
        got = {c.pk: [r.pk for r in records.related_rows(c, name)] for c in fresh}
        assert got == expected[name], name
    assert any(expected["tags"].values())
    assert any(expected["email_rows"].values())
    if not plain:
        # The caches are querysets, as Django's: reading them needs no query.
        sample = next(c for c in fresh if expected["tags"][c.pk])
        with django_assert_num_queries(0):
            names = [t.name for t in sample.tags.all()]
        assert names == sorted(names)


@pytest.mark.parametrize("count", [1, 7, records._FEW])
def test_few_records_get_the_rows_django_would_give(
    contacts, admin, count, django_assert_num_queries
):
    """A page or a single record: one compiled query per relation, the same rows, in the same
    order, as Django's prefetch; a tag in the recycle bin is left out by both (the default
    manager's filter)."""
    doomed = next(t for t in contacts[3].tags.all() if t.name == "alpha")
    services.tags.delete(actor=admin, record_id=doomed.pk, expected_version=None)
    chosen = contacts[:count]
    expected = _django(chosen)
    fresh = list(Contact.objects.filter(pk__in=[c.pk for c in chosen]))

    with django_assert_num_queries(len(RELATIONS)):
        records.prefetch(fresh, *RELATIONS)

    for name in RELATIONS:
        got = {c.pk: [r.pk for r in records.related_rows(c, name)] for c in fresh}
        assert got == expected[name], name
    if count > 3:
        assert any(expected["tags"].values())
        assert doomed.pk not in {pk for pks in expected["tags"].values() for pk in pks}
    # Values come back converted, as the ORM gives them.
    tagged = next((c for c in fresh if expected["tags"][c.pk]), None)
    if tagged is not None:
        tag = next(iter(records.related_rows(tagged, "tags")))
        assert isinstance(tag.created_at, dt.datetime)
        assert tag.created_at.tzinfo is not None
    sample = next((c for c in fresh if expected["email_rows"][c.pk]), None)
    if sample is not None:
        row = records.related_rows(sample, "email_rows")[0]  # type: ignore[index]
        assert row.contact_id == sample.pk
        assert isinstance(row.email, str)


def test_rows_a_write_remembers_are_read_without_a_query(admin, django_assert_num_queries):
    contact = services.contacts.create(
        actor=admin, data={"last_name": "Kept", "emails": ["a@example.com", "b@example.com"]}
    )
    with django_assert_num_queries(0):
        assert [row.email for row in contact.email_rows.all()] == ["a@example.com", "b@example.com"]
    # A query built on them goes to the database through the relation.
    assert list(
        contact.email_rows.filter(email="b@example.com").values_list("email", flat=True)
    ) == ["b@example.com"]


def test_a_record_with_remembered_rows_is_freed_without_the_collector(admin):
    """The remembered rows point back to their record weakly: no cycle keeps it alive."""
    contact = services.contacts.create(
        actor=admin, data={"last_name": "Freed", "emails": ["freed@example.com"]}
    )
    emails = contact.email_rows.all()
    gone = weakref.ref(contact)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        del contact
        assert gone() is None
    finally:
        if was_enabled:
            gc.enable()
    # The rows kept past their record still build queries, through a stand-in with its id.
    assert list(emails.filter(email__endswith="example.com").values_list("email", flat=True)) == [
        "freed@example.com"
    ]

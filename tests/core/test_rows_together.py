"""``rows.together`` holds a write's small inserts (on SQLite too) and sends them in one execute
on PostgreSQL, sets the ids they return, sends them before any other statement of the block,
and sends nothing when the block fails; ``rows.transaction_together`` makes a lone write one
implicit transaction, all or nothing; a record's own insert skips ``save()`` only when nothing
hooks it."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import signals
from django.test.utils import CaptureQueriesContext

from accord.core import rows
from accord.core.ids import new_id
from accord.core.models import HistoryEntry, OutboxEvent, SearchEntry
from accord.parties import services
from accord.parties.models import Contact, ContactEmail, CustomField


def test_a_create_sends_its_search_history_and_event_in_one_execute(admin):
    with CaptureQueriesContext(connection) as captured:
        contact = services.contacts.create(
            actor=admin, data={"last_name": "Lovelace", "emails": ["ada@example.com"]}
        )
    inserts = [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]]
    tail = [s for s in inserts if "core_outboxevent" in s]
    assert len(tail) == 1
    if connection.vendor == "postgresql":
        # Search entry, history entry and event: one statement text, one round trip.
        assert "core_searchentry" in tail[0]
        assert "core_historyentry" in tail[0]
    assert SearchEntry.objects.filter(record_id=contact.pk).count() == 1
    assert HistoryEntry.objects.filter(object_id=contact.pk).count() == 1
    assert OutboxEvent.objects.filter(object_id=contact.pk).count() == 1
    assert ContactEmail.objects.get(contact=contact).email == "ada@example.com"


def test_held_inserts_get_their_ids(admin):
    contact = services.contacts.create(actor=admin, data={"last_name": "Hopper"})
    made = [
        SearchEntry(object_type="contact", record_id=contact.pk, body="x", fields={}),
    ]
    SearchEntry.objects.filter(record_id=contact.pk).delete()
    with transaction.atomic(), rows.together():
        rows.write(SearchEntry, made)
        if connection.vendor == "postgresql":
            assert made[0].pk is None  # held until the block ends
    assert made[0].pk is not None or connection.vendor != "postgresql"
    assert SearchEntry.objects.filter(record_id=contact.pk).count() == 1


def test_a_failing_block_sends_nothing(db):
    record_id = new_id()

    def attempt() -> None:
        with transaction.atomic(), rows.together():
            entry = SearchEntry(object_type="contact", record_id=record_id, body="y", fields={})
            rows.write(SearchEntry, [entry])
            raise RuntimeError("refused")

    with CaptureQueriesContext(connection) as captured, pytest.raises(RuntimeError):
        attempt()
    sent = [q["sql"] for q in captured.captured_queries if "core_searchentry" in q["sql"]]
    assert sent == []
    assert not SearchEntry.objects.filter(record_id=record_id).exists()


def test_a_hooked_model_is_saved_through_save():
    assert rows.inserts_plainly(Contact)
    # The custom-field cache listens to CustomField's saves.
    assert not rows.inserts_plainly(CustomField)

    def listener(**kwargs: object) -> None:
        pass

    signals.post_save.connect(listener, sender=Contact)
    try:
        assert not rows.inserts_plainly(Contact)
    finally:
        signals.post_save.disconnect(listener, sender=Contact)


def test_a_statement_in_the_block_sees_the_held_inserts(admin):
    contact = services.contacts.create(actor=admin, data={"last_name": "Reader"})
    SearchEntry.objects.filter(record_id=contact.pk).delete()
    entry = SearchEntry(object_type="contact", record_id=contact.pk, body="z", fields={})
    with transaction.atomic(), rows.together():
        rows.write(SearchEntry, [entry])
        assert SearchEntry.objects.filter(record_id=contact.pk).count() == 1
        if connection.vendor == "postgresql":
            assert entry.pk is not None  # sent, with its id back, before the read


@contextmanager
def _messages_sent() -> Iterator[list[str]]:
    """The protocol messages this connection sends in the block (``Query``, ``Parse``…),
    from libpq's trace: what reached the server, not what Django logged."""
    sent: list[str] = []
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        try:
            yield sent
        finally:
            pgconn.untrace()
            trace.seek(0)
            sent.extend(re.findall(r"^\S+\s+\S+\tF\t\d+\t(\w+)", trace.read(), re.M))


@pytest.mark.django_db(transaction=True)
def test_a_lone_create_is_one_query_and_commits(admin):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite sends nothing over a wire")
    # The first create reads what later ones find cached (the caller's grants, custom fields).
    services.contacts.create(actor=admin, data={"last_name": "Warm"})
    with _messages_sent() as sent:
        contact = services.contacts.create(
            actor=admin, data={"last_name": "Lone", "emails": ["lone@example.com"]}
        )
    assert sent == ["Query"]  # no BEGIN, no COMMIT: one implicit transaction
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert ContactEmail.objects.get(contact=contact).pk is not None
    assert OutboxEvent.objects.get(object_id=contact.pk).txid is not None
    assert connection.get_autocommit()
    with transaction.atomic():  # the connection is left as Django expects it
        assert not connection.get_autocommit()
        assert HistoryEntry.objects.filter(object_id=contact.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_lone_transaction_that_fails_writes_nothing(admin):
    taken = services.contacts.create(actor=admin, data={"last_name": "Taken"})
    fresh = Contact(last_name="Fresh", created_by=admin, updated_by=admin, owner=admin)
    twin = Contact(id=taken.pk, last_name="Twin", created_by=admin, updated_by=admin, owner=admin)

    def attempt() -> None:
        with rows.transaction_together():
            rows.write(Contact, [fresh])
            rows.write(Contact, [twin])  # the same id: this one fails, and the first with it

    with pytest.raises(IntegrityError):
        attempt()
    assert not Contact.all_objects.filter(pk=fresh.pk).exists()
    assert Contact.objects.get(pk=taken.pk).last_name == "Taken"
    assert connection.get_autocommit()


@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_read_first_sends_its_inserts_inside_it(admin):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite sends nothing over a wire")
    fresh = Contact(last_name="After a read", created_by=admin, updated_by=admin, owner=admin)
    with _messages_sent() as sent, rows.transaction_together():
        assert not Contact.objects.filter(last_name="After a read").exists()
        rows.write(Contact, [fresh])
    assert sent == ["Query"] * 4  # BEGIN, the read, the insert, COMMIT
    assert Contact.objects.filter(pk=fresh.pk).exists()

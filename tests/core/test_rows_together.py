"""``rows.together`` sends a write's small inserts in one execute on PostgreSQL, sets the ids
they return, and sends nothing when the block fails; a record's own insert skips ``save()``
only when nothing hooks it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
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
    if connection.vendor == "postgresql":
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

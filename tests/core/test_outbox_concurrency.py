"""The outbox under concurrent writers on PostgreSQL: transactions that commit out of insert
order lose no event, every row carries its own transaction's id, and each record's versions
appear in increasing outbox-id order (what the sequencer relies on; ARCHITECTURE.md, "No
skipped events")."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from accord.core.models import OutboxEvent
from accord.parties import services

pytestmark = [
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="txid and out-of-order commits need PostgreSQL (SQLite serialises its writers)",
    ),
]

WAIT = 30  # seconds; a broken scenario fails instead of hanging


def _txid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return int(cursor.fetchone()[0])


def _run(workers: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guarded, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 3)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if errors:
        raise errors[0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_committing_out_of_order_lose_no_outbox_row(admin):
    shared = services.accounts.create(actor=admin, data={"name": "Shared"})
    hot = services.contacts.create(actor=admin, data={"last_name": "Hot"})
    first_id = OutboxEvent.objects.order_by("id").values_list("id", flat=True).last() or 0

    late_inserted = threading.Barrier(8, timeout=WAIT)
    early_done = threading.Event()
    early_committed = threading.Barrier(4, timeout=WAIT, action=early_done.set)
    #: thread name → (txid, ids of the records it wrote, in write order)
    written: dict[str, tuple[int, list[Any]]] = {}

    def late_writer(n: int) -> Callable[[], None]:
        """Inserts its first outbox row, then holds its transaction open until every early
        writer has committed, and updates the shared account last."""

        def work() -> None:
            with transaction.atomic():
                txid = _txid()
                own = services.contacts.create(actor=admin, data={"last_name": f"Late {n}"})
                late_inserted.wait()
                assert early_done.wait(WAIT), "early writers never committed"
                services.accounts.update(
                    actor=admin,
                    record_id=shared.pk,
                    data={"industry": f"late {n}"},
                    expected_version=None,
                )
                written[f"late{n}"] = (txid, [own.pk, shared.pk])

        return work

    def early_writer(n: int) -> Callable[[], None]:
        """Starts after the late writers' first rows exist (so its rows get higher outbox ids)
        and commits before them; early writers contend for the same two records."""

        def work() -> None:
            late_inserted.wait()
            with transaction.atomic():
                txid = _txid()
                own = services.contacts.create(actor=admin, data={"last_name": f"Early {n}"})
                for record_id, service, change in (
                    (hot.pk, services.contacts, {"title": f"early {n}"}),
                    (shared.pk, services.accounts, {"industry": f"early {n}"}),
                    (own.pk, services.contacts, {"title": "own"}),
                ):
                    service.update(
                        actor=admin, record_id=record_id, data=change, expected_version=None
                    )
                written[f"early{n}"] = (txid, [own.pk, hot.pk, shared.pk, own.pk])
            early_committed.wait()

        return work

    _run([late_writer(n) for n in range(4)] + [early_writer(n) for n in range(4)])

    rows = list(OutboxEvent.objects.filter(id__gt=first_id).order_by("id"))
    assert len(written) == 8
    assert len(rows) == sum(len(ids) for _, ids in written.values()) == 4 * 2 + 4 * 4

    # Every write's row is there, stamped with the id of the transaction that wrote it.
    txids = [txid for txid, _ in written.values()]
    assert len(set(txids)) == 8, "each transaction has its own id"
    by_txid: dict[int, list[OutboxEvent]] = defaultdict(list)
    for row in rows:
        assert row.txid is not None
        by_txid[row.txid].append(row)
    for name, (txid, record_ids) in written.items():
        assert [r.object_id for r in by_txid[txid]] == record_ids, name

    # The scenario really committed out of insert order: every late writer's first row has a
    # lower outbox id than every early writer's rows, yet committed after them.
    late_first = [by_txid[written[f"late{n}"][0]][0].id for n in range(4)]
    early_ids = [r.id for n in range(4) for r in by_txid[written[f"early{n}"][0]]]
    assert max(late_first) < min(early_ids)

    # Each record's versions grow with the outbox id, one step at a time.
    versions: dict[Any, list[int]] = defaultdict(list)
    for row in OutboxEvent.objects.order_by("id"):
        versions[row.object_id].append(row.record_version)
        assert row.envelope["recordversion"] == row.record_version
    for object_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), object_id
    assert versions[shared.pk] == list(range(1, 10))
    assert versions[hot.pk] == list(range(1, 6))

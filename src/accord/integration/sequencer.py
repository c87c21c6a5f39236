"""The sequencer: the lease holder numbers committed outbox rows with a gap-free ``sequence``.

The outbox's own id is taken at insert, not at commit, so with concurrent writers a lower id can
commit later and is never a safe cursor (ARCHITECTURE.md, "No skipped events"). Numbering only
rows that are committed (the only ones a statement can see), in id order, continuing from the
highest number handed out, gives every consumer a cursor that never skips: a row whose
transaction commits late simply gets a later number.

Only one process numbers at a time. Its right is a lease on the :class:`Sequencer` row, renewed
in short transactions; every numbering transaction first locks that row (``FOR UPDATE`` on
PostgreSQL; SQLite's writers are serialised anyway) and checks that the caller still holds an
unexpired lease, so a holder that stalled past its lease can never number beside its successor,
and a successor's takeover waits for the last numbering transaction to commit.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q

from accord.core import clock
from accord.core.models import OutboxEvent
from accord.integration.models import Sequencer

#: The name of the one sequencer row.
OUTBOX = "outbox"


#: Numbers the next batch of unnumbered rows in id order, continuing from the larger of the
#: sequencer's mark and the highest number in the outbox (which can only be larger if the
#: sequencer row was recreated by hand), so the unique constraint always holds.
_NUMBER = """
UPDATE {table} AS o SET sequence = b.seq
FROM (
    SELECT id, row_number() OVER (ORDER BY id) + (
        SELECT max(mark) FROM (
            SELECT %s AS mark UNION ALL SELECT max(sequence) FROM {table}
        ) AS marks
    ) AS seq
    FROM {table} WHERE sequence IS NULL ORDER BY id LIMIT %s
) AS b
WHERE o.id = b.id
RETURNING sequence
"""


class LeaseLost(Exception):
    """The caller does not (or no longer) hold the sequencer's lease."""


def new_holder() -> str:
    """A name for this process's claim: host, pid and a random part (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def state() -> Sequencer:
    """The sequencer row, created on first use (continuing from any numbers already given)."""
    row = Sequencer.objects.filter(name=OUTBOX).first()
    if row is not None:
        return row
    top = OutboxEvent.objects.aggregate(top=Max("sequence"))["top"] or 0
    try:
        with transaction.atomic():
            return Sequencer.objects.create(name=OUTBOX, last_sequence=top)
    except IntegrityError:  # another process created it a moment ago
        return Sequencer.objects.get(name=OUTBOX)


def current() -> Sequencer:
    """The sequencer row as it stands, for reads: never creates it (an unsaved stand-in before
    the first relay ran)."""
    row = Sequencer.objects.filter(name=OUTBOX).first()
    if row is not None:
        return row
    top = OutboxEvent.objects.aggregate(top=Max("sequence"))["top"] or 0
    return Sequencer(name=OUTBOX, last_sequence=top)


def hold(holder: str, *, seconds: float) -> bool:
    """Acquire or renew the lease for ``seconds``; whether ``holder`` now holds it.

    Each attempt is one short statement: renewing needs an unexpired lease of one's own; taking
    over needs an expired (or released) one, whoever held it.
    """
    state()
    now = clock.now()
    until = now + dt.timedelta(seconds=seconds)
    mine = Sequencer.objects.filter(name=OUTBOX, holder=holder, lease_expires_at__gt=now)
    if mine.update(lease_expires_at=until):
        return True
    free = Sequencer.objects.filter(name=OUTBOX).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    )
    return bool(free.update(holder=holder, lease_expires_at=until, lease_acquired_at=now))


def release(holder: str) -> None:
    """Give the lease up at once (a clean shutdown), so a standby need not wait for it to run
    out; the holder's name stays for the status display."""
    Sequencer.objects.filter(name=OUTBOX, holder=holder).update(lease_expires_at=None)


def locked_by(holder: str) -> Sequencer:
    """The sequencer row, locked until the caller's transaction ends; LeaseLost unless
    ``holder`` holds an unexpired lease. Call inside ``transaction.atomic()``."""
    row = Sequencer.objects.select_for_update().filter(name=OUTBOX).first()
    expires = row.lease_expires_at if row is not None else None
    if row is None or row.holder != holder or expires is None or expires <= clock.now():
        raise LeaseLost(f"{holder} does not hold the sequencer lease")
    return row


def pending() -> bool:
    """Whether a committed row is waiting for its number (a read, no lock)."""
    return OutboxEvent.objects.filter(sequence__isnull=True).exists()


def number(holder: str, *, batch: int) -> int:
    """Number up to ``batch`` committed rows in outbox-id order; how many were numbered.

    The numbering happens while the sequencer row is locked and the caller's lease checked, so
    no two processes ever number at once and numbers continue exactly from the last one given.
    On PostgreSQL it is one statement (lock, check, number, move the mark); elsewhere a short
    transaction.
    """
    if connection.vendor == "postgresql":
        return _number_in_one_statement(holder, batch)
    table = connection.ops.quote_name(OutboxEvent._meta.db_table)
    with transaction.atomic():
        row = locked_by(holder)
        with connection.cursor() as cursor:
            cursor.execute(_NUMBER.format(table=table), [row.last_sequence, batch])
            given = [int(seq) for (seq,) in cursor.fetchall()]
        if given:
            Sequencer.objects.filter(name=OUTBOX).update(
                last_sequence=max(given), numbered_at=clock.now()
            )
    return len(given)


#: The same in one PostgreSQL statement: a round trip instead of five, which keeps the
#: commit-to-publish lag short on a busy server. ``lease`` locks the sequencer row only if the
#: caller holds an unexpired lease (a takeover committed meanwhile makes it empty); the batch is
#: numbered only when it is not empty; the mark moves in the same statement.
_NUMBER_ONE_STATEMENT = """
WITH lease AS (
    SELECT last_sequence FROM {sequencer}
    WHERE name = %(name)s AND holder = %(holder)s AND lease_expires_at > %(now)s
    FOR UPDATE
),
batch AS (
    SELECT id, row_number() OVER (ORDER BY id) + (
        SELECT GREATEST(lease.last_sequence, (SELECT coalesce(max(sequence), 0) FROM {outbox}))
        FROM lease
    ) AS seq
    FROM {outbox}
    WHERE sequence IS NULL AND EXISTS (SELECT 1 FROM lease)
    ORDER BY id LIMIT %(batch)s
),
numbered AS (
    UPDATE {outbox} AS o SET sequence = batch.seq FROM batch
    WHERE o.id = batch.id
    RETURNING o.sequence
),
mark AS (
    UPDATE {sequencer} SET last_sequence = numbered_top.top, numbered_at = %(now)s
    FROM (SELECT max(sequence) AS top FROM numbered) AS numbered_top
    WHERE name = %(name)s AND numbered_top.top IS NOT NULL
)
SELECT (SELECT count(*) FROM lease), (SELECT count(*) FROM numbered)
"""


def _number_in_one_statement(holder: str, batch: int) -> int:
    quote = connection.ops.quote_name
    sql = _NUMBER_ONE_STATEMENT.format(
        sequencer=quote(Sequencer._meta.db_table), outbox=quote(OutboxEvent._meta.db_table)
    )
    params: dict[str, Any] = {"name": OUTBOX, "holder": holder, "now": clock.now(), "batch": batch}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    held, numbered = (int(found[0]), int(found[1])) if found else (0, 0)
    if not held:
        raise LeaseLost(f"{holder} does not hold the sequencer lease")
    return numbered

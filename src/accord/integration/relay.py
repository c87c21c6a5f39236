"""The relay: holds the sequencer lease, numbers committed events and publishes them.

``accord relay`` runs it alone; ``accord worker`` (which ``accord serve`` supervises) runs it in a
thread beside the job loop. Any number may run: the one holding the lease works, the others
wait to take over when its lease runs out.

Each pass numbers a batch of committed outbox rows, then hands each destination the next batch
after its position, waits for the acknowledgements and only then stores the new position, so a
crash at any point repeats a few events (with the same id) and never loses one. On PostgreSQL a
trigger on the outbox NOTIFYs at every commit that wrote events, which wakes the relay at once;
on SQLite it polls (``ACCORD_RELAY_POLL_MS``), an index probe.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError, connection, connections
from django.db.models import Value
from django.db.models.functions import Coalesce

from accord.core import clock
from accord.core.models import OutboxEvent
from accord.integration import config, sequencer
from accord.integration.config import RelaySettings
from accord.integration.destinations import Destination, Outgoing, Unavailable, configured
from accord.integration.models import Destination as Position
from accord.integration.models import DestinationKind

log = logging.getLogger(__name__)

#: The channel the outbox trigger notifies (see this app's migrations).
CHANNEL = "accord_outbox"
#: Destination kinds the relay publishes to itself (webhooks have workers of their own).
RELAYED = (DestinationKind.NATS, DestinationKind.REDIS)
#: How long to wait between checks when another process holds the lease, at most.
STANDBY_WAIT = 1.0


def fetch(after: int, limit: int) -> list[Outgoing]:
    """The sequenced events after ``after``, in order, as the JSON that leaves (the stored
    envelope with its ``sequence`` added by the database, so nothing is parsed here)."""
    table = connection.ops.quote_name(OutboxEvent._meta.db_table)
    if connection.vendor == "postgresql":
        body = "(envelope || jsonb_build_object('sequence', sequence))::text"
    else:
        body = "json_set(envelope, '$.sequence', sequence)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sequence, event_id, type, {body} FROM {table} "  # noqa: S608 - fixed SQL
            "WHERE sequence > %s ORDER BY sequence LIMIT %s",
            [after, limit],
        )
        rows = cursor.fetchall()
    return [
        Outgoing(
            sequence=int(seq),
            event_id=str(eid if isinstance(eid, uuid.UUID) else uuid.UUID(str(eid))),
            type=kind,
            body=text.encode(),
        )
        for seq, eid, kind, text in rows
    ]


def store_position(name: str, position: int) -> None:
    """Record that destination ``name`` acknowledged everything up to ``position``.

    One statement, without the lease: a position only ever says "the destination has every event
    up to here", which stays true whoever stores it, and it never moves backwards.
    """
    Position.objects.filter(name=name, position__lt=position).update(
        position=position, published_at=clock.now(), last_error="", failing_since=None
    )


class Waker:
    """Waits for the next commit that wrote events: LISTEN on PostgreSQL, a sleep on SQLite."""

    #: On PostgreSQL the relay still looks this often, in case a notification was missed.
    FALLBACK = 1.0

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._listener: Any = None
        self._retry_at = 0.0

    def _listen(self) -> None:
        if connection.vendor != "postgresql" or time.monotonic() < self._retry_at:
            return
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        try:
            listener = psycopg.connect(**params, autocommit=True, connect_timeout=5)
            listener.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            log.warning("Cannot LISTEN for new events (polling instead): %s", exc)
            self._retry_at = time.monotonic() + 10
            return
        self._listener = listener

    def open(self) -> None:
        """Start listening before the first look at the outbox, so no commit goes unnoticed."""
        self._listen()

    def wait(self, stop: threading.Event) -> None:
        if self._listener is None:
            self._listen()
        if self._listener is None:
            stop.wait(self.poll_seconds if connection.vendor != "postgresql" else self.FALLBACK)
            return
        import psycopg

        try:
            for _ in self._listener.notifies(timeout=self.FALLBACK, stop_after=1):
                break
            # Several commits may have notified meanwhile; one pass serves them all.
            for _ in self._listener.notifies(timeout=0):
                pass
        except psycopg.Error as exc:
            log.warning("Lost the LISTEN connection: %s", exc)
            self.close()

    def close(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            finally:
                self._listener = None


class Relay:
    """One relay process's work: keep (or wait for) the lease, number, publish."""

    def __init__(
        self,
        settings: RelaySettings,
        *,
        destinations: Sequence[Destination] | None = None,
        holder: str | None = None,
    ) -> None:
        self.settings = settings
        self.destinations = list(destinations) if destinations is not None else configured(settings)
        self.holder = holder or sequencer.new_holder()
        self.holding = False
        self._renewed = 0.0
        self._positions: dict[str, int] = {}
        self._errors: dict[str, str] = {}
        self._backoff: dict[str, float] = {}
        self._retry_at: dict[str, float] = {}

    # -- the lease ---------------------------------------------------------------------------

    def keep_lease(self) -> bool:
        """Acquire or renew the lease when due (every third of its length); whether we hold it."""
        now = time.monotonic()
        if self.holding and now - self._renewed < self.settings.lease_seconds / 3:
            return True
        held = sequencer.hold(self.holder, seconds=self.settings.lease_seconds)
        if held and not self.holding:
            log.info("Relay %s took the sequencer lease", self.holder)
            self._took_over()
        elif self.holding and not held:
            log.warning("Relay %s lost the sequencer lease", self.holder)
        self.holding = held
        if held:
            self._renewed = now
        return held

    def _took_over(self) -> None:
        """Register this relay's destinations and start each from its stored position (the
        previous holder may have moved it). Relayed destinations that this relay no longer
        publishes to are marked inactive, so they stop holding back retention."""
        names = [d.name for d in self.destinations]
        for destination in self.destinations:
            Position.objects.get_or_create(
                name=destination.name, defaults={"kind": destination.kind}
            )
        Position.objects.filter(name__in=names, active=False).update(active=True)
        Position.objects.filter(kind__in=RELAYED, active=True).exclude(name__in=names).update(
            active=False
        )
        self._positions = dict(
            Position.objects.filter(name__in=names).values_list("name", "position")
        )

    def release(self) -> None:
        if self.holding:
            sequencer.release(self.holder)
            self.holding = False

    # -- the work ----------------------------------------------------------------------------

    def step(self) -> bool:
        """One pass while holding the lease; whether work is still waiting."""
        busy = False
        try:
            if sequencer.pending():
                batch = self.settings.batch
                busy = sequencer.number(self.holder, batch=batch) == batch
            for destination in self.destinations:
                if not self.keep_lease():
                    return False
                busy = self._publish(destination) or busy
        except sequencer.LeaseLost:
            log.warning("Relay %s lost the sequencer lease", self.holder)
            self.holding = False
            return False
        return busy

    def _publish(self, destination: Destination) -> bool:
        """Publish the next batch to ``destination``; whether a full batch went out."""
        name = destination.name
        if time.monotonic() < self._retry_at.get(name, 0.0):
            return False
        after = self._positions.get(name, 0)
        events = fetch(after, self.settings.batch)
        if not events:
            return False
        if events[0].sequence != after + 1:
            log.warning(
                "%s: events %d to %d were purged before it published them",
                name,
                after + 1,
                events[0].sequence - 1,
            )
        try:
            destination.open()
            acked, error = destination.publish(events)
        except Unavailable as exc:
            acked, error = 0, str(exc)
        if acked:
            position = events[acked - 1].sequence
            store_position(name, position)
            self._positions[name] = position
        if error is not None:
            self._failed(name, error)
            return False
        self._healthy(name)
        return len(events) == self.settings.batch

    def _failed(self, name: str, error: str) -> None:
        pause = min(max(self._backoff.get(name, 0.0) * 2, 0.25), 5.0)
        self._backoff[name] = pause
        self._retry_at[name] = time.monotonic() + pause
        if self._errors.get(name) == error:
            return
        log.warning("Publishing to %s failed (retrying): %s", name, error)
        self._errors[name] = error
        Position.objects.filter(name=name).update(
            last_error=error[:2000], failing_since=Coalesce("failing_since", Value(clock.now()))
        )

    def _healthy(self, name: str) -> None:
        self._backoff.pop(name, None)
        self._retry_at.pop(name, None)
        if self._errors.pop(name, None) is not None:
            log.info("Publishing to %s works again", name)
            Position.objects.filter(name=name).update(last_error="", failing_since=None)

    # -- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, once: bool = False) -> None:
        """Work until ``stop`` is set; with ``once``, until nothing is left (or the lease is
        someone else's)."""
        waker = Waker(self.settings.poll_seconds)
        waker.open()
        try:
            while not stop.is_set():
                try:
                    if not self.keep_lease():
                        if once:
                            return
                        stop.wait(min(self.settings.lease_seconds / 3, STANDBY_WAIT))
                        continue
                    if self.step():
                        continue
                    if once:
                        return
                except DatabaseError as exc:
                    # A restarting database or a busy SQLite file: try again shortly with a
                    # fresh connection; the lease is renewed (or lost) on the next pass.
                    log.warning("The relay's database work failed (retrying): %s", exc)
                    connection.close()
                    stop.wait(1.0)
                    continue
                waker.wait(stop)
        finally:
            waker.close()
            try:
                self.release()
            except DatabaseError:
                log.warning("Could not release the sequencer lease; it runs out by itself")
            for destination in self.destinations:
                destination.close()


def run(stop: threading.Event, *, once: bool = False) -> None:
    """The relay with the configured destinations, until ``stop`` (``accord relay``)."""
    Relay(config.relay()).run(stop, once=once)


def start_in_background(stop: threading.Event) -> threading.Thread:
    """The relay in a thread of this process (the worker's), restarted after a failure."""

    def target() -> None:
        pause = 1.0
        while not stop.is_set():
            try:
                run(stop)
            except Exception:
                log.exception("The event relay failed; restarting it in %.0f s", pause)
            finally:
                connections.close_all()
            stop.wait(pause)
            pause = min(pause * 2, 30.0)

    thread = threading.Thread(target=target, name="event-relay", daemon=True)
    thread.start()
    return thread

"""The delivery workers: queue events for each subscription, send them, retry, keep the log.

One :class:`Engine` runs in each process that runs the relay (``accord worker``, which
``accord serve`` supervises, and ``accord relay``). Several may run at once: each subscription's
events are queued under a row lock (see ``dispatch``) and each attempt is made by the worker
that claimed the delivery, so nothing is queued twice and no two workers attempt the same
delivery (a worker that dies leaves its claims to run out, after which another takes them).

Threads of one engine:

- the **dispatcher** polls for newly numbered events, queues each subscription's next batch and
  hands the new deliveries straight to the senders; it also works through replays and, every
  second, claims deliveries whose retry is due;
- the **senders** (``ACCORD_WEBHOOK_THREADS``) take deliveries subscription by subscription in
  turn, at most ``ACCORD_WEBHOOK_CONCURRENCY`` in flight per subscription, and POST them on
  shared keep-alive connections, through the SSRF guard, without following redirects;
- the **recorder** writes the outcomes to the delivery log in batches (one statement per batch),
  schedules retries with exponential backoff and jitter, tracks each endpoint's health, and
  disables an endpoint that failed for a whole retry period.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Q

from accord.core import clock
from accord.core.records import instance
from accord.core.rows import update
from accord.identity.models import User
from accord.integration import sequencer
from accord.integration.models import (
    DeliveryStatus,
    Destination,
    WebhookDelivery,
    WebhookReplay,
    WebhookSubscription,
)
from accord.integration.webhooks import dispatch, guard, services, signing
from accord.integration.webhooks.config import WebhookSettings
from accord.integration.webhooks.dispatch import Job
from accord.integration.webhooks.lanes import Lanes

log = logging.getLogger(__name__)

USER_AGENT = "Accord-Webhooks/1"
#: Characters of a response body kept in the delivery log.
EXCERPT = 1000
#: Attempts kept in a delivery's ``attempt_log`` (the first one always stays).
LOG_KEEP = 40
#: Owners are loaded again this often, so visibility changes reach webhooks within seconds.
OWNER_TTL = 2.0
#: Due retries are looked for this often.
SWEEP_SECONDS = 1.0
#: Outcomes written per statement at most, and how long the recorder waits to fill a batch.
RECORD_BATCH = 1000
RECORD_WAIT = 0.05

RESULT_FIELDS = (
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "last_attempt_at",
    "delivered_at",
    "response_status",
    "latency_ms",
    "response_excerpt",
    "error",
    "attempt_log",
)


def store(rows: list[dict[str, Any]]) -> None:
    """Write outcomes (``id`` and RESULT_FIELDS each) in one statement.

    On PostgreSQL one ``UPDATE … FROM unnest(<an array per column>)``: eleven parameters
    however many rows, where ``UPDATE … FROM (VALUES …)`` has psycopg format a parameter per
    value (a third of the recorder's time at a thousand rows).
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        update(WebhookDelivery, [instance(WebhookDelivery, **row) for row in rows], RESULT_FIELDS)
        return
    meta = WebhookDelivery._meta
    quote = connection.ops.quote_name
    types = {
        "status": "text",
        "attempts": "integer",
        "next_attempt_at": "timestamptz",
        "claimed_until": "timestamptz",
        "last_attempt_at": "timestamptz",
        "delivered_at": "timestamptz",
        "response_status": "integer",
        "latency_ms": "float8",
        "response_excerpt": "text",
        "error": "text",
        "attempt_log": "text",
    }
    # Plain fields, whose columns are their names.
    columns = list(RESULT_FIELDS)
    assigned = ", ".join(
        f"{quote(column)} = v.{quote(column)}" + ("::jsonb" if name == "attempt_log" else "")
        for name, column in zip(RESULT_FIELDS, columns, strict=True)
    )
    arrays = ", ".join(["%s::uuid[]"] + [f"%s::{types[name]}[]" for name in RESULT_FIELDS])
    names = ", ".join(["_id"] + [quote(c) for c in columns])
    params: list[list[Any]] = [[row["id"] for row in rows]]
    for name in RESULT_FIELDS:
        if name == "attempt_log":
            params.append([json.dumps(row[name]) for row in rows])
        else:
            params.append([row[name] for row in rows])
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET {assigned} FROM unnest({arrays}) AS v({names}) "  # noqa: S608
            "WHERE d.id = v._id",
            params,
        )


def backoff(settings: WebhookSettings, attempts: int) -> dt.timedelta:
    """The wait before the next attempt after ``attempts`` failed ones: doubling from
    ``retry_first`` up to ``retry_max``, each ±25 % at random so that many deliveries that
    failed together do not come back together."""
    base = min(settings.retry_first * 2 ** min(attempts - 1, 40), settings.retry_max)
    return dt.timedelta(seconds=base * random.uniform(0.75, 1.25))


@dataclass(frozen=True)
class Target:
    """What the senders need of a subscription: where to, and the secrets that sign."""

    version: int
    url: httpx.URL
    current: tuple[Any, ...]
    rotating: tuple[Any, ...]
    previous_until: dt.datetime | None

    def signers(self, at: dt.datetime) -> tuple[Any, ...]:
        if self.previous_until is not None and at < self.previous_until:
            return self.rotating
        return self.current


@dataclass
class Outcome:
    """One attempt's result (``released``: not attempted, the claim is given back)."""

    job: Job
    at: dt.datetime
    ok: bool = False
    status: int | None = None
    latency_ms: float | None = None
    excerpt: str = ""
    error: str = ""
    released: bool = False


class Engine:
    """One process's webhook workers (see the module's docstring)."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        # Requests go to httpx's transport directly: an httpx.Client would add redirects (never
        # followed here), cookies, proxies from the environment and authentication, none of
        # which webhooks want, at a third of each request's CPU time.
        self.transport = guard.GuardedTransport(settings.allowed, connections=settings.threads)
        self.timeouts = guard.timeouts(connect=settings.connect_timeout, read=settings.read_timeout)
        self.lanes = Lanes(per_endpoint=settings.per_endpoint, cap=settings.batch)
        self.outcomes: queue.Queue[Outcome] = queue.Queue()
        self.targets: dict[uuid.UUID, Target] = {}
        self._owners: dict[uuid.UUID, tuple[float, Any]] = {}
        self._swept = 0.0
        self._claim = dt.timedelta(seconds=settings.claim_seconds)
        self._first_retry = dt.timedelta(seconds=settings.retry_first)

    # -- what is subscribed ----------------------------------------------------------------------

    def refresh(self) -> list[WebhookSubscription]:
        """The enabled subscriptions, and the senders' targets brought up to date."""
        found = list(WebhookSubscription.objects.filter(enabled=True).select_related("destination"))
        targets: dict[uuid.UUID, Target] = {}
        for subscription in found:
            known = self.targets.get(subscription.pk)
            if known is None or known.version != subscription.version:
                known = Target(
                    version=subscription.version,
                    url=httpx.URL(subscription.url),
                    current=signing.signers(subscription.secret),
                    rotating=signing.signers(subscription.secret, subscription.previous_secret),
                    previous_until=subscription.previous_secret_expires_at,
                )
            targets[subscription.pk] = known
        self.targets = targets
        self._owners = {k: v for k, v in self._owners.items() if k in targets}
        return found

    def owner(self, subscription: WebhookSubscription) -> Any:
        """The subscription's owner, loaded afresh every few seconds (their grants with it)."""
        cached = self._owners.get(subscription.pk)
        now = time.monotonic()
        if cached is not None and cached[1].pk == subscription.owner_id and now < cached[0]:
            return cached[1]
        owner = User.objects.get(pk=subscription.owner_id)
        self._owners[subscription.pk] = (now + OWNER_TTL, owner)
        return owner

    # -- queueing ----------------------------------------------------------------------------

    def dispatch(self) -> bool:
        """One pass: queue new events and replays, and claim due retries; whether work is left
        that the next pass should do at once."""
        busy = False
        subscriptions = self.refresh()
        top = sequencer.current().last_sequence
        for subscription in subscriptions:
            if subscription.destination.position >= top or not subscription.destination.active:
                continue
            busy = self._queue(subscription, dispatch.queue_new_events) or busy
        if time.monotonic() - self._swept >= SWEEP_SECONDS or not busy:
            self._swept = time.monotonic()
            busy = self._replays(subscriptions) or busy
            self.lanes.put(self.claim_due())
        return busy

    def _queue(self, subscription: WebhookSubscription, step: Any, *args: Any) -> bool:
        room = self.lanes.room(subscription.pk)
        if room <= 0:
            return False
        owner = self.owner(subscription)
        if not owner.is_active:
            services.disable(subscription.pk, "its owner's account was deactivated")
            return False
        done = step(
            *args,
            subscription,
            owner,
            limit=min(room, self.settings.batch),
            send_now=subscription.destination.failing_since is None,
            claim=self._claim,
            retry_first=self._first_retry,
        )
        if done is None:
            return False
        self.lanes.put(done.jobs)
        return done.full

    def _replays(self, subscriptions: list[WebhookSubscription]) -> bool:
        enabled = {s.pk: s for s in subscriptions}
        busy = False
        open_replays = WebhookReplay.objects.filter(
            finished_at__isnull=True, subscription_id__in=list(enabled)
        ).values_list("pk", "subscription_id")
        for replay_id, subscription_id in open_replays:
            busy = self._queue(enabled[subscription_id], dispatch.queue_replay, replay_id) or busy
        return busy

    def claim_due(self) -> list[Job]:
        """Claim pending deliveries whose next attempt is due (retries, and deliveries whose
        worker's claim ran out), as many as the lanes have room for."""
        room = self.settings.batch * 2 - self.lanes.waiting()
        if room <= 0 or not self.targets:
            return []
        now = clock.now()
        due = (
            WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
                subscription_id__in=list(self.targets),
            )
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .exclude(subscription_id__in=self.lanes.full())
            .order_by("next_attempt_at")
        )
        until = now + self._claim
        with transaction.atomic():
            rows = list(
                due.select_for_update(skip_locked=True).values(
                    "id",
                    "subscription_id",
                    "event_id",
                    "body",
                    "created_at",
                    "attempts",
                    "attempt_log",
                )[:room]
            )
            if not rows:
                return []
            WebhookDelivery.objects.filter(pk__in=[r["id"] for r in rows]).update(
                claimed_until=until
            )
        return [
            Job(
                delivery_id=r["id"],
                subscription_id=r["subscription_id"],
                event_id=str(r["event_id"]),
                body=r["body"],
                created_at=r["created_at"],
                claimed_until=until,
                attempts=r["attempts"],
                attempt_log=list(r["attempt_log"] or []),
            )
            for r in rows
        ]

    # -- sending -----------------------------------------------------------------------------

    def attempt(self, job: Job) -> Outcome:
        """POST one delivery and say how it went (never raises for the endpoint's faults)."""
        at = clock.now()
        target = self.targets.get(job.subscription_id)
        if target is None or at >= job.claimed_until:
            # Disabled or deleted meanwhile, or held so long that another worker may have it.
            return Outcome(job=job, at=at, released=True)
        headers = signing.headers(target.signers(at), message_id=job.event_id, at=at, body=job.body)
        headers |= {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            # The raw body is read (no decompression), so ask for none.
            "accept-encoding": "identity",
        }
        started = time.perf_counter()
        deadline = time.monotonic() + self.settings.connect_timeout + self.settings.read_timeout
        outcome = Outcome(job=job, at=at)
        request = httpx.Request(
            "POST",
            target.url,
            headers=headers,
            content=job.body.encode(),
            extensions={"timeout": self.timeouts},
        )
        try:
            response = self.transport.handle_request(request)
            try:
                received = bytearray()
                for chunk in response.iter_raw():
                    received += chunk
                    if len(received) >= self.settings.max_response_bytes:
                        break  # the rest is not needed: closing drops the connection
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the response took too long to arrive")
            finally:
                response.close()
            outcome.status = response.status_code
            outcome.excerpt = received[:EXCERPT].decode("utf-8", errors="replace")
            outcome.ok = 200 <= response.status_code < 300
            if 300 <= response.status_code < 400:
                location = response.headers.get("location", "")[:300]
                outcome.error = f"redirects are not followed (Location: {location})"
            elif not outcome.ok:
                outcome.error = f"the endpoint answered {response.status_code}"
        except httpx.TimeoutException as exc:
            outcome.error = f"timed out: {exc or type(exc).__name__}"
        except httpx.HTTPError as exc:
            outcome.error = str(exc) or type(exc).__name__
        outcome.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        outcome.error = outcome.error[:500]
        return outcome

    def _send(self, stop: threading.Event) -> None:
        while not stop.is_set():
            job = self.lanes.take(timeout=0.2)
            if job is None:
                continue
            try:
                outcome = self.attempt(job)
            except Exception as exc:  # a bug must not lose the delivery: it is retried
                log.exception("Sending webhook delivery %s failed", job.delivery_id)
                outcome = Outcome(job=job, at=clock.now(), error=f"internal error: {exc}"[:500])
            finally:
                self.lanes.done(job.subscription_id)
            self.outcomes.put(outcome)

    # -- recording ---------------------------------------------------------------------------

    def record(self, outcomes: list[Outcome]) -> None:
        """Write a batch of outcomes: the deliveries, the endpoints' health, and what gave up."""
        settings = self.settings
        rows = []
        released = []
        healthy: set[uuid.UUID] = set()
        failing: dict[uuid.UUID, tuple[dt.datetime, str]] = {}
        #: Per subscription, the latest first attempt of a delivery given up in this batch (the
        #: one most likely to show the endpoint failed all along).
        gave_up: dict[uuid.UUID, dt.datetime] = {}
        for outcome in outcomes:
            job = outcome.job
            if outcome.released:
                released.append(job.delivery_id)
                continue
            attempts = job.attempts + 1
            entry = {
                "at": outcome.at.isoformat(),
                "status": outcome.status,
                "latency_ms": outcome.latency_ms,
                "error": outcome.error,
            }
            attempt_log = [*job.attempt_log, entry]
            if len(attempt_log) > LOG_KEEP:
                attempt_log = attempt_log[:1] + attempt_log[-(LOG_KEEP - 1) :]
            values: dict[str, Any] = {
                "id": job.delivery_id,
                "attempts": attempts,
                "claimed_until": None,
                "last_attempt_at": outcome.at,
                "response_status": outcome.status,
                "latency_ms": outcome.latency_ms,
                "response_excerpt": outcome.excerpt,
                "error": outcome.error,
                "attempt_log": attempt_log,
                "delivered_at": None,
                "next_attempt_at": None,
            }
            if outcome.ok:
                values |= {"status": DeliveryStatus.DELIVERED, "delivered_at": outcome.at}
                healthy.add(job.subscription_id)
            else:
                wait = backoff(settings, attempts)
                if outcome.at + wait > job.created_at + settings.retry_for:
                    values["status"] = DeliveryStatus.FAILED
                    first = dt.datetime.fromisoformat(attempt_log[0]["at"])
                    gave_up[job.subscription_id] = max(
                        first, gave_up.get(job.subscription_id, first)
                    )
                else:
                    values |= {
                        "status": DeliveryStatus.PENDING,
                        "next_attempt_at": outcome.at + wait,
                    }
                if job.subscription_id not in failing:
                    failing[job.subscription_id] = (outcome.at, outcome.error)
            rows.append(values)
        with transaction.atomic():
            store(rows)
            if released:
                WebhookDelivery.objects.filter(
                    pk__in=released, status=DeliveryStatus.PENDING
                ).update(claimed_until=None)
            self._health(healthy, failing)
            for subscription_id, first_attempt in gave_up.items():
                services.give_up(subscription_id, first_attempt)

    def _health(
        self, healthy: set[uuid.UUID], failing: dict[uuid.UUID, tuple[dt.datetime, str]]
    ) -> None:
        """An endpoint fails from its first failed attempt after a success until its next
        success (``Destination.failing_since``); ``accord events status`` shows it."""
        if healthy:
            Destination.objects.filter(
                webhook__pk__in=list(healthy), failing_since__isnull=False
            ).update(failing_since=None, last_error="")
        for subscription_id, (at, error) in failing.items():
            if subscription_id in healthy:
                continue
            rows = Destination.objects.filter(webhook__pk=subscription_id)
            rows.filter(failing_since__isnull=True).update(failing_since=at)
            rows.update(last_error=error)

    def _record(self, senders_done: threading.Event) -> None:
        """The recorder thread: write outcomes in batches until the senders are done and every
        outcome is written."""
        pending: list[Outcome] = []
        failures = 0
        try:
            while True:
                if not pending:
                    try:
                        pending.append(self.outcomes.get(timeout=RECORD_WAIT * 4))
                    except queue.Empty:
                        if senders_done.is_set():
                            return
                        continue
                deadline = time.monotonic() + RECORD_WAIT
                while len(pending) < RECORD_BATCH:
                    try:
                        wait = max(deadline - time.monotonic(), 0)
                        pending.append(self.outcomes.get(timeout=wait))
                    except queue.Empty:
                        break
                try:
                    self.record(pending)
                    pending, failures = [], 0
                except DatabaseError as exc:
                    log.warning("Writing the webhook delivery log failed (retrying): %s", exc)
                    connection.close()
                    failures += 1
                    if senders_done.is_set() and failures >= 3:
                        # Shutting down with the database gone: the claims run out and another
                        # worker attempts these deliveries again (receivers deduplicate on ids).
                        return
                    time.sleep(1.0)
        finally:
            connections.close_all()

    # -- running -----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Dispatch, send and record until ``stop`` is set; then finish the attempts in flight,
        write their outcomes and give back the claims of what was not attempted."""
        halt = threading.Event()
        senders_done = threading.Event()
        senders = [
            threading.Thread(target=self._send, args=(halt,), name=f"webhook-send-{n}")
            for n in range(self.settings.threads)
        ]
        recorder = threading.Thread(
            target=self._record, args=(senders_done,), name="webhook-record"
        )
        for thread in [*senders, recorder]:
            thread.daemon = True
            thread.start()
        try:
            while not stop.is_set():
                try:
                    busy = self.dispatch()
                except DatabaseError as exc:
                    log.warning("Queueing webhook deliveries failed (retrying): %s", exc)
                    connection.close()
                    stop.wait(1.0)
                    continue
                if not busy:
                    stop.wait(self.settings.poll_seconds)
        finally:
            halt.set()
            for thread in senders:
                thread.join(self.settings.connect_timeout + self.settings.read_timeout + 5)
            senders_done.set()
            recorder.join(30)
            self._release(self.lanes.clear())
            self.transport.close()

    def _release(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        try:
            WebhookDelivery.objects.filter(
                pk__in=[j.delivery_id for j in jobs], status=DeliveryStatus.PENDING
            ).update(claimed_until=None)
        except DatabaseError:
            log.warning(
                "Could not give back %d webhook claims; they run out by themselves", len(jobs)
            )

    def drain(self, *, rounds: int = 100) -> None:
        """Queue, send and record in this thread until nothing is due (tests, ``--once``)."""
        for _ in range(rounds):
            self.dispatch()
            jobs = self.lanes.clear()
            if not jobs:
                return
            outcomes = [self.attempt(job) for job in jobs]
            self.record(outcomes)


def run(stop: threading.Event) -> None:
    from accord.integration.webhooks import config

    Engine(config.webhooks()).run(stop)


def start_in_background(stop: threading.Event) -> threading.Thread:
    """The webhook workers in threads of this process (a worker's or a relay's), restarted
    after a failure."""

    def target() -> None:
        pause = 1.0
        while not stop.is_set():
            try:
                run(stop)
            except Exception:
                log.exception("Webhook delivery failed; restarting it in %.0f s", pause)
            finally:
                connections.close_all()
            stop.wait(pause)
            pause = min(pause * 2, 30.0)

    thread = threading.Thread(target=target, name="webhook-dispatch", daemon=True)
    thread.start()
    return thread

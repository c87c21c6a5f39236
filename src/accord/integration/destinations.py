"""Where the relay publishes sequenced events: NATS JetStream or a Redis stream.

A destination receives a batch in sequence order and answers how many of its leading events it
has durably accepted; the relay stores that position, and starts the next batch right after it.
Publishing the same event twice is harmless: JetStream drops a repeated ``Nats-Msg-Id`` within
its duplicate window, and Redis refuses an entry id (the sequence) that is not above the last.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from accord.integration.config import NatsSettings, RedisSettings, RelaySettings

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Outgoing:
    """One sequenced event ready to leave: its CloudEvents JSON already carries ``sequence``."""

    sequence: int
    event_id: str
    type: str
    body: bytes


class Unavailable(Exception):
    """The destination cannot take events now (not connected, refused, timed out)."""


class Destination(Protocol):
    name: str
    kind: str

    def open(self) -> None:
        """Connect (and create what is missing); raises Unavailable."""

    def publish(self, events: Sequence[Outgoing]) -> tuple[int, str | None]:
        """Publish ``events`` in order; how many leading events were acknowledged, and why the
        rest were not (None when all were). Raises Unavailable when none could be sent."""

    def close(self) -> None: ...


def configured(settings: RelaySettings) -> list[Destination]:
    found: list[Destination] = []
    if settings.nats is not None:
        found.append(NatsDestination(settings.nats, ack_timeout=settings.ack_timeout))
    if settings.redis is not None:
        found.append(RedisDestination(settings.redis, timeout=settings.ack_timeout))
    return found


def subject(prefix: str, event_type: str) -> str:
    """``accord.contact.updated`` under ``prefix``: ``<prefix>.contact.updated``."""
    return f"{prefix}.{event_type.removeprefix('accord.')}"


class NatsDestination:
    """A JetStream stream (created when missing, capturing ``<prefix>.>``).

    nats-py is asynchronous; the relay is not. The client lives on an event loop in a thread of
    its own, and each batch is handed to it whole. Every message of a batch is sent at once with
    its own reply subject under one inbox this destination subscribes to (JetStream answers each
    publish there), and the batch then waits for all acknowledgements together, at most
    ``ack_timeout``: the acks are pipelined, not awaited one by one.
    """

    kind = "nats"
    #: How long JetStream remembers message ids to drop repeats (when it creates the stream).
    DUPLICATE_WINDOW = 120.0

    def __init__(self, settings: NatsSettings, *, ack_timeout: float) -> None:
        self.settings = settings
        self.name = f"nats:{settings.stream}"
        self.ack_timeout = ack_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Any = None
        self._inbox = ""
        self._batch: _Batch | None = None
        self._batches = 0

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="nats-relay", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise Unavailable(f"NATS did not answer within {timeout:g} s") from None

    def open(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            return
        try:
            self._run(self._connect(), timeout=self.ack_timeout + 2)
        except Exception as exc:
            raise Unavailable(
                f"cannot connect to NATS at {self._where()}: {exc or type(exc).__name__}"
            ) from None

    def _where(self) -> str:
        """The first server of the URL, without credentials."""
        first = self.settings.url.split(",")[0].strip()
        return first.rsplit("@", 1)[-1] if "@" in first else first

    async def _connect(self) -> None:
        import nats
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        async def quiet(exc: Exception) -> None:
            log.debug("NATS: %s", exc)

        nc = await nats.connect(
            self.settings.url,
            name="accord-relay",
            connect_timeout=1,
            allow_reconnect=True,
            # One retry when connecting, so a server that is down fails this call quickly (the
            # relay tries again later) ...
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=quiet,
        )
        # ... but once connected, never give up reconnecting after an outage.
        nc.options["max_reconnect_attempts"] = -1
        try:
            js = nc.jetstream(timeout=self.ack_timeout)
            stream = self.settings.stream
            try:
                await js.stream_info(stream)
            except NotFoundError:
                await js.add_stream(
                    StreamConfig(
                        name=stream,
                        subjects=[f"{self.settings.subject_prefix}.>"],
                        storage=StorageType.FILE,
                        duplicate_window=self.DUPLICATE_WINDOW,
                    )
                )
                log.info("Created the JetStream stream %s", stream)
            inbox = nc.new_inbox()
            await nc.subscribe(f"{inbox}.*", cb=self._on_ack)
        except BaseException:
            await nc.close()
            raise
        self._nc, self._inbox = nc, inbox

    async def _on_ack(self, msg: Any) -> None:
        batch = self._batch
        token = msg.subject.rsplit(".", 1)[-1]
        number, _, index = token.partition("-")
        if batch is None or number != batch.number or not index.isdigit():
            return  # the answer to a batch that already timed out
        if msg.headers and msg.headers.get("Status") == "503":
            batch.answer(int(index), f"no JetStream stream captures {msg.subject!r}")
            return
        try:
            answer = json.loads(msg.data)
        except ValueError:
            batch.answer(int(index), f"unreadable acknowledgement {msg.data[:200]!r}")
            return
        if "error" in answer:
            batch.answer(int(index), f"JetStream refused an event: {answer['error']}")
        elif answer.get("stream") != self.settings.stream:
            batch.answer(int(index), f"stored in stream {answer.get('stream')!r}, not ours")
        else:
            batch.answer(int(index), None)

    def publish(self, events: Sequence[Outgoing]) -> tuple[int, str | None]:
        if self._nc is None or not self._nc.is_connected:
            raise Unavailable("not connected to NATS")
        # The loop-side wait ends after ack_timeout; this one only guards against a stuck loop.
        return self._run(self._publish(events), timeout=self.ack_timeout + 5)

    async def _publish(self, events: Sequence[Outgoing]) -> tuple[int, str | None]:
        self._batches += 1
        batch = _Batch(str(self._batches), len(events))
        self._batch = batch
        prefix, nc = self.settings.subject_prefix, self._nc
        reply = f"{self._inbox}.{batch.number}-"
        sent = 0
        error: str | None = None
        try:
            for index, event in enumerate(events):
                await nc.publish(
                    subject(prefix, event.type),
                    event.body,
                    reply=f"{reply}{index}",
                    headers={"Nats-Msg-Id": event.event_id},
                )
                sent += 1
        except Exception as exc:
            error = f"publishing failed: {exc or type(exc).__name__}"
        if not sent:
            self._batch = None
            raise Unavailable(error or "nothing was sent")
        batch.expect(sent)
        try:
            await asyncio.wait_for(batch.complete.wait(), self.ack_timeout)
        except TimeoutError:
            pass
        finally:
            self._batch = None
        acked, refused = batch.acknowledged()
        if acked < sent:
            error = refused or f"no acknowledgement within {self.ack_timeout:g} s"
        return acked, error

    def close(self) -> None:
        if self._loop is None:
            return
        if self._nc is not None:
            try:
                self._run(self._nc.close(), timeout=5)
            except Exception:  # closing a broken connection must not stop the shutdown
                log.debug("closing the NATS connection failed", exc_info=True)
            self._nc = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop.close()
        self._loop = self._thread = None


class _Batch:
    """The acknowledgements of one batch as they arrive (on the event loop's thread)."""

    def __init__(self, number: str, size: int) -> None:
        self.number = number
        self.answers: list[str | bool | None] = [False] * size  # False: no answer yet
        self.waiting = size
        self.complete = asyncio.Event()

    def expect(self, sent: int) -> None:
        """Only ``sent`` messages went out: stop waiting for the others."""
        unsent = len(self.answers) - sent
        self.answers = self.answers[:sent]
        self.waiting -= unsent
        if self.waiting <= 0:
            self.complete.set()

    def answer(self, index: int, error: str | None) -> None:
        if index >= len(self.answers) or self.answers[index] is not False:
            return
        self.answers[index] = error
        self.waiting -= 1
        if self.waiting <= 0:
            self.complete.set()

    def acknowledged(self) -> tuple[int, str | None]:
        """How many leading messages were stored, and the first refusal, if any."""
        for index, answer in enumerate(self.answers):
            if answer is not None:
                return index, answer if isinstance(answer, str) else None
        return len(self.answers), None


class RedisDestination:
    """A Redis stream (``XADD``); each entry's id is ``<sequence>-0``, so a repeated event is
    refused by Redis itself and the stream is ordered as the outbox is."""

    kind = "redis"

    def __init__(self, settings: RedisSettings, *, timeout: float) -> None:
        import redis

        self.settings = settings
        self.name = f"redis:{settings.stream}"
        self.client = redis.Redis.from_url(
            settings.url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def open(self) -> None:
        import redis

        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise Unavailable(f"cannot reach Redis: {exc}") from None

    def publish(self, events: Sequence[Outgoing]) -> tuple[int, str | None]:
        import redis

        pipe = self.client.pipeline(transaction=False)
        for event in events:
            pipe.xadd(
                self.settings.stream,
                {"id": event.event_id, "type": event.type, "event": event.body},
                id=f"{event.sequence}-0",
                maxlen=self.settings.maxlen or None,
                approximate=True,
            )
        try:
            results = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            raise Unavailable(f"Redis: {exc}") from None
        acked = 0
        for result in results:
            if isinstance(result, Exception) and "equal or smaller" not in str(result):
                return acked, f"Redis refused an event: {result}"
            acked += 1  # added now, or an earlier attempt added it
        return acked, None

    def close(self) -> None:
        self.client.close()

"""Claimed deliveries waiting for a sending thread, one lane per subscription."""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Iterable

from accord.integration.webhooks.dispatch import Job


class Lanes:
    """Claimed deliveries waiting for a sender, one lane per subscription.

    Senders take from the lanes in turn, and from a lane only while fewer than
    ``per_endpoint`` of its deliveries are in flight, so a slow endpoint holds at most that many
    threads and the others keep flowing. A lane holds at most ``cap`` deliveries (queued and in
    flight); the dispatcher queues no more for a full one.
    """

    def __init__(self, *, per_endpoint: int, cap: int) -> None:
        self.per_endpoint = per_endpoint
        self.cap = cap
        self._lanes: dict[uuid.UUID, deque[Job]] = {}
        self._busy: dict[uuid.UUID, int] = {}
        self._turns: deque[uuid.UUID] = deque()
        self._ready = threading.Condition()

    def _held(self, subscription_id: uuid.UUID) -> int:
        return len(self._lanes.get(subscription_id, ())) + self._busy.get(subscription_id, 0)

    def room(self, subscription_id: uuid.UUID) -> int:
        """How many more deliveries of the subscription the lanes take."""
        with self._ready:
            return max(self.cap - self._held(subscription_id), 0)

    def full(self) -> list[uuid.UUID]:
        with self._ready:
            return [s for s in self._lanes if self._held(s) >= self.cap]

    def waiting(self) -> int:
        with self._ready:
            return sum(len(lane) for lane in self._lanes.values())

    def put(self, jobs: Iterable[Job]) -> None:
        with self._ready:
            added: dict[uuid.UUID, int] = {}
            for job in jobs:
                lane = self._lanes.get(job.subscription_id)
                if lane is None:
                    lane = self._lanes[job.subscription_id] = deque()
                    self._turns.append(job.subscription_id)
                lane.append(job)
                added[job.subscription_id] = added.get(job.subscription_id, 0) + 1
            # Wake only as many senders as may start on the new work: waking every sender for
            # every delivery cost more CPU than sending it.
            self._ready.notify(
                sum(
                    min(count, max(self.per_endpoint - self._busy.get(lane, 0), 0))
                    for lane, count in added.items()
                )
            )

    def _next(self) -> Job | None:
        for _ in range(len(self._turns)):
            subscription_id = self._turns[0]
            self._turns.rotate(-1)
            lane = self._lanes[subscription_id]
            if lane and self._busy.get(subscription_id, 0) < self.per_endpoint:
                self._busy[subscription_id] = self._busy.get(subscription_id, 0) + 1
                return lane.popleft()
        return None

    def take(self, timeout: float) -> Job | None:
        with self._ready:
            job = self._next()
            if job is None:
                self._ready.wait(timeout)
                job = self._next()
            return job

    def done(self, subscription_id: uuid.UUID) -> None:
        with self._ready:
            self._busy[subscription_id] -= 1
            if not self._busy[subscription_id]:
                del self._busy[subscription_id]
                if not self._lanes[subscription_id]:
                    del self._lanes[subscription_id]
                    self._turns.remove(subscription_id)
            # No one is woken: the sender that finished takes the freed place itself.

    def clear(self) -> list[Job]:
        """Everything still waiting (at shutdown), removed from the lanes."""
        with self._ready:
            left = [job for lane in self._lanes.values() for job in lane]
            for lane in self._lanes.values():
                lane.clear()
            for subscription_id in [s for s, lane in self._lanes.items() if not lane]:
                if not self._busy.get(subscription_id):
                    del self._lanes[subscription_id]
                    self._turns.remove(subscription_id)
            return left

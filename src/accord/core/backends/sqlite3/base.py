"""Django's SQLite backend, with writers queued on a lock file instead of SQLite's busy handler.

SQLite lets one writer in at a time. A second one (``BEGIN IMMEDIATE`` under the busy timeout)
sleeps 1, 2, 5, 10, ... up to 100 ms between tries, whenever the lock frees. Under eight
concurrent API clients most waits ended long after the lock was free: the throughput of one
client, and a p99 of half a second.

Here a connection queues before its ``BEGIN IMMEDIATE``: first on a lock of its process (the
threads of one process are woken in turn, at once), then on an exclusive ``flock`` of the file
``<database>-writers``, taken between processes with short polls. SQLite's own lock and busy
timeout still decide; the queue only means a writer seldom finds the database locked. A writer
that waits longer than the busy timeout goes on to ``BEGIN`` anyway, as before.

The ``BEGIN IMMEDIATE`` itself waits for the transaction's first statement: what a transaction
does in Python before it (a create builds its record, search entry, history entry and event,
see ``core.rows.together``) then runs beside other writers instead of holding the lock. Every
statement of the transaction still runs after the BEGIN, so nothing it reads or writes differs.
"""

from __future__ import annotations

import fcntl
import functools
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from django.db.backends.sqlite3 import base

#: Pauses between two tries of the lock file, doubling from the first to the most: a turn
#: lasts a fraction of a millisecond. Starting at 0.2 ms and going to 2 ms left the two cores
#: idle 17-20 % of an eight-client run; from 0.05 to 0.5 ms, 11-14 % (and 8 % more requests).
POLL_FIRST = 0.00005
POLL_MAX = 0.0005


class WriterQueue:
    """The writers of one database file in this process: one at a time, in the process and
    across processes."""

    def __init__(self, path: str) -> None:
        self.path = f"{path}-writers"
        self._turn = threading.Lock()
        # Each process opens the file itself (a forked child gets queues of its own, see
        # below): an inherited descriptor would share the parent's flock.
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def acquire(self, timeout: float) -> bool:
        """Wait for the turn of this thread; False when ``timeout`` passed first (the caller
        goes on without it and must not release)."""
        deadline = time.monotonic() + timeout
        if not self._turn.acquire(timeout=timeout):
            return False
        try:
            pause = POLL_FIRST
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(pause)
                    pause = min(pause * 2, POLL_MAX)
        except BaseException:
            self._turn.release()
            raise
        self._turn.release()
        return False

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._turn.release()


_queues: dict[str, WriterQueue] = {}
_queues_lock = threading.Lock()
# A forked child starts with queues of its own: one of its parent's might be taken, by a
# thread the child does not have, and its descriptor shares the parent's flock.
os.register_at_fork(after_in_child=_queues.clear)


def writer_queue(path: str) -> WriterQueue:
    """The queue of ``path`` in this process. (Two spellings of one file get two queues, which
    still exclude each other through the lock file.)"""
    queue = _queues.get(path)
    if queue is None:
        with _queues_lock:
            queue = _queues.get(path)
            if queue is None:
                queue = _queues[path] = WriterQueue(os.path.realpath(path))
    return queue


# The stubs leave out the private methods overridden here.
_Wrapper: Any = base.DatabaseWrapper
_Cursor: Any = base.SQLiteCursorWrapper


class DatabaseWrapper(_Wrapper):
    """Begins a writing transaction at its first statement, after taking the writer queue;
    leaves the queue at commit, rollback or close."""

    _queued: WriterQueue | None = None
    #: A transaction was started and its BEGIN waits for the first statement.
    _begin_pending = False

    def _writer_queue(self) -> WriterQueue | None:
        if self.transaction_mode not in ("IMMEDIATE", "EXCLUSIVE") or self.is_in_memory_db():
            return None
        return writer_queue(str(self.settings_dict["NAME"]))

    def _wait_at_most(self) -> float:
        """As long as SQLite's busy handler would wait."""
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def _start_transaction_under_autocommit(self) -> None:
        if self._writer_queue() is None:
            super()._start_transaction_under_autocommit()
        else:
            self._begin_pending = True

    def begin_pending(self) -> None:
        """Send the BEGIN a transaction holds back, once its queue turn is taken."""
        if not self._begin_pending:
            return
        self._begin_pending = False
        queue = self._writer_queue()
        if queue is not None and self._queued is None and queue.acquire(self._wait_at_most()):
            self._queued = queue
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._leave_queue()
            raise

    @contextmanager
    def queued_statement(self) -> Iterator[None]:
        """A writing statement outside a transaction (SQLite's own implicit one) takes its
        turn too: left to the busy handler it would sleep while the queue moves on."""
        queue = self._writer_queue()
        if queue is None or self._queued is not None or not queue.acquire(self._wait_at_most()):
            yield
            return
        try:
            yield
        finally:
            queue.release()

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=Cursor)
        cursor.owner = self
        return cursor

    def _commit(self) -> Any:
        with self._ending():
            return super()._commit()

    def _rollback(self) -> Any:
        with self._ending():
            return super()._rollback()

    def _close(self) -> Any:
        with self._ending():
            return super()._close()

    @contextmanager
    def _ending(self) -> Iterator[None]:
        """The transaction ends in the block: nothing is pending, and the turn goes back
        whether the block succeeds or not."""
        self._begin_pending = False
        try:
            yield
        finally:
            self._leave_queue()

    def _leave_queue(self) -> None:
        queue, self._queued = self._queued, None
        if queue is not None:
            queue.release()


#: Statements up to this long keep their "?" form: Django rewrites every "%s" with a regular
#: expression on each execute (4 % of a create), and the same few texts come back all the time.
_QMARK_CACHED_UP_TO = 4_000


@functools.lru_cache(maxsize=512)
def _qmark(query: str) -> str:
    return str(base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%"))


#: How a statement that writes begins (after white space, in any case).
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class Cursor(_Cursor):
    """Django's cursor: sends its connection's pending BEGIN before a statement, and queues
    a writing statement sent outside any transaction."""

    owner: DatabaseWrapper

    def execute(self, query: str, params: Any = None) -> Any:
        with self._turn(query):
            return super().execute(query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        with self._turn(query):
            return super().executemany(query, param_list)

    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        if param_names is None and len(query) <= _QMARK_CACHED_UP_TO:
            return _qmark(query)
        return str(super().convert_query(query, param_names=param_names))

    def _turn(self, query: str) -> AbstractContextManager[None]:
        owner = self.owner
        if owner._begin_pending:
            owner.begin_pending()
        elif not self.connection.in_transaction and query.lstrip()[:7].upper().startswith(_WRITES):
            return owner.queued_statement()
        return nullcontext()

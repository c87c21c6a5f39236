"""SQLite's writers take turns on a lock file (core.backends.sqlite3): a transaction takes its
turn with its first statement, not when it opens, and gives it back however it ends; writers of
many threads all get through."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, connections, transaction

from accord.parties import services
from accord.parties.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the writer queue is SQLite's")


@contextmanager
def _lock_file() -> Iterator[int]:
    """The queue's lock file, opened apart from the connection's own (as another process)."""
    path = f"{os.path.realpath(connection.settings_dict['NAME'])}-writers"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        yield fd
    finally:
        os.close(fd)


def _taken() -> bool:
    """Whether some writer holds its turn now."""
    with _lock_file() as fd:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False


def test_a_transaction_takes_its_turn_at_its_first_statement(admin):
    with transaction.atomic():
        assert not _taken()  # opened, nothing sent: others may write
        assert not connection.connection.in_transaction
        Contact.objects.exists()
        assert _taken()
        assert connection.connection.in_transaction
    assert not _taken()


def test_a_failed_transaction_gives_its_turn_back(admin):
    taken = services.contacts.create(actor=admin, data={"last_name": "Taken"})
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(
            id=taken.pk, last_name="Twin", created_by=admin, updated_by=admin, owner=admin
        )
    assert not _taken()
    with transaction.atomic():
        Contact.objects.exists()
        connection.close()  # closed mid-transaction: the turn goes with the connection
    assert not _taken()


def test_a_transaction_that_sends_nothing_holds_no_turn(admin):
    with transaction.atomic():
        pass
    assert not _taken()
    assert not connection.connection.in_transaction


def test_writers_of_many_threads_all_get_through(admin):
    errors: list[tuple[int, BaseException]] = []

    def write(worker: int) -> None:
        try:
            for n in range(15):
                services.contacts.create(
                    actor=admin,
                    data={"last_name": f"W{worker}", "emails": [f"w{worker}.{n}@example.com"]},
                )
        except BaseException as exc:  # reported below, with the thread's number
            errors.append((worker, exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Contact.objects.filter(last_name__startswith="W").count() == 90
    assert not _taken()


def test_a_forked_process_takes_turns_of_its_own(admin):
    with transaction.atomic():
        Contact.objects.exists()  # this process holds its turn while it forks
        pid = os.fork()
        if pid == 0:
            # The child: its queue must not be the parent's, taken by a thread it lacks; it
            # gets the turn once the parent commits.
            from accord.core.backends.sqlite3.base import writer_queue

            got = writer_queue(str(connection.settings_dict["NAME"])).acquire(20)
            os._exit(0 if got else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

"""The background worker: ticks the scheduler and runs queued django-tasks jobs.

``accord worker`` runs it; ``accord serve`` starts it as a supervised child process (never inside
granian's forked web workers).
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Worker

from accord.core import scheduler

log = logging.getLogger(__name__)


def run(*, interval: float = 1.0, stop: threading.Event | None = None, once: bool = False) -> None:
    """Loop until ``stop`` is set (or after one pass with ``once``)."""
    stop = stop or threading.Event()
    scheduler.sync()
    jobs = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"{socket.gethostname()}-{os.getpid()}",
        excluded_queue_names=[],
    )
    while not stop.is_set():
        close_old_connections()
        scheduler.tick()
        jobs.run()
        close_old_connections()
        if once:
            return
        stop.wait(interval)

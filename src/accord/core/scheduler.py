"""Periodic jobs without a cron: domains register schedules, the worker ticks them.

A tick claims the due rows under a row lock (``SKIP LOCKED`` on PostgreSQL, so several workers
never enqueue the same run twice), enqueues each job through django-tasks in the same
transaction, and moves ``next_run_at`` on. A worker that was down simply runs a late job once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.module_loading import import_string

from accord.core import clock
from accord.core.models import Schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    task_path: str
    interval: dt.timedelta


_registered: dict[str, Job] = {}


def register(name: str, task_path: str, *, every: dt.timedelta) -> None:
    """Declare a periodic job (call from an AppConfig.ready)."""
    _registered[name] = Job(name, task_path, every)


def registered() -> dict[str, Job]:
    return dict(_registered)


def sync() -> None:
    """Create the rows of newly registered schedules; existing rows keep operator changes."""
    now = clock.now()
    existing = set(Schedule.objects.values_list("name", flat=True))
    Schedule.objects.bulk_create(
        Schedule(name=job.name, task_path=job.task_path, interval=job.interval, next_run_at=now)
        for job in _registered.values()
        if job.name not in existing
    )


def tick() -> list[str]:
    """Enqueue every due job once; returns their names."""
    now = clock.now()
    ran: list[str] = []
    with transaction.atomic():
        due = Schedule.objects.filter(enabled=True, next_run_at__lte=now).order_by("name")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        for schedule in due:
            try:
                task = import_string(schedule.task_path)
            except ImportError:
                log.error("Schedule %s names unknown task %s", schedule.name, schedule.task_path)
                continue
            task.enqueue()
            schedule.last_run_at = now
            schedule.next_run_at = now + schedule.interval
            schedule.save(update_fields=["last_run_at", "next_run_at"])
            ran.append(schedule.name)
    return ran

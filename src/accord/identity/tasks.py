"""Identity's background jobs."""

from __future__ import annotations

from django.db.models import Q
from django_tasks import task

from accord.core import clock
from accord.identity.models import LoginThrottle
from accord.identity.ratelimit import login_policy


@task()
def purge_login_throttles() -> int:
    """Drop sign-in failure counters whose window and lockout are over. Guessing at made-up
    names leaves one row per name, so without this the table only grows."""
    now = clock.now()
    over = LoginThrottle.objects.filter(window_started_at__lt=now - login_policy().window).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    deleted, _ = over.delete()
    return deleted

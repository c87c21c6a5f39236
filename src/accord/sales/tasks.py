"""Sales background jobs."""

from __future__ import annotations

from django_tasks import task

from accord.sales import webforms


@task()
def purge_web_form_submissions() -> int:
    """Forget web form submissions that have left the rate limit's window."""
    return webforms.purge_submissions()

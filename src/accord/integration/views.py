"""The event backbone's status page for administrators: the figures of ``accord events status``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accord.identity.views.common import settings_page
from accord.integration.queries import status


@settings_page
@require_http_methods(["GET"])
def events_status(request: HttpRequest) -> HttpResponse:
    """Backlog, sequencer lease, and each destination's position, lag and last error."""
    return render(request, "integration/events_status.html", {"status": status()})

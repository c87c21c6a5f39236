"""Settings pages for auditing access: the security log and "explain access"."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accord.core.errors import InvalidInput, NotFound
from accord.core.models import record_types
from accord.core.pagination import ListParams
from accord.identity import forms, queries
from accord.identity.views.common import PAGE_SIZE, page_links, settings_page, show_errors


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


@settings_page
@require_http_methods(["GET"])
def security_log(request: HttpRequest) -> HttpResponse:
    """Sign-ins, failures, MFA, token and access-model changes, newest first, filtered by
    kind, outcome, actor and day (UTC), a page at a time."""
    form = forms.SecurityLogFilter(request.GET or None)
    events: list[Any] = []
    next_cursor = None
    status = 200
    if not request.GET or form.is_valid():
        filters = form.cleaned_data if request.GET else {}
        actor_id: Any = None
        unknown_actor = False
        if filters.get("actor"):
            actor = queries.user_by_username(filters["actor"])
            actor_id = actor.pk if actor else None
            unknown_actor = actor is None
        if unknown_actor:
            form.add_error("actor", "No user has this username.")
            status = 422
        else:
            since, until = filters.get("since"), filters.get("until")
            params = ListParams(cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE)
            try:
                events, next_cursor = queries.list_security_events(
                    request.user,
                    params,
                    kind=filters.get("kind") or None,
                    outcome=filters.get("outcome") or None,
                    actor_id=actor_id,
                    since=_day_start(since) if since else None,
                    until=_day_start(until + dt.timedelta(days=1)) if until else None,
                )
            except InvalidInput as exc:
                status = show_errors(form, exc)
    else:
        status = 422
    return render(
        request,
        "identity/security_log.html",
        {"form": form, "events": events, **page_links(request, next_cursor)},
        status=status,
    )


@settings_page
@require_http_methods(["GET"])
def explain(request: HttpRequest) -> HttpResponse:
    """Pick a person and a record: whether they may see, edit and delete it, and every rule
    that grants it, from the same code that filters their lists."""
    types = sorted(record_types())
    form = forms.ExplainForm(request.GET or None, object_types=types)
    answer = None
    status = 200
    if request.GET and form.is_valid():
        try:
            answer = queries.explain_access(
                request.user,
                user_id=form.cleaned_data["user_id"],
                object_type=form.cleaned_data["object_type"],
                record_id=form.cleaned_data["record_id"],
            )
        except InvalidInput as exc:
            status = show_errors(form, exc)
        except NotFound:
            form.add_error("record_id", "No such record, or not one you can see.")
            status = 404
    elif request.GET:
        status = 422
    return render(request, "identity/explain.html", {"form": form, "answer": answer}, status=status)

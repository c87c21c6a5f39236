"""Saving a list view (its query string) for oneself, a team or one's department, and
removing a saved view."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accord.web.models import SavedView, views_for
from accord.web.recordkit import record_page
from accord.web.records import RecordType

#: Query parameters a saved view keeps (never the page it was on).
DROPPED = ("cursor", "view")


def audiences(user: Any) -> list[tuple[str, str]]:
    """Who ``user`` may share a view with: themselves, one of their teams, their department."""
    found = [("personal", "Only me")]
    found += [(f"team:{t.pk}", f"Team {t.name}") for t in user.teams.all()]
    if user.department_id:
        found.append(("department", f"Department {user.department}"))
    return found


def choices(request: HttpRequest, rt: RecordType) -> list[dict[str, Any]]:
    return [
        {
            "id": v.pk,
            "name": v.name,
            "url": f"{request.path}?{v.query}" if v.query else request.path,
            "audience": v.audience,
            "mine": v.owner_id == request.user.pk,
        }
        for v in views_for(request.user, rt.name)
    ]


@require_POST
@record_page
def save(request: HttpRequest, rt: RecordType) -> HttpResponse:
    user: Any = request.user
    name = request.POST.get("name", "").strip()[:100]
    query = request.POST.get("query", "")
    back = f"/records/{rt.name}/?{query}" if query else f"/records/{rt.name}/"
    if not name:
        messages.error(request, "Give the view a name to save it.")
        return redirect(back)
    kept = [(k, v) for k, v in _pairs(query) if k not in DROPPED]
    view = SavedView(owner=user, record_type=rt.name, name=name, query=urlencode(kept)[:2000])
    audience = request.POST.get("audience", "personal")
    if audience not in dict(audiences(user)):
        messages.error(request, "You may share a view only with your own team or department.")
        return redirect(back)
    if audience.startswith("team:"):
        view.team_id = audience.removeprefix("team:")
    elif audience == "department":
        view.department_id = user.department_id
    view.save()
    messages.success(request, f"View “{name}” saved for {view.audience}.")
    return redirect(back)


def _pairs(query: str) -> list[tuple[str, str]]:
    from django.http import QueryDict

    return [(k, v) for k, values in QueryDict(query).lists() for v in values]


@require_POST
@record_page
def delete(request: HttpRequest, rt: RecordType, view_id: Any) -> HttpResponse:
    """Only the person who saved a view removes it."""
    user: Any = request.user
    view = SavedView.objects.filter(pk=view_id, owner=user, record_type=rt.name).first()
    if view is None:
        raise Http404
    view.delete()
    messages.success(request, f"View “{view.name}” removed.")
    return redirect(f"/records/{rt.name}/")

"""What every page of the shell needs: the navigation the signed-in user may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accord.activities.notifications import unread_count
from accord.web.pages import ADMIN, site


def _current(request: HttpRequest, urls: dict[str, str]) -> str | None:
    """The workspace a page names (``request.accord_workspace``: record pages, whose paths are
    shared by all types), else the one whose landing page is the longest prefix of the path."""
    named = getattr(request, "accord_workspace", None)
    if named in urls:
        return str(named)
    best, length = None, 0
    for key, url in urls.items():
        if request.path.startswith(url) and len(url) > length:
            best, length = key, len(url)
    return best


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    workspaces = site.workspaces_for(user)
    urls = {w.key: reverse(w.url) for w in workspaces}
    current = _current(request, urls)
    return {
        "nav_workspaces": [
            {"key": w.key, "label": w.label, "url": urls[w.key], "current": w.key == current}
            for w in workspaces
        ],
        "nav_current": current,
        "nav_pages": site.pages_for(user, current) if current and current != ADMIN else [],
        "settings_groups": _settings_groups(request, user) if current == ADMIN else [],
        # One COUNT over a partial index (activities' notification_unread).
        "inbox_unread": unread_count(user),
    }


def _settings_groups(request: HttpRequest, user: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    groups = []
    for group, sections in site.settings_groups(user):
        entries = []
        for section in sections:
            url = reverse(section.url)
            entries.append(
                {
                    "label": section.label,
                    "url": url,
                    "description": section.description,
                    # A section's own pages (a user's edit page) keep it marked in the menu.
                    "current": "page" if request.path == url else request.path.startswith(url),
                }
            )
        groups.append((group, entries))
    return groups

"""The staff web app's inbox: a person's notifications and how they want to get them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from accord.activities import notifications
from accord.activities.models import Channel, Notification, NotificationKind
from accord.core.errors import InvalidInput, NotFound

PAGE_SIZE = 50

KIND_LABELS = {
    NotificationKind.ASSIGNMENT: "Assignments to me",
    NotificationKind.MENTION: "Mentions of me",
    NotificationKind.SLA_WARNING: "SLA warnings",
    NotificationKind.SYSTEM: "System messages",
}


def record_link(notification: Notification) -> str | None:
    """The record page a notification is about, when the web app has one for its type."""
    if not notification.object_type or notification.object_id is None:
        return None
    try:
        return reverse("records:detail", args=[notification.object_type, notification.object_id])
    except NoReverseMatch:
        return None


def _links(request: HttpRequest, next_cursor: str | None) -> dict[str, str | None]:
    params = request.GET.copy()
    params.pop("cursor", None)
    first = f"?{params.urlencode()}" if request.GET.get("cursor") else None
    following = None
    if next_cursor:
        params["cursor"] = next_cursor
        following = f"?{params.urlencode()}"
    return {"first_page": first, "next_page": following}


@require_http_methods(["GET"])
def inbox(request: HttpRequest) -> HttpResponse:
    """The signed-in person's notifications, newest first, or only the unread ones."""
    unread = request.GET.get("show") == "unread"
    try:
        rows, next_cursor = notifications.list_inbox(
            request.user,
            unread=unread,
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except InvalidInput:
        return redirect(f"{reverse('activities:inbox')}{'?show=unread' if unread else ''}")
    entries = [{"notification": n, "link": record_link(n)} for n in rows]
    return render(
        request,
        "activities/inbox.html",
        {"entries": entries, "unread_only": unread, **_links(request, next_cursor)},
    )


@require_http_methods(["POST"])
def mark_read(request: HttpRequest, notification_id: Any) -> HttpResponse:
    try:
        notifications.mark_read(request.user, notification_id)
    except NotFound:
        raise Http404 from None
    return redirect("activities:inbox")


@require_http_methods(["POST"])
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notifications.mark_all_read(request.user)
    return redirect("activities:inbox")


class PreferencesForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in KIND_LABELS.items():
            self.fields[str(kind)] = forms.ChoiceField(
                label=label,
                choices=[
                    (Channel.IN_APP, "In the inbox"),
                    (Channel.EMAIL_IMMEDIATE, "In the inbox and by email at once"),
                    (Channel.EMAIL_DIGEST, "In the inbox and in a daily email digest"),
                    (Channel.OFF, "Not at all"),
                ],
            )


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """How the signed-in person gets each kind of notification."""
    status = 200
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            notifications.set_preferences(request.user, form.cleaned_data)
            return redirect("activities:inbox-preferences")
        status = 422
    else:
        form = PreferencesForm(initial=notifications.preferences(request.user))
    return render(request, "activities/preferences.html", {"form": form}, status=status)

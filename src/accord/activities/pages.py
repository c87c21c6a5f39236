"""What activities adds to the staff web app: the notification inbox. Plain declarations that
``accord.web`` reads at start-up (see ``accord.web.pages``); activities does not import web.
The unread count in the shell comes from ``accord.web.context`` (notifications.unread_count)."""

from __future__ import annotations

from django.urls import path

from accord.activities import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read-all", views.mark_all_read, name="inbox-read-all"),
    path("inbox/preferences/", views.preferences, name="inbox-preferences"),
    path("inbox/<uuid:notification_id>/read", views.mark_read, name="inbox-read"),
]

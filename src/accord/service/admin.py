from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accord.service.models import Case, Queue


class ReadOnly(admin.ModelAdmin):
    """A change saved in the admin would skip field history and the outbox event, so cases and
    queues are changed through the API (or the staff app) only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Queue)
class QueueAdmin(ReadOnly):
    list_display = ("name", "active", "updated_at")
    search_fields = ("name",)


@admin.register(Case)
class CaseAdmin(ReadOnly):
    list_display = ("number", "subject", "status", "priority", "queue", "owner", "opened_at")
    list_filter = ("status", "priority", "origin")
    search_fields = ("subject",)
    raw_id_fields = ("account", "contact", "product", "queue", "owner")

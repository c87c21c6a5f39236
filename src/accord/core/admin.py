from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accord.core.models import HistoryEntry, OutboxEvent, Schedule


class ReadOnly(admin.ModelAdmin):
    """History and events are evidence: visible to administrators, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ReadOnly):
    list_display = ("at", "object_type", "object_id", "verb", "version", "actor", "source")
    list_filter = ("object_type", "verb", "source")
    search_fields = ("object_id",)


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnly):
    list_display = ("id", "type", "object_id", "record_version", "created_at", "sequence")
    list_filter = ("object_type",)
    search_fields = ("object_id", "event_id")


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "interval", "enabled", "next_run_at", "last_run_at")
    list_editable = ("enabled",)
    readonly_fields = ("name", "task_path", "last_run_at")

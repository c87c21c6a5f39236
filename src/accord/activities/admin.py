from django.contrib import admin

from accord.activities.models import Call, EmailLog, Meeting, Note, Task
from accord.core.admin import ReadOnly


class ActivityAdmin(ReadOnly):
    """Read-only: a change saved here would skip the service (field history and the outbox
    event); activities change through the API or the staff app."""

    readonly_fields = ("id", "version", "created_at", "updated_at", "deleted_at")
    raw_id_fields = ["owner"]
    list_filter = ["related_type"]


@admin.register(Task)
class TaskAdmin(ActivityAdmin):
    list_display = ("subject", "status", "priority", "due_at", "assignee", "related_type")
    list_filter = ["status", "priority", "related_type"]
    search_fields = ("subject",)
    raw_id_fields = ["owner", "assignee"]


@admin.register(Note)
class NoteAdmin(ActivityAdmin):
    list_display = ("__str__", "owner", "related_type", "created_at")


@admin.register(Call)
class CallAdmin(ActivityAdmin):
    list_display = ("__str__", "direction", "occurred_at", "duration_seconds", "owner")
    list_filter = ["direction", "related_type"]
    search_fields = ("subject", "phone")


@admin.register(Meeting)
class MeetingAdmin(ActivityAdmin):
    list_display = ("subject", "starts_at", "ends_at", "location", "owner")
    search_fields = ("subject",)
    raw_id_fields = ["owner", "attendees"]


@admin.register(EmailLog)
class EmailLogAdmin(ActivityAdmin):
    list_display = ("__str__", "direction", "from_address", "sent_at", "owner")
    list_filter = ["direction", "related_type"]
    search_fields = ("subject", "from_address", "message_id")

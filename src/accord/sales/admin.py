from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse

from accord.core.admin import ReadOnly
from accord.sales import webforms
from accord.sales.models import Deal, Lead, Pipeline, Stage, WebForm

AUDIT = ("id", "version", "created_at", "updated_at", "deleted_at")

# Every admin here only shows its records: a change saved through the admin would skip the
# service (permissions, field history, the outbox event every consumer and the sync feed rely
# on). Records change through the API or the staff app.


@admin.register(Lead)
class LeadAdmin(ReadOnly):
    list_display = ("last_name", "first_name", "company", "status", "source", "score", "owner")
    list_filter = ("status", "source")
    search_fields = ("last_name", "first_name", "company", "email")
    raw_id_fields = ("owner",)
    # Only conversion sets these; editing them by hand would break the links it made.
    readonly_fields = (
        *AUDIT,
        "converted_at",
        "converted_account",
        "converted_contact",
        "converted_deal",
    )


class StageInline(admin.TabularInline):
    model = Stage
    fields = ("position", "name", "probability", "is_won", "is_lost")
    ordering = ("position",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Pipeline)
class PipelineAdmin(ReadOnly):
    list_display = ("name", "is_default", "updated_at")
    readonly_fields = AUDIT
    inlines = (StageInline,)


@admin.register(Stage)
class StageAdmin(ReadOnly):
    list_display = ("name", "pipeline", "position", "probability", "is_won", "is_lost")
    list_filter = ("pipeline",)
    readonly_fields = AUDIT


@admin.register(Deal)
class DealAdmin(ReadOnly):
    list_display = ("name", "account", "amount", "currency", "stage", "expected_close", "owner")
    list_filter = ("pipeline", "stage")
    search_fields = ("name",)
    raw_id_fields = ("account", "contacts", "owner")
    readonly_fields = (*AUDIT, "closed_at")


@admin.register(WebForm)
class WebFormAdmin(ReadOnly):
    """Shows the embeddable HTML below the form (templates/admin/sales/webform/)."""

    list_display = ("name", "slug", "active", "source", "lead_owner", "rate_limit")
    raw_id_fields = ("lead_owner",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = AUDIT

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        form = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if form is not None and request.user.is_superuser:
            action = webforms.action_url(form, request.get_host())
            context["web_form_snippet"] = webforms.snippet(form, action=action)
        return super().change_view(request, object_id, form_url, context)

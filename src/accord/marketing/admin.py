from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accord.marketing.models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Read-only: a change saved here would skip field history and the outbox event, so
    campaigns are changed through the API (or the staff app) only."""

    list_display = ("name", "type", "status", "starts_on", "ends_on", "owner")
    list_filter = ("status", "type")
    search_fields = ("name",)
    raw_id_fields = ("owner",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

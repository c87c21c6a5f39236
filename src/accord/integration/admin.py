from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accord.integration.models import Destination, Sequencer


class Observed(admin.ModelAdmin):
    """The relay writes these rows; administrators look at them (``accord events status``)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Sequencer)
class SequencerAdmin(Observed):
    list_display = ("name", "holder", "lease_expires_at", "last_sequence", "purged_through")


@admin.register(Destination)
class DestinationAdmin(Observed):
    list_display = ("name", "kind", "active", "position", "published_at", "failing_since")
    list_filter = ("kind", "active")

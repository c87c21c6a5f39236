from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accord.catalog.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Read-only: a change saved here would skip field history and the outbox event, so
    products are changed through the API (or the staff app) only."""

    list_display = ("sku", "name", "list_price", "currency", "active", "updated_at")
    list_filter = ("active", "currency")
    search_fields = ("sku", "name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accord.identity.models import ApiToken, Department, SharingDefault, User


@admin.register(User)
class AccordUserAdmin(UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "department", "is_active")
    list_filter = ("is_active", "is_superuser", "department")
    fieldsets = (*UserAdmin.fieldsets, ("Organisation", {"fields": ("department",)}))  # type: ignore[misc]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "kind")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")


@admin.register(SharingDefault)
class SharingDefaultAdmin(admin.ModelAdmin):
    list_display = ("object_type", "access")

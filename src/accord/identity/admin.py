from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from accord.core.admin import ReadOnly
from accord.identity.models import (
    ApiToken,
    Department,
    FieldPermission,
    ObjectPermission,
    RecordShare,
    Role,
    SecurityEvent,
    SharingDefault,
    SharingRule,
    Team,
    Territory,
    User,
)


@admin.register(User)
class AccordUserAdmin(UserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "department",
        "role",
        "is_active",
    )
    list_filter = ("is_active", "is_superuser", "department", "role")
    fieldsets = (*UserAdmin.fieldsets, ("Organisation", {"fields": ("department", "role")}))  # type: ignore[misc]
    # Department and role decide what a person sees: they change through the access API,
    # which checks the change and writes it to the security log.
    readonly_fields = ("department", "role")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")


# The access model is changed through the services (the API), never here: a save in Django
# admin would skip the checks (no cycles, valid criteria, existing fields) and the security log.


class ReadOnlyInline(admin.TabularInline):
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ObjectPermissionInline(ReadOnlyInline):
    model = ObjectPermission


class FieldPermissionInline(ReadOnlyInline):
    model = FieldPermission


@admin.register(Department)
class DepartmentAdmin(ReadOnly):
    list_display = ("name", "kind", "created_at")


@admin.register(Role)
class RoleAdmin(ReadOnly):
    list_display = ("name", "parent", "depth", "manages_access", "mfa_required")
    list_filter = ("manages_access", "mfa_required", "depth")
    search_fields = ("name",)
    ordering = ("path",)
    inlines = (ObjectPermissionInline, FieldPermissionInline)


@admin.register(Team)
class TeamAdmin(ReadOnly):
    list_display = ("name", "department", "created_at")
    list_filter = ("department",)
    search_fields = ("name",)


@admin.register(Territory)
class TerritoryAdmin(ReadOnly):
    list_display = ("name", "level", "created_at")
    search_fields = ("name",)


@admin.register(SharingDefault)
class SharingDefaultAdmin(ReadOnly):
    list_display = ("object_type", "access", "department_level")


@admin.register(SharingRule)
class SharingRuleAdmin(ReadOnly):
    list_display = ("name", "object_type", "grantee_type", "level", "active", "created_at")
    list_filter = ("object_type", "grantee_type", "level", "active")
    search_fields = ("name",)


@admin.register(RecordShare)
class RecordShareAdmin(ReadOnly):
    list_display = ("object_type", "record_id", "user", "team", "level", "created_by")
    list_filter = ("object_type", "level")
    search_fields = ("record_id",)


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnly):
    list_display = ("at", "kind", "outcome", "actor", "username", "ip", "target_type")
    list_filter = ("kind", "outcome")
    search_fields = ("username", "target_id", "ip")
    date_hierarchy = "at"

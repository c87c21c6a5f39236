from django.contrib import admin

from accord.core.admin import ReadOnly
from accord.parties.models import Account, Contact, ContactEmail, ContactPhone, Tag


class ReadOnlyAudit(ReadOnly):
    """Records change only through their services (history and events); admin only shows them."""

    readonly_fields = ("id", "version", "created_at", "updated_at", "deleted_at")


@admin.register(Tag)
class TagAdmin(ReadOnlyAudit):
    list_display = ("name", "color")
    search_fields = ("name",)


@admin.register(Account)
class AccountAdmin(ReadOnlyAudit):
    list_display = ("name", "domain", "industry", "owner", "updated_at")
    search_fields = ("name", "domain")
    raw_id_fields = ("parent", "owner")


class EmailInline(admin.TabularInline):
    model = ContactEmail
    extra = 0
    can_delete = False


class PhoneInline(admin.TabularInline):
    model = ContactPhone
    extra = 0
    can_delete = False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAudit):
    list_display = ("last_name", "first_name", "title", "account", "owner")
    search_fields = ("last_name", "first_name")
    raw_id_fields = ("account", "owner")
    inlines = (EmailInline, PhoneInline)

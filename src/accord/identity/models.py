"""People, departments, API tokens and the org-wide sharing defaults."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from accord.core import clock
from accord.core.ids import new_id


class Department(models.Model):
    """A part of the company that works on the shared record: sales, marketing, service, …"""

    class Kind(models.TextChoices):
        SALES = "sales"
        MARKETING = "marketing"
        SERVICE = "service"
        FINANCE = "finance"
        IT = "it"
        OTHER = "other"

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in to Accord (staff; portal users come with the portal)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 digest is stored; the token is shown once.

    ``scopes`` holds ``"<collection>:read"`` / ``"<collection>:write"`` entries or ``"*"``.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Access(models.TextChoices):
    PRIVATE = "private", "Private: owner only"
    PUBLIC_READ = "public_read", "Public read, owner edits"
    PUBLIC_READ_WRITE = "public_read_write", "Public read and write"


class SharingDefault(models.Model):
    """The org-wide default access to one object type for people who do not own the record."""

    object_type = models.CharField(max_length=40, unique=True)
    access = models.CharField(max_length=20, choices=Access.choices)

    def __str__(self) -> str:
        return f"{self.object_type}: {self.access}"

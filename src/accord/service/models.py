"""Customer service: cases and the queues they wait in.

SLA policies, business hours and knowledge articles come with later issues; they attach to
:class:`Queue` and :class:`Case` by foreign key. A case about an order will name it by string
reference (``"sales.Order"``), never by importing sales.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from accord.catalog.models import Product
from accord.core import clock
from accord.core.models import Record
from accord.parties.models import Account, Contact

#: Case numbers read ``C-000123``: the prefix and at least six digits.
CASE_NUMBER_PREFIX = "C-"
CASE_NUMBER_DIGITS = 6


def format_case_number(number: int) -> str:
    return f"{CASE_NUMBER_PREFIX}{number:0{CASE_NUMBER_DIGITS}d}"


class Queue(Record):
    """A pile of work a service team picks cases from (e.g. "Support DE", "Billing").

    Configuration rather than business data: everyone reads queues, administrators change them.
    An inactive queue takes no new cases but keeps the ones it holds.
    """

    object_type: ClassVar[str] = "queue"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(fields=["name", "id"], name="queue_name"),
            models.Index(fields=["updated_at", "id"], name="queue_updated"),
        ]

    def __str__(self) -> str:
        return self.name


class Case(Record):
    """A customer's question, problem or complaint that service works until it is resolved.

    ``number`` is the human-readable reference customers quote on the phone (shown as
    ``C-000123``); it is handed out by :class:`CaseNumberCounter` and never reused. The service
    stamps the lifecycle times on status changes (see ``service.services.lifecycle_times``):
    ``first_response_at`` the first time the case leaves *new*, ``resolved_at`` when it is
    resolved or closed, ``closed_at`` when it is closed; reopening clears the last two.
    """

    object_type: ClassVar[str] = "case"

    class Priority(models.TextChoices):
        LOW = "low"
        NORMAL = "normal"
        HIGH = "high"
        URGENT = "urgent"

    class Status(models.TextChoices):
        NEW = "new"
        OPEN = "open"
        PENDING = "pending"
        RESOLVED = "resolved"
        CLOSED = "closed"

    class Origin(models.TextChoices):
        EMAIL = "email"
        PHONE = "phone"
        WEB = "web"
        PORTAL = "portal"
        OTHER = "other"

    number = models.PositiveBigIntegerField(unique=True, editable=False)
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    queue = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.OTHER)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_cases"
    )
    opened_at = models.DateTimeField(default=clock.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            # Queue views: a queue's open work by status and priority, oldest first.
            models.Index(fields=["queue", "status", "priority", "opened_at"], name="case_queue"),
            models.Index(fields=["status", "priority", "opened_at"], name="case_status"),
            models.Index(fields=["opened_at", "id"], name="case_opened"),
            models.Index(fields=["owner", "status", "id"], name="case_owner"),
            models.Index(fields=["account", "id"], name="case_account"),
            models.Index(fields=["contact", "id"], name="case_contact"),
            models.Index(fields=["product", "opened_at"], name="case_product"),
            models.Index(fields=["updated_at", "id"], name="case_updated"),
            models.Index(fields=["created_at", "id"], name="case_created"),
            models.Index(fields=["external_id"], name="case_external_id"),
        ]

    def __str__(self) -> str:
        return f"{format_case_number(self.number)} {self.subject}"

    @property
    def reference(self) -> str:
        return format_case_number(self.number)


class CaseNumberCounter(models.Model):
    """The last case number handed out. One row, locked by every creator of cases.

    Creators take the next numbers with one ``UPDATE … SET last = last + n``, which holds the
    row lock until their transaction ends: numbers are unique on SQLite and PostgreSQL alike and
    follow commit order closely; a rolled-back create leaves a gap, as a sequence would.
    """

    name = models.CharField(max_length=20, primary_key=True)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.last}"

"""Customer service: cases, the queues they wait in, and the SLA policies that time them.

A queue works to a :class:`BusinessCalendar` (none: around the clock); an :class:`SlaPolicy`
sets how long a case may wait for its first response and its resolution, counted in that
calendar's business time (service.sla). Knowledge articles come with a later issue. A case
about an order will name it by string reference (``"sales.Order"``), never by importing sales.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from accord.catalog.models import Product
from accord.core import clock
from accord.core.models import Record, recycle_bin_index
from accord.parties.models import Account, Contact

#: Case numbers read ``C-000123``: the prefix and at least six digits.
CASE_NUMBER_PREFIX = "C-"
CASE_NUMBER_DIGITS = 6


def format_case_number(number: int) -> str:
    return f"{CASE_NUMBER_PREFIX}{number:0{CASE_NUMBER_DIGITS}d}"


#: The days of a business calendar's week, Monday first, as its ``hours`` keys them.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessCalendar(Record):
    """When a service team works: opening hours per weekday in one time zone, and holidays.

    ``hours`` maps a weekday (:data:`WEEKDAYS`) to its opening intervals, ``[["09:00",
    "17:00"]]`` (``"24:00"`` closes at midnight); a day that is missing is closed. With
    ``always_open`` the hours are ignored and every minute counts (24x7). SLA targets are
    counted in this business time, so a case opened on Friday evening is not late on Monday
    morning.
    """

    object_type: ClassVar[str] = "business_calendar"

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    always_open = models.BooleanField(default=False)
    hours = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["name", "id"], name="calendar_name")]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """A day a business calendar is closed all day (public holiday, company event).

    Part of its calendar: written only through the calendar's service, which records the
    change in the calendar's history and event.
    """

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays", db_index=False
    )
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ("date",)
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class Queue(Record):
    """A pile of work a service team picks cases from (e.g. "Support DE", "Billing").

    Configuration rather than business data: everyone reads queues, administrators change them.
    An inactive queue takes no new cases but keeps the ones it holds.
    """

    object_type: ClassVar[str] = "queue"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    #: Whose hours the queue's SLA targets count in; none means around the clock.
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="queues"
    )

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

    class SlaAlert(models.TextChoices):
        WARNING = "warning"
        BREACHED = "breached"

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
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        db_index=False,
    )
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        db_index=False,
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    queue = models.ForeignKey(
        Queue,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        db_index=False,
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.OTHER)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_cases",
        db_index=False,
    )
    opened_at = models.DateTimeField(default=clock.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    # SLA: set by the service from the matching policy (service.sla); never the caller's.
    sla_policy = models.ForeignKey(
        "SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    #: The due time of the target still running (first response, else resolution), which the
    #: case queue sorts by; empty when none runs.
    sla_due_at = models.DateTimeField(null=True, blank=True)
    #: When the SLA job next looks at the case (the running target's warning or due time).
    sla_check_at = models.DateTimeField(null=True, blank=True)
    #: The last alert sent per target, so each is sent once: "", "warning" or "breached".
    first_response_alert = models.CharField(max_length=10, blank=True, choices=SlaAlert.choices)
    resolution_alert = models.CharField(max_length=10, blank=True, choices=SlaAlert.choices)

    class Meta:
        indexes = [
            recycle_bin_index("case_deleted"),
            # The case queue: a queue's (or a person's) running SLA targets, soonest first.
            models.Index(fields=["queue", "sla_due_at", "id"], name="case_queue_sla"),
            models.Index(fields=["owner", "sla_due_at", "id"], name="case_owner_sla"),
            # The SLA job: cases whose next warning or breach has come.
            models.Index(fields=["sla_check_at", "id"], name="case_sla_check"),
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


class SlaPolicy(Record):
    """A service-level promise: how soon a matching case gets its first response and its
    resolution, in the business minutes of its queue's calendar.

    A policy matches a case by queue, priority and the account's tier; an empty criterion
    matches anything. The most specific active match wins (most criteria set), then the lowest
    ``order``, then the name (service.sla.match_policy). At ``warn_at_percent`` of a target the
    case's owner is warned; past it, told of the breach.
    """

    object_type: ClassVar[str] = "sla_policy"

    name = models.CharField(max_length=100, unique=True)
    queue = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.CASCADE, related_name="sla_policies"
    )
    priority = models.CharField(max_length=10, blank=True, choices=Case.Priority.choices)
    tier = models.CharField(max_length=10, blank=True, choices=Account.Tier.choices)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    warn_at_percent = models.PositiveSmallIntegerField(default=80)
    active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        indexes = [models.Index(fields=["active", "order", "name"], name="sla_policy_match")]

    def __str__(self) -> str:
        return self.name


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

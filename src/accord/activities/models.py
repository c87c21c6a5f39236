"""Tasks, notes, calls, meetings and logged emails: what people did and plan to do about a record.

Every activity hangs off one record of any type (an account, contact, lead, deal, case, …) named
by ``related_type`` (its ``object_type``) and ``related_id``. That pair is not a foreign key, since
the records live in domains above this one; services check it on every write, and the timeline
reads activities through the ``(related_type, related_id, <time>)`` index.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from accord.core import clock
from accord.core.ids import new_id
from accord.core.models import Record, recycle_bin_index

#: Longest free text on an activity (descriptions, notes); email bodies get EMAIL_BODY_MAX.
TEXT_MAX = 20_000
EMAIL_BODY_MAX = 100_000


class Direction(models.TextChoices):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Activity(Record):
    """What every activity has: an owner (who sees it) and the record it is about."""

    #: The column that places the activity on its record's timeline.
    timeline_time: ClassVar[str] = "created_at"

    # Each kind indexes (owner, id), which serves the foreign key too.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    related_type = models.CharField(max_length=40)
    related_id = models.UUIDField()

    class Meta:
        abstract = True


class Task(Activity):
    """Something someone has to do about a record, by a date: call back, send the quote, …"""

    object_type: ClassVar[str] = "task"

    class Status(models.TextChoices):
        OPEN = "open"
        IN_PROGRESS = "in_progress"
        DONE = "done"
        CANCELLED = "cancelled"

    class Priority(models.TextChoices):
        LOW = "low"
        NORMAL = "normal"
        HIGH = "high"

    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assigned_tasks",
        db_index=False,
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    #: When the task last became done; cleared when it is reopened.
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            recycle_bin_index("task_deleted"),
            models.Index(
                fields=["related_type", "related_id", "created_at", "id"], name="task_related"
            ),
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee"),
            models.Index(fields=["owner", "id"], name="task_owner"),
            models.Index(fields=["due_at"], name="task_due"),
            models.Index(fields=["updated_at", "id"], name="task_updated"),
            models.Index(fields=["created_at", "id"], name="task_created"),
        ]

    def __str__(self) -> str:
        return self.subject


class Note(Activity):
    """A free-text note someone left on a record."""

    object_type: ClassVar[str] = "note"

    body = models.TextField()

    class Meta:
        indexes = [
            recycle_bin_index("note_deleted"),
            models.Index(
                fields=["related_type", "related_id", "created_at", "id"], name="note_related"
            ),
            models.Index(fields=["owner", "id"], name="note_owner"),
            models.Index(fields=["updated_at", "id"], name="note_updated"),
            models.Index(fields=["created_at", "id"], name="note_created"),
        ]

    def __str__(self) -> str:
        return self.body[:50]


class Call(Activity):
    """A phone call that took place, inbound or outbound, with how it went."""

    object_type: ClassVar[str] = "call"
    timeline_time: ClassVar[str] = "occurred_at"

    subject = models.CharField(max_length=200, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    occurred_at = models.DateTimeField(default=clock.now)
    duration_seconds = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    #: The other party's number in E.164, when known.
    phone = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [
            recycle_bin_index("call_deleted"),
            models.Index(
                fields=["related_type", "related_id", "occurred_at", "id"], name="call_related"
            ),
            models.Index(fields=["owner", "id"], name="call_owner"),
            models.Index(fields=["updated_at", "id"], name="call_updated"),
            models.Index(fields=["occurred_at", "id"], name="call_occurred"),
        ]

    def __str__(self) -> str:
        return self.subject or f"{self.direction} call"


class Meeting(Activity):
    """A meeting about a record, with the contacts who attend it."""

    object_type: ClassVar[str] = "meeting"
    timeline_time: ClassVar[str] = "starts_at"

    subject = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=255, blank=True)
    attendees = models.ManyToManyField("parties.Contact", blank=True, related_name="meetings")
    notes = models.TextField(blank=True)

    class Meta:
        indexes = [
            recycle_bin_index("meeting_deleted"),
            models.Index(
                fields=["related_type", "related_id", "starts_at", "id"], name="meeting_related"
            ),
            models.Index(fields=["owner", "id"], name="meeting_owner"),
            models.Index(fields=["updated_at", "id"], name="meeting_updated"),
            models.Index(fields=["starts_at", "id"], name="meeting_starts"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="meeting_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.subject


class EmailLog(Activity):
    """An email sent or received, logged on a record (by hand, a mail add-in or a BCC address).

    ``message_id`` (the email's Message-ID header) is unique when set, so the same message
    logged twice is refused instead of showing up twice on the timeline.
    """

    object_type: ClassVar[str] = "email_log"
    timeline_time: ClassVar[str] = "sent_at"

    subject = models.CharField(max_length=255, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    from_address = models.CharField(max_length=254)
    to_addresses = models.JSONField(default=list, blank=True)
    cc_addresses = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(default=clock.now)
    body = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            recycle_bin_index("emaillog_deleted"),
            models.Index(
                fields=["related_type", "related_id", "sent_at", "id"], name="email_log_related"
            ),
            models.Index(fields=["owner", "id"], name="email_log_owner"),
            models.Index(fields=["updated_at", "id"], name="email_log_updated"),
            models.Index(fields=["sent_at", "id"], name="email_log_sent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~models.Q(message_id=""),
                name="email_log_message_id",
            )
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id or str(self.pk)


#: Every kind of activity, in the order lists and the timeline name them.
ACTIVITY_MODELS: tuple[type[Activity], ...] = (Task, Note, Call, Meeting, EmailLog)


class NotificationKind(models.TextChoices):
    """Why someone is told about something. Later issues add kinds (campaign, handoff, …)."""

    ASSIGNMENT = "assignment"
    MENTION = "mention"
    SLA_WARNING = "sla_warning"
    SYSTEM = "system"


class Channel(models.TextChoices):
    """How a person wants one kind of notification: in the inbox only, in the inbox and by
    email at once, in the inbox and in a daily email digest, or not at all."""

    IN_APP = "in_app"
    EMAIL_IMMEDIATE = "email_immediate"
    EMAIL_DIGEST = "email_digest"
    OFF = "off"


class Notification(models.Model):
    """One message in a person's inbox: "Deal Acme renewal was assigned to you", linked to the
    record it is about (``object_type`` / ``object_id``, empty for system messages).

    ``channel`` is how it was to be delivered when it was created (the recipient's preference
    then); ``emailed_at`` is set once an email (immediate or digest) carried it, so it is never
    sent twice. ``dedupe_key`` makes the same event notify the same person once, however many
    code paths report it.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.UUIDField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.IN_APP)
    created_at = models.DateTimeField(default=clock.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            # The shell's unread badge: one COUNT over this partial index per page.
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["channel", "created_at"],
                condition=models.Q(emailed_at__isnull=True),
                name="notification_unsent",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_dedupe",
            )
        ]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """A person's choice of channel for one kind of notification (no row: DEFAULT_CHANNEL)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        db_index=False,
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.channel}"


#: The channel of a kind nobody chose one for.
DEFAULT_CHANNEL = Channel.IN_APP

"""Tables of the event backbone: the sequencer's lease and marks, and each destination's position.

Every consumer of events reads the outbox by ``sequence`` and remembers how far it got; the
positions of consumers that the relay feeds (a broker stream, later each webhook subscription)
are rows of :class:`Destination`, so the retention job can ask one table what all of them still
need.
"""

from __future__ import annotations

from django.db import models

from accord.core import clock
from accord.core.ids import new_id


class Sequencer(models.Model):
    """The right to number outbox rows (a lease) and how far the numbering and purging went.

    One row, ``name="outbox"``. The relay process holding the lease (``holder`` until
    ``lease_expires_at``) is the only one that numbers rows and publishes them; it renews the
    lease every few seconds, so a crashed holder is replaced soon after its lease runs out.
    ``last_sequence`` is the highest number handed out (kept here, not derived from the outbox,
    because retention deletes old rows); ``purged_through`` is the highest number retention
    deleted: a consumer whose cursor is below it has missed events and must resynchronise.
    """

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_acquired_at = models.DateTimeField(null=True, blank=True)
    last_sequence = models.BigIntegerField(default=0)
    numbered_at = models.DateTimeField(null=True, blank=True)
    purged_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} through {self.last_sequence} (held by {self.holder or 'nobody'})"


class DestinationKind(models.TextChoices):
    NATS = "nats", "NATS JetStream"
    REDIS = "redis", "Redis Streams"
    WEBHOOK = "webhook", "Webhook subscription"


class Destination(models.Model):
    """A consumer the backbone delivers events to, and the last sequence it has confirmed.

    ``position`` moves only after the destination acknowledged every event up to it, so after a
    crash delivery resumes right after it (a few events may go out twice; each carries its id,
    on which consumers deduplicate). An inactive destination (no longer configured) keeps its
    position but no longer holds back the retention of old events.
    """

    name = models.CharField(max_length=200, primary_key=True)
    kind = models.CharField(max_length=20, choices=DestinationKind.choices)
    active = models.BooleanField(default=True)
    position = models.BigIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"


# -- offline sync (integration/sync.py) --------------------------------------------------------


class SyncReplica(models.Model):
    """A copy of records one user keeps offline (a laptop, a phone), fed by ``/api/v1/sync``.

    The server remembers what each replica holds (:class:`SyncHolding`), so a pull can answer
    "held but no longer visible" (a tombstone) and "visible but not held, or held at an older
    version" (a record) in SQL, whatever made visibility change. ``page`` numbers the pages
    handed out; the records of the last page are :class:`SyncPending` until the client asks for
    the next one with that page's cursor, which proves it received them. ``policies`` keeps a
    fingerprint of the fields hidden from the user per object type when the records were sent,
    so a change of field-level security resends them. A replica idle for longer than the event
    retention is dropped (its client resynchronises fully).
    """

    id = models.UUIDField(primary_key=True, editable=False)
    user = models.ForeignKey("identity.User", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    pulled_at = models.DateTimeField()
    page = models.PositiveIntegerField(default=0)
    policies = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["pulled_at"], name="sync_replica_pulled")]

    def __str__(self) -> str:
        return f"replica {self.id} of user {self.user_id} (page {self.page})"


class SyncHolding(models.Model):
    """One record a replica holds, at the version it was sent."""

    pk = models.CompositePrimaryKey("replica_id", "object_type", "record_id")
    # The primary key's index starts with replica_id, so the foreign key needs none of its own.
    replica = models.ForeignKey(
        SyncReplica, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    object_type = models.CharField(max_length=40)
    record_id = models.UUIDField()
    version = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.object_type}/{self.record_id} v{self.version}"


class SyncPending(models.Model):
    """What the last page of a replica sent: a record at ``version``, or a tombstone (NULL).

    Moved into the holdings when the client presents that page's cursor; dropped when it
    presents the cursor before (it retries: the page got lost), so nothing a client never
    received counts as held.
    """

    pk = models.CompositePrimaryKey("replica_id", "object_type", "record_id")
    # The primary key's index starts with replica_id, so the foreign key needs none of its own.
    replica = models.ForeignKey(
        SyncReplica, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    object_type = models.CharField(max_length=40)
    record_id = models.UUIDField()
    version = models.PositiveIntegerField(null=True)

    def __str__(self) -> str:
        return f"{self.object_type}/{self.record_id} v{self.version} (pending)"


# -- webhooks (integration/webhooks/) ----------------------------------------------------------


class WebhookSubscription(models.Model):
    """A tool that receives Accord's events over HTTP(S): where to, which events, whose eyes.

    Payloads show only what ``owner`` may see (visibility and field-level security, applied
    when each event is queued); ``department`` says which part of the company answers for the
    integration. Events are read by sequence from ``destination.position`` (a row of
    :class:`Destination`, kind ``webhook``), whose ``failing_since`` and ``last_error`` tell
    whether the endpoint is failing. Requests are signed after Standard Webhooks with
    ``secret``; after a rotation ``previous_secret`` signs alongside it until
    ``previous_secret_expires_at``. A subscription Accord disabled (its endpoint failed for the
    whole retry period, or its owner left) has ``enabled`` false and a ``disabled_reason``.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    #: ``accord.<object>.<verb>`` or ``accord.<object>.*``.
    event_types = models.JSONField(default=list)
    #: When not empty, ``updated`` events go out only if one of these fields changed.
    fields = models.JSONField(default=list, blank=True)
    owner = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, related_name="webhook_subscriptions"
    )
    department = models.ForeignKey(
        "identity.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    destination = models.OneToOneField(
        Destination, on_delete=models.PROTECT, related_name="webhook", editable=False
    )
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)
    created_by = models.ForeignKey(
        "identity.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.event_types)})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class DeliveryTrigger(models.TextChoices):
    EVENT = "event"
    REDELIVERY = "redelivery"
    REPLAY = "replay"


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription, and how it went: the delivery log.

    ``body`` is the payload as it was queued (already filtered for the owner), so retries and
    redeliveries sign the same bytes. ``pending`` deliveries are attempted at
    ``next_attempt_at`` by whichever worker claims them (``claimed_until``); ``failed`` ones
    ran out of retries; ``skipped`` ones are events about records the owner may not see, never
    sent. ``attempt_log`` keeps each attempt's time, status, latency and error.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    sequence = models.BigIntegerField()
    trigger = models.CharField(
        max_length=20, choices=DeliveryTrigger.choices, default=DeliveryTrigger.EVENT
    )
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempt_log = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["subscription", "-id"], name="webhook_delivery_log"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["created_at"], name="webhook_delivery_age"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.subscription_id}: {self.status}"


class WebhookReplay(models.Model):
    """A request to send a subscription the events of a time range again.

    The delivery workers work through the sequences ``after`` → ``through`` in batches (the
    events whose time lies in ``[start, end)``), queueing a delivery for each that matches the
    subscription, and count them; ``finished_at`` is set when done.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="replays"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    after = models.BigIntegerField()
    through = models.BigIntegerField()
    queued = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        "identity.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(finished_at__isnull=True),
                name="webhook_replay_open",
            )
        ]

    def __str__(self) -> str:
        return f"replay {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M}"

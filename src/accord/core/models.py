"""Tables every domain shares: the record base, field history and the event outbox."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from accord.core import clock
from accord.core.ids import new_id


class Source(models.TextChoices):
    """Where a change came from; kept on every field-history entry."""

    WEB = "web"
    API = "api"
    IMPORT = "import"
    AUTOMATION = "automation"
    SYSTEM = "system"


class LiveManager(models.Manager["Any"]):
    """Hides records in the recycle bin; ``all_objects`` still sees them."""

    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().filter(deleted_at__isnull=True)


class Record(models.Model):
    """Base of every business record: UUIDv7 id, audit stamps, version for ETags, soft delete.

    ``object_type`` names the record in events (``accord.<object_type>.<verb>``), field history
    and the API. ``version`` starts at 1 and grows by one with every committed change.
    """

    object_type: ClassVar[str]

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    custom_fields = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = LiveManager()
    all_objects = models.Manager()  # noqa: DJ012 - a manager; ruff reads models.X() as a field

    class Meta:
        abstract = True
        base_manager_name = "all_objects"


def recycle_bin_index(name: str) -> models.Index:
    """The index of a record type's recycle bin (newest deletion first) and of the purge of
    records deleted long enough ago: only the deleted rows, so it stays small and costs
    nothing on the writes of live records."""
    return models.Index(
        fields=["deleted_at", "id"], name=name, condition=models.Q(deleted_at__isnull=False)
    )


class HistoryEntry(models.Model):
    """One committed change to one record: who, when, from where, and each field's old → new.

    The timeline reads these (never the outbox, which is purged after its retention).
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    object_type = models.CharField(max_length=40)
    object_id = models.UUIDField()
    version = models.PositiveIntegerField()
    verb = models.CharField(max_length=40)
    changes = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    at = models.DateTimeField(default=clock.now)
    event_id = models.UUIDField(null=True)

    class Meta:
        verbose_name_plural = "history entries"
        indexes = [models.Index(fields=["object_type", "object_id", "-at"], name="history_record")]

    def __str__(self) -> str:
        return f"{self.object_type}/{self.object_id} v{self.version} {self.verb}"


class OutboxEvent(models.Model):
    """A CloudEvents envelope written in the same transaction as the change it describes.

    ``id`` is taken at insert, not at commit, so it is never a consumer cursor: the sequencer
    (event backbone) numbers committed rows with the gap-free ``sequence`` that consumers read.
    ``txid`` is the PostgreSQL transaction id (NULL on SQLite, whose writers are serialised).
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=new_id)
    type = models.CharField(max_length=100)
    object_type = models.CharField(max_length=40)
    object_id = models.UUIDField()
    record_version = models.PositiveIntegerField()
    envelope = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=clock.now)
    txid = models.BigIntegerField(null=True)
    sequence = models.BigIntegerField(null=True, unique=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(sequence__isnull=True),
                name="outbox_unsequenced",
            ),
            models.Index(fields=["object_type", "object_id"], name="outbox_record"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.object_id} v{self.record_version}"


def record_types() -> dict[str, type[Record]]:
    """Every installed record type by its ``object_type``."""
    from django.apps import apps

    return {
        model.object_type: model
        for model in apps.get_models()
        if issubclass(model, Record) and hasattr(model, "object_type")
    }


class Schedule(models.Model):
    """A job that runs every ``interval``: the worker enqueues it when ``next_run_at`` passes.

    Rows are created from the schedules domains register in code (core.scheduler); an operator
    may disable one or change its interval, and that survives restarts.
    """

    name = models.CharField(max_length=100, primary_key=True)
    task_path = models.CharField(max_length=200)
    interval = models.DurationField()
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.name} every {self.interval}"


class SearchEntry(models.Model):
    """The searchable text of one record (names, emails, phones, domains), lower-cased.

    ``fields`` keeps the text of each field by its payload key, so that a search can leave out
    the fields hidden from the caller (ADR 0003); ``body`` is all of it joined, and is what the
    indexes cover. PostgreSQL indexes ``(object_type, body)`` with pg_trgm (substring terms) and
    a ``simple`` full-text vector (short prefixes), the type first (ADR 0010); SQLite mirrors
    it into an FTS5 trigram table kept in sync by triggers. Both are created by this app's
    migrations; ``core.search`` queries them.
    """

    id = models.BigAutoField(primary_key=True)
    object_type = models.CharField(max_length=40)
    record_id = models.UUIDField()
    body = models.TextField()
    fields = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "search entries"
        constraints = [
            models.UniqueConstraint(fields=["record_id", "object_type"], name="search_entry_record")
        ]
        # Matches in id order (core.search.page) read this index in order, checking each
        # entry, rather than collecting and sorting every match.
        indexes = [models.Index(fields=["object_type", "record_id"], name="search_entry_order")]

    def __str__(self) -> str:
        return f"{self.object_type}/{self.record_id}"


class IdempotentRequest(models.Model):
    """A POST made with an ``Idempotency-Key``, and the answer it got, kept for 24 hours so a
    client retrying after a lost response gets the same answer instead of a second record."""

    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(blank=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_unique")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"

"""A declarative base for the services that write business records.

A domain declares what a record is (its model, how to validate input, how it appears in events)
and inherits create / update / delete / restore that follow the write path in ARCHITECTURE.md:
validate, then in one transaction lock and compare the version, write the row, its history entry
and its outbox event. Visibility comes from the subclass (``identity`` supplies it), since
``core`` cannot know who may see what.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet

from accord.core import clock, records
from accord.core.errors import Conflict, NotFound, PermissionDenied
from accord.core.models import Record, Source

R = TypeVar("R", bound=Record)

#: How long a deleted record stays in the recycle bin before the purge job removes it.
RECYCLE_BIN_RETENTION = dt.timedelta(days=15)


class RecordService(Generic[R]):
    model: type[R]

    # -- what a subclass declares -------------------------------------------------------------

    def scope(self, actor: Any, queryset: QuerySet[R]) -> QuerySet[R]:
        """``queryset`` narrowed to what ``actor`` may see."""
        raise NotImplementedError

    def may_edit(self, actor: Any, record: R) -> bool:
        raise NotImplementedError

    def payload(self, record: R) -> records.Payload:
        """The record as events, history and the API show it (JSON-ready values)."""
        raise NotImplementedError

    def clean(self, actor: Any, data: Mapping[str, Any], record: R | None) -> dict[str, Any]:
        """Validate input (``record`` is None on create) and return attributes to set.

        Raises InvalidInput naming each bad field; has no side effects.
        """
        raise NotImplementedError

    def apply(self, record: R, cleaned: dict[str, Any], *, creating: bool) -> None:
        """Set ``cleaned`` on ``record`` and save it with its related rows."""
        for key, value in cleaned.items():
            setattr(record, key, value)
        record.save(force_insert=creating)

    def defaults(self, actor: Any) -> dict[str, Any]:
        """Values a new record takes when the caller does not give them (e.g. its owner)."""
        return {}

    # -- the write path ----------------------------------------------------------------------

    def get_for_write(
        self, actor: Any, record_id: Any, *, expected_version: int | None, deleted: bool = False
    ) -> R:
        manager = self.model.all_objects if deleted else self.model.objects
        queryset = self.scope(actor, manager.all())
        if deleted:
            queryset = queryset.filter(deleted_at__isnull=False)
        record = records.lock(queryset, record_id, expected_version=expected_version)
        if not self.may_edit(actor, record):
            raise PermissionDenied(f"You may not change this {self.model.object_type}")
        return record

    def create(
        self, *, actor: Any, data: Mapping[str, Any], source: Source | str = Source.API
    ) -> R:
        cleaned = {**self.defaults(actor), **self.clean(actor, data, None)}
        with transaction.atomic():
            record = self.model()
            record.created_by = actor
            record.updated_by = actor
            try:
                with transaction.atomic():
                    self.apply(record, cleaned, creating=True)
            except IntegrityError as exc:
                raise Conflict(_integrity_detail(exc)) from None
            payload = self.payload(record)
            records.write_change(
                record,
                verb="created",
                payload=payload,
                changes=records.created_changes(payload),
                actor=actor,
                source=source,
            )
        return record

    def update(
        self,
        *,
        actor: Any,
        record_id: Any,
        data: Mapping[str, Any],
        expected_version: int | None,
        source: Source | str = Source.API,
    ) -> R:
        with transaction.atomic():
            record = self.get_for_write(actor, record_id, expected_version=expected_version)
            cleaned = self.clean(actor, data, record)
            before = self.payload(record)
            try:
                with transaction.atomic():
                    self.apply(record, cleaned, creating=False)
            except IntegrityError as exc:
                raise Conflict(_integrity_detail(exc)) from None
            after = self.payload(record)
            changes = records.diff(before, after)
            if not changes:
                return record
            records.stamp(record, actor=actor)
            record.save(update_fields=["updated_at", "updated_by", "version"])
            after = self.payload(record)
            records.write_change(
                record, verb="updated", payload=after, changes=changes, actor=actor, source=source
            )
        return record

    def delete(
        self,
        *,
        actor: Any,
        record_id: Any,
        expected_version: int | None,
        source: Source | str = Source.API,
    ) -> R:
        """Move the record to the recycle bin (restorable for RECYCLE_BIN_RETENTION)."""
        return self._set_deleted(
            actor, record_id, expected_version, source, deleted_at=clock.now(), verb="deleted"
        )

    def restore(
        self,
        *,
        actor: Any,
        record_id: Any,
        expected_version: int | None = None,
        source: Source | str = Source.API,
    ) -> R:
        return self._set_deleted(
            actor, record_id, expected_version, source, deleted_at=None, verb="restored"
        )

    def _set_deleted(
        self,
        actor: Any,
        record_id: Any,
        expected_version: int | None,
        source: Source | str,
        *,
        deleted_at: dt.datetime | None,
        verb: str,
    ) -> R:
        with transaction.atomic():
            record = self.get_for_write(
                actor, record_id, expected_version=expected_version, deleted=deleted_at is None
            )
            if (
                deleted_at is None
                and record.deleted_at is not None
                and record.deleted_at < clock.now() - RECYCLE_BIN_RETENTION
            ):
                raise NotFound("The record has left the recycle bin")
            previous = record.deleted_at
            record.deleted_at = deleted_at
            records.stamp(record, actor=actor)
            record.save(update_fields=["deleted_at", "updated_at", "updated_by", "version"])
            records.write_change(
                record,
                verb=verb,
                payload=self.payload(record),
                changes={"deleted_at": [records.jsonable(previous), records.jsonable(deleted_at)]},
                actor=actor,
                source=source,
            )
        return record


def _integrity_detail(exc: IntegrityError) -> str:
    # The constraint name is the useful part; the driver's message may echo values.
    text = str(exc).lower()
    if "unique" in text or "duplicate" in text:
        return "A record with the same unique value already exists"
    return "The change conflicts with related records"


def related_or_none(model: type[Model], pk: Any) -> Model | None:
    try:
        return model._default_manager.filter(pk=pk).first()
    except (ValueError, TypeError):
        return None

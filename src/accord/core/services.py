"""A declarative base for the services that write business records.

A domain declares what a record is (its model, how to validate input, how it appears in events)
and inherits create / update / delete / restore that follow the write path in ARCHITECTURE.md:
validate, then in one transaction lock and compare the version, write the row, its history entry
and its outbox event. Visibility comes from the subclass (``identity`` supplies it), since
``core`` cannot know who may see what.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet

from accord.core import clock, records, registry, rows, search
from accord.core.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from accord.core.models import Record, Source
from accord.core.validation import batch_lookups

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

    def may_delete(self, actor: Any, record: R) -> bool:
        """Whether ``actor`` may move the record to the recycle bin or restore it."""
        return self.may_edit(actor, record)

    def payload(self, record: R) -> records.Payload:
        """The record as events, history and the API show it (JSON-ready values)."""
        raise NotImplementedError

    def clean(self, actor: Any, data: Mapping[str, Any], record: R | None) -> dict[str, Any]:
        """Validate input (``record`` is None on create) and return attributes to set.

        Raises InvalidInput naming each bad field; has no side effects.
        """
        raise NotImplementedError

    #: Natural keys bulk upsert may match on (``match`` resolves them).
    match_keys: tuple[str, ...] = ()

    def match(self, actor: Any, rows: list[Mapping[str, Any]], key: str) -> dict[int, Any]:
        """Ids of existing records the rows match on ``key``: ``{row position: record id}``.
        Only records visible to ``actor`` match."""
        return {}

    #: Keys of ``clean``'s result that are not columns; ``save_related`` writes them.
    related: tuple[str, ...] = ()
    #: Relations ``payload`` reads, prefetched for a batch in one query each.
    prefetch: tuple[str, ...] = ()

    def build(self, record: R, cleaned: dict[str, Any]) -> None:
        """Set the column values of ``cleaned`` on ``record`` (without saving)."""
        for key, value in cleaned.items():
            if key not in self.related:
                setattr(record, key, value)

    def save_related(
        self, records: list[R], cleaned: list[dict[str, Any]], *, creating: bool
    ) -> None:
        """Write the related rows (tags, emails, …) of already saved records."""

    def preload(self, actor: Any, rows: list[Mapping[str, Any]]) -> None:
        """Fetch what a batch's rows reference in one query per kind (see batch_lookups)."""

    def apply(self, record: R, cleaned: dict[str, Any], *, creating: bool) -> None:
        """Set ``cleaned`` on ``record`` and save it with its related rows."""
        self.build(record, cleaned)
        if creating and rows.inserts_plainly(type(record)):
            rows.write(type(record), [record])
        else:
            record.save(force_insert=creating)
        self.save_related([record], [cleaned], creating=creating)

    def clean_all(self, actor: Any, data: Mapping[str, Any], record: R | None) -> dict[str, Any]:
        """``clean`` plus custom fields, reporting the errors of both together."""
        errors: list[FieldError] = []
        cleaned: dict[str, Any] = {}
        try:
            cleaned = self.clean(
                actor, {k: v for k, v in data.items() if k != "custom_fields"}, record
            )
        except InvalidInput as exc:
            errors.extend(exc.errors)
        if "custom_fields" in data:
            try:
                cleaned["custom_fields"] = registry.clean_custom_fields(
                    self.model.object_type,
                    data["custom_fields"] or {},
                    record.custom_fields if record is not None else None,
                )
            except InvalidInput as exc:
                errors.extend(exc.errors)
        elif record is None:
            try:
                cleaned["custom_fields"] = registry.clean_custom_fields(
                    self.model.object_type, {}, None
                )
            except InvalidInput as exc:
                errors.extend(exc.errors)
        if errors:
            names = ", ".join(dict.fromkeys(e.field for e in errors))
            raise InvalidInput(f"Invalid value for: {names}", errors)
        return cleaned

    #: The payload keys ``search_document`` indexes; field-level security hides them from
    #: search too (core.search).
    search_fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.search_fields and "model" in cls.__dict__:
            search.declare(cls.model.object_type, cls.search_fields)

    def search_document(self, record: R) -> search.Document | None:
        """The record's searchable text by field (see core.search.document), with keys from
        ``search_fields``; None when not searchable."""
        return None

    def index_search(self, new: list[R], *, replace: bool) -> None:
        entries = [(r.pk, self.search_document(r)) for r in new]
        search.index(
            self.model.object_type,
            [(pk, doc) for pk, doc in entries if doc is not None],
            replace=replace,
        )

    def reindex_search(self, *, batch: int = 2_000) -> int:
        """Rewrite the search entries of every record of this type, recycle bin included, in
        batches of one transaction each (``accord reindex``); the number of records read."""
        done = 0
        last: Any = None
        while True:
            queryset = self.model.all_objects.order_by("pk")
            if last is not None:
                queryset = queryset.filter(pk__gt=last)
            chunk = list(queryset[:batch])
            if not chunk:
                return done
            records.prefetch(chunk, *self.prefetch)
            with transaction.atomic():
                self.index_search(chunk, replace=True)
            done += len(chunk)
            last = chunk[-1].pk

    def may_create(self, actor: Any) -> bool:
        return True

    def check_create(self, actor: Any) -> None:
        if not self.may_create(actor):
            raise PermissionDenied(f"You may not create a {self.model.object_type}")

    def defaults(self, actor: Any) -> dict[str, Any]:
        """Values a new record takes when the caller does not give them (e.g. its owner)."""
        return {}

    # -- the write path ----------------------------------------------------------------------

    def get_for_write(
        self,
        actor: Any,
        record_id: Any,
        *,
        expected_version: int | None,
        deleted: bool = False,
        removing: bool = False,
    ) -> R:
        """The record locked for a write; ``removing`` for delete and restore, which need
        the right to delete rather than to edit."""
        manager = self.model.all_objects if deleted else self.model.objects
        queryset = self.scope(actor, manager.all())
        if deleted:
            queryset = queryset.filter(deleted_at__isnull=False)
        record = records.lock(queryset, record_id, expected_version=expected_version)
        allowed = self.may_delete(actor, record) if removing else self.may_edit(actor, record)
        if not allowed:
            verb = "delete or restore" if removing else "change"
            raise PermissionDenied(f"You may not {verb} this {self.model.object_type}")
        return record

    def create(
        self, *, actor: Any, data: Mapping[str, Any], source: Source | str = Source.API
    ) -> R:
        self.check_create(actor)
        cleaned = {**self.defaults(actor), **self.clean_all(actor, data, None)}
        # The record's rows, search entry, history entry and event go to the database
        # together at the end, in one round trip when nothing else runs in between. No
        # savepoint around the insert: a failed insert fails the whole create, rolled back.
        try:
            with rows.transaction_together():
                record = self.model()
                record.created_by = actor
                record.updated_by = actor
                self.apply(record, cleaned, creating=True)
                payload = self.payload(record)
                self.index_search([record], replace=False)
                records.write_change(
                    record,
                    verb="created",
                    payload=payload,
                    changes=records.created_changes(payload),
                    actor=actor,
                    source=source,
                )
        except IntegrityError as exc:
            raise Conflict(integrity_detail(exc)) from None
        return record

    def create_many(
        self,
        *,
        actor: Any,
        rows: Sequence[Mapping[str, Any]],
        source: Source | str = Source.API,
    ) -> list[R]:
        """Create a batch in a handful of statements, all or nothing.

        Errors name the row: ``[3].emails[0]``. Each record still gets its history entry and its
        own ``created`` event.
        """
        self.check_create(actor)
        errors: list[FieldError] = []
        cleaned: list[dict[str, Any]] = []
        defaults = self.defaults(actor)
        with batch_lookups():
            self.preload(actor, list(rows))
            for index, data in enumerate(rows):
                try:
                    cleaned.append({**defaults, **self.clean_all(actor, data, None)})
                except InvalidInput as exc:
                    errors.extend(FieldError(f"[{index}].{e.field}", e.message) for e in exc.errors)
        if errors:
            raise InvalidInput(f"{len(errors)} invalid value(s) in the batch", errors)
        return self.insert_cleaned(actor, cleaned, source=source)

    def insert_cleaned(
        self, actor: Any, cleaned: list[dict[str, Any]], *, source: Source | str
    ) -> list[R]:
        """Insert rows that ``clean_all`` accepted; the caller may have an atomic block open."""
        with transaction.atomic():
            new: list[R] = []
            for values in cleaned:
                record = self.model()
                record.created_by = actor
                record.updated_by = actor
                self.build(record, values)
                new.append(record)
            try:
                rows.write(self.model, new)
                self.save_related(new, cleaned, creating=True)
            except IntegrityError as exc:
                raise Conflict(integrity_detail(exc)) from None
            # Only what save_related did not already remember (see remember_related).
            records.prefetch(new, *self.prefetch, missing=True)
            self.index_search(new, replace=False)
            changes = []
            for record in new:
                payload = self.payload(record)
                changes.append(
                    records.Change(record, "created", payload, records.created_changes(payload))
                )
            records.write_changes(changes, actor=actor, source=source)
        return new

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
            records.prefetch([record], *self.prefetch)
            cleaned = self.clean_all(actor, data, record)
            before = self.payload(record)
            try:
                self.apply(record, cleaned, creating=False)
            except IntegrityError as exc:
                raise Conflict(integrity_detail(exc)) from None
            if self.prefetch and any(key in cleaned for key in self.related):
                # The relations changed under the prefetched rows: read them again.
                record._prefetched_objects_cache = {}  # type: ignore[attr-defined]
                records.prefetch([record], *self.prefetch)
            after = self.payload(record)
            changes = records.diff(before, after)
            if not changes:
                return record
            records.stamp(record, actor=actor)
            record.save(update_fields=["updated_at", "updated_by", "version"])
            after = self.payload(record)
            with rows.together():
                self.index_search([record], replace=True)
                records.write_change(
                    record,
                    verb="updated",
                    payload=after,
                    changes=changes,
                    actor=actor,
                    source=source,
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
                actor,
                record_id,
                expected_version=expected_version,
                deleted=deleted_at is None,
                removing=True,
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


def integrity_detail(exc: IntegrityError) -> str:
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

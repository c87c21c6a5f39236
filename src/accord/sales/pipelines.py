"""Writes to pipelines and their stages: sales configuration, changed by administrators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from accord.core import records
from accord.core.errors import Conflict, InvalidInput
from accord.core.models import Source
from accord.core.records import Payload
from accord.core.validation import Cleaner
from accord.identity.records import VisibleRecordService
from accord.sales import events
from accord.sales.checks import (
    check_flag,
    check_int,
    check_text,
    pipeline_by_id,
    restore_or_conflict,
    superuser,
)
from accord.sales.models import Deal, Pipeline, Stage

SMALLINT_MAX = 32767


class PipelineService(VisibleRecordService[Pipeline]):
    """Pipelines are configuration: only administrators create and change them."""

    model = Pipeline

    def may_create(self, actor: Any) -> bool:
        return superuser(actor)

    def may_edit(self, actor: Any, record: Pipeline) -> bool:
        return superuser(actor)

    def payload(self, record: Pipeline) -> Payload:
        return events.pipeline_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Pipeline | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        check_text(cleaner, "name", 100, required=True)
        check_flag(cleaner, "is_default")
        if record is None and not Pipeline.objects.filter(is_default=True).exists():
            cleaner.out["is_default"] = True  # the first pipeline is the default
        if record is not None and record.is_default and cleaner.out.get("is_default") is False:
            cleaner.error("is_default", "make another pipeline the default instead")
        return cleaner.done()

    def create(
        self, *, actor: Any, data: Mapping[str, Any], source: Source | str = Source.API
    ) -> Pipeline:
        self.check_create(actor)
        with transaction.atomic():
            if data.get("is_default") is True:
                self._demote_default(actor, keep=None, source=source)
            return super().create(actor=actor, data=data, source=source)

    def update(
        self,
        *,
        actor: Any,
        record_id: Any,
        data: Mapping[str, Any],
        expected_version: int | None,
        source: Source | str = Source.API,
    ) -> Pipeline:
        with transaction.atomic():
            record = self.get_for_write(actor, record_id, expected_version=expected_version)
            if data.get("is_default") is True and not record.is_default:
                self._demote_default(actor, keep=record.pk, source=source)
            return super().update(
                actor=actor,
                record_id=record_id,
                data=data,
                expected_version=expected_version,
                source=source,
            )

    def _demote_default(self, actor: Any, *, keep: Any, source: Source | str) -> None:
        """Unset the current default first: at most one default exists at any moment."""
        for other in Pipeline.objects.select_for_update().filter(is_default=True).exclude(pk=keep):
            before = self.payload(other)
            other.is_default = False
            records.stamp(other, actor=actor)
            other.save(update_fields=["is_default", "updated_at", "updated_by", "version"])
            after = self.payload(other)
            records.write_change(
                other,
                verb="updated",
                payload=after,
                changes=records.diff(before, after),
                actor=actor,
                source=source,
            )

    def delete(
        self,
        *,
        actor: Any,
        record_id: Any,
        expected_version: int | None,
        source: Source | str = Source.API,
    ) -> Pipeline:
        with transaction.atomic():
            record = self.get_for_write(actor, record_id, expected_version=expected_version)
            if record.is_default:
                raise Conflict("The default pipeline cannot be deleted; make another the default")
            if Deal.all_objects.filter(pipeline=record).exists():
                raise Conflict("Deals are in this pipeline; move them to another one first")
            return super().delete(
                actor=actor, record_id=record_id, expected_version=expected_version, source=source
            )


class StageService(VisibleRecordService[Stage]):
    """Stages are configuration: only administrators create and change them."""

    model = Stage

    def may_create(self, actor: Any) -> bool:
        return superuser(actor)

    def may_edit(self, actor: Any, record: Stage) -> bool:
        return superuser(actor)

    def payload(self, record: Stage) -> Payload:
        return events.stage_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: Stage | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        pipeline: Any = record.pipeline if record is not None else None
        if record is None:
            pipeline = cleaner.related(
                "pipeline_id", pipeline_by_id, attr="pipeline", required=True, what="pipeline"
            )
        elif "pipeline_id" in data and str(data["pipeline_id"]) != str(record.pipeline_id):
            cleaner.error("pipeline_id", "a stage cannot move to another pipeline")
        check_text(cleaner, "name", 100, required=True)
        check_int(cleaner, "position", 0, SMALLINT_MAX)
        check_int(cleaner, "probability", 0, 100)
        check_flag(cleaner, "is_won")
        check_flag(cleaner, "is_lost")
        won = cleaner.out.get("is_won", record.is_won if record else False)
        lost = cleaner.out.get("is_lost", record.is_lost if record else False)
        if won and lost:
            cleaner.error("is_lost", "a stage cannot be both won and lost")
        changed = record is not None and (won, lost) != (record.is_won, record.is_lost)
        if changed and Deal.all_objects.filter(stage=record).exists():
            # Their closed_at and probability were set for the old outcome.
            cleaner.error("is_won", "cannot change while deals are in this stage")
        if record is None and "probability" not in data:
            cleaner.out["probability"] = 100 if won else 0
        if isinstance(pipeline, Pipeline):
            self._check_position(cleaner, pipeline, record)
        return cleaner.done()

    @staticmethod
    def _check_position(cleaner: Cleaner, pipeline: Pipeline, record: Stage | None) -> None:
        siblings = Stage.objects.filter(pipeline=pipeline)
        if record is not None:
            siblings = siblings.exclude(pk=record.pk)
        if "position" not in cleaner.out:
            if record is None:
                last = siblings.order_by("-position").values_list("position", flat=True).first()
                position = 0 if last is None else last + 1
                if position > SMALLINT_MAX:
                    cleaner.error("position", "the last position is taken; give one explicitly")
                    return
                cleaner.out["position"] = position
            return
        taken = siblings.filter(position=cleaner.out["position"]).first()
        if taken is not None:
            cleaner.error("position", f"stage {taken.name!r} already has this position")

    def delete(
        self,
        *,
        actor: Any,
        record_id: Any,
        expected_version: int | None,
        source: Source | str = Source.API,
    ) -> Stage:
        with transaction.atomic():
            record = self.get_for_write(actor, record_id, expected_version=expected_version)
            # Deals in the recycle bin count too: restoring one needs its stage.
            if Deal.all_objects.filter(stage=record).exists():
                raise Conflict("Deals are in this stage; move them to another stage first")
            return super().delete(
                actor=actor, record_id=record_id, expected_version=expected_version, source=source
            )

    def move(
        self,
        *,
        actor: Any,
        record_id: Any,
        offset: int,
        expected_version: int | None = None,
        source: Source | str = Source.API,
    ) -> Stage:
        """Swap the stage's position with the stage ``offset`` places away in its pipeline's
        order (-1: the one before, +1: the one after), each change with its history and event.

        Positions are unique per pipeline and the constraint is checked at once, so the
        neighbour waits on a free position while the stage takes its place.
        """
        if offset not in (-1, 1):
            raise InvalidInput.field("offset", "must be -1 (earlier) or 1 (later)")
        with transaction.atomic():
            record = self.get_for_write(actor, record_id, expected_version=expected_version)
            # Locking every stage of the pipeline serialises concurrent reorders.
            siblings = list(
                Stage.objects.select_for_update()
                .filter(pipeline_id=record.pipeline_id)
                .order_by("position", "id")
            )
            index = next(i for i, s in enumerate(siblings) if s.pk == record.pk)
            if not 0 <= index + offset < len(siblings):
                where = "first" if offset < 0 else "last"
                raise Conflict(f"Stage {record.name!r} is already the {where} of its pipeline")
            record, neighbour = siblings[index], siblings[index + offset]
            before = {s.pk: self.payload(s) for s in (record, neighbour)}
            taken = {s.position for s in siblings}
            free = next(p for p in range(SMALLINT_MAX, -1, -1) if p not in taken)
            mine, theirs = record.position, neighbour.position
            neighbour.position = free
            neighbour.save(update_fields=["position"])
            for stage, position in ((record, theirs), (neighbour, mine)):
                stage.position = position
                records.stamp(stage, actor=actor)
                stage.save(update_fields=["position", "updated_at", "updated_by", "version"])
            changes = []
            for stage in (record, neighbour):
                after = self.payload(stage)
                diff = records.diff(before[stage.pk], after)
                changes.append(records.Change(stage, "updated", after, diff))
            records.write_changes(changes, actor=actor, source=source)
        return record

    def restore(
        self,
        *,
        actor: Any,
        record_id: Any,
        expected_version: int | None = None,
        source: Source | str = Source.API,
    ) -> Stage:
        return restore_or_conflict(
            lambda: super(StageService, self).restore(
                actor=actor, record_id=record_id, expected_version=expected_version, source=source
            ),
            "Another stage of the pipeline took this stage's position; free it first",
        )


pipelines = PipelineService()
stages = StageService()

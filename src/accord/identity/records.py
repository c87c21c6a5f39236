"""Record services that apply the access model to every write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from django.db.models import QuerySet

from accord.core.errors import FieldError, PermissionDenied
from accord.core.models import Record
from accord.core.services import RecordService
from accord.identity.visibility import (
    can_edit,
    permitted,
    read_only_fields,
    visible,
)

R = TypeVar("R", bound=Record)


class VisibleRecordService(RecordService[R]):
    """Writes only to records the actor can see (else 404) and edit or delete (else 403), with
    the object permissions of the actor's role and without touching fields it may not set."""

    def scope(self, actor: Any, queryset: QuerySet[R]) -> QuerySet[R]:
        return visible(actor, queryset)

    def may_create(self, actor: Any) -> bool:
        return permitted(actor, self.model.object_type, "create")

    def may_edit(self, actor: Any, record: R) -> bool:
        return can_edit(actor, record)

    def may_delete(self, actor: Any, record: R) -> bool:
        # Through may_edit, so a subclass that narrows editing narrows deleting too.
        return self.may_edit(actor, record) and permitted(actor, self.model.object_type, "delete")

    def defaults(self, actor: Any) -> dict[str, Any]:
        if any(f.name == "owner" for f in self.model._meta.get_fields()):
            return {"owner": actor}
        return {}

    def clean_all(self, actor: Any, data: Mapping[str, Any], record: R | None) -> dict[str, Any]:
        self.check_fields(actor, data)
        return super().clean_all(actor, data, record)

    def check_fields(self, actor: Any, data: Mapping[str, Any]) -> None:
        """403 naming each field the input sets that the actor's role may not set."""
        frozen = read_only_fields(actor, self.model.object_type)
        if not frozen:
            return
        names = [k for k in data if k != "custom_fields"]
        custom = data.get("custom_fields")
        if isinstance(custom, Mapping):
            names += [f"custom_fields.{k}" for k in custom]
        denied = [FieldError(n, "you may not set this field") for n in names if n in frozen]
        if denied:
            raise PermissionDenied("The input sets fields your role may not change", denied)

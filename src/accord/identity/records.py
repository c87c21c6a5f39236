"""Record services that apply the visibility model to every write."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import QuerySet

from accord.core.models import Record
from accord.core.services import RecordService
from accord.identity.visibility import can_edit, visible

R = TypeVar("R", bound=Record)


class VisibleRecordService(RecordService[R]):
    """Writes only to records the actor can see (else 404) and edit (else 403)."""

    def scope(self, actor: Any, queryset: QuerySet[R]) -> QuerySet[R]:
        return visible(actor, queryset)

    def may_edit(self, actor: Any, record: R) -> bool:
        return can_edit(actor, record)

    def defaults(self, actor: Any) -> dict[str, Any]:
        if any(f.name == "owner" for f in self.model._meta.get_fields()):
            return {"owner": actor}
        return {}

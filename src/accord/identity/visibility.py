"""The one place that decides who sees and edits which record.

Every read path filters through :func:`visible` (in SQL); every write checks :func:`can_edit`.
The identity issue widens the model (roles, sharing rules, teams, territories) behind these
same three signatures.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from accord.identity.models import Access, SharingDefault

M = TypeVar("M", bound=Model)

#: Access for object types without a SharingDefault row.
DEFAULT_ACCESS = Access.PUBLIC_READ


def org_default(object_type: str) -> str:
    row = SharingDefault.objects.filter(object_type=object_type).values_list("access", flat=True)
    return next(iter(row), DEFAULT_ACCESS)


def _owned(model: type[Model]) -> bool:
    return any(f.name == "owner" for f in model._meta.get_fields())


def _object_type(model: type[Model]) -> str:
    return str(getattr(model, "object_type", model._meta.model_name))


def visible(user: Any, queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset`` narrowed, in SQL, to the rows ``user`` may see."""
    if user is None or not user.is_active:
        return queryset.none()
    if user.is_superuser or not _owned(queryset.model):
        return queryset
    if org_default(_object_type(queryset.model)) == Access.PRIVATE:
        return queryset.filter(owner=user)
    return queryset


def can_see(user: Any, record: Model) -> bool:
    if user is None or not user.is_active:
        return False
    if user.is_superuser or not _owned(type(record)):
        return True
    if getattr(record, "owner_id", None) == user.pk:
        return True
    return org_default(_object_type(type(record))) != Access.PRIVATE


def can_edit(user: Any, record: Model) -> bool:
    if not can_see(user, record):
        return False
    if user.is_superuser or not _owned(type(record)):
        return True
    if getattr(record, "owner_id", None) == user.pk:
        return True
    return org_default(_object_type(type(record))) == Access.PUBLIC_READ_WRITE

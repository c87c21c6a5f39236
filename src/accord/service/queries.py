"""All user-triggered reads of cases and queues, through the visibility filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from accord.core import pagination, search
from accord.core.errors import InvalidInput
from accord.core.ids import require_id
from accord.core.pagination import ListParams
from accord.identity.visibility import hidden_fields, visible, visible_one
from accord.parties import customfields
from accord.service.models import Case, Queue

M = TypeVar("M", bound=Model)

CASE_SORTS = {
    "id": "id",
    "number": "number",
    "opened_at": "opened_at",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
QUEUE_SORTS = {"id": "id", "name": "name"}


def _choice(field: str, raw: str, choices: Any) -> str:
    if raw not in choices.values:
        raise InvalidInput.field(field, f"must be one of: {', '.join(choices.values)}")
    return raw


def queues_visible_to(user: Any) -> QuerySet[Queue]:
    return visible(user, Queue.objects.all())


def get_queue(user: Any, record_id: Any) -> Queue:
    return visible_one(user, Queue.objects.all(), record_id)


def list_queues(
    user: Any,
    params: ListParams,
    *,
    active: bool | None = None,
    updated_since: dt.datetime | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Queue], str | None]:
    qs = customfields.filter_queryset(queues_visible_to(user), Queue.object_type, custom)
    if active is not None:
        qs = qs.filter(active=active)
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    sort = pagination.parse_sort(params.sort, QUEUE_SORTS, default="name")
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)


def cases_visible_to(user: Any) -> QuerySet[Case]:
    return visible(user, Case.objects.all())


def get_case(user: Any, record_id: Any) -> Case:
    return visible_one(user, Case.objects.all(), record_id)


def list_cases(
    user: Any,
    params: ListParams,
    *,
    owner_id: str | None = None,
    account_id: str | None = None,
    contact_id: str | None = None,
    product_id: str | None = None,
    queue_id: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    updated_since: dt.datetime | None = None,
    opened_since: dt.datetime | None = None,
    q: str | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Case], str | None]:
    qs = customfields.filter_queryset(cases_visible_to(user), Case.object_type, custom)
    for field, raw in (
        ("owner_id", owner_id),
        ("account_id", account_id),
        ("contact_id", contact_id),
        ("product_id", product_id),
        ("queue_id", queue_id),
    ):
        if raw:
            qs = qs.filter(**{field: require_id(field, raw)})
    if status:
        qs = qs.filter(status=_choice("status", status, Case.Status))
    if priority:
        qs = qs.filter(priority=_choice("priority", priority, Case.Priority))
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    if opened_since:
        qs = qs.filter(opened_at__gte=opened_since)
    sort = pagination.parse_sort(params.sort, CASE_SORTS)
    return search.page(
        qs,
        Case.object_type,
        q,
        hidden=hidden_fields(user, Case.object_type),
        sort=sort,
        cursor=params.cursor,
        limit=params.limit,
    )

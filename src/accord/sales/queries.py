"""All user-triggered reads of leads, pipelines, stages, deals and web forms, through the
visibility filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from accord.core import pagination
from accord.core.errors import InvalidInput
from accord.core.ids import require_id
from accord.core.pagination import ListParams
from accord.core.validation import normalize_email
from accord.identity.visibility import visible, visible_one
from accord.parties import customfields
from accord.sales.models import Deal, Lead, LeadSource, Pipeline, Stage, WebForm

M = TypeVar("M", bound=Model)

LEAD_SORTS = {
    "id": "id",
    "last_name": "last_name",
    "company": "company",
    "score": "score",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
DEAL_SORTS = {
    "id": "id",
    "name": "name",
    "amount": "amount",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
PIPELINE_SORTS = {"id": "id", "name": "name"}
STAGE_SORTS = {"id": "id", "position": "position", "name": "name"}
WEB_FORM_SORTS = {"id": "id", "name": "name"}


def _owned_filters(
    qs: QuerySet[M], *, owner_id: str | None, updated_since: dt.datetime | None
) -> QuerySet[M]:
    if owner_id:
        qs = qs.filter(owner_id=require_id("owner_id", owner_id))
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    return qs


def get_lead(user: Any, record_id: Any) -> Lead:
    return visible_one(user, Lead.objects.all(), record_id)


def list_leads(
    user: Any,
    params: ListParams,
    *,
    owner_id: str | None = None,
    updated_since: dt.datetime | None = None,
    status: str | None = None,
    source: str | None = None,
    email: str | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Lead], str | None]:
    qs = _owned_filters(
        visible(user, Lead.objects.all()), owner_id=owner_id, updated_since=updated_since
    )
    qs = customfields.filter_queryset(qs, Lead.object_type, custom)
    if status:
        if status not in Lead.Status.values:
            raise InvalidInput.field("status", f"must be one of: {', '.join(Lead.Status.values)}")
        qs = qs.filter(status=status)
    if source:
        if source not in LeadSource.values:
            raise InvalidInput.field("source", f"must be one of: {', '.join(LeadSource.values)}")
        qs = qs.filter(source=source)
    if email:
        try:
            qs = qs.filter(email=normalize_email(email))
        except ValueError as exc:
            raise InvalidInput.field("email", str(exc)) from None
    sort = pagination.parse_sort(params.sort, LEAD_SORTS)
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)


def get_pipeline(user: Any, record_id: Any) -> Pipeline:
    return visible_one(user, Pipeline.objects.all(), record_id)


def list_pipelines(
    user: Any, params: ListParams, *, custom: Mapping[str, str] | None = None
) -> tuple[list[Pipeline], str | None]:
    qs = customfields.filter_queryset(
        visible(user, Pipeline.objects.all()), Pipeline.object_type, custom
    )
    sort = pagination.parse_sort(params.sort, PIPELINE_SORTS)
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)


def _stages() -> QuerySet[Stage]:
    """Stages of live pipelines; callers narrow them to a user's view."""
    return Stage.objects.filter(pipeline__deleted_at__isnull=True)


def get_stage(user: Any, record_id: Any) -> Stage:
    return visible_one(user, _stages(), record_id)


def list_stages(
    user: Any,
    params: ListParams,
    *,
    pipeline_id: str | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Stage], str | None]:
    qs = customfields.filter_queryset(visible(user, _stages()), Stage.object_type, custom)
    if pipeline_id:
        qs = qs.filter(pipeline_id=require_id("pipeline_id", pipeline_id))
    sort = pagination.parse_sort(params.sort, STAGE_SORTS, default="position")
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)


def _deals() -> QuerySet[Deal]:
    """Deals with their contacts; callers narrow them to a user's view."""
    return Deal.objects.prefetch_related("contacts")


def get_deal(user: Any, record_id: Any) -> Deal:
    return visible_one(user, _deals(), record_id)


def list_deals(
    user: Any,
    params: ListParams,
    *,
    owner_id: str | None = None,
    updated_since: dt.datetime | None = None,
    account_id: str | None = None,
    pipeline_id: str | None = None,
    stage_id: str | None = None,
    expected_close_before: dt.date | None = None,
    expected_close_after: dt.date | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Deal], str | None]:
    """Deals, for example one column of a pipeline board (``stage_id``, served by the
    ``(stage, id)`` index). ``expected_close_before`` and ``_after`` are inclusive."""
    qs = _owned_filters(visible(user, _deals()), owner_id=owner_id, updated_since=updated_since)
    qs = customfields.filter_queryset(qs, Deal.object_type, custom)
    for key, value in (
        ("account_id", account_id),
        ("pipeline_id", pipeline_id),
        ("stage_id", stage_id),
    ):
        if value:
            qs = qs.filter(**{key: require_id(key, value)})
    if expected_close_before:
        qs = qs.filter(expected_close__lte=expected_close_before)
    if expected_close_after:
        qs = qs.filter(expected_close__gte=expected_close_after)
    sort = pagination.parse_sort(params.sort, DEAL_SORTS)
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)


def get_web_form(user: Any, record_id: Any) -> WebForm:
    return visible_one(user, WebForm.objects.all(), record_id)


def list_web_forms(
    user: Any, params: ListParams, *, custom: Mapping[str, str] | None = None
) -> tuple[list[WebForm], str | None]:
    qs = customfields.filter_queryset(
        visible(user, WebForm.objects.all()), WebForm.object_type, custom
    )
    sort = pagination.parse_sort(params.sort, WEB_FORM_SORTS)
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)

"""All user-triggered reads of accounts, contacts and tags, through the visibility filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from accord.core import pagination, search
from accord.core.errors import InvalidInput
from accord.core.ids import require_id
from accord.core.pagination import ListParams
from accord.core.validation import normalize_email, normalize_phone
from accord.identity.visibility import hidden_fields, visible, visible_one
from accord.parties import customfields
from accord.parties.models import Account, Contact, CustomField, Tag

M = TypeVar("M", bound=Model)

ACCOUNT_SORTS = {"id": "id", "name": "name", "created_at": "created_at", "updated_at": "updated_at"}
CONTACT_SORTS = {
    "id": "id",
    "last_name": "last_name",
    "first_name": "first_name",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
TAG_SORTS = {"id": "id", "name": "name"}


def _common_filters(
    qs: QuerySet[M], *, owner_id: str | None, tag: str | None, updated_since: dt.datetime | None
) -> QuerySet[M]:
    if owner_id:
        qs = qs.filter(owner_id=require_id("owner_id", owner_id))
    if tag:
        qs = qs.filter(tags__name=tag)
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    return qs


def accounts_visible_to(user: Any) -> QuerySet[Account]:
    return visible(user, Account.objects.all())


def get_account(user: Any, record_id: Any) -> Account:
    return visible_one(user, Account.objects.prefetch_related("tags"), record_id)


def list_accounts(
    user: Any,
    params: ListParams,
    *,
    owner_id: str | None = None,
    tag: str | None = None,
    updated_since: dt.datetime | None = None,
    domain: str | None = None,
    parent_id: str | None = None,
    q: str | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Account], str | None]:
    qs = _common_filters(
        accounts_visible_to(user), owner_id=owner_id, tag=tag, updated_since=updated_since
    )
    qs = customfields.filter_queryset(qs, Account.object_type, custom)
    if domain:
        qs = qs.filter(domain=domain.strip().lower())
    if parent_id:
        qs = qs.filter(parent_id=require_id("parent_id", parent_id))
    sort = pagination.parse_sort(params.sort, ACCOUNT_SORTS)
    return search.page(
        qs.prefetch_related("tags"),
        Account.object_type,
        q,
        hidden=hidden_fields(user, Account.object_type),
        sort=sort,
        cursor=params.cursor,
        limit=params.limit,
    )


def contacts_visible_to(user: Any) -> QuerySet[Contact]:
    return visible(user, Contact.objects.all())


def _contacts() -> QuerySet[Contact]:
    """Contacts with what their payload shows; callers narrow them to a user's view."""
    return Contact.objects.prefetch_related("tags", "email_rows", "phone_rows")


def get_contact(user: Any, record_id: Any) -> Contact:
    return visible_one(user, _contacts(), record_id)


def list_contacts(
    user: Any,
    params: ListParams,
    *,
    owner_id: str | None = None,
    tag: str | None = None,
    updated_since: dt.datetime | None = None,
    account_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    lifecycle_stage: str | None = None,
    q: str | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[Contact], str | None]:
    qs = _common_filters(
        visible(user, _contacts()), owner_id=owner_id, tag=tag, updated_since=updated_since
    )
    qs = customfields.filter_queryset(qs, Contact.object_type, custom)
    if account_id:
        qs = qs.filter(account_id=require_id("account_id", account_id))
    if email:
        try:
            qs = qs.filter(email_rows__email=normalize_email(email))
        except ValueError as exc:
            raise InvalidInput.field("email", str(exc)) from None
    if phone:
        try:
            qs = qs.filter(phone_rows__number=normalize_phone(phone))
        except ValueError as exc:
            raise InvalidInput.field("phone", str(exc)) from None
    if lifecycle_stage:
        if lifecycle_stage not in Contact.LifecycleStage.values:
            raise InvalidInput.field("lifecycle_stage", "unknown lifecycle stage")
        qs = qs.filter(lifecycle_stage=lifecycle_stage)
    if email or phone:
        # A contact can match on two of its addresses; show it once.
        qs = qs.distinct()
    sort = pagination.parse_sort(params.sort, CONTACT_SORTS)
    return search.page(
        qs,
        Contact.object_type,
        q,
        hidden=hidden_fields(user, Contact.object_type),
        sort=sort,
        cursor=params.cursor,
        limit=params.limit,
    )


def get_tag(user: Any, record_id: Any) -> Tag:
    return visible_one(user, Tag.objects.all(), record_id)


def list_tags(
    user: Any, params: ListParams, *, custom: Mapping[str, str] | None = None
) -> tuple[list[Tag], str | None]:
    sort = pagination.parse_sort(params.sort, TAG_SORTS, default="name")
    qs = customfields.filter_queryset(visible(user, Tag.objects.all()), Tag.object_type, custom)
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)


def get_custom_field(user: Any, record_id: Any) -> CustomField:
    return visible_one(user, CustomField.objects.all(), record_id)


def list_custom_fields(
    user: Any,
    params: ListParams,
    *,
    record_type: str | None = None,
    custom: Mapping[str, str] | None = None,
) -> tuple[list[CustomField], str | None]:
    if custom:
        raise InvalidInput.field("cf", "custom field definitions have no custom fields")
    qs = visible(user, CustomField.objects.all())
    if record_type:
        qs = qs.filter(record_type=record_type)
    sort = pagination.parse_sort(params.sort, {"id": "id", "key": "key"})
    return pagination.page(qs, sort=sort, cursor=params.cursor, limit=params.limit)

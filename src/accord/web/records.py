"""The record types of the staff web app: what each one shows, declared once.

A record type gets a list page (columns, filters, sort, keyset paging, bulk actions, CSV
export), a record page (header, sections, related lists, timeline, quick actions) and an edit
page by being declared here. Everything the API already declares is taken from the type's
:class:`accord.core.api.Resource` (service, read, browse, output, patch and filter schemas),
so the pages read and write through the same visibility checks and services as the API; this
module only adds how the type is shown (see docs/user/lists-and-records.md).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass
from functools import cached_property
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from django.core.exceptions import ImproperlyConfigured
from django.urls import path

# The domains' API modules declare the Resources (importing them fills core.api.RESOURCES).
from accord.activities import api as _activities_api  # noqa: F401
from accord.catalog import api as _catalog_api  # noqa: F401
from accord.core.api import RESOURCES, ListQuery, Resource
from accord.core.services import RECYCLE_BIN_RETENTION
from accord.identity.visibility import permitted
from accord.marketing import api as _marketing_api  # noqa: F401
from accord.parties import api as _parties_api  # noqa: F401
from accord.sales import api as _sales_api  # noqa: F401
from accord.service import api as _service_api  # noqa: F401

#: Fields every record carries that the pages show in the header or not at all.
SYSTEM_FIELDS = frozenset(
    {"id", "version", "created_at", "updated_at", "created_by_id", "updated_by_id", "deleted_at"}
)
#: Query parameters of a list that are not filters.
LIST_PARAMS = frozenset(ListQuery.model_fields)


@dataclass(frozen=True)
class Related:
    """A related list on a record page: records of ``type`` whose filter ``filter`` is this
    record's id (an account's contacts: ``Related("contact", "account_id")``)."""

    type: str
    filter: str
    label: str = ""


@dataclass(frozen=True)
class Section:
    """A group of fields on the record page."""

    label: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class RecordType:
    """How one record type is shown; ``name`` is its Resource's (and object type's) name."""

    name: str
    label: str
    plural: str
    workspace: str
    #: Fields joined to make a record's title (the first non-empty wins as a whole).
    title: tuple[str, ...]
    #: Columns of the list when the user has not chosen any.
    columns: tuple[str, ...]
    #: Sort keys the browse function accepts (its ``*_SORTS``), shown as sortable headers.
    sorts: tuple[str, ...] = ("created_at", "updated_at")
    #: Fields shown next to the title on the record page.
    key_fields: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    related: tuple[Related, ...] = ()
    #: Fields a bulk action may set to one value for every selected row (status, stage).
    bulk_fields: tuple[str, ...] = ()
    #: Whether the record carries tags (bulk "add a tag").
    tagged: bool = False
    #: Whether activities (calls, notes, tasks) may be about it: the quick actions.
    quick_actions: bool = True
    order: int = 100

    @property
    def resource(self) -> Resource[Any]:
        try:
            return RESOURCES[self.name]
        except KeyError:
            raise ImproperlyConfigured(f"no API Resource named {self.name!r}") from None

    @property
    def object_type(self) -> str:
        return str(self.resource.service.model.object_type)

    @cached_property
    def fields(self) -> tuple[str, ...]:
        """Every field of the output schema, in its order."""
        return tuple(self.resource.out.model_fields)

    @cached_property
    def editable(self) -> dict[str, type]:
        """Fields of the patch schema a one-line control can edit, with their value type."""
        found: dict[str, type] = {}
        for name, info in self.resource.patch_in.model_fields.items():
            kind = scalar_type(info.annotation)
            if kind is not None:
                found[name] = kind
        return found

    @cached_property
    def choices(self) -> dict[str, tuple[str, ...]]:
        """Fields of the patch schema with a closed set of values (a Literal or a pattern of
        alternatives), for select controls."""
        found: dict[str, tuple[str, ...]] = {}
        for name, info in self.resource.patch_in.model_fields.items():
            values = closed_values(info.annotation)
            if values:
                found[name] = values
        return found

    @cached_property
    def filters(self) -> tuple[str, ...]:
        return tuple(n for n in self.resource.filters.model_fields if n not in LIST_PARAMS)

    def section_list(self) -> tuple[Section, ...]:
        """The declared sections, then "Other fields" for scalar fields none of them names."""
        named = {f for s in self.sections for f in s.fields} | set(self.key_fields)
        rest = tuple(
            f
            for f in self.fields
            if f not in named and f not in SYSTEM_FIELDS and f != "custom_fields"
        )
        return (*self.sections, Section("Other fields", rest)) if rest else self.sections

    def allowed(self, user: Any) -> bool:
        return permitted(user, self.object_type, "read")


def scalar_type(annotation: Any) -> type | None:
    """The one plain type under ``annotation`` (``Optional[Annotated[str, …]]`` → str), or None
    for lists, dicts and nested schemas."""
    origin = get_origin(annotation)
    if origin is None:
        if annotation in (str, int, bool, decimal.Decimal, dt.date, dt.datetime, uuid.UUID):
            return annotation
        if isinstance(annotation, type) and issubclass(annotation, dt.datetime):
            return dt.datetime
        return None
    if origin is Literal:
        return str
    args = [a for a in get_args(annotation) if a is not type(None)]
    if origin in (Union, UnionType):
        return scalar_type(args[0]) if len(args) == 1 else None
    if origin is Annotated:
        return scalar_type(args[0])
    return None


def closed_values(annotation: Any) -> tuple[str, ...]:
    origin = get_origin(annotation)
    if origin is Literal:
        return tuple(str(a) for a in get_args(annotation))
    if origin is None:
        return ()
    for arg in get_args(annotation):
        found = closed_values(arg)
        if found:
            return found
    for meta in getattr(annotation, "__metadata__", ()):
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str) and pattern.startswith("^(") and pattern.endswith(")$"):
            return tuple(pattern[2:-2].split("|"))
    return ()


TYPES: dict[str, RecordType] = {}
RETENTION_DAYS = RECYCLE_BIN_RETENTION.days


def declare(record_type: RecordType) -> RecordType:
    TYPES[record_type.name] = record_type
    return record_type


def get(name: str) -> RecordType | None:
    return TYPES.get(name)


declare(
    RecordType(
        name="account",
        label="Account",
        plural="Accounts",
        workspace="sales",
        order=10,
        title=("name",),
        columns=("name", "domain", "industry", "owner_id", "updated_at"),
        sorts=("name", "created_at", "updated_at"),
        key_fields=("domain", "industry", "owner_id"),
        sections=(
            Section("Company", ("name", "website", "domain", "industry", "tier", "parent_id")),
            Section("Size", ("employee_count", "annual_revenue")),
            Section("Addresses", ("billing_address", "shipping_address")),
            Section("Tags and references", ("tags", "external_id")),
        ),
        related=(
            Related("contact", "account_id", "Contacts"),
            Related("deal", "account_id", "Deals"),
            Related("case", "account_id", "Cases"),
        ),
        tagged=True,
    )
)
declare(
    RecordType(
        name="contact",
        label="Contact",
        plural="Contacts",
        workspace="sales",
        order=20,
        title=("first_name", "last_name"),
        columns=("first_name", "last_name", "emails", "account_id", "owner_id"),
        sorts=("last_name", "first_name", "created_at", "updated_at"),
        key_fields=("title", "account_id", "owner_id"),
        sections=(
            Section("Person", ("first_name", "last_name", "title", "lifecycle_stage")),
            Section("Reach", ("emails", "phones", "email_opt_in", "sms_opt_in", "do_not_call")),
            Section("Tags and references", ("tags", "external_id")),
        ),
        related=(Related("case", "contact_id", "Cases"),),
        bulk_fields=("lifecycle_stage",),
        tagged=True,
    )
)
declare(
    RecordType(
        name="lead",
        label="Lead",
        plural="Leads",
        workspace="sales",
        order=30,
        title=("first_name", "last_name", "company"),
        columns=("first_name", "last_name", "company", "status", "score", "owner_id"),
        sorts=("last_name", "company", "score", "created_at", "updated_at"),
        key_fields=("company", "status", "owner_id"),
        sections=(
            Section("Person", ("first_name", "last_name", "title", "company")),
            Section("Reach", ("email", "phone", "website")),
            Section("Qualification", ("status", "source", "score")),
        ),
        bulk_fields=("status",),
    )
)
declare(
    RecordType(
        name="deal",
        label="Deal",
        plural="Deals",
        workspace="sales",
        order=40,
        title=("name",),
        columns=("name", "amount", "currency", "stage_id", "expected_close", "owner_id"),
        sorts=("name", "amount", "created_at", "updated_at"),
        key_fields=("amount", "stage_id", "owner_id"),
        sections=(
            Section("Deal", ("name", "account_id", "contact_ids")),
            Section("Money", ("amount", "currency", "probability")),
            Section("Pipeline", ("pipeline_id", "stage_id", "expected_close", "closed_at")),
        ),
        bulk_fields=("stage_id",),
    )
)
declare(
    RecordType(
        name="case",
        label="Case",
        plural="Cases",
        workspace="service",
        order=10,
        title=("subject",),
        columns=("subject", "status", "priority", "account_id", "owner_id"),
        key_fields=("status", "priority", "owner_id"),
        sections=(
            Section("Case", ("subject", "description", "origin")),
            Section("Handling", ("status", "priority", "queue_id", "opened_at")),
            Section(
                "Service level",
                ("sla_policy_id", "first_response_due_at", "resolution_due_at"),
            ),
            Section("Customer", ("account_id", "contact_id", "product_id")),
        ),
        bulk_fields=("status", "priority"),
    )
)
declare(
    RecordType(
        name="product",
        label="Product",
        plural="Products",
        workspace="back_office",
        order=10,
        title=("name",),
        columns=("sku", "name", "list_price", "currency", "active"),
        sorts=("sku", "name", "created_at", "updated_at"),
        key_fields=("sku", "list_price", "active"),
        sections=(
            Section("Product", ("sku", "name", "description", "active")),
            Section("Price", ("list_price", "currency")),
        ),
        related=(Related("case", "product_id", "Cases"),),
        quick_actions=False,
    )
)
declare(
    RecordType(
        name="campaign",
        label="Campaign",
        plural="Campaigns",
        workspace="marketing",
        order=10,
        title=("name",),
        columns=("name", "type", "status", "starts_on", "ends_on", "owner_id"),
        sorts=("name", "created_at", "updated_at"),
        key_fields=("type", "status", "owner_id"),
        sections=(
            Section("Campaign", ("name", "description", "type", "status")),
            Section("Schedule and budget", ("starts_on", "ends_on", "budget", "currency")),
        ),
        bulk_fields=("status",),
    )
)
declare(
    RecordType(
        name="task",
        label="Task",
        plural="Tasks",
        workspace="sales",
        order=50,
        title=("subject",),
        columns=("subject", "status", "priority", "due_at", "assignee_id", "owner_id"),
        key_fields=("status", "due_at", "assignee_id"),
        sections=(
            Section("Task", ("subject", "description", "status", "priority", "due_at")),
            Section("About", ("related_type", "related_id", "assignee_id")),
        ),
        bulk_fields=("status", "priority"),
        quick_actions=False,
    )
)


def mount(site: Any) -> None:
    """Give the shell a menu entry and a list URL (``records:<name>-list``) per record type,
    and the record, edit, bulk, export and recycle-bin URLs all types share."""
    from accord.web import lists, record_views, saved_views

    patterns: list[Any] = []
    for rt in sorted(TYPES.values(), key=lambda t: (t.workspace, t.order)):
        patterns.append(
            path(
                f"records/{rt.name}/",
                lists.record_list,
                {"type_name": rt.name},
                name=f"{rt.name}-list",
            )
        )
        site.page(
            workspace=rt.workspace,
            label=rt.plural,
            url=f"records:{rt.name}-list",
            order=rt.order,
            allowed=rt.allowed,
        )
    site.page(
        workspace="back_office",
        label="Recycle bin",
        url="records:recycle-bin",
        order=900,
        description=f"Deleted records, restorable for {RETENTION_DAYS} days.",
    )
    patterns += [
        path("records/<str:type_name>/export.csv", lists.export_csv, name="export"),
        path("records/<str:type_name>/new", record_views.create, name="create"),
        path("records/<str:type_name>/bulk", lists.bulk, name="bulk"),
        path("records/<str:type_name>/views", saved_views.save, name="save-view"),
        path(
            "records/<str:type_name>/views/<uuid:view_id>/delete",
            saved_views.delete,
            name="delete-view",
        ),
        path("records/<str:type_name>/<uuid:record_id>/", record_views.detail, name="detail"),
        path("records/<str:type_name>/<uuid:record_id>/edit", record_views.edit, name="edit"),
        path(
            "records/<str:type_name>/<uuid:record_id>/cell/<str:field_name>",
            lists.cell,
            name="cell",
        ),
        path("records/<str:type_name>/<uuid:record_id>/delete", record_views.delete, name="delete"),
        path(
            "records/<str:type_name>/<uuid:record_id>/activity",
            record_views.quick_action,
            name="quick-action",
        ),
        path(
            "records/<str:type_name>/<uuid:record_id>/attach",
            record_views.attach,
            name="attach",
        ),
        path("recycle-bin/", record_views.recycle_bin, name="recycle-bin"),
        path(
            "recycle-bin/<str:type_name>/<uuid:record_id>/restore",
            record_views.restore,
            name="restore",
        ),
    ]
    site.mount("records", patterns)

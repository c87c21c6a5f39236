"""The list page of every declared record type: chosen columns, filters (the Resource's filter
schema and ``cf.<key>`` custom fields), sort, keyset paging, inline edit of a cell, bulk
actions and the CSV export of the current view. Rows come from the type's browse function, so
visibility and field-level security are the API's."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from pydantic import ValidationError

from accord.core import pagination, registry
from accord.core.api import check_filters
from accord.core.errors import AccordError, FieldError, InvalidInput, PreconditionFailed
from accord.core.models import Source
from accord.identity import audit
from accord.web import recordkit, saved_views
from accord.web.recordkit import Names, record_page
from accord.web.records import RecordType

#: Rows per page of a list.
PAGE_SIZE = 50
#: Rows read per browse call while exporting.
EXPORT_BATCH = pagination.MAX_LIMIT


@dataclass
class ListView:
    """What the request asks the list to show, checked against what the user may see."""

    rt: RecordType
    policy: registry.FieldPolicy
    available: list[str]
    columns: list[str]
    filters: dict[str, str] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    sort: str | None = None
    cursor: str | None = None
    custom_fields: list[Any] = field(default_factory=list)

    @classmethod
    def of(cls, request: HttpRequest, rt: RecordType) -> ListView:
        policy = rt.resource.policy(request.user)
        hidden = policy.hidden
        available = [
            f
            for f in rt.fields
            if f not in hidden and f not in ("custom_fields", "deleted_at", "version")
        ]
        definitions = recordkit.custom_fields(rt, hidden)
        available += [f"cf.{c.key}" for c in definitions]
        chosen = [c for c in request.GET.getlist("columns") if c in available]
        columns = chosen or [c for c in rt.columns if c in available]
        filters = {n: v for n in rt.filters if (v := request.GET.get(n, "").strip())}
        custom = {
            k[3:]: str(v).strip()
            for k, v in request.GET.items()
            if k.startswith("cf.") and str(v).strip()
        }
        return cls(
            rt=rt,
            policy=policy,
            available=available,
            columns=columns,
            filters=filters,
            custom=custom,
            sort=request.GET.get("sort") or None,
            cursor=request.GET.get("cursor") or None,
            custom_fields=definitions,
        )

    def label(self, column: str) -> str:
        """A column's heading: a custom field's own label, else the field's name in words."""
        for definition in self.custom_fields:
            if column == f"cf.{definition.key}":
                return str(definition.label)
        return recordkit.label(column)

    def browse(self, user: Any, *, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
        """One page through the type's browse function; bad filters are InvalidInput, filters
        on hidden fields PermissionDenied (as in the API)."""
        try:
            query = self.rt.resource.filters.model_validate(
                {**self.filters, "sort": self.sort, "cursor": cursor, "limit": limit}
            )
        except ValidationError as exc:
            raise InvalidInput(
                "Some filters are not valid",
                [FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()],
            ) from None
        values = query.model_dump(exclude={"sort", "cursor", "limit"}, exclude_none=True)
        sort_key = [self.sort.lstrip("-")] if self.sort else []
        check_filters(self.policy, [*values, *(f"cf.{k}" for k in self.custom), *sort_key])
        return self.rt.resource.browse(
            user,
            pagination.ListParams(sort=self.sort, cursor=cursor, limit=limit),
            custom=self.custom,
            **values,
        )

    def payloads(self, rows: list[Any]) -> list[dict[str, Any]]:
        service = self.rt.resource.service
        return [self.policy.mask(service.payload(r)) for r in rows]


@record_page
def record_list(request: HttpRequest, rt: RecordType) -> HttpResponse:
    view = ListView.of(request, rt)
    error: AccordError | None = None
    try:
        rows, next_cursor = view.browse(request.user, limit=PAGE_SIZE, cursor=view.cursor)
    except (InvalidInput, recordkit.PermissionDenied) as exc:
        rows, next_cursor, error = [], None, exc
    payloads = view.payloads(rows)
    names = Names(request.user, payloads, view.columns)
    editable = set(rt.editable) - view.policy.read_only
    table = [
        {
            "id": p["id"],
            "version": p.get("version"),
            "title": recordkit.title(rt, p),
            "cells": [
                {
                    "column": c,
                    "label": view.label(c),
                    **names.cell(c, recordkit.value_of(p, c)),
                    "editable": c in editable,
                }
                for c in view.columns
            ],
        }
        for p in payloads
    ]
    params = request.GET.copy()
    params.pop("cursor", None)
    return render(
        request,
        "web/records/list.html",
        {
            "rt": rt,
            "view": view,
            "rows": table,
            "error": error,
            "headers": [_header(request, view, c) for c in view.columns],
            "column_choices": [
                {"name": c, "label": view.label(c), "checked": c in view.columns}
                for c in view.available
            ],
            "filter_fields": [
                {"name": n, "label": recordkit.label(n), "value": view.filters.get(n, "")}
                for n in rt.filters
                if n.removesuffix("_id") not in view.policy.hidden and n not in view.policy.hidden
            ],
            "custom_filters": [
                {"name": f"cf.{c.key}", "label": c.label, "value": view.custom.get(c.key, "")}
                for c in view.custom_fields
            ],
            "next_page": f"?{_with(params, cursor=next_cursor)}" if next_cursor else None,
            "first_page": f"?{params.urlencode()}" if view.cursor else None,
            "export_url": f"{reverse('records:export', args=[rt.name])}?{params.urlencode()}",
            "may_export": recordkit.permitted(request.user, rt.object_type, "export"),
            "may_create": recordkit.permitted(request.user, rt.object_type, "create"),
            "bulk_fields": [
                {"name": f, "label": recordkit.label(f), "choices": rt.choices.get(f, ())}
                for f in rt.bulk_fields
                if f in editable
            ],
            "here": request.get_full_path(),
            "query": params.urlencode(),
            "saved_views": saved_views.choices(request, rt),
            "owners": recordkit.assignable_users(),
            "audiences": saved_views.audiences(request.user),
        },
        status=error.status if error else 200,
    )


def _with(params: Any, **changes: Any) -> str:
    copy = params.copy()
    for key, value in changes.items():
        copy[key] = value
    return str(copy.urlencode())


def _header(request: HttpRequest, view: ListView, column: str) -> dict[str, Any]:
    params = request.GET.copy()
    params.pop("cursor", None)
    found: dict[str, Any] = {"name": column, "label": view.label(column)}
    if column in view.rt.sorts:
        descending = view.sort == column
        found["sort_url"] = f"?{_with(params, sort=f'-{column}' if descending else column)}"
        if view.sort in (column, f"-{column}"):
            found["sorted"] = "descending" if view.sort.startswith("-") else "ascending"
    return found


@record_page
def export_csv(request: HttpRequest, rt: RecordType) -> HttpResponseBase:
    """The current view (columns, filters, sort) as CSV, every page of it, streamed. Needs the
    role's export permission; hidden fields are never columns; each export is logged."""
    recordkit.require(request.user, rt, "export")
    view = ListView.of(request, rt)
    try:
        first, cursor = view.browse(request.user, limit=EXPORT_BATCH, cursor=None)
    except (InvalidInput, recordkit.PermissionDenied) as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    audit.record(
        "export",
        actor=request.user,
        request=request,
        target_type=rt.object_type,
        details={"columns": view.columns, "filters": view.filters, "custom": view.custom},
    )
    user = request.user

    def lines() -> Iterator[str]:
        out = _Line()
        writer = csv.writer(out)
        writer.writerow(["id", *view.columns])
        yield out.take()
        rows, next_cursor = first, cursor
        while True:
            for payload in view.payloads(rows):
                values = [recordkit.text(recordkit.value_of(payload, c)) for c in view.columns]
                writer.writerow([payload["id"], *values])
                yield out.take()
            if not next_cursor:
                return
            rows, next_cursor = view.browse(user, limit=EXPORT_BATCH, cursor=next_cursor)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{rt.name}s.csv"'
    return response


class _Line:
    """A file-like target for csv.writer that hands each written row back."""

    def __init__(self) -> None:
        self.buffer: list[str] = []

    def write(self, text: str) -> None:
        self.buffer.append(text)

    def take(self) -> str:
        text, self.buffer = "".join(self.buffer), []
        return text


BULK_ACTIONS = ("delete", "assign", "tag", "set")


@require_POST
@record_page
def bulk(request: HttpRequest, rt: RecordType) -> HttpResponse:
    """Apply one action to the selected rows, each through the service; every row gets its
    own result (a row the user may not change fails alone)."""
    action = request.POST.get("action", "")
    ids = request.POST.getlist("ids")
    results: list[dict[str, Any]] = []
    if action not in BULK_ACTIONS or not ids:
        error = "Choose an action and at least one record."
        return render(
            request, "web/records/bulk.html", {"rt": rt, "error": error, "results": []}, status=422
        )
    service = rt.resource.service
    for record_id in ids[: PAGE_SIZE * 4]:
        result: dict[str, Any] = {"id": record_id, "ok": False}
        try:
            record = rt.resource.read(request.user, record_id)
            result["title"] = recordkit.title(rt, service.payload(record))
            if action == "delete":
                service.delete(
                    actor=request.user,
                    record_id=record.pk,
                    expected_version=None,
                    source=Source.WEB,
                )
            else:
                data = _bulk_data(request, rt, action, service.payload(record))
                service.update(
                    actor=request.user,
                    record_id=record.pk,
                    data=data,
                    expected_version=None,
                    source=Source.WEB,
                )
            result["ok"] = True
        except AccordError as exc:
            detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.detail
            result["error"] = detail
        results.append(result)
    return render(
        request,
        "web/records/bulk.html",
        {"rt": rt, "results": results, "action": action, "back": _back(request, rt)},
    )


def _bulk_data(
    request: HttpRequest, rt: RecordType, action: str, payload: dict[str, Any]
) -> dict[str, Any]:
    if action == "assign":
        return recordkit.parse(rt, {"owner_id": request.POST.get("owner_id", "")})
    if action == "tag":
        if not rt.tagged:
            raise InvalidInput.field("tag", f"{rt.plural.lower()} have no tags")
        tag = request.POST.get("tag", "").strip()
        if not tag:
            raise InvalidInput.field("tag", "name the tag to add")
        return {"tags": [*payload.get("tags", []), tag]}
    name = request.POST.get("field", "")
    if name not in rt.bulk_fields:
        raise InvalidInput.field("field", "this field cannot be set for many records at once")
    return recordkit.parse(rt, {name: request.POST.get("value", "")})


def _back(request: HttpRequest, rt: RecordType) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        return wanted
    return reverse(f"records:{rt.name}-list")


@require_http_methods(["GET", "POST"])
@record_page
def cell(request: HttpRequest, rt: RecordType, record_id: Any, field_name: str) -> HttpResponse:
    """Edit one cell of a list: a small form (an htmx swap of the cell, or a page of its own
    without JavaScript); saving sends If-Match's version, so a stale cell is refused."""
    record = rt.resource.read(request.user, str(record_id))
    policy = rt.resource.policy(request.user)
    if field_name not in rt.editable or field_name in policy.read_only:
        raise recordkit.PageDenied("This field cannot be edited here")
    payload = policy.mask(rt.resource.service.payload(record))
    context: dict[str, Any] = {
        "rt": rt,
        "record_id": record.pk,
        "version": record.version,
        "field": field_name,
        "label": recordkit.label(field_name),
        "value": recordkit.text(payload.get(field_name)),
        "choices": rt.choices.get(field_name, ()),
        "boolean": rt.editable[field_name] is bool,
        "next": _back(request, rt) if request.method == "POST" else request.GET.get("next", ""),
    }
    status = 200
    if request.method == "POST":
        context["value"] = request.POST.get("value", "")
        try:
            data = recordkit.parse(rt, {field_name: context["value"]})
            version = int(request.POST.get("version", ""))
            record = rt.resource.service.update(
                actor=request.user,
                record_id=record.pk,
                data=data,
                expected_version=version,
                source=Source.WEB,
            )
        except ValueError:
            context["error"], status = "The form lost the record's version: reload.", 400
        except PreconditionFailed:
            context["error"] = "Someone changed this record since you opened it: reload the list."
            context["stale"], status = True, 412
        except AccordError as exc:
            context["error"] = "; ".join(e.message for e in exc.errors) or exc.detail
            status = exc.status
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                return redirect(context["next"])
            names = Names(request.user, [rt.resource.service.payload(record)], [field_name])
            shown = names.cell(field_name, rt.resource.service.payload(record).get(field_name))
            return render(
                request,
                "web/records/cell.html#cell",
                {
                    "rt": rt,
                    "row": {"id": record.pk, "version": record.version},
                    "cell": {
                        "column": field_name,
                        "label": recordkit.label(field_name),
                        "editable": True,
                        **shown,
                    },
                    "here": context["next"],
                },
            )
    template = "web/records/cell.html#form" if request.htmx else "web/records/cell.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)

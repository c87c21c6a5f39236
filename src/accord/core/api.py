"""Declarative REST resources: a record type declares its schemas, service and queries, and gets
list / create / read / update / delete / restore endpoints that follow the API contract
(ETag and If-Match, problem+json, keyset pages) without copying a neighbour.
"""

import copy
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Generic, TypeVar, Union, cast, get_args, get_origin

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import NinjaJSONEncoder, Status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model
from pydantic import ValidationError as PydanticValidationError

from accord.core import bulk, pagination, registry
from accord.core.errors import (
    FieldError,
    InvalidInput,
    PermissionDenied,
    PreconditionFailed,
    PreconditionRequired,
)
from accord.core.models import Record, Source
from accord.core.records import Payload
from accord.core.schemas import (
    _ISO_DATE,
    _ISO_DATETIME,
    CleanInput,
    FieldErrorOut,
    InputSchema,
    Page,
    Problem,
    _contains_nul,
    _temporal_kind,
    maskable,
    text_limits,
    too_long,
)
from accord.core.services import RecordService

R = TypeVar("R", bound=Record)

#: Error answers every item endpoint may give, declared so they appear in OpenAPI.
ITEM_ERRORS: dict[int, type[Schema]] = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    409: Problem,
    412: Problem,
    422: Problem,
    428: Problem,
}


class ListQuery(CleanInput):
    """Query parameters every list accepts."""

    sort: str | None = Field(None, description="A sort key; prefix with - for descending")
    cursor: str | None = Field(
        None, max_length=2000, description="next_cursor of the previous page"
    )
    limit: int = Field(pagination.DEFAULT_LIMIT, ge=1, le=pagination.MAX_LIMIT)


def etag(record: Record) -> str:
    return f'"{record.version}"'


def expected_version(request: HttpRequest) -> int | None:
    """The version named by ``If-Match``: 428 when absent, 412 when it cannot match.
    ``*`` (any version) returns None."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired("Send If-Match with the ETag you read (or * to overwrite)")
    value = header.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailed(f"If-Match {header!r} matches no version of this record")
    return int(value)


def actor(request: HttpRequest) -> Any:
    return request.auth_user  # type: ignore[attr-defined]


@dataclass
class Resource(Generic[R]):
    """One record type exposed over the API."""

    name: str
    service: RecordService[R]
    read: Callable[[Any, str], R]
    browse: Callable[..., tuple[list[R], str | None]]
    out: type[Schema]
    create_in: type[InputSchema]
    patch_in: type[InputSchema]
    filters: type[ListQuery]
    tags: list[str] = field(default_factory=list)

    def policy(self, actor: Any) -> registry.FieldPolicy:
        return registry.field_policy(actor, self.service.model.object_type)

    def show(self, actor: Any, record: R) -> Payload:
        """The record as ``actor`` may see it: hidden fields left out."""
        return self.policy(actor).mask(self.service.payload(record))


def check_filters(policy: registry.FieldPolicy, names: list[str]) -> None:
    """403 when a list filters or sorts on a field the caller may not see: the answer would
    reveal its values. ``names`` are query parameter names (``email``, ``owner_id``,
    ``cf.tier``) or sort keys."""
    if not policy.hidden:
        return
    denied = []
    for name in names:
        if name.startswith("cf."):
            candidates = {f"custom_fields.{name[3:]}"}
        else:
            candidates = {name, name.removesuffix("_id"), f"{name}s"}
        if candidates & policy.hidden:
            denied.append(FieldError(name, "you may not filter or sort on this field"))
    if denied:
        raise PermissionDenied("The list filters or sorts on hidden fields", denied)


class PlainPage:
    """A list page, or one record's answer, written straight from the payloads, for output
    schemas whose fields the payloads already hold in their JSON form: what ninja would
    answer, without validating every item into the schema and dumping it again (a fifth of a
    50-row page's time).

    Only date-times differ between a payload and the answer (``isoformat()`` against
    DjangoJSONEncoder's milliseconds and ``Z``), so those are rewritten; keys the schema
    lacks are dropped. Schemas with anything else to convert (floats, times, nested date-times,
    aliases, serializers) keep ninja's way (``of`` answers None).
    """

    def __init__(self, fields: frozenset[str], datetimes: frozenset[str]) -> None:
        self.fields = fields
        self.datetimes = datetimes

    @classmethod
    def of(cls, schema: type[Schema]) -> "PlainPage | None":
        decorators = schema.__pydantic_decorators__
        if decorators.field_serializers or decorators.model_serializers:
            return None
        datetimes: set[str] = set()
        for name, info in schema.model_fields.items():
            if info.alias or info.serialization_alias:
                return None
            kinds = _leaf_types(info.annotation)
            if kinds is None:
                return None
            if dt.datetime in kinds:
                if not _is_optional_of(info.annotation, dt.datetime):
                    return None
                datetimes.add(name)
        return cls(frozenset(schema.model_fields), frozenset(datetimes))

    def item(self, payload: Payload) -> Payload:
        out = {k: v for k, v in payload.items() if k in self.fields}
        for name in self.datetimes:
            value = out.get(name)
            if isinstance(value, str):
                out[name] = _as_django_json_datetime(value)
        return out

    def response(self, items: list[Payload], next_cursor: str | None) -> HttpResponse:
        body = {"items": [self.item(i) for i in items], "next_cursor": next_cursor}
        return HttpResponse(
            json.dumps(body, cls=NinjaJSONEncoder), content_type="application/json; charset=utf-8"
        )

    def one(self, payload: Payload, headers: dict[str, str], *, status: int = 200) -> HttpResponse:
        """One record's answer (read, create, change), with its headers."""
        answer = HttpResponse(
            json.dumps(self.item(payload), cls=NinjaJSONEncoder),
            status=status,
            content_type="application/json; charset=utf-8",
        )
        for name, value in headers.items():
            answer[name] = value
        return answer


_PLAIN = (str, int, bool, type(None), uuid.UUID, decimal.Decimal, dt.date, object)


def _leaf_types(annotation: Any) -> set[Any] | None:
    """The leaf types of ``annotation`` when every one of them serialises as its payload
    value does (a datetime only at the top), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found: set[Any] = set()
        for info in annotation.model_fields.values():
            inner = _leaf_types(info.annotation)
            if inner is None or dt.datetime in inner or info.alias:
                return None
            found |= inner
        return found
    origin = get_origin(annotation)
    if origin is None:
        if annotation is dt.datetime:
            return {dt.datetime}
        if annotation in _PLAIN or annotation is Any:
            return {annotation}
        return None
    if origin is Annotated:
        return _leaf_types(get_args(annotation)[0])
    found = set()
    for arg in get_args(annotation):
        if arg is Ellipsis:
            continue
        inner = _leaf_types(arg)
        if inner is None:
            return None
        found |= inner
    if dt.datetime in found and origin not in (Union, UnionType):
        return None
    return found


def _is_optional_of(annotation: Any, kind: type) -> bool:
    if annotation is kind:
        return True
    return get_origin(annotation) in (Union, UnionType) and set(get_args(annotation)) <= {
        kind,
        type(None),
    }


def _as_django_json_datetime(value: str) -> str:
    """An ``isoformat()`` date-time as DjangoJSONEncoder writes it: milliseconds, ``Z`` for
    UTC."""
    if len(value) >= 26 and value[19] == ".":
        value = value[:23] + value[26:]
    if value.endswith("+00:00"):
        value = value[:-6] + "Z"
    return value


#: Every Resource given to :func:`crud_router`, by name: the staff web app builds its record
#: pages from the same declarations.
RESOURCES: dict[str, "Resource[Any]"] = {}


def crud_router(res: Resource[Any]) -> Router:
    RESOURCES[res.name] = res
    router = Router(tags=res.tags or [res.name])
    Out, CreateIn, PatchIn, Filters = maskable(res.out), res.create_in, res.patch_in, res.filters
    plain = PlainPage.of(res.out)
    noun = res.name
    if res.service.match_keys:
        # Before the item routes, or "/{record_id}" would take "bulk" for an id.
        _bulk_route(router, res)

    @router.get(
        "",
        response={200: Page[Out], 400: Problem, 401: Problem, 403: Problem, 422: Problem},  # type: ignore[valid-type]
        summary=f"List {noun}s",
        description="Filter by custom fields with `cf.<key>=<value>`.",
        operation_id=f"list_{noun}s",
        exclude_unset=True,
    )
    def list_records(request: HttpRequest, filters: Query[Filters]) -> Any:  # type: ignore[valid-type]
        query = cast(ListQuery, filters)
        values = query.model_dump(exclude={"sort", "cursor", "limit"}, exclude_none=True)
        custom = {k[3:]: v for k, v in request.GET.items() if k.startswith("cf.")}
        policy = res.policy(actor(request))
        sort_key = [query.sort.lstrip("-")] if query.sort else []
        check_filters(policy, [*values, *(f"cf.{k}" for k in custom), *sort_key])
        rows, next_cursor = res.browse(
            actor(request),
            pagination.ListParams(sort=query.sort, cursor=query.cursor, limit=query.limit),
            custom=custom,
            **values,
        )
        items = [policy.mask(res.service.payload(r)) for r in rows]
        if plain is not None:
            return plain.response(items, next_cursor)
        return {"items": items, "next_cursor": next_cursor}

    @router.post(
        "",
        response={201: Out, **ITEM_ERRORS},
        summary=f"Create a {noun}",
        operation_id=f"create_{noun}",
        exclude_unset=True,
    )
    def create_record(request: HttpRequest, body: CreateIn, response: HttpResponse) -> Any:  # type: ignore[valid-type]
        record = res.service.create(
            actor=actor(request),
            data=cast(InputSchema, body).model_dump(exclude_unset=True),
            source=Source.API,
        )
        headers = {
            "ETag": etag(record),
            "Location": f"{request.path.rstrip('/')}/{record.pk}",
        }
        shown = res.show(actor(request), record)
        if plain is not None:
            return plain.one(shown, headers, status=201)
        for name, value in headers.items():
            response[name] = value
        return Status(201, shown)

    @router.get(
        "/{record_id}",
        response={200: Out, **ITEM_ERRORS},
        summary=f"Read a {noun}",
        operation_id=f"get_{noun}",
        exclude_unset=True,
    )
    def get_record(request: HttpRequest, record_id: str, response: HttpResponse) -> Any:
        record = res.read(actor(request), record_id)
        shown = res.show(actor(request), record)
        if plain is not None:
            return plain.one(shown, {"ETag": etag(record)})
        response["ETag"] = etag(record)
        return shown

    @router.patch(
        "/{record_id}",
        response={200: Out, **ITEM_ERRORS},
        summary=f"Change a {noun}",
        operation_id=f"update_{noun}",
        exclude_unset=True,
    )
    def update_record(
        request: HttpRequest,
        record_id: str,
        body: PatchIn,  # type: ignore[valid-type]
        response: HttpResponse,
    ) -> Any:
        version = expected_version(request)
        res.read(actor(request), record_id)  # 404 before 422 for records the caller cannot see
        record = res.service.update(
            actor=actor(request),
            record_id=record_id,
            data=cast(InputSchema, body).model_dump(exclude_unset=True),
            expected_version=version,
            source=Source.API,
        )
        shown = res.show(actor(request), record)
        if plain is not None:
            return plain.one(shown, {"ETag": etag(record)})
        response["ETag"] = etag(record)
        return shown

    @router.delete(
        "/{record_id}",
        response={204: None, **ITEM_ERRORS},
        summary=f"Move a {noun} to the recycle bin",
        operation_id=f"delete_{noun}",
    )
    def delete_record(request: HttpRequest, record_id: str) -> Any:
        version = expected_version(request)
        res.read(actor(request), record_id)
        res.service.delete(
            actor=actor(request), record_id=record_id, expected_version=version, source=Source.API
        )
        return Status(204, None)

    return router


class BulkIn(InputSchema):
    match_on: str = Field(description="The natural key that finds existing records")
    all_or_none: StrictBool = Field(False, description="Write nothing when any row fails")
    records: list[dict[str, Any]] = Field(max_length=bulk.MAX_ROWS)


class BulkRowOut(Schema):
    index: int
    status: str
    id: uuid.UUID | None
    version: int | None
    errors: list[FieldErrorOut]


class BulkOut(Schema):
    created: int
    updated: int
    unchanged: int
    failed: int
    results: list[BulkRowOut]


def row_validator(schema: type[Schema]) -> Callable[[Any], dict[str, Any]]:
    """``schema.model_validate(raw).model_dump(exclude_unset=True)`` for the rows of a bulk
    upsert, at a fraction of the cost for the rows that pass.

    A request body (``CleanInput``) runs two Python validators on every field, and ninja's
    ``Schema`` one more on the whole object: three quarters of validating a 1,000-row batch.
    Rows pass first through a plain pydantic model with the same fields and configuration,
    after CleanInput's checks made once per row (no NUL anywhere, dates and date-times as ISO
    text) and followed by its conversion of date-times to UTC. A row that fails any of it is
    validated again by ``schema`` itself, so its errors are exactly the ones ``schema`` gives.
    Schemas with validators of their own always use ``schema``.
    """

    def full(raw: Any) -> dict[str, Any]:
        return schema.model_validate(raw).model_dump(exclude_unset=True)

    decorators = schema.__pydantic_decorators__
    own = set(decorators.field_validators) - {"_reject_nul_and_numeric_times", "_times_in_utc"}
    own |= set(decorators.model_validators) - {"_run_root_validator"}
    if own or decorators.root_validators or not issubclass(schema, CleanInput):
        return full
    config = {k: v for k, v in schema.model_config.items() if k != "from_attributes"}
    fields: dict[str, Any] = {
        name: (info.annotation, copy.copy(info)) for name, info in schema.model_fields.items()
    }
    plain = create_model(
        f"{schema.__name__}Row",
        __config__=ConfigDict(**config),  # type: ignore[typeddict-item]
        **fields,
    )
    temporal = {
        name: _ISO_DATE if kind is dt.date else _ISO_DATETIME
        for name, info in schema.model_fields.items()
        if (kind := _temporal_kind(info.annotation)) is not None
    }

    limits = list(text_limits(schema).items())

    def validate(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or _contains_nul(raw):
            return full(raw)
        for name, bounds in limits:
            if too_long(raw.get(name), bounds) is not None:
                return full(raw)
        for name, pattern in temporal.items():
            value = raw.get(name)
            if value is not None and not (isinstance(value, str) and pattern.match(value)):
                return full(raw)
        try:
            data = plain.model_validate(raw).model_dump(exclude_unset=True)
        except PydanticValidationError:
            return full(raw)
        for name, value in data.items():
            if isinstance(value, dt.datetime):
                data[name] = (
                    value.replace(tzinfo=dt.UTC)
                    if value.tzinfo is None
                    else value.astimezone(dt.UTC)
                )
        return data

    return validate


def _bulk_route(router: Router, res: Resource[Any]) -> None:
    item = create_model(
        f"{res.patch_in.__name__}BulkItem",
        __base__=res.patch_in,
        id=(uuid.UUID | None, None),
    )
    keys = ", ".join(res.service.match_keys)
    validate_row = row_validator(item)

    @router.post(
        "/bulk",
        response={200: BulkOut, **ITEM_ERRORS},
        summary=f"Create or update up to {bulk.MAX_ROWS} {res.name}s",
        description=f"Rows match existing records on `match_on` ({keys}); every row gets a "
        "result. Unmatched rows are created.",
        operation_id=f"bulk_upsert_{res.name}s",
    )
    def bulk_upsert(request: HttpRequest, body: BulkIn) -> Any:
        rows: list[dict[str, Any]] = []
        row_errors: dict[int, list[FieldError]] = {}
        for index, raw in enumerate(body.records):
            try:
                rows.append(validate_row(raw))
            except PydanticValidationError as exc:
                rows.append({})
                row_errors[index] = [
                    FieldError(".".join(str(p) for p in e["loc"]) or "record", e["msg"])
                    for e in exc.errors()
                ]
        results = bulk.upsert(
            res.service,
            actor=actor(request),
            rows=rows,
            match_on=body.match_on,
            source=Source.API,
            all_or_none=body.all_or_none,
            row_errors=row_errors,
        )
        failed = [r for r in results if r.status == "error"]
        if body.all_or_none and failed:
            raise InvalidInput(
                f"{len(failed)} row(s) failed; nothing was written",
                [
                    FieldError(f"records[{r.index}].{e.field}", e.message)
                    for r in failed
                    for e in r.errors
                ],
            )
        answer = {
            "created": sum(r.status == "created" for r in results),
            "updated": sum(r.status == "updated" for r in results),
            "unchanged": sum(r.status == "unchanged" for r in results),
            "failed": len(failed),
            "results": [
                {
                    "index": r.index,
                    "status": r.status,
                    "id": None if r.id is None else str(uuid.UUID(str(r.id))),
                    "version": r.version,
                    "errors": [{"field": e.field, "message": e.message} for e in r.errors],
                }
                for r in results
            ],
        }
        # Already in BulkOut's JSON form: written as is, like PlainPage.
        return HttpResponse(
            json.dumps(answer, cls=NinjaJSONEncoder),
            content_type="application/json; charset=utf-8",
        )

"""Declarative REST resources: a record type declares its schemas, service and queries, and gets
list / create / read / update / delete / restore endpoints that follow the API contract
(ETag and If-Match, problem+json, keyset pages) without copying a neighbour.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from accord.core import pagination
from accord.core.errors import PreconditionFailed, PreconditionRequired
from accord.core.models import Record, Source
from accord.core.records import Payload
from accord.core.schemas import InputSchema, Page, Problem
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


class ListQuery(Schema):
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

    def show(self, record: R) -> Payload:
        return self.service.payload(record)


def crud_router(res: Resource[Any]) -> Router:
    router = Router(tags=res.tags or [res.name])
    Out, CreateIn, PatchIn, Filters = res.out, res.create_in, res.patch_in, res.filters
    noun = res.name

    @router.get(
        "",
        response={200: Page[Out], 400: Problem, 401: Problem, 403: Problem, 422: Problem},  # type: ignore[valid-type]
        summary=f"List {noun}s",
        description="Filter by custom fields with `cf.<key>=<value>`.",
        operation_id=f"list_{noun}s",
    )
    def list_records(request: HttpRequest, filters: Query[Filters]) -> Any:  # type: ignore[valid-type]
        query = cast(ListQuery, filters)
        values = query.model_dump(exclude={"sort", "cursor", "limit"}, exclude_none=True)
        custom = {k[3:]: v for k, v in request.GET.items() if k.startswith("cf.")}
        rows, next_cursor = res.browse(
            actor(request),
            pagination.ListParams(sort=query.sort, cursor=query.cursor, limit=query.limit),
            custom=custom,
            **values,
        )
        return {"items": [res.show(r) for r in rows], "next_cursor": next_cursor}

    @router.post(
        "",
        response={201: Out, **ITEM_ERRORS},
        summary=f"Create a {noun}",
        operation_id=f"create_{noun}",
    )
    def create_record(request: HttpRequest, body: CreateIn, response: HttpResponse) -> Any:  # type: ignore[valid-type]
        record = res.service.create(
            actor=actor(request),
            data=cast(InputSchema, body).model_dump(exclude_unset=True),
            source=Source.API,
        )
        response["ETag"] = etag(record)
        response["Location"] = f"{request.path.rstrip('/')}/{record.pk}"
        return Status(201, res.show(record))

    @router.get(
        "/{record_id}",
        response={200: Out, **ITEM_ERRORS},
        summary=f"Read a {noun}",
        operation_id=f"get_{noun}",
    )
    def get_record(request: HttpRequest, record_id: str, response: HttpResponse) -> Any:
        record = res.read(actor(request), record_id)
        response["ETag"] = etag(record)
        return res.show(record)

    @router.patch(
        "/{record_id}",
        response={200: Out, **ITEM_ERRORS},
        summary=f"Change a {noun}",
        operation_id=f"update_{noun}",
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
        response["ETag"] = etag(record)
        return res.show(record)

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

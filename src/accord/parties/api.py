"""REST endpoints for accounts, contacts and tags (mounted by accord.api)."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import File, Query, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from accord.core import pagination
from accord.core.api import Resource, actor, crud_router, etag, expected_version
from accord.core.errors import InvalidInput, NotFound
from accord.core.models import Source
from accord.core.schemas import Page, Problem
from accord.parties import attachments, queries, schemas, services

accounts = crud_router(
    Resource(
        name="account",
        service=services.accounts,
        read=queries.get_account,
        browse=queries.list_accounts,
        out=schemas.AccountOut,
        create_in=schemas.AccountIn,
        patch_in=schemas.AccountPatch,
        filters=schemas.AccountFilters,
        tags=["accounts"],
    )
)

contacts = crud_router(
    Resource(
        name="contact",
        service=services.contacts,
        read=queries.get_contact,
        browse=queries.list_contacts,
        out=schemas.ContactOut,
        create_in=schemas.ContactIn,
        patch_in=schemas.ContactPatch,
        filters=schemas.ContactFilters,
        tags=["contacts"],
    )
)

tags = crud_router(
    Resource(
        name="tag",
        service=services.tags,
        read=queries.get_tag,
        browse=queries.list_tags,
        out=schemas.TagOut,
        create_in=schemas.TagIn,
        patch_in=schemas.TagPatch,
        filters=schemas.TagFilters,
        tags=["tags"],
    )
)

custom_fields = crud_router(
    Resource(
        name="custom_field",
        service=services.custom_fields,
        read=queries.get_custom_field,
        browse=queries.list_custom_fields,
        out=schemas.CustomFieldOut,
        create_in=schemas.CustomFieldIn,
        patch_in=schemas.CustomFieldPatch,
        filters=schemas.CustomFieldFilters,
        tags=["custom fields"],
    )
)


# -- attachments --------------------------------------------------------------------------------

# Mounted at the API root, like the timeline, so every record collection gets its attachments.
record_attachments = Router(tags=["attachments"])
attachment_items = Router(tags=["attachments"])

#: The optional multipart field ``file``: optional so that a record the caller cannot see or
#: change answers 404 / 403 before a missing file answers 422.
FILE = File(None)

ATTACHMENT_ERRORS: dict[int, Any] = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    409: Problem,
    412: Problem,
    413: Problem,
    422: Problem,
    428: Problem,
}


def _object_type(collection: str) -> str:
    for object_type in attachments.attachable_types():
        if collection == f"{object_type.replace('_', '-')}s":
            return object_type
    raise NotFound(f"No collection {collection!r}")


def _read_upload(upload: UploadedFile | None) -> tuple[str, bytes]:
    """The upload's name and bytes, reading no more than one byte past the size limit."""
    if upload is None:
        raise InvalidInput.field("file", "send the file as the multipart field 'file'")
    limit = attachments.max_size()
    if upload.size is not None and upload.size > limit:
        raise InvalidInput.field("file", f"is larger than {limit // (1024 * 1024)} MB")
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise InvalidInput.field("file", f"is larger than {limit // (1024 * 1024)} MB")
    return upload.name or "", content


@record_attachments.post(
    "/{collection}/{record_id}/attachments",
    response={201: schemas.AttachmentOut, **ATTACHMENT_ERRORS},
    summary="Attach a file to a record",
    description=(
        "Multipart upload with the file in the field `file`. Needs the right to edit the "
        "record. The type is judged from the content, never from the name: an allowed type "
        "only (documents, images, plain text, …); executables are refused (422). At most "
        "`ACCORD_ATTACHMENT_MAX_MB` megabytes (422 beyond)."
    ),
    operation_id="create_attachment",
)
def create_attachment(
    request: HttpRequest,
    collection: str,
    record_id: str,
    response: HttpResponse,
    file: UploadedFile | None = FILE,
) -> Any:
    object_type = _object_type(collection)
    # 404 (cannot see) and 403 (may not edit) come before anything about the upload.
    attachments.check_attach(actor(request), object_type, record_id)
    filename, content = _read_upload(file)
    record = attachments.attachments.attach(
        actor=actor(request),
        object_type=object_type,
        record_id=record_id,
        filename=filename,
        content=content,
        source=Source.API,
    )
    response["ETag"] = etag(record)
    response["Location"] = f"/api/v1/attachments/{record.pk}"
    return Status(201, attachments.attachment_record(record))


@record_attachments.get(
    "/{collection}/{record_id}/attachments",
    response={200: Page[schemas.AttachmentOut], **ATTACHMENT_ERRORS},
    summary="A record's attachments",
    description="Newest first. 404 for a record you cannot see.",
    operation_id="list_attachments",
)
def list_attachments(
    request: HttpRequest,
    collection: str,
    record_id: str,
    query: Query[schemas.AttachmentListQuery],
) -> Any:
    queryset = attachments.of_record(actor(request), _object_type(collection), record_id)
    rows, next_cursor = pagination.page(
        queryset,
        sort=pagination.Sort(field="created_at", descending=True),
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": [attachments.attachment_record(r) for r in rows], "next_cursor": next_cursor}


@attachment_items.get(
    "/{attachment_id}",
    response={200: schemas.AttachmentOut, **ATTACHMENT_ERRORS},
    summary="Read an attachment's details",
    operation_id="get_attachment",
)
def get_attachment(request: HttpRequest, attachment_id: str, response: HttpResponse) -> Any:
    record = attachments.get(actor(request), attachment_id)
    response["ETag"] = etag(record)
    return attachments.attachment_record(record)


@attachment_items.get(
    "/{attachment_id}/content",
    response={200: None, **ATTACHMENT_ERRORS},
    summary="Download an attachment",
    description=(
        "The file itself, as `Content-Disposition: attachment` with `X-Content-Type-Options: "
        "nosniff`. 404 unless you can see the record it is attached to."
    ),
    operation_id="get_attachment_content",
)
def get_attachment_content(request: HttpRequest, attachment_id: str) -> Any:
    record = attachments.get(actor(request), attachment_id)
    response = FileResponse(
        attachments.open_content(record),
        as_attachment=True,
        filename=record.filename,
        content_type=record.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["ETag"] = etag(record)
    return response


@attachment_items.delete(
    "/{attachment_id}",
    response={204: None, **ATTACHMENT_ERRORS},
    summary="Move an attachment to the recycle bin",
    description="Needs the right to edit the record it is attached to, and `If-Match`.",
    operation_id="delete_attachment",
)
def delete_attachment(request: HttpRequest, attachment_id: str) -> Any:
    version = expected_version(request)
    attachments.get(actor(request), attachment_id)
    attachments.attachments.delete(
        actor=actor(request), record_id=attachment_id, expected_version=version, source=Source.API
    )
    return Status(204, None)


#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES = [
    ("/accounts", accounts, "accounts"),
    ("/contacts", contacts, "contacts"),
    ("/tags", tags, "tags"),
    ("/custom-fields", custom_fields, "custom-fields"),
    ("/attachments", attachment_items, "attachments"),
    ("", record_attachments, "attachments"),
]

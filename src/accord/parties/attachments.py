"""Files attached to records: what is accepted (checked by content, never by name), who may
attach, read and remove them, and the writes (core.services' write path: history and an outbox
event beside every row).

Access is the role's object permissions on ``attachment`` (like any record type; a user without
a role has them all) narrowed by the record the file is attached to: reading needs the right to
see that record, attaching and removing the right to edit it. A file on a record the caller
cannot see (or on a deleted record) answers like one that does not exist (404).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from typing import Any

import filetype  # type: ignore[import-untyped]
from django.conf import settings
from django.db.models import QuerySet

from accord.core import records
from accord.core.errors import InvalidInput, NotFound, PermissionDenied
from accord.core.ids import parse_id
from accord.core.models import Record, Source, record_types
from accord.core.records import Payload, audit_fields, jsonable
from accord.identity.records import VisibleRecordService
from accord.identity.visibility import can_edit, can_see, permitted, visible
from accord.parties.models import Attachment
from accord.parties.storage import storage

#: What may be attached, by the type its content turns out to be. Executables, scripts in
#: binary form and anything unrecognised are refused.
ALLOWED_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/heic",
        "image/tiff",
        "application/zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "audio/mpeg",
        "audio/x-wav",
        "video/mp4",
        "text/plain",
    }
)

#: Bytes read to decide whether unrecognised content is plain text.
_TEXT_SAMPLE = 64 * 1024


def max_size() -> int:
    """The largest file accepted, in bytes (``ACCORD_ATTACHMENT_MAX_MB``)."""
    return int(settings.ACCORD_ATTACHMENT_MAX_MB) * 1024 * 1024


def sniff(content: bytes) -> str | None:
    """The MIME type ``content`` is, judged from its bytes (magic numbers); ``text/plain`` for
    UTF-8 text without control bytes; None when it is neither recognised nor text."""
    kind = filetype.guess(content)
    if kind is not None:
        return str(kind.mime)
    sample = content[:_TEXT_SAMPLE]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Only a character cut by the sample's end is forgiven; a bad byte anywhere else
        # means binary content.
        if len(content) <= _TEXT_SAMPLE or exc.start < len(sample) - 3:
            return None
        text = sample[: exc.start].decode("utf-8")
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text):
        return None
    return "text/plain"


def clean_filename(raw: Any) -> str:
    """The name to show and to offer on download: the last path segment, without control
    characters, at most 255 characters."""
    if not isinstance(raw, str):
        raise InvalidInput.field("file", "must have a file name")
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if not name or name in (".", ".."):
        raise InvalidInput.field("file", "must have a file name")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: 254 - len(ext)]}.{ext}" if dot and len(ext) < 20 else name[:255]
    return name


def attachable_types() -> dict[str, type[Record]]:
    """Record types a file may be attached to: every one but attachments themselves."""
    return {name: model for name, model in record_types().items() if name != Attachment.object_type}


def parent_of(actor: Any, object_type: str, record_id: Any) -> Record:
    """The live record ``actor`` may see; 404 when it is unknown, deleted or hidden."""
    model = attachable_types().get(object_type)
    pk = parse_id(record_id)
    found = None
    if model is not None and pk is not None:
        found = visible(actor, model.objects.filter(pk=pk)).first()
    if found is None:
        raise NotFound(f"No {object_type.replace('_', ' ')} with id {record_id}")
    return found


def check_attach(actor: Any, object_type: str, record_id: Any) -> Record:
    """The record ``actor`` may attach files to: 404 when it cannot see it, 403 when it may
    not edit it or its role may not create attachments."""
    parent = parent_of(actor, object_type, record_id)
    if not permitted(actor, Attachment.object_type, "create") or not can_edit(actor, parent):
        raise PermissionDenied(f"You may not attach files to this {object_type}")
    return parent


def _parent(attachment: Attachment) -> Record | None:
    model = attachable_types().get(attachment.related_type)
    if model is None:
        return None
    return model.objects.filter(pk=attachment.related_id).first()


def get(actor: Any, attachment_id: Any) -> Attachment:
    """A live attachment whose record ``actor`` can see; 404 otherwise (unknown, deleted,
    attached to a deleted or hidden record)."""
    pk = parse_id(attachment_id)
    found = Attachment.objects.filter(pk=pk).first() if pk is not None else None
    parent = _parent(found) if found is not None else None
    if (
        found is None
        or parent is None
        or not permitted(actor, Attachment.object_type, "read")
        or not can_see(actor, parent)
    ):
        raise NotFound(f"No attachment with id {attachment_id}")
    return found


def of_record(actor: Any, object_type: str, record_id: Any) -> QuerySet[Attachment]:
    """The live attachments of a record ``actor`` can see (404 otherwise), newest first."""
    parent = parent_of(actor, object_type, record_id)
    if not permitted(actor, Attachment.object_type, "read"):
        raise PermissionDenied("Your role may not read attachments")
    return Attachment.objects.filter(related_type=object_type, related_id=parent.pk).order_by(
        "-created_at", "-pk"
    )


def attachment_record(attachment: Attachment) -> Payload:
    return {
        "id": str(attachment.pk),
        "related_type": attachment.related_type,
        "related_id": jsonable(attachment.related_id),
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "custom_fields": attachment.custom_fields,
        **audit_fields(attachment),
    }


class AttachmentService(VisibleRecordService[Attachment]):
    """Attach (``create`` with ``related_type``, ``related_id``, ``filename`` and
    ``content``), move to the recycle bin and restore. An attachment never changes: a new
    version of a file is a new attachment."""

    model = Attachment
    related = ("content",)

    def payload(self, record: Attachment) -> Payload:
        return attachment_record(record)

    def may_edit(self, actor: Any, record: Attachment) -> bool:
        # An attachment never changes; this is what removing and restoring it build on.
        parent = _parent(record)
        return parent is not None and can_edit(actor, parent)

    def get_for_write(
        self,
        actor: Any,
        record_id: Any,
        *,
        expected_version: int | None,
        deleted: bool = False,
        removing: bool = False,
    ) -> Attachment:
        manager = Attachment.all_objects if deleted else Attachment.objects
        queryset = manager.all()
        if deleted:
            queryset = queryset.filter(deleted_at__isnull=False)
        record = records.lock(queryset, record_id, expected_version=expected_version)
        parent = _parent(record)
        if (
            parent is None
            or not permitted(actor, Attachment.object_type, "read")
            or not can_see(actor, parent)
        ):
            raise NotFound(f"No attachment with id {record_id}")
        allowed = self.may_delete(actor, record) if removing else self.may_edit(actor, record)
        if not allowed:
            verb = "delete or restore" if removing else "change"
            raise PermissionDenied(f"You may not {verb} this attachment")
        return record

    def clean(
        self, actor: Any, data: Mapping[str, Any], record: Attachment | None
    ) -> dict[str, Any]:
        if record is not None:
            raise InvalidInput("An attachment cannot be changed; attach a new file instead")
        object_type = str(data.get("related_type", ""))
        parent = check_attach(actor, object_type, data.get("related_id"))
        filename = clean_filename(data.get("filename"))
        content = data.get("content")
        if not isinstance(content, bytes) or not content:
            raise InvalidInput.field("file", "must not be empty")
        limit = max_size()
        if len(content) > limit:
            raise InvalidInput.field("file", f"is larger than {limit // (1024 * 1024)} MB")
        content_type = sniff(content)
        if content_type is None:
            raise InvalidInput.field("file", "is of a type that cannot be recognised")
        if content_type not in ALLOWED_TYPES:
            raise InvalidInput.field("file", f"is {content_type}, which may not be attached")
        digest = hashlib.sha256(content).hexdigest()
        return {
            "related_type": object_type,
            "related_id": parent.pk,
            "filename": filename,
            "content_type": content_type,
            "size": len(content),
            "sha256": digest,
            "storage_key": digest,
            "content": content,
        }

    def save_related(
        self, records: list[Attachment], cleaned: list[dict[str, Any]], *, creating: bool
    ) -> None:
        # Inside the transaction: a rollback leaves at worst a stored file nothing names,
        # never a row whose file is missing.
        for record, values in zip(records, cleaned, strict=True):
            if "content" in values:
                storage().save(record.storage_key, values["content"])

    def attach(
        self,
        *,
        actor: Any,
        object_type: str,
        record_id: Any,
        filename: str,
        content: bytes,
        source: Source | str = Source.API,
    ) -> Attachment:
        """Attach ``content`` to the record; 404 for a record ``actor`` cannot see, 403 when
        it may not edit it, 422 for content too large or of a type not allowed."""
        data = {
            "related_type": object_type,
            "related_id": record_id,
            "filename": filename,
            "content": content,
        }
        return self.create(actor=actor, data=data, source=source)


def open_content(attachment: Attachment) -> Any:
    """The stored bytes of ``attachment`` as a binary file; NotFound when they are missing."""
    try:
        return storage().open(attachment.storage_key)
    except (FileNotFoundError, ValueError):
        raise NotFound(f"The file of attachment {attachment.pk} is missing") from None


attachments = AttachmentService()

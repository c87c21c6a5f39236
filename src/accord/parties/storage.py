"""Where attachment bytes live, behind a small interface so object storage can come later.

``ACCORD_ATTACHMENT_STORAGE`` names the backend class (default: :class:`FileSystemStorage`,
under ``ACCORD_DATA_DIR/attachments``). Files are content-addressed: the key is the SHA-256 of
the bytes, so writing the same file twice stores it once and a key never changes meaning.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class Storage(Protocol):
    def save(self, key: str, content: bytes) -> None:
        """Store ``content`` under ``key`` (a no-op when the key is already stored)."""

    def open(self, key: str) -> BinaryIO:
        """The stored bytes of ``key``; FileNotFoundError when they are gone."""

    def delete(self, key: str) -> None:
        """Forget ``key`` (a no-op when it is not stored)."""


class FileSystemStorage:
    """Files under a directory, fanned out by the key's first two characters."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else Path(settings.DATA_DIR) / "attachments"

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"malformed storage key {key!r}")
        return self.root / key[:2] / key

    def save(self, key: str, content: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so a reader never sees half a file.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def storage() -> Storage:
    """The configured attachment storage (built per call: it holds no more than a path)."""
    backend: Storage = import_string(settings.ACCORD_ATTACHMENT_STORAGE)()
    return backend

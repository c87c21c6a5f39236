"""Domain errors. Services raise these; adapters (API, CLI, pages) turn them into responses.

Each maps to one RFC 9457 problem: the API answers ``application/problem+json`` with ``status``,
``title``, ``detail`` and ``errors: [{field, message}]``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class AccordError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str = "", errors: list[FieldError] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the problem body (``Retry-After``, …)."""
        return {}


class InvalidInput(AccordError):
    """Input failed validation; ``errors`` names each offending field."""

    status = 422
    title = "Invalid input"

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", [FieldError(field, message)])


class NotFound(AccordError):
    """Unknown, deleted, or invisible to the caller: these are deliberately indistinguishable."""

    status = 404
    title = "Not found"


class PermissionDenied(AccordError):
    """The caller may see the record but not do this to it."""

    status = 403
    title = "Forbidden"


class Conflict(AccordError):
    status = 409
    title = "Conflict"


class PreconditionRequired(AccordError):
    status = 428
    title = "Precondition required"


class PreconditionFailed(AccordError):
    """The record changed since the caller read it (stale ``If-Match``)."""

    status = 412
    title = "Precondition failed"

    def __init__(self, detail: str = "", *, current_version: int | None = None) -> None:
        super().__init__(detail)
        self.current_version = current_version


class TooManyRequests(AccordError):
    """The caller sent more than a limit allows; ``retry_after`` says in how many seconds the
    next attempt may succeed (the ``Retry-After`` header)."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}

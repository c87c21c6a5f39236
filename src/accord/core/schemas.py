"""Response shapes every API shares: the problem body and the page envelope."""

from typing import Annotated, Any, Generic, TypeVar

from ninja import Schema
from pydantic import ConfigDict, StringConstraints, create_model

T = TypeVar("T")

# Bounded strings for request bodies; each bound matches the column the value lands in.
Text2 = Annotated[str, StringConstraints(max_length=2)]
Text7 = Annotated[str, StringConstraints(max_length=7)]
Text20 = Annotated[str, StringConstraints(max_length=20)]
Text100 = Annotated[str, StringConstraints(max_length=100)]
Text200 = Annotated[str, StringConstraints(max_length=200)]
Text255 = Annotated[str, StringConstraints(max_length=255)]
Name50 = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Name200 = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class FieldErrorOut(Schema):
    field: str
    message: str


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldErrorOut] = []


class Page(Schema, Generic[T]):
    """A keyset page: pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None


class InputSchema(Schema):
    """Base of request bodies: unknown fields are rejected, never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def partial(schema: type[InputSchema], name: str) -> type[InputSchema]:
    """``schema`` with every field optional: the body of a PATCH, where only sent fields change.

    Constraints must live in the field types (``Annotated[...]``) so they carry over.
    """
    fields: dict[str, Any] = {
        key: (info.annotation | None, None)  # type: ignore[operator]
        for key, info in schema.model_fields.items()
    }
    return create_model(name, __base__=InputSchema, **fields)

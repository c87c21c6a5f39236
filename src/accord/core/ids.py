"""Record ids are UUIDv7: time-ordered (so they index like a sequence) and creatable offline."""

import uuid

from uuid_utils.compat import uuid7

from accord.core.errors import InvalidInput


def new_id() -> uuid.UUID:
    return uuid7()


def parse_id(raw: str) -> uuid.UUID | None:
    """The id in ``raw``, or None when it is not a UUID (callers answer 404, like an unknown id)."""
    try:
        return uuid.UUID(str(raw))
    except (ValueError, AttributeError, TypeError):
        return None


def require_id(field: str, raw: str) -> uuid.UUID:
    """The id in ``raw``, a filter's value; InvalidInput naming ``field`` when it is not one
    (a filter is input to check, where an unknown id in a path is a 404)."""
    pk = parse_id(raw)
    if pk is None:
        raise InvalidInput.field(field, "must be a UUID")
    return pk

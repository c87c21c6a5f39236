"""Record ids are UUIDv7: time-ordered (so they index like a sequence) and creatable offline."""

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    return uuid7()


def parse_id(raw: str) -> uuid.UUID | None:
    """The id in ``raw``, or None when it is not a UUID (callers answer 404, like an unknown id)."""
    try:
        return uuid.UUID(str(raw))
    except (ValueError, AttributeError, TypeError):
        return None

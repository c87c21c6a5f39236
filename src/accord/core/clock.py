"""The one source of "now". Tests move it with :func:`frozen` instead of sleeping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

_override: dt.datetime | None = None


def now() -> dt.datetime:
    return _override if _override is not None else dt.datetime.now(dt.UTC)


@contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    """Pin :func:`now` to ``at`` (timezone-aware) for the duration of the block."""
    global _override
    if at.tzinfo is None:
        raise ValueError("frozen() needs a timezone-aware datetime")
    previous, _override = _override, at
    try:
        yield
    finally:
        _override = previous


def advance(delta: dt.timedelta) -> None:
    """Move a frozen clock forward; only valid inside :func:`frozen`."""
    global _override
    if _override is None:
        raise RuntimeError("advance() needs a frozen clock")
    _override = _override + delta

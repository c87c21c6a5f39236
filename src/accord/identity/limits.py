"""How rate limits are written (``600/min``): free of Django, so settings can check the
``ACCORD_RATE_LIMIT_*`` variables when the process starts instead of failing on each request."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600}
_UNITS |= {"hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Limit:
    """``requests`` per ``period`` seconds."""

    requests: int
    period: int

    def __str__(self) -> str:
        return f"{self.requests};w={self.period}"


@functools.lru_cache(maxsize=16)
def parse_limit(text: str) -> Limit | None:
    """``600/min``, ``10/s``, ``5000/hour``, ``100/10s``; ``0``, ``off`` or empty: no limit."""
    if text.strip().lower() in {"", "0", "off", "none"}:
        return None
    match = _RATE.match(text.lower())
    if not match or match[3] not in _UNITS or int(match[1]) < 1 or match[2] == "0":
        raise ValueError(
            f"{text!r} is not a rate limit; write e.g. 600/min, 10/s, 5000/hour or off"
        )
    return Limit(int(match[1]), int(match[2] or 1) * _UNITS[match[3]])

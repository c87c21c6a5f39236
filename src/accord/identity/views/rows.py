"""Repeating rows of a form (a territory's rules, a sharing rule's criteria): read from inputs
named ``<prefix>-<n>-<key>``, sent to a service as a list, and the service's errors, which name
a row by its place in that list (``criteria[2].value``), put back on the row shown."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from accord.core.errors import AccordError, InvalidInput

_NAME = re.compile(r"^(?P<prefix>[a-z_]+)-(?P<index>\d{1,4})-(?P<key>[a-z_]+)$")


@dataclass
class Row:
    """One row as shown: the text of each input, and the errors found for it."""

    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


def posted_rows(post: QueryDict, prefix: str, keys: Iterable[str]) -> list[Row]:
    """The rows of ``prefix`` in the order of their numbers, leaving out empty ones."""
    wanted = set(keys)
    found: dict[int, dict[str, str]] = {}
    for name in post:
        match = _NAME.match(name)
        if match and match["prefix"] == prefix and match["key"] in wanted:
            found.setdefault(int(match["index"]), {})[match["key"]] = str(
                post.get(name, "")
            ).strip()
    return [
        Row({k: found[i].get(k, "") for k in wanted})
        for i in sorted(found)
        if any(found[i].values())
    ]


def send(
    rows: list[Row], convert: Callable[[dict[str, str]], dict[str, Any]]
) -> list[dict[str, Any]]:
    return [convert(row.values) for row in rows]


def attach_errors(rows: list[Row], exc: AccordError, list_name: str) -> list[str]:
    """Put each error naming ``<list_name>[n]`` on row n; return the others."""
    rest: list[str] = []
    pattern = re.compile(rf"^{re.escape(list_name)}\[(\d+)\](?:\.(\w+))?$")
    for error in exc.errors if isinstance(exc, InvalidInput) else []:
        match = pattern.match(error.field)
        if match and int(match[1]) < len(rows):
            where = f"{match[2].replace('_', ' ')} " if match[2] else ""
            rows[int(match[1])].errors.append(f"{where}{error.message}".strip())
        elif error.field == list_name:
            rest.append(error.message)
    return rest


def with_spare(rows: list[Row], keys: Iterable[str]) -> list[Row]:
    """``rows`` and one empty row to fill in, so rows can be added without JavaScript."""
    return [*rows, Row(dict.fromkeys(keys, ""))]

"""Search over names, emails, phones and domains: one query function, two engines.

Services keep one :class:`~accord.core.models.SearchEntry` per searchable record, written in the
same transaction as the record. :func:`matching` narrows a queryset to records whose entry holds
every term of the query, as a substring: PostgreSQL answers through a pg_trgm GIN index (terms
of three or more characters) and a full-text prefix index (shorter terms); SQLite through an
FTS5 trigram table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL

from accord.core.errors import InvalidInput
from accord.core.models import SearchEntry

M = TypeVar("M", bound=Model)

MAX_TERMS = 8
MAX_QUERY = 200
_PHONE_LIKE = re.compile(r"^[+()\d][\d\s().-]*$")
_SPLIT = re.compile(r"\s+")


def document(*parts: Any) -> str:
    """The searchable text of a record: its parts lower-cased, phone numbers also as bare digits
    so that a partial number ("1234567") matches "+49301234567"."""
    words: list[str] = []
    for part in parts:
        values = part if isinstance(part, list | tuple) else [part]
        for value in values:
            if not value:
                continue
            text = str(value).strip().lower()
            words.append(text)
            if text.startswith("+") and text[1:].isdigit():
                words.append(text[1:])
    return " ".join(words)


def terms(query: str) -> list[str]:
    if len(query) > MAX_QUERY:
        raise InvalidInput.field("q", f"at most {MAX_QUERY} characters")
    text = query.strip().lower()
    if _PHONE_LIKE.match(text) and sum(c.isdigit() for c in text) >= 3:
        return [re.sub(r"\D", "", text)]
    found = [t.replace('"', "") for t in _SPLIT.split(text)]
    # A short term of punctuation alone ("!", "-") carries nothing to look for.
    found = [t for t in found if len(t) >= 3 or any(c.isalnum() for c in t)]
    if len(found) > MAX_TERMS:
        raise InvalidInput.field("q", f"at most {MAX_TERMS} words")
    return found


def _postgres(object_type: str, words: list[str]) -> tuple[str, list[Any]]:
    sql = ["SELECT record_id FROM core_searchentry WHERE object_type = %s"]
    params: list[Any] = [object_type]
    for word in words:
        if len(word) >= 3:
            sql.append("AND body ILIKE %s")
            params.append("%" + _escape_like(word) + "%")
        else:
            sql.append("AND to_tsvector('simple', body) @@ to_tsquery('simple', %s)")
            params.append(_tsquery_prefix(word))
    return " ".join(sql), params


def _sqlite(object_type: str, words: list[str]) -> tuple[str, list[Any]]:
    long_words = [w for w in words if len(w) >= 3]
    short_words = [w for w in words if len(w) < 3]
    sql = ["SELECT record_id FROM core_searchentry WHERE object_type = %s"]
    params: list[Any] = [object_type]
    if long_words:
        sql.append("AND id IN (SELECT rowid FROM core_search_fts WHERE core_search_fts MATCH %s)")
        params.append(" AND ".join('"' + w + '"' for w in long_words))
    for word in short_words:
        sql.append("AND body LIKE %s ESCAPE '\\'")
        params.append("%" + _escape_like(word) + "%")
    return " ".join(sql), params


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _tsquery_prefix(word: str) -> str:
    # ``terms`` guarantees a letter or digit, so the quoted lexeme is never empty.
    cleaned = re.sub(r"[^\w@.+-]", "", word)
    return f"'{cleaned}':*"


def matching(queryset: QuerySet[M], object_type: str, query: str | None) -> QuerySet[M]:
    """``queryset`` narrowed to records whose searchable text contains every term of ``query``."""
    if not query or not query.strip():
        return queryset
    words = terms(query)
    if not words:
        return queryset.none()
    build = _postgres if connection.vendor == "postgresql" else _sqlite
    sql, params = build(object_type, words)
    # Values travel as bound parameters; the SQL text is built only from constants.
    return queryset.filter(pk__in=RawSQL(sql, params))  # noqa: S611


def index(object_type: str, entries: Iterable[tuple[Any, str]], *, replace: bool) -> None:
    """Write the search text of records, ``(record_id, text)``; ``replace`` for existing ones."""
    rows = [SearchEntry(object_type=object_type, record_id=pk, body=text) for pk, text in entries]
    if not rows:
        return
    if replace:
        SearchEntry.objects.filter(
            object_type=object_type, record_id__in=[r.record_id for r in rows]
        ).delete()
    SearchEntry.objects.bulk_create(rows)


def forget(object_type: str, record_ids: Iterable[Any]) -> None:
    SearchEntry.objects.filter(object_type=object_type, record_id__in=list(record_ids)).delete()

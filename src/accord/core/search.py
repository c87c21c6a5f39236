"""Search over names, emails, phones and domains: one query function, two engines.

Services keep one :class:`~accord.core.models.SearchEntry` per searchable record, written in the
same transaction as the record: ``fields`` holds the searchable text of each field by its payload
key, ``body`` all of it joined. :func:`matching` narrows a queryset to records whose entry holds
every term of the query, as a substring: PostgreSQL answers through a pg_trgm GIN index on
``(object_type, body)`` (terms of three or more characters) and a full-text prefix index
(shorter terms, as word prefixes); SQLite through an FTS5 trigram table. A caller with fields
hidden from it (field-level security) must not find a record by them, so for such a caller
every term must also occur in one of the entry's ``fields`` it may see (ADR 0003).
:func:`page` serves a keyset page of matches, reading entries in id order in growing windows
when the list is in id order (ADR 0010).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL

from accord.core import pagination, rows
from accord.core.errors import InvalidInput
from accord.core.models import SearchEntry
from accord.core.records import instance

M = TypeVar("M", bound=Model)

MAX_TERMS = 8
MAX_QUERY = 200
_PHONE_LIKE = re.compile(r"^[+()\d][\d\s().-]*$")
_SPLIT = re.compile(r"\s+")

#: A record's searchable text by field (payload key): ``{"last_name": "smith", …}``.
Document = dict[str, str]

#: The payload keys each object type indexes (declared by its service's ``search_fields``).
_searchable: dict[str, frozenset[str]] = {}


def declare(object_type: str, fields: Iterable[str]) -> None:
    """Record which fields ``object_type``'s documents hold, so that hiding a field nobody
    searches (say, a contact's title) keeps the fast path."""
    _searchable[object_type] = frozenset(fields)


def searchable(object_type: str) -> frozenset[str] | None:
    """The fields ``object_type`` indexes; None when no service declared them."""
    return _searchable.get(object_type)


def _text(part: Any) -> str:
    if isinstance(part, str):
        text = part.strip().lower()
        if text.startswith("+") and text[1:].isdigit():
            return f"{text} {text[1:]}"
        return text
    words: list[str] = []
    values = part if isinstance(part, list | tuple) else [part]
    for value in values:
        if not value:
            continue
        text = str(value).strip().lower()
        words.append(text)
        if text.startswith("+") and text[1:].isdigit():
            words.append(text[1:])
    return " ".join(words)


def document(**fields: Any) -> Document:
    """The searchable text of a record by field, lower-cased, empty fields left out; phone
    numbers also as bare digits so that a partial number ("1234567") matches "+49301234567".
    Keys are payload keys, as field-level security names them (``custom_fields.<key>`` too)."""
    found = {name: _text(part) for name, part in fields.items()}
    return {name: text for name, text in found.items() if text}


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


# A term must also occur in one of the entry's fields that the caller may see.
# (Conditions name the entry ``e``.)
_PG_VISIBLE = "EXISTS (SELECT 1 FROM jsonb_each_text(e.fields) f WHERE f.key <> ALL(%s) AND {test})"
_SQLITE_VISIBLE = (
    "EXISTS (SELECT 1 FROM json_each(e.fields) f "
    "WHERE f.key NOT IN ({keys}) AND f.value LIKE %s ESCAPE '\\')"
)


def _postgres(words: list[str], hidden: list[str]) -> tuple[list[str], list[Any]]:
    sql: list[str] = []
    params: list[Any] = []
    for word in words:
        if len(word) >= 3:
            # Text and terms are both lower-cased already: LIKE compares bytes, which is
            # three times quicker than ILIKE over the entries a page reads.
            sql.append("e.body LIKE %s")
            params.append("%" + _escape_like(word) + "%")
            test = "f.value LIKE %s"
        else:
            prefix = _tsquery_prefix(word)
            if prefix[1:-3].isalnum():
                # A word that starts with the term contains it: this LIKE turns away most
                # entries at a fraction of the cost of parsing their text (reading entries in
                # id order checks every one), and is a no-op for those the index finds.
                sql.append("e.body LIKE %s")
                params.append("%" + prefix[1:-3] + "%")
            sql.append("to_tsvector('simple', e.body) @@ to_tsquery('simple', %s)")
            params.append(prefix)
            test = "to_tsvector('simple', f.value) @@ to_tsquery('simple', %s)"
        if hidden:
            # The index finds candidates by the whole body; this keeps those where the term
            # occurs in a field the caller may see.
            sql.append(_PG_VISIBLE.replace("{test}", test))
            params += [hidden, params[-1]]
    return sql, params


def _sqlite(words: list[str], hidden: list[str]) -> tuple[list[str], list[Any]]:
    long_words = [w for w in words if len(w) >= 3]
    sql: list[str] = []
    params: list[Any] = []
    if long_words:
        sql.append("e.id IN (SELECT rowid FROM core_search_fts WHERE core_search_fts MATCH %s)")
        params.append(" AND ".join('"' + w + '"' for w in long_words))
    for word in words:
        pattern = "%" + _escape_like(word) + "%"
        if len(word) < 3:
            sql.append("e.body LIKE %s ESCAPE '\\'")
            params.append(pattern)
        if hidden:
            sql.append(_SQLITE_VISIBLE.replace("{keys}", ", ".join(["%s"] * len(hidden))))
            params += [*hidden, pattern]
    return sql, params


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _tsquery_prefix(word: str) -> str:
    # ``terms`` guarantees a letter or digit, so the quoted lexeme is never empty.
    cleaned = re.sub(r"[^\w@.+-]", "", word)
    return f"'{cleaned}':*"


def _relevant(object_type: str, hidden: Iterable[str]) -> list[str]:
    """The hidden fields that documents of ``object_type`` may hold, sorted."""
    declared = searchable(object_type)
    return sorted(h for h in hidden if declared is None or h in declared)


def _conditions(object_type: str, words: list[str], hidden: Iterable[str]) -> tuple[str, list[Any]]:
    build = _postgres if connection.vendor == "postgresql" else _sqlite
    conditions, params = build(words, _relevant(object_type, hidden))
    return " AND ".join(conditions), params


def _entries_sql(
    object_type: str, words: list[str], hidden: Iterable[str]
) -> tuple[str, list[Any]]:
    conditions, params = _conditions(object_type, words, hidden)
    sql = f"SELECT e.record_id FROM core_searchentry e WHERE e.object_type = %s AND {conditions}"  # noqa: S608
    return sql, [object_type, *params]


def matching(
    queryset: QuerySet[M],
    object_type: str,
    query: str | None,
    *,
    hidden: Iterable[str] = frozenset(),
) -> QuerySet[M]:
    """``queryset`` narrowed to records whose searchable text contains every term of ``query``,
    each in a field not in ``hidden`` (the caller's hidden fields of ``object_type``)."""
    if not query or not query.strip():
        return queryset
    words = terms(query)
    if not words:
        return queryset.none()
    sql, params = _entries_sql(object_type, words, hidden)
    # Values travel as bound parameters; the SQL text is built only from constants.
    return queryset.filter(pk__in=RawSQL(sql, params))  # noqa: S611


#: How many times :func:`page` reads matching entries before it lets the database join the
#: rest: first a page's worth (all a caller who sees every match needs), then as many as the
#: share of matches the caller could see so far says, at most MAX_GROWTH pages' worth.
PROBES = 3
MAX_GROWTH = 32


def page(
    queryset: QuerySet[M],
    object_type: str,
    query: str | None,
    *,
    hidden: Iterable[str] = frozenset(),
    sort: pagination.Sort,
    cursor: str | None,
    limit: int,
) -> tuple[list[M], str | None]:
    """One keyset page of the records of ``queryset`` that match ``query`` (as
    :func:`matching`), and the next page's cursor.

    In id order the index entries come in the page's order (``record_id``, an index in
    ``(object_type, record_id)`` order), so instead of joining every match (60,000 contacts
    match "mar" in a million) and sorting them, this reads matching entries after the cursor
    a page at a time and keeps those ``queryset`` admits. The page is exact: when the probes
    run out before the page is full (a caller who sees few of the matches), the rest comes
    from the full query.
    """
    if not query or not query.strip() or sort.field != "id":
        narrowed = matching(queryset, object_type, query, hidden=hidden)
        return pagination.page(narrowed, sort=sort, cursor=cursor, limit=limit)
    if not 1 <= limit <= pagination.MAX_LIMIT:
        raise InvalidInput.field("limit", f"must be between 1 and {pagination.MAX_LIMIT}")
    words = terms(query)
    if not words:
        return [], None
    after = pagination.decode_cursor(cursor, sort, queryset.model)[1] if cursor else None
    order = "-pk" if sort.descending else "pk"
    wanted = limit + 1
    rows: list[M] = []
    size = wanted
    for _ in range(PROBES):
        asked = size
        ids = _first_matches(object_type, words, hidden, after, sort.descending, asked)
        if ids:
            kept = pagination.fetch(queryset.filter(pk__in=ids).order_by(order), wanted - len(rows))
            rows += kept
            after = ids[-1]
            # The next probe reads as many matches as the share kept so far says the rest
            # of the page needs, with a margin.
            share = max(len(kept) / len(ids), 1 / MAX_GROWTH)
            size = min(math.ceil((wanted - len(rows)) / share * 1.25), MAX_GROWTH * wanted)
        if len(rows) >= wanted or len(ids) < asked:
            return _finish(rows, sort, limit)
    # The caller sees few of the matches: let the database join the rest.
    rest = matching(queryset, object_type, query, hidden=hidden)
    rest = rest.filter(**{f"pk__{'lt' if sort.descending else 'gt'}": after})
    rows += pagination.fetch(rest.order_by(order), wanted - len(rows))
    return _finish(rows, sort, limit)


#: How many entries in id order :func:`_first_matches` reads at most before it takes the
#: rest from the trigram index: about where reading entries in order (~0.5 µs each) stops
#: beating collecting every match from the trigram index (~9 µs each) for a page of 51.
WINDOW = 30_000
#: The first read is this many entries per match wanted, and at least MIN_PROBE: a common
#: term ("smi", one contact in 30) fills a page from it, and a term that finds nothing in it
#: is rare enough for the index to answer at once (a few hundred matches in a million).
PROBE = 64
MIN_PROBE = 2_048
#: A term of this many digits or more (part of a phone number) is rare enough to skip it.
RARE_DIGITS = 5


def _first_matches(
    object_type: str,
    words: list[str],
    hidden: Iterable[str],
    after: Any,
    descending: bool,
    count: int,
) -> list[Any]:
    """The ids of the first ``count`` matching entries after ``after``, in id order.

    The planner cannot tell how common a term is ("wilso" looks rare and matches 20,000 of a
    million), so it often collects every match through the trigram index and sorts them, or
    walks the whole table in id order for a rare one. On PostgreSQL this does neither blindly:
    it reads entries in id order, first PROBE per match wanted (at least MIN_PROBE), then as
    many more as the share of matches found says the rest needs, up to WINDOW in all (enough
    for any term that matches more than one entry in 600). A read that reaches the last entry
    of the type ends the search (a type smaller than the probe never needs an index); a term
    too rare for the window takes the remaining matches from the trigram index, which a term
    that rare keeps small. Part of a phone number (RARE_DIGITS digits or more) goes to the
    index at once.
    """
    if connection.vendor != "postgresql":
        conditions, params = _conditions(object_type, words, hidden)
        start, start_args = _bound(after, descending)
        return _ids(
            f"SELECT e.record_id FROM core_searchentry e WHERE e.object_type = %s{start} "  # noqa: S608
            f"AND {conditions} ORDER BY e.record_id {_direction(descending)} LIMIT %s",
            [object_type, *start_args, *params, count],
        )
    found: list[Any] = []
    # Reading in order pays while the term is common enough: the crossover moves with the
    # square root of how many matches are wanted.
    budget = int(WINDOW * math.sqrt(max(count, 51) / 51))
    rare = all(w.isdigit() and len(w) >= RARE_DIGITS for w in words)
    size = 0 if rare else min(max(PROBE * count, MIN_PROBE), budget)
    read = 0
    while size > 0:
        hits, last = _read_in_order(
            object_type, words, hidden, after, descending, size, count - len(found)
        )
        found += hits
        if len(found) == count or last is None:
            # A full page, or every entry of the type after ``after`` read.
            return found
        after, read = last, read + size
        size = _next_read(object_type, words, count - len(found), len(found), read, budget)
    return found + _from_index(object_type, words, hidden, after, descending, count - len(found))


def _next_read(
    object_type: str, words: list[str], missing: int, found: int, read: int, budget: int
) -> int:
    """How many more entries to read in id order (0: ask the index instead): as many as the
    share of matches so far says the missing ones need, with a margin, within the budget.

    A term that found nothing yet is rare in this type, and the trigram index answers it at
    once, except a common one- or two-letter term: the full-text index merges the lists of
    every word that starts with it ("jo": 87,000 entries of every type, ~40 ms), which costs
    more than reading the rest of the window, unless the type is small (deals, cases) and the
    term less common.
    """
    left = budget - read
    if not found:
        short = [w for w in words if len(w) < 3]
        if not short:
            return 0
        merged = sum(_estimate(_PREFIX_ROWS, _tsquery_prefix(w)) for w in short)
        to_read = min(left, _estimate(_TYPE_ROWS, object_type) - read)
        return left if merged > PREFIX_COST * to_read else 0
    need = math.ceil(missing * read / found * 1.25)
    return need if need <= left else 0


#: Reading an entry in id order costs up to this many times merging one from the full-text
#: index's lists (the entries of a small type lie on different pages of the table).
PREFIX_COST = 8
_PREFIX_ROWS = (
    "EXPLAIN (FORMAT JSON) SELECT 1 FROM core_searchentry e "
    "WHERE to_tsvector('simple', e.body) @@ to_tsquery('simple', %s)"
)
_TYPE_ROWS = "EXPLAIN (FORMAT JSON) SELECT 1 FROM core_searchentry e WHERE e.object_type = %s"


def _estimate(explain: str, value: str) -> int:
    """How many entries the planner expects ``explain`` to find. The statistics of the
    full-text index keep the most common words, which makes the estimate of a prefix close
    ("jo": 84,000 for 87,000; "zq": 400 for none); those of the type are close too."""
    with connection.cursor() as cursor:
        cursor.execute(explain, [value])
        (plan,) = cursor.fetchone() or ("[]",)
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"]) if plan else 0


def _read_in_order(
    object_type: str,
    words: list[str],
    hidden: Iterable[str],
    after: Any,
    descending: bool,
    size: int,
    count: int,
) -> tuple[list[Any], Any]:
    """The first ``count`` matches among the next ``size`` entries in id order after
    ``after``, and the id of the last of those entries (None when fewer than ``size`` are
    left: the read reached the end of the type)."""
    conditions, params = _conditions(object_type, words, hidden)
    start, start_args = _bound(after, descending)
    direction = _direction(descending)
    # The window's last entry comes back with the matches (``hit`` false unless it matches),
    # so the next read can start after it; ``row_number`` follows the index order and the
    # outer LIMIT stops reading as soon as the page is full.
    sql = (
        "SELECT e.record_id, e.hit, e.n FROM (SELECT e.record_id, ({conditions}) AS hit, "  # noqa: S608
        f"row_number() OVER (ORDER BY e.record_id {direction}) AS n FROM ("
        "SELECT e.record_id, e.body, e.fields FROM core_searchentry e "
        f"WHERE e.object_type = %s{start} ORDER BY e.record_id {direction} LIMIT %s) e) e "
        f"WHERE e.hit OR e.n = %s ORDER BY e.record_id {direction} LIMIT %s"
    ).replace("{conditions}", conditions)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, object_type, *start_args, size, size, count + 1])
        rows = cursor.fetchall()
    to_python = SearchEntry._meta.get_field("record_id").to_python
    hits = [to_python(pk) for pk, hit, _ in rows if hit][:count]
    last = next((to_python(pk) for pk, _, n in rows if n == size), None)
    return hits, last


def _from_index(
    object_type: str,
    words: list[str],
    hidden: Iterable[str],
    after: Any,
    descending: bool,
    count: int,
) -> list[Any]:
    """The first ``count`` matches after ``after`` through the trigram (or full-text) index."""
    conditions, params = _conditions(object_type, words, hidden)
    rest, rest_args = _bound(after, descending)
    # MATERIALIZED keeps the planner from walking the id index again for a rare term.
    return _ids(
        "WITH e AS MATERIALIZED (SELECT e.record_id FROM core_searchentry e "  # noqa: S608
        f"WHERE e.object_type = %s AND {conditions}) "
        f"SELECT e.record_id FROM e WHERE true{rest} "
        f"ORDER BY e.record_id {_direction(descending)} LIMIT %s",
        [object_type, *params, *rest_args, count],
    )


def _direction(descending: bool) -> str:
    return "DESC" if descending else "ASC"


def _bound(after: Any, descending: bool) -> tuple[str, list[Any]]:
    """The condition (and its argument) that keeps entries after ``after`` in id order."""
    if after is None:
        return "", []
    record_id = SearchEntry._meta.get_field("record_id")
    op = "<" if descending else ">"
    return f" AND e.record_id {op} %s", [record_id.get_db_prep_value(after, connection)]


def _ids(sql: str, args: list[Any]) -> list[Any]:
    to_python = SearchEntry._meta.get_field("record_id").to_python
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [to_python(row[0]) for row in cursor.fetchall()]


def _finish(rows: list[M], sort: pagination.Sort, limit: int) -> tuple[list[M], str | None]:
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, pagination.encode_cursor(sort, rows[-1].pk, rows[-1].pk)


def index(object_type: str, entries: Iterable[tuple[Any, Document]], *, replace: bool) -> None:
    """Write the search documents of records, ``(record_id, document)``; ``replace`` for
    existing ones."""
    made = [
        instance(
            SearchEntry,
            id=None,
            object_type=object_type,
            record_id=pk,
            body=" ".join(doc.values()),
            fields=doc,
        )
        for pk, doc in entries
    ]
    if not made:
        return
    if replace:
        SearchEntry.objects.filter(
            object_type=object_type, record_id__in=[r.record_id for r in made]
        ).delete()
    rows.write(SearchEntry, made)


def forget(object_type: str, record_ids: Iterable[Any]) -> None:
    SearchEntry.objects.filter(object_type=object_type, record_id__in=list(record_ids)).delete()

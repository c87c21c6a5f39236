"""The shared write path: lock and version check, field history and the outbox event.

Domain services own the transaction (``transaction.atomic()``); these helpers assume one is open
and write the history entry and outbox row beside the data, so all three commit or none does.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import (
    ManyToManyField,
    Model,
    Prefetch,
    QuerySet,
    prefetch_related_objects,
    sql,
)
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL

from accord.core import clock, registry, rows
from accord.core.errors import NotFound, PreconditionFailed
from accord.core.ids import new_id
from accord.core.models import HistoryEntry, OutboxEvent, Record, Source

R = TypeVar("R", bound=Record)

Payload = dict[str, Any]
Changes = dict[str, list[Any]]


#: Types ``jsonable`` passes through unchanged, looked up before any ``isinstance``: most
#: values are one of them, and payloads of thousands of records call it for every field.
_AS_IS = frozenset({str, int, float, bool, type(None)})
_AS_TEXT = (uuid.UUID, decimal.Decimal)
_TIMES = (dt.datetime, dt.date)
_SEQUENCES = (list, tuple)


def jsonable(value: Any) -> Any:
    """A value as it appears in events and history: ids and decimals as strings, times in ISO."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, _AS_TEXT):
        return str(value)
    if isinstance(value, _TIMES):
        return value.isoformat()
    if isinstance(value, _SEQUENCES):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def audit_fields(record: Record) -> Payload:
    """The stamps every record shows in its payload: version, who and when."""
    return {
        "version": record.version,
        "created_at": jsonable(record.created_at),
        "updated_at": jsonable(record.updated_at),
        "created_by_id": jsonable(record.created_by_id),
        "updated_by_id": jsonable(record.updated_by_id),
        "deleted_at": jsonable(record.deleted_at),
    }


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    """Fields whose value differs, as ``{field: [old, new]}``."""
    return {
        key: [before.get(key), value]
        for key, value in after.items()
        if key not in _NOT_TRACKED and before.get(key) != value
    }


_NOT_TRACKED = frozenset(
    {"version", "updated_at", "updated_by_id", "created_at", "created_by_id", "deleted_at"}
)


def lock(queryset: QuerySet[R], record_id: Any, *, expected_version: int | None) -> R:
    """The record under a row lock, after checking the caller's ``If-Match`` version.

    The check runs under the lock so two writers holding the same ETag cannot both win.
    ``queryset`` must already be filtered to what the caller may see.
    """
    try:
        record = queryset.select_for_update(of=("self",)).get(pk=record_id)
    except (queryset.model.DoesNotExist, ValueError):
        raise NotFound(f"No {queryset.model.object_type} with id {record_id}") from None
    if expected_version is not None and record.version != expected_version:
        raise PreconditionFailed(
            f"The {record.object_type} changed since you read it "
            f"(your version {expected_version}, current {record.version})",
            current_version=record.version,
        )
    return record


def _transaction_id() -> RawSQL | None:
    if connection.vendor == "postgresql":
        return RawSQL("pg_current_xact_id()::text::bigint", [])
    return None


@dataclass(frozen=True)
class Change:
    """One record's change, ready to be written as history and an outbox event."""

    record: Record
    verb: str
    payload: Payload
    changes: Changes


def change_rows(
    changes: Sequence[Change],
    *,
    actor: Model | None,
    source: Source | str,
    txid: Any,
) -> tuple[list[HistoryEntry], list[OutboxEvent]]:
    """The history entries and outbox events of ``changes`` (unsaved), one of each per change;
    ``txid`` is what the outbox rows' ``txid`` takes (a value, or an SQL expression)."""
    at = clock.now()
    when = at.isoformat()
    actor_id = actor.pk if actor is not None else None
    origin = f"/accord/{settings.ACCORD_INSTANCE}"
    source = str(source)
    history: list[HistoryEntry] = []
    events: list[OutboxEvent] = []
    for change in changes:
        record = change.record
        event_id = new_id()
        object_type = record.object_type
        event_type = f"accord.{object_type}.{change.verb}"
        envelope = {
            "specversion": "1.0",
            "id": str(event_id),
            "source": origin,
            "type": event_type,
            "subject": f"{object_type}/{record.pk}",
            "time": when,
            "datacontenttype": "application/json",
            "recordversion": record.version,
            "data": {"record": change.payload, "changed": change.changes},
        }
        history.append(
            instance(
                HistoryEntry,
                id=new_id(),
                object_type=object_type,
                object_id=record.pk,
                version=record.version,
                verb=change.verb,
                changes=change.changes,
                actor_id=actor_id,
                source=source,
                at=at,
                event_id=event_id,
            )
        )
        events.append(
            instance(
                OutboxEvent,
                id=None,
                event_id=event_id,
                type=event_type,
                object_type=object_type,
                object_id=record.pk,
                record_version=record.version,
                envelope=envelope,
                created_at=at,
                txid=txid,
                sequence=None,
            )
        )
    return history, events


def write_changes(
    changes: Sequence[Change], *, actor: Model | None, source: Source | str
) -> list[OutboxEvent]:
    """History entries and outbox events for ``changes``, in two batched inserts."""
    if connection.vendor == "postgresql" and len(changes) >= rows.COPY_FROM:
        txid = rows.transaction_id()
    else:
        txid = _transaction_id()
    history, events = change_rows(changes, actor=actor, source=source, txid=txid)
    rows.write(HistoryEntry, history)
    rows.write(OutboxEvent, events)
    registry.records_changed(changes, actor)
    return events


M = TypeVar("M", bound=Model)


def instance(model: type[M], **values: Any) -> M:
    """An unsaved ``model`` with exactly ``values`` (every concrete field's attname), made
    without ``Model.__init__``, whose per-field work is most of the cost of a batch's rows."""
    obj = model.__new__(model)
    obj.__dict__.update(values)
    obj._state = ModelState()
    return obj


def write_change(
    record: Record,
    *,
    verb: str,
    payload: Payload,
    changes: Changes,
    actor: Model | None,
    source: Source | str,
) -> OutboxEvent:
    return write_changes([Change(record, verb, payload, changes)], actor=actor, source=source)[0]


def created_changes(payload: Payload) -> Changes:
    """A new record's history: every field that has a value, from nothing."""
    return {
        key: [None, value]
        for key, value in payload.items()
        if key not in _NOT_TRACKED and key != "id" and value not in (None, "", [], {})
    }


def stamp(record: Record, *, actor: Model | None, bump: bool = True) -> None:
    """Set the audit stamps before saving a change; ``bump`` advances the version."""
    record.updated_at = clock.now()
    record.updated_by_id = actor.pk if actor is not None else None
    if bump:
        record.version += 1


def ids_of(records: Iterable[Record]) -> list[Any]:
    return [r.pk for r in records]


class _NotBuilt:
    """Stands for the ``Query`` a remembered queryset builds only when something asks for it."""


_NOT_BUILT: Any = _NotBuilt()


class _Remembered(QuerySet[Any]):
    """The rows of one record's relation, as ``remember_related`` left them. Reading them
    needs no query; building a query on them (``filter``, ``values_list``, ``order_by``…)
    goes to the database through the relation, as on Django's own prefetched querysets.
    Its own ``Query`` is made on first use: a page of thousands of records would otherwise
    spend more on building queries that never run than on everything else."""

    _accord_source: tuple[weakref.ref[Model], type[Model], Any, str]

    def __init__(self, model: type[Model], rows: list[Any], source: tuple[Model, str]) -> None:
        super().__init__(model=model, query=_NOT_BUILT)
        self._result_cache = rows
        self._prefetch_done = True
        # The record by a weak reference: a strong one would make each record and its cache
        # a cycle, left for the collector (a 1,000-row batch left it 20,000 objects).
        record, name = source
        self._accord_source = (weakref.ref(record), type(record), record.pk, name)

    @property
    def query(self) -> Any:
        if self.__dict__["_query"] is _NOT_BUILT:
            self._query = sql.Query(self.model)
        return QuerySet.query.fget(self)  # type: ignore[attr-defined]

    @query.setter
    def query(self, value: Any) -> None:
        QuerySet.query.fset(self, value)  # type: ignore[attr-defined]

    def _chain(self) -> QuerySet[Any]:
        reference, kind, pk, name = self._accord_source
        record = reference()
        if record is None:
            # The record was let go while its rows were kept: a stand-in with its id
            # queries the same relation.
            stand_in = kind(pk=pk)
            stand_in._state.adding = False
            return getattr(stand_in, name).all()._chain()
        cache: dict[str, Any] = record._prefetched_objects_cache  # type: ignore[attr-defined]
        mine = cache.pop(name)
        try:
            related = getattr(record, name).all()
        finally:
            cache[name] = mine
        return related._chain()


def remember_related(record: Model, name: str, rows: Iterable[Model]) -> None:
    """Fill the prefetch cache of ``record.<name>`` with ``rows`` just written, so that
    ``record.<name>.all()`` (the event, the search document, the response) reads no row back.
    ``rows`` must be in the order a query of the relation would return them."""
    cache: dict[str, Any] = record.__dict__.setdefault("_prefetched_objects_cache", {})
    # A bare queryset: the relation manager's own would build its filter, at ten times the
    # cost, for a query that is never run.
    target: Any = record._meta.get_field(name).related_model
    cache[name] = _Remembered(target, list(rows), (record, name))


def related_rows(record: Model, name: str) -> Iterable[Any]:
    """The rows of ``record.<name>`` (a to-many relation): those a prefetch or a write left
    in its cache, else one query. The same rows as ``record.<name>.all()``, without making a
    related manager, which payloads of thousands of records would otherwise do for each."""
    cached = record.__dict__.get("_prefetched_objects_cache")
    if cached is not None and name in cached:
        rows: Iterable[Any] = cached[name]
        return rows
    return getattr(record, name).all()


def prefetch(
    objects: Sequence[Model], *relations: str, missing: bool = False, plain: bool = False
) -> None:
    """Load ``relations`` (names of to-many relations) of ``objects`` in one query each, into
    the caches ``record.<relation>.all()`` and ``related_rows`` read; with ``missing``, only
    for the objects whose cache lacks them (say, rows a write just remembered). With
    ``plain``, the caches hold plain lists, which only ``related_rows`` reads: for records
    made only to be shown (a sync page of thousands), where a queryset per record and
    relation would cost more than its rows.

    For more than a hundred objects (a sync page, a bulk batch), what
    ``prefetch_related_objects`` does at a fraction of its cost: rows of a reverse foreign key
    come as plain values (no ``Model.__init__``, no related manager and filtered queryset per
    object), the targets of a many-to-many once. Fewer objects, relations of other kinds, or
    relations whose model has no plain ordering go through ``prefetch_related_objects``.
    """
    for name in relations:
        wanted = [
            obj
            for obj in objects
            if not missing or name not in getattr(obj, "_prefetched_objects_cache", {})
        ]
        if not wanted:
            continue
        if len(wanted) > _FEW:
            grouped = _relation_rows(wanted, name)
        else:
            loader = _few_loader(type(wanted[0]), name)
            grouped = loader.load(wanted) if loader is not None else None
        if grouped is None:
            prefetch_related_objects(wanted, Prefetch(name, to_attr=f"_accord_{name}"))
            grouped = {obj.pk: obj.__dict__.pop(f"_accord_{name}") for obj in wanted}
        # Objects without rows of the relation share one empty list, which nothing changes.
        empty: list[Any] = []
        for obj in wanted:
            rows = grouped.get(obj.pk, empty)
            if plain:
                obj.__dict__.setdefault("_prefetched_objects_cache", {})[name] = rows
            else:
                remember_related(obj, name, rows)


#: Up to this many objects (a page, a record), ``prefetch`` reads a relation with a statement
#: compiled once (:class:`_FewLoader`); more go through :func:`_relation_rows`.
_FEW = 100

#: The parameter :class:`_FewLoader` replaces with the owners' ids.
_IDS = "__accord_owner_ids__"


class _FewLoader:
    """The rows of one to-many relation for a few owners, by a query compiled once and re-run
    with the owners' ids as its one parameter (an array on PostgreSQL, a JSON list on SQLite):
    what ``prefetch_related_objects`` reads, in the order it reads them (the target's
    ordering, then its key), without building and compiling the same query on every call,
    which for the one record of a lookup cost four times the query itself."""

    def __init__(self, queryset: QuerySet[Any], owner_field: Any, *, owner: str) -> None:
        compiler = queryset.query.get_compiler(connection.alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.at = self.params.index(_IDS)
        self.model = queryset.model
        select = compiler.select
        fields = compiler.klass_info["select_fields"]
        self.model_slice = slice(fields[0], fields[-1] + 1)
        self.attnames = [select[i][0].target.attname for i in fields]
        self.owner_at = next(i for i, (_, _, alias) in enumerate(select) if alias == owner)
        self.converters = compiler.get_converters([column for column, _, _ in select])
        self.owner_field = owner_field

    def load(self, owners: Sequence[Model]) -> dict[Any, list[Any]]:
        ids = [obj.pk for obj in owners]
        params = list(self.params)
        params[self.at] = self._ids(ids)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched: Iterable[Any] = cursor.fetchall()
        if self.converters:
            fetched = self._converted(fetched)
        # The owner column comes as the database has it (a UUID's hex on SQLite).
        owner_of = {self._stored(pk): pk for pk in ids}
        grouped: dict[Any, list[Any]] = {}
        alias = connection.alias
        for row in fetched:
            obj = self.model.from_db(alias, self.attnames, row[self.model_slice])
            grouped.setdefault(owner_of[row[self.owner_at]], []).append(obj)
        return grouped

    def _converted(self, fetched: Iterable[Any]) -> Iterable[Any]:
        """The rows through the ORM's converters, given this thread's connection (the
        compiler that found them belongs to the thread that built the loader)."""
        converters = list(self.converters.items())
        for row in fetched:
            values = list(row)
            for position, (functions, expression) in converters:
                for convert in functions:
                    values[position] = convert(values[position], expression, connection)
            yield values

    def _stored(self, pk: Any) -> Any:
        if connection.vendor == "postgresql":
            return pk
        return self.owner_field.get_db_prep_value(pk, connection)

    def _ids(self, ids: list[Any]) -> Any:
        if connection.vendor != "postgresql":
            return json.dumps([self._stored(pk) for pk in ids])
        if all(isinstance(v, uuid.UUID | int) for v in ids):
            return "{" + ",".join(map(str, ids)) + "}"
        return ids


_few_loaders: dict[tuple[type[Model], str, str], _FewLoader | None] = {}


def _few_loader(model: type[Model], name: str) -> _FewLoader | None:
    """The :class:`_FewLoader` of ``model.<name>``; None for relations other than a reverse
    foreign key or a many-to-many, or whose target is ordered by anything but its columns."""
    key = (model, name, connection.vendor)
    if key not in _few_loaders:
        _few_loaders[key] = _build_few_loader(model, name)
    return _few_loaders[key]


def _build_few_loader(model: type[Model], name: str) -> _FewLoader | None:
    relation: Any = model._meta.get_field(name)
    target: Any = relation.related_model
    ordering = [*target._meta.ordering, "pk"]
    if not all(isinstance(o, str) and "__" not in o for o in ordering):
        return None
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    if connection.vendor == "postgresql":
        kind = pk.db_type(connection)
        among = f"= ANY(%s::{kind}[])"
    else:
        among = "IN (SELECT value FROM json_each(%s))"
    queryset = target._default_manager.all()
    owner = "_accord_owner"
    if relation.one_to_many:
        column = f"{quote(target._meta.db_table)}.{quote(relation.field.column)}"
    elif isinstance(relation, ManyToManyField):
        through: Any = relation.remote_field.through
        link = quote(through._meta.db_table)
        column = f"{link}.{quote(relation.m2m_column_name())}"
        joined = f"{link}.{quote(relation.m2m_reverse_name())}"
        queryset = queryset.extra(  # noqa: S610 - names from the models' metadata
            tables=[through._meta.db_table],
            where=[f"{joined} = {quote(target._meta.db_table)}.{quote(target._meta.pk.column)}"],
        )
    else:
        return None
    queryset = queryset.extra(  # noqa: S610 - names from the models' metadata
        select={owner: column}, where=[f"{column} {among}"], params=[_IDS]
    ).order_by(*ordering)
    return _FewLoader(queryset, pk, owner=owner)


def _relation_rows(objects: Sequence[Model], name: str) -> dict[Any, list[Any]] | None:
    """The rows of relation ``name`` of each of ``objects`` (by primary key), in the order a
    query of the relation returns them; None when it is not a reverse foreign key or a
    many-to-many whose model is ordered by plain fields."""
    model = type(objects[0])
    relation: Any = model._meta.get_field(name)
    target: Any = relation.related_model
    ordering = [*target._meta.ordering, "pk"]
    if not all(isinstance(o, str) and "__" not in o for o in ordering):
        return None
    ids = [obj.pk for obj in objects]
    grouped: dict[Any, list[Any]] = {}
    if relation.one_to_many:
        key = relation.field.attname
        names = [f.attname for f in target._meta.concrete_fields]
        at = names.index(key)
        rows = among(target._default_manager.all(), key, ids).order_by(*ordering)
        for values in rows.values_list(*names):
            row = dict(zip(names, values, strict=True))
            grouped.setdefault(values[at], []).append(instance(target, **row))
        return grouped
    if isinstance(relation, ManyToManyField):
        source, chosen = relation.m2m_column_name(), relation.m2m_reverse_name()
        through: Any = relation.remote_field.through
        pairs = list(among(through.objects.all(), source, ids).values_list(source, chosen))
        wanted = {pk for _, pk in pairs}
        targets = list(target._default_manager.filter(pk__in=wanted).order_by(*ordering))
        rank = {row.pk: position for position, row in enumerate(targets)}
        for owner, pk in sorted(
            (pair for pair in pairs if pair[1] in rank), key=lambda pair: rank[pair[1]]
        ):
            grouped.setdefault(owner, []).append(targets[rank[pk]])
        return grouped
    return None


def among(
    queryset: QuerySet[Any], attname: str, ids: Sequence[Any], *, bounded: bool = True
) -> QuerySet[Any]:
    """``queryset`` narrowed to rows whose ``attname`` is one of ``ids``. ``bounded`` (for ids
    that are mostly consecutive in key order, such as a page's) also bounds the column by the
    smallest and largest id, so the database reads just that range of the column's index
    instead of the whole table, which it chose for a list of thousands.

    On PostgreSQL the list goes as one array parameter, joined as a set (``IN (SELECT
    unnest(%s))``) so the planner may look each id up in an index: Django prepares each value
    of an ``IN`` list on its own, which for thousands of ids costs more than the query, and
    the planner reads a whole table for ``= ANY`` of a large array. Ids and integers go as the
    array's text (``'{…}'::uuid[]``), which psycopg quotes at once instead of value by value."""
    if bounded and ids:
        queryset = queryset.filter(**{f"{attname}__gte": min(ids), f"{attname}__lte": max(ids)})
    if connection.vendor != "postgresql":
        return queryset.filter(**{f"{attname}__in": list(ids)})
    field = queryset.model._meta.get_field(attname)
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    column = connection.ops.quote_name(field.column)
    kind = field.db_type(connection)
    value: Any = list(ids)
    array = "%s"
    if kind in _ARRAY_AS_TEXT and all(isinstance(v, uuid.UUID | int) for v in ids):
        value, array = "{" + ",".join(map(str, ids)) + "}", f"%s::{kind}[]"
    where = f"{table}.{column} IN (SELECT unnest({array}))"
    return queryset.extra(where=[where], params=[value])  # noqa: S610


def listed(texts: Iterable[str]) -> RawSQL:
    """A subquery answering ``texts``, for ``<text column>__in=listed(...)`` on any join:
    the list goes as one JSON parameter, where ``__in`` would send one placeholder per
    value, each prepared by Django and found again by psycopg in the statement's text (a
    bulk upsert's 1,000 match keys cost more that way than their query)."""
    text = orjson.dumps(list(texts)).decode()
    if connection.vendor == "postgresql":
        return RawSQL("SELECT jsonb_array_elements_text(%s::jsonb)", [text])
    return RawSQL("SELECT value FROM json_each(%s)", [text])


#: Column types whose values' text needs no quoting inside an array literal.
_ARRAY_AS_TEXT = frozenset({"uuid", "bigint", "integer", "smallint"})

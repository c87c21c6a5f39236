"""Writing many rows of one table at once, without the ORM's per-row work.

:func:`write` takes model instances or :class:`~accord.core.bulkload.Draft` rows (anything
with the model's attnames) and inserts them: on PostgreSQL a batch of COPY_FROM rows or more
goes through ``COPY`` (psycopg formats rows in C, where Django's ``bulk_create`` quotes every
value in Python), a smaller one as one ``INSERT … VALUES`` written here; on SQLite through one
prepared ``INSERT`` run for every row. Inserted model instances are marked saved, as ``bulk_create``
would leave them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import operator
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import AutoField, BigAutoField, JSONField, Model, SmallAutoField, signals
from django.db.models.expressions import RawSQL
from psycopg.pq import TransactionStatus

_IDLE = TransactionStatus.IDLE

#: Batches from this size go through COPY on PostgreSQL; a COPY costs two round trips.
COPY_FROM = 20

_AUTO = (AutoField, BigAutoField, SmallAutoField)


@dataclass(frozen=True)
class _Layout:
    """How rows of one table are written: its quoted name and column list, a getter of a
    row's values in column order, and converters for the values the driver cannot take."""

    table: str
    names: str
    columns: list[str]
    getter: Any
    converters: list[tuple[int, Callable[[Any], Any]]]
    returning: str  # the quoted auto-increment key column, for ``RETURNING``
    pk_attname: str

    @property
    def single(self) -> bool:
        return len(self.columns) == 1


#: Layouts by model, id presence and database vendor.
_layouts: dict[tuple[type[Model], bool, str], _Layout] = {}


def _db() -> Any:
    """The default database's connection object of this thread. ``django.db.connection`` is
    a proxy that looks the connection up (a thread-local read) on every attribute: hot
    paths read it once."""
    return connections[DEFAULT_DB_ALIAS]


def _layout(db: Any, model: type[Model], *, with_id: bool) -> _Layout:
    key = (model, with_id, db.vendor)
    if key not in _layouts:
        fields = [
            f
            for f in model._meta.concrete_fields
            if with_id or not (f.primary_key and isinstance(f, _AUTO))
        ]
        converters: list[tuple[int, Callable[[Any], Any]]] = []
        for position, field in enumerate(fields):
            if isinstance(field, JSONField):
                converters.append((position, _json_dumper(field.encoder or json.JSONEncoder)))
            elif db.vendor != "postgresql":
                # psycopg adapts uuid, datetime, Decimal and the rest by itself.
                converters.append((position, _prep(field, utc=db.timezone_name == "UTC")))
        quote = db.ops.quote_name
        pk: Any = model._meta.pk
        _layouts[key] = _Layout(
            table=quote(model._meta.db_table),
            names=", ".join(quote(f.column) for f in fields),
            columns=[f.column for f in fields],
            getter=operator.attrgetter(*(f.attname for f in fields)),
            converters=converters,
            # Only an auto-increment key is returned (a composite one has no column).
            returning=quote(pk.column) if isinstance(pk, _AUTO) else "",
            pk_attname=pk.attname,
        )
    return _layouts[key]


#: orjson as the field's encoder writes: dates and times through the encoder's ``default``.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _json_dumper(encoder: type[json.JSONEncoder]) -> Callable[[Any], Any]:
    """The column's JSON text, by orjson (a batch's history and events spent an eighth of
    its time in ``json.dumps``); values orjson refuses (an integer beyond 64 bits) by the
    encoder itself. The text may differ in spacing and escapes, never in the values."""
    default = encoder().default

    def dump(value: Any) -> Any:
        if value is None:
            return None
        try:
            return orjson.dumps(value, default=default, option=_ORJSON_OPTIONS).decode()
        except TypeError:
            return json.dumps(value, cls=encoder)

    return dump


#: Field classes whose values the sqlite3 module stores as Django would prepare them, when they
#: come as this type: those skip Django's preparation (half of a batch's rows.write on SQLite).
_NATIVE: dict[type[Any], type] = {
    **dict.fromkeys(
        (models.CharField, models.EmailField, models.SlugField, models.URLField, models.TextField),
        str,
    ),
    **dict.fromkeys(
        (
            models.IntegerField,
            models.BigIntegerField,
            models.SmallIntegerField,
            models.PositiveIntegerField,
            models.PositiveBigIntegerField,
            models.PositiveSmallIntegerField,
        ),
        int,
    ),
    models.BooleanField: bool,
    models.FloatField: float,
}


def _prep(field: Any, *, utc: bool) -> Callable[[Any], Any]:
    """How a value of ``field`` goes to SQLite: as ``get_db_prep_value`` prepares it, by a
    shorter way for the commonest values (``utc``: the connection keeps times in UTC)."""
    if utc and type(field) is models.DateTimeField:
        # What SQLite's adapt_datetimefield_value makes of a time in UTC: its text, naive.

        def prep_time(value: Any) -> Any:
            if type(value) is dt.datetime and value.tzinfo is dt.UTC:
                return str(value.replace(tzinfo=None))
            return None if value is None else field.get_db_prep_value(value, connection)

        return prep_time

    target = field.target_field if field.many_to_one or field.one_to_one else field
    if type(target) is models.UUIDField:
        # What UUIDField.get_db_prep_value gives a database without a uuid type, for the ids
        # and keys that make up most of a row's values, without looking up the connection.

        def prep_uuid(value: Any) -> Any:
            if type(value) is uuid.UUID:
                return value.hex
            return None if value is None else field.get_db_prep_value(value, connection)

        return prep_uuid

    native = _NATIVE.get(type(field))

    def prep(value: Any) -> Any:
        if value is None or type(value) is native:
            return value
        return field.get_db_prep_value(value, connection, prepared=False)

    return prep


def write(model: type[Model], objects: Sequence[Any]) -> None:
    """Insert ``objects`` (drafts or instances, all with or all without their auto-increment
    id); see the module's docstring for how."""
    if not objects:
        return
    db = _db()
    postgres = db.vendor == "postgresql"
    pk: Any = model._meta.pk
    with_id = not (isinstance(pk, _AUTO) and getattr(objects[0], pk.attname) is None)
    layout = _layout(db, model, with_id=with_id)
    getter, converters, single = layout.getter, layout.converters, layout.single
    if postgres and len(objects) < COPY_FROM:
        _insert_values(db, layout, objects, with_id=with_id)
        _mark_saved(db, objects)
        return
    if postgres:
        _flush_held()
        copy_sql = f"COPY {layout.table} ({layout.names}) FROM STDIN"
        with db.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for obj in objects:
                row = getter(obj)
                if single:
                    row = [row]
                if converters:
                    row = list(row)
                    for position, convert in converters:
                        row[position] = convert(row[position])
                copy.write_row(row)
        _mark_saved(db, objects)
        return
    rows = []
    for obj in objects:
        row = [getter(obj)] if single else list(getter(obj))
        for position, convert in converters:
            row[position] = convert(row[position])
        rows.append(row)
    marks = ", ".join(["%s"] * len(layout.columns))
    # Names come from the model's metadata, values travel as parameters.
    insert = f"INSERT INTO {layout.table} ({layout.names}) VALUES ({marks})"  # noqa: S608
    if _held.statements is not None:
        _held.statements.append(_Statement(insert, rows, many=True))
    else:
        with db.cursor() as cursor:
            cursor.executemany(insert, rows)
    _mark_saved(db, objects)


def _insert_values(db: Any, layout: _Layout, objects: Sequence[Any], *, with_id: bool) -> None:
    """A few rows as one ``INSERT … VALUES`` (PostgreSQL), their new auto-increment ids set
    on them. What ``bulk_create`` sends, without compiling it through the ORM on every call,
    which cost more than the statement: a create writes four such batches. A value may be a
    ``RawSQL`` expression (the transaction id of an outbox row)."""
    getter, converters, single = layout.getter, layout.converters, layout.single
    params: list[Any] = []
    tuples = []
    for obj in objects:
        row = [getter(obj)] if single else list(getter(obj))
        for position, convert in converters:
            row[position] = convert(row[position])
        marks = []
        for value in row:
            if isinstance(value, RawSQL):
                marks.append(f"({value.sql})")
                params.extend(value.params)
            else:
                marks.append("%s")
                params.append(value)
        tuples.append(f"({', '.join(marks)})")
    sql = f"INSERT INTO {layout.table} ({layout.names}) VALUES {', '.join(tuples)}"  # noqa: S608
    returning = None
    if not with_id:
        sql = f"{sql} RETURNING {layout.returning}"
        returning = (objects, layout.pk_attname)
    if _held.statements is not None:
        _held.statements.append(_Statement(sql, params, returning))
        return
    with db.cursor() as cursor:
        _send(cursor, [_Statement(sql, params, returning)])


class _Statement(NamedTuple):
    """A statement held by :func:`together`."""

    sql: str
    #: Its parameters; with ``many``, one list of them per row (SQLite's ``executemany``).
    params: list[Any]
    #: The objects whose new ids it returns, and the attribute that takes them.
    returning: tuple[Sequence[Any], str] | None = None
    many: bool = False


class _Held(threading.local):
    statements: list[_Statement] | None = None


_held = _Held()


@contextmanager
def together(*, last: bool = False) -> Iterator[None]:
    """Hold the inserts :func:`write` makes in the block and send them together: a write's
    rows, search entry, history entry and outbox event then cost one round trip on
    PostgreSQL instead of one each (one execute). On SQLite they run one by one, but the
    transaction's writing starts only with them (its BEGIN waits for its first statement,
    see ``core.backends.sqlite3``), so the Python that builds them runs beside other writers.
    They go at the block's end, or first thing when any other statement runs in the block,
    so whatever the block reads sees them. An error in the block sends none of them.

    ``last`` promises that the block ends the outermost transaction (see
    :func:`transaction_together`): if nothing else ran in that transaction, the inserts go
    as one implicit transaction of their own and BEGIN and COMMIT cost no round trip."""
    if _held.statements is not None:
        yield
        return
    _held.statements = []
    try:
        with connection.execute_wrapper(_sending_held_first):
            yield
        held, _held.statements = _held.statements, None
        if held:
            _send_held(held, alone=last)
    finally:
        _held.statements = None


@contextmanager
def transaction_together() -> Iterator[None]:
    """``transaction.atomic()`` whose inserts go out :func:`together` at its end: for a
    write that reads nothing back, on PostgreSQL and outside any other transaction, the
    whole transaction is one round trip."""
    outermost = not connection.in_atomic_block
    with transaction.atomic(), together(last=outermost):
        yield


def _sending_held_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    """Django's execute wrapper while inserts are held: they go before any other statement."""
    if held := _take_held():
        _send(context["cursor"], held)
    return execute(sql, params, many, context)


def _take_held() -> list[_Statement]:
    """What :func:`together` holds now, which it then holds no longer."""
    held = _held.statements
    if not held:
        return []
    _held.statements = []
    return held


def _send_held(held: list[_Statement], *, alone: bool) -> None:
    raw = connection.connection
    if (
        alone
        and connection.vendor == "postgresql"
        and raw is not None
        and raw.info.transaction_status == _IDLE
    ):
        # Nothing has run in this transaction (psycopg starts one with the first statement):
        # in autocommit the statements of one execute are one implicit transaction, all or
        # nothing, and the COMMIT Django sends next finds no transaction open, so it costs
        # nothing.
        raw.autocommit = True
        try:
            with connection.cursor() as cursor:
                _send(cursor, held)
        finally:
            raw.autocommit = False
        return
    with connection.cursor() as cursor:
        _send(cursor, held)


def _flush_held() -> None:
    """Send what :func:`together` holds now, before a statement that bypasses Django's
    cursor (a COPY)."""
    if held := _take_held():
        with connection.cursor() as cursor:
            _send(cursor, held)


def _send(cursor: Any, statements: list[_Statement]) -> None:
    """Run ``statements`` in one execute (client-side binding sends them as one query) and
    set the ids they return; on SQLite, one by one."""
    if connection.vendor != "postgresql":
        for statement in statements:
            if statement.many:
                cursor.executemany(statement.sql, statement.params)
            else:
                cursor.execute(statement.sql, statement.params)
        return
    cursor.execute("; ".join(s.sql for s in statements), [p for s in statements for p in s.params])
    results = cursor.cursor  # psycopg's cursor: it walks the results of each statement
    for index, statement in enumerate(statements):
        returning = statement.returning
        if index:
            results.nextset()
        if returning is not None:
            objects, attname = returning
            for obj, (new_id,) in zip(objects, results.fetchall(), strict=True):
                setattr(obj, attname, new_id)


def inserts_plainly(model: type[Model]) -> bool:
    """Whether :func:`write` inserts an instance of ``model`` as ``save()`` would: the model
    keeps Django's ``save``, no field fills itself in on save (``auto_now``) and nothing
    listens to its saves."""
    return (
        _saves_plainly(model)
        and not signals.pre_save.has_listeners(model)
        and not signals.post_save.has_listeners(model)
    )


@functools.cache
def _saves_plainly(model: type[Model]) -> bool:
    return model.save is Model.save and not any(
        getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        for f in model._meta.concrete_fields
    )


def _mark_saved(db: Any, objects: Sequence[Any]) -> None:
    alias = db.alias
    for obj in objects:
        state = getattr(obj, "_state", None)
        if state is not None:
            state.adding = False
            state.db = alias


def transaction_id() -> Any:
    """The PostgreSQL transaction id of the open transaction (None on SQLite)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return cursor.fetchone()[0]


def update(model: type[Model], objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` (field names) of saved ``objects`` in one statement: on PostgreSQL
    ``UPDATE … FROM unnest(…)`` with one array parameter per column, on SQLite one prepared
    ``UPDATE`` run per row.

    Django's ``bulk_update`` builds a ``CASE WHEN id = … THEN …`` per row and field, whose
    compilation took half of a 1,000-row bulk upsert; a ``VALUES`` list of one placeholder
    per value then cost psycopg a scan of its query text for each of them.
    """
    if not objects or not fields:
        return
    concrete: list[Any] = [model._meta.get_field(name) for name in fields]
    pk: Any = model._meta.pk
    db = _db()  # fields ask the connection for each value: the object, not the proxy
    quote = db.ops.quote_name
    table = quote(model._meta.db_table)
    if db.vendor == "postgresql":
        statement = _update_from_json(db, table, [*concrete, pk], objects)
        if statement is None:
            statement = _update_from_arrays(
                table, [*concrete, pk], _prepared(db, concrete, objects)
            )
        with db.cursor() as cursor:
            cursor.execute(*statement)
        return
    rows = _prepared(db, concrete, objects)
    with db.cursor() as cursor:
        assigned = ", ".join(f"{quote(f.column)} = %s" for f in concrete)
        cursor.executemany(
            f"UPDATE {table} SET {assigned} WHERE {quote(pk.column)} = %s",  # noqa: S608
            rows,
        )


def _prepared(db: Any, fields: list[Any], objects: Sequence[Model]) -> list[list[Any]]:
    """Each object's database values of ``fields``, then of its primary key."""
    pk: Any = objects[0]._meta.pk
    return [
        [
            *(f.get_db_prep_save(getattr(obj, f.attname), db) for f in fields),
            pk.get_db_prep_save(obj.pk, db),
        ]
        for obj in objects
    ]


def _update_from_json(
    db: Any, table: str, fields: list[Any], objects: Sequence[Model]
) -> tuple[str, list[Any]] | None:
    """The PostgreSQL statement that sets ``fields[:-1]`` of ``table`` where its primary key
    ``fields[-1]`` matches, the rows travelling as one JSON array of arrays, each value cast
    to its column's type in the statement; None when a column is itself an array or a value
    has no plain JSON form (the caller then sends arrays).

    With client-side binding psycopg quotes every element of an array parameter in Python,
    which cost a 1,000-row update more than its statement; one text parameter is quoted in C.
    """
    types = [f.db_type(db) for f in fields]
    if any(kind is None or kind.endswith("]") for kind in types):
        return None
    # A JSON column's value travels as the text rows.write would store; the rest as Django
    # prepares them for the database.
    prepare = [
        _json_dumper(f.encoder or json.JSONEncoder)
        if isinstance(f, JSONField)
        else functools.partial(_prepared_value, f, db)
        for f in fields
    ]
    rows = [
        [convert(getattr(obj, f.attname)) for f, convert in zip(fields, prepare, strict=True)]
        for obj in objects
    ]
    try:
        text = orjson.dumps(rows, default=_json_scalar).decode()
    except TypeError:
        return None
    quote = db.ops.quote_name
    names = [quote(f.column) for f in fields[:-1]]
    picked = ", ".join(f"(r ->> {i})::{kind}" for i, kind in enumerate(types))
    assigned = ", ".join(f"{name} = v.{name}" for name in names)
    columns = ", ".join([*names, "_pk"])
    sql = (
        f"UPDATE {table} AS t SET {assigned} "  # noqa: S608
        f"FROM (SELECT {picked} FROM jsonb_array_elements(%s::jsonb) AS r) AS v({columns}) "
        f"WHERE t.{quote(fields[-1].column)} = v._pk"
    )
    return sql, [text]


def _prepared_value(field: Any, db: Any, value: Any) -> Any:
    return field.get_db_prep_save(value, db)


def _json_scalar(value: Any) -> Any:
    """What orjson cannot write by itself: decimals, as their exact text."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError


def _update_from_arrays(
    table: str, fields: list[Any], rows: list[list[Any]]
) -> tuple[str, list[Any]]:
    """The PostgreSQL statement that sets ``fields[:-1]`` of ``table`` where its primary key
    ``fields[-1]`` matches, with ``rows`` as one array parameter per field (a column that is
    itself an array would be flattened by ``unnest``: those travel as a ``VALUES`` list)."""
    quote = connection.ops.quote_name
    names = [quote(f.column) for f in fields[:-1]]
    types = [f.db_type(connection) for f in fields]
    assigned = ", ".join(
        f"{name} = v.{name}::{kind}" for name, kind in zip(names, types, strict=False)
    )
    columns = ", ".join([*names, "_pk"])
    if any(kind.endswith("]") for kind in types):
        marks = ", ".join(["%s"] * len(fields))
        source = f"(VALUES {', '.join([f'({marks})'] * len(rows))})"
        params = [value for row in rows for value in row]
    else:
        source = f"unnest({', '.join(f'%s::{kind}[]' for kind in types)})"
        params = [list(column) for column in zip(*rows, strict=True)]
    sql = (
        f"UPDATE {table} AS t SET {assigned} FROM {source} AS v({columns}) "  # noqa: S608
        f"WHERE t.{quote(fields[-1].column)} = v._pk::{types[-1]}"
    )
    return sql, params


class Columns:
    """The concrete columns of ``model`` under a table alias, for hand-written SELECTs whose
    text is built once: :attr:`sql` is the select list, :meth:`load` turns the row's values
    into an instance, through the same converters the ORM applies (dates on SQLite, JSON).

    For the few queries that run on every request (the API token behind it): the ORM
    compiles a query anew on each call, which cost more than the query's round trip."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self.model = model
        fields = model._meta.concrete_fields
        self.attnames = [f.attname for f in fields]
        quote = connection.ops.quote_name
        self.sql = ", ".join(f"{quote(alias)}.{quote(f.column)}" for f in fields)
        self.width = len(fields)
        self._converters: list[tuple[int, list[Any], Any]] = []
        for position, field in enumerate(fields):
            column = field.get_col(alias)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                self._converters.append((position, found, column))

    def load(self, values: Sequence[Any]) -> Any:
        row = list(values[: self.width])
        for position, converters, column in self._converters:
            for convert in converters:
                row[position] = convert(row[position], column, connection)
        return self.model.from_db(connection.alias, self.attnames, row)

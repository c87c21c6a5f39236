"""The offline sync feed: what a replica (a laptop, a phone) must change to match what its user
may see now, and the edits it made offline, pushed back through the record services.

**Pull.** The server keeps, per replica, the records it holds and at which version
(:class:`~accord.integration.models.SyncHolding`). A pull compares them with what the user may
see now, in SQL, one object type after the other:

- *tombstones*: held, but no longer visible: deleted, purged, or out of the user's sight for
  whatever reason (a new owner, a team, role, sharing-rule or territory change, a lost
  permission), which needs no event on the record: an anti-join of the holdings against
  ``identity.visibility.visible``;
- *records*: visible, but not held at their current version (changed, new, restored, or newly
  visible): the anti-join the other way, on id and version.

Every write bumps the record's version, so comparing versions finds every change without
reading the outbox, and also what entered the user's sight without an event. The first pull
is the same comparison against an empty replica. Pages are keyset-ordered by object type and
id (the cursor keeps the position); a pass over all types ends with ``has_more`` false, and
the next pull starts a new pass.

**Delivery is confirmed by the next cursor.** What a page sent is kept as
:class:`~accord.integration.models.SyncPending` and becomes held only when the client asks for
the next page with that page's cursor (it could only have read it from the page). A client
that lost a page retries with the cursor before: the pending rows are dropped and the page is
computed again. Any older cursor of the replica answers 410: resynchronise fully.

**Push.** Each offline edit goes through its record's service (``create``, ``update`` with
``expected_version=base_version``, ``delete``), so permissions, field-level security,
validation, history and events apply as for any API write. Each edit is applied or not on its
own (``all_or_none`` applies all or none); a record changed since ``base_version`` is a
per-record conflict that carries the server's current record and the client's proposal, and
nothing is overwritten.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Protocol

from django.core import signing
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django_tasks import task
from pydantic import ValidationError as PydanticValidationError

from accord.core import clock, records, registry, rows
from accord.core.errors import (
    AccordError,
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from accord.core.models import OutboxEvent, Record, Source, record_types
from accord.identity.visibility import access_state, depends_on, permitted, visible
from accord.integration import config, sequencer
from accord.integration.models import SyncHolding, SyncPending, SyncReplica
from accord.integration.queries import CursorExpired

DEFAULT_LIMIT = 2000
MAX_LIMIT = 5000
MAX_PUSH = 500
#: Replicas one user may keep; a new one drops the least recently pulled beyond this.
MAX_REPLICAS = 10
_SALT = "accord.integration.sync.cursor"
#: The two passes over one object type, in page order.
TOMBSTONES, RECORDS = 0, 1


class Writable(Protocol):
    """What the feed needs of an object type: the API's ``Resource`` has exactly this."""

    service: Any
    create_in: Any
    patch_in: Any


class ResyncRequired(Conflict):
    """The cursor cannot be continued (the server forgot or never had what it names)."""


# -- the cursor --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Basis:
    """What a pass compared against: the event sequence and the access state
    (``visibility.access_state``) when it began, and the object types it covered."""

    sequence: int
    state: str
    types: tuple[str, ...]

    def dump(self) -> list[Any]:
        return [self.sequence, self.state, list(self.types)]

    @classmethod
    def load(cls, data: Any) -> Basis | None:
        if not data:
            return None
        sequence, state, types = data
        return cls(int(sequence), str(state), tuple(str(t) for t in types))


@dataclass(frozen=True)
class Cursor:
    """Where a replica stands: its id, the number of the page this cursor came with, the
    event sequence when that page was made, where the pass goes on (None: a new pass), when
    the cursor was issued (seconds since the epoch, by ``core.clock``), the basis of the last
    finished pass (``since``: what the current pass may compare against only the records
    changed after it) and the basis of the current pass (None once it is known to be mixed)."""

    replica: uuid.UUID
    page: int
    sequence: int
    position: tuple[str, int, str] | None = None
    issued: int = 0
    since: Basis | None = None
    basis: Basis | None = None

    def encode(self) -> str:
        data = [
            self.replica.hex,
            self.page,
            self.sequence,
            list(self.position or []),
            self.issued,
            self.since.dump() if self.since else None,
            self.basis.dump() if self.basis else None,
        ]
        return signing.dumps(data, salt=_SALT, compress=True)

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        """The cursor in ``raw``: 422 when it is not one this server signed, 410 when it is
        older than the event retention."""
        try:
            data = signing.loads(raw, salt=_SALT)
            replica, page, sequence, position, issued = data[:5]
            # Cursors made before passes had a basis have five parts: compare everything.
            since, basis = (
                (Basis.load(data[5]), Basis.load(data[6])) if len(data) > 5 else (None, None)
            )
            where = None
            if position:
                object_type, phase, last = position
                where = (str(object_type), int(phase), str(uuid.UUID(last)))
            cursor = cls(
                uuid.UUID(hex=replica), int(page), int(sequence), where, int(issued), since, basis
            )
        except (signing.BadSignature, ValueError, TypeError):
            raise InvalidInput.field(
                "cursor", "is not a cursor this server gave; pass a next_cursor unchanged"
            ) from None
        if clock.now().timestamp() - cursor.issued > config.retention().total_seconds():
            raise CursorExpired(
                "The cursor is older than the event retention; resynchronise fully (pull "
                "without a cursor)"
            )
        return cursor


# -- pull --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncPage:
    items: list[dict[str, Any]]
    next_cursor: str
    has_more: bool


def parse_types(raw: str | None, writers: Mapping[str, Writable]) -> list[str]:
    """``contact,account`` as object types in feed order (all of them when empty)."""
    known = syncable(writers)
    if not raw:
        return known
    names = {t.strip() for t in raw.split(",") if t.strip()}
    unknown = sorted(names - set(known))
    if unknown:
        raise InvalidInput.field(
            "types", f"not object types of the sync feed: {', '.join(unknown)}"
        )
    return [t for t in known if t in names]


def syncable(writers: Mapping[str, Writable]) -> list[str]:
    """Object types the feed serves, in the order records are installed (parents first)."""
    return [t for t in record_types() if t in writers]


def pull(
    user: Any,
    *,
    cursor: str | None,
    types: Sequence[str],
    limit: int,
    writers: Mapping[str, Writable],
) -> SyncPage:
    """The next page of changes for the replica ``cursor`` names (a new replica without one)."""
    numbering = sequencer.current()
    sequence = numbering.last_sequence
    state = access_state()
    since: Basis | None = None
    basis: Basis | None = None
    if cursor is None:
        replica, position = _new_replica(user), None
    else:
        presented = Cursor.decode(cursor)
        replica, position = _resume(user, presented, sequence)
        since, basis = presented.since, presented.basis
    if position is None or position[0] not in types:
        # A new pass (or the types changed: the pass starts again). It may compare only the
        # records changed since the last finished pass began.
        if position is None:
            since = basis
        position = None
        basis = Basis(sequence, state, tuple(types))
    elif basis is not None and basis.state != state:
        # The access model or a user changed during this pass: its pages disagree on who
        # sees what, so the next pass compares everything.
        basis = None
    changes = _changes_since(since, state, numbering.purged_through)
    issued = replica.page
    items, pending, position = _page(user, replica, types, position, limit, writers, changes)
    with transaction.atomic():
        locked = SyncReplica.objects.select_for_update().get(pk=replica.pk)
        if locked.page != issued:
            raise Conflict("Another pull of this replica ran meanwhile; retry with your cursor")
        rows.write(SyncPending, pending)
        locked.page = issued + 1
        locked.pulled_at = clock.now()
        locked.policies = replica.policies
        locked.save(update_fields=["page", "pulled_at", "policies"])
    following = Cursor(
        replica.pk, issued + 1, sequence, position, int(clock.now().timestamp()), since, basis
    )
    return SyncPage(items=items, next_cursor=following.encode(), has_more=position is not None)


#: At most this many events since the last pass narrow a pull; with more, comparing
#: everything costs less than reading them.
MAX_NARROWING = 20_000


@dataclass(frozen=True)
class Changes:
    """The records written since the last finished pass began, by object type, and the types
    that pass covered."""

    ids: Mapping[str, set[uuid.UUID]]
    covered: frozenset[str]

    def among(self, model: type[Record]) -> list[uuid.UUID] | None:
        """The ids of ``model``'s records that may differ from what the replica holds, or
        None: compare them all (the last pass did not cover the type, or records of another
        type changed that decide who sees these, see ``visibility.depends_on``)."""
        object_type = model.object_type
        if object_type not in self.covered:
            return None
        others = self.ids.keys() - {object_type}
        depends = depends_on(model)
        if (depends is None and others) or (depends and depends & others):
            return None
        return sorted(self.ids.get(object_type, ()))


def _changes_since(since: Basis | None, state: str, purged_through: int) -> Changes | None:
    """What may differ from the holdings of the pass ``since`` describes: the records of the
    events after its sequence (or not numbered yet). None (compare everything) when there
    was no such pass, when anything else that decides visibility changed since (the access
    state), when some of those events were purged already, or when there are too many.

    Every write to a record has an event in its own transaction, numbered after it commits,
    so a write that committed before the pass read its sequence was seen by the pass, and
    any later one has a greater sequence or none yet (ADR 0011)."""
    if since is None or since.state != state or since.sequence < purged_through:
        return None
    # One statement, so one snapshot: the relay numbering events between two queries would
    # hide them from both. A union, so each half reads its own index (an OR reads the whole
    # outbox).
    events = OutboxEvent.objects.values_list("object_type", "object_id")
    numbered = events.filter(sequence__gt=since.sequence)
    waiting = events.filter(sequence__isnull=True)
    found = list(numbered.union(waiting, all=True)[: MAX_NARROWING + 1])
    if len(found) > MAX_NARROWING:
        return None
    ids: dict[str, set[uuid.UUID]] = defaultdict(set)
    for object_type, record_id in found:
        ids[object_type].add(record_id)
    return Changes(ids, frozenset(since.types))


def _new_replica(user: Any) -> SyncReplica:
    now = clock.now()
    with transaction.atomic():
        replica = SyncReplica.objects.create(
            id=uuid.uuid4(), user=user, created_at=now, pulled_at=now
        )
        older = SyncReplica.objects.filter(user=user).order_by("-pulled_at", "-created_at")
        _drop(list(older.values_list("pk", flat=True)[MAX_REPLICAS:]))
    return replica


def _resume(
    user: Any, cursor: Cursor, sequence: int
) -> tuple[SyncReplica, tuple[str, int, str] | None]:
    """The cursor's replica with the previous page confirmed (or dropped, on a retry)."""
    future = ResyncRequired(
        "The cursor is ahead of this server (was it restored from a backup?); resynchronise "
        "fully (pull without a cursor)"
    )
    if cursor.sequence > sequence:
        raise future
    with transaction.atomic():
        replica = SyncReplica.objects.select_for_update().filter(pk=cursor.replica).first()
        if replica is None:
            raise CursorExpired(
                "This replica was idle longer than the event retention and was dropped; "
                "resynchronise fully (pull without a cursor)"
            )
        if replica.user_id != user.pk:
            raise PermissionDenied("This cursor belongs to another user's replica")
        if cursor.page > replica.page:
            raise future
        if cursor.page == replica.page:
            _confirm(replica)
        elif cursor.page == replica.page - 1:
            # The client never got the last page: forget it and make it again.
            SyncPending.objects.filter(replica=replica).delete()
            replica.page = cursor.page
            replica.save(update_fields=["page"])
        else:
            raise CursorExpired(
                "A later cursor of this replica was used already; resynchronise fully (pull "
                "without a cursor)"
            )
    return replica, cursor.position


def _confirm(replica: SyncReplica) -> None:
    """Move the last page's pending rows into the holdings (the client has that page)."""
    pending = SyncPending.objects.filter(replica=replica)
    gone: dict[str, list[Any]] = defaultdict(list)
    for object_type, record_id in pending.filter(version__isnull=True).values_list(
        "object_type", "record_id"
    ):
        gone[object_type].append(record_id)
    for object_type, ids in gone.items():
        SyncHolding.objects.filter(
            replica=replica, object_type=object_type, record_id__in=ids
        ).delete()
    holdings = connection.ops.quote_name(SyncHolding._meta.db_table)
    source = connection.ops.quote_name(SyncPending._meta.db_table)
    key = SyncReplica._meta.pk.get_db_prep_value(replica.pk, connection)
    with connection.cursor() as cursor:
        # Table names come from the models' metadata, values travel as parameters. WHERE
        # before ON CONFLICT also keeps SQLite from reading ON as a join constraint.
        cursor.execute(
            f"INSERT INTO {holdings} (replica_id, object_type, record_id, version) "  # noqa: S608
            f"SELECT replica_id, object_type, record_id, version FROM {source} "
            "WHERE replica_id = %s AND version IS NOT NULL "
            "ON CONFLICT (replica_id, object_type, record_id) "
            "DO UPDATE SET version = excluded.version",
            [key],
        )
    pending.delete()


def _page(
    user: Any,
    replica: SyncReplica,
    types: Sequence[str],
    position: tuple[str, int, str] | None,
    limit: int,
    writers: Mapping[str, Writable],
    changes: Changes | None,
) -> tuple[list[dict[str, Any]], list[Any], tuple[str, int, str] | None]:
    """Up to ``limit`` items from ``position`` on (a new pass when None), the pending rows
    they make, and where the next page starts (None when the pass is over). With
    ``changes``, an object type they cover is compared only on the records they name."""
    items: list[dict[str, Any]] = []
    pending: list[Any] = []
    order = list(types)
    start = order.index(position[0]) if position is not None else 0
    for object_type in order[start:]:
        writer = writers[object_type]
        reset = _check_policy(user, replica, object_type)
        among = None if reset or changes is None else changes.among(writer.service.model)
        phase, after = TOMBSTONES, None
        if position is not None and position[0] == object_type:
            phase, after = position[1], uuid.UUID(position[2])
        if among is not None and not among:
            position = None
            continue
        if phase == TOMBSTONES:
            gone = _tombstones(user, replica, writer, after, limit - len(items), among)
            items.extend(gone)
            pending.extend(_pending(replica, object_type, item["id"], None) for item in gone)
            if len(items) == limit:
                return items, pending, (object_type, TOMBSTONES, gone[-1]["id"])
            after = None
        found = _records(user, replica, writer, after, limit - len(items), among)
        items.extend(found)
        pending.extend(
            _pending(replica, object_type, item["id"], item["version"]) for item in found
        )
        if len(items) == limit:
            return items, pending, (object_type, RECORDS, found[-1]["id"])
        position = None
    return items, pending, None


def _pending(replica: SyncReplica, object_type: str, record_id: str, version: int | None) -> Any:
    return SimpleNamespace(
        replica_id=replica.pk,
        object_type=object_type,
        record_id=uuid.UUID(record_id),
        version=version,
    )


def _fingerprint(policy: registry.FieldPolicy) -> str:
    return ",".join(sorted(policy.hidden))


def _check_policy(user: Any, replica: SyncReplica, object_type: str) -> bool:
    """Resend every held record of ``object_type`` when the fields hidden from the user
    changed since they were sent (the versions did not). True when they did (or the type is
    new to the replica): then every record of the type must be compared."""
    now = _fingerprint(registry.field_policy(user, object_type))
    before = replica.policies.get(object_type)
    if before == now:
        return False
    if before is not None:
        SyncHolding.objects.filter(replica=replica, object_type=object_type).update(version=0)
    replica.policies = {**replica.policies, object_type: now}
    return True


def _visible(user: Any, model: type[Record]) -> QuerySet[Any] | None:
    if not permitted(user, model.object_type, "read"):
        return None
    return visible(user, model.objects.all())


def _tombstones(
    user: Any,
    replica: SyncReplica,
    writer: Writable,
    after: uuid.UUID | None,
    limit: int,
    among: list[uuid.UUID] | None = None,
) -> list[dict[str, Any]]:
    """Held records of the writer's type (those of ``among`` only, when given) that the user
    may not see (any more)."""
    model = writer.service.model
    held = SyncHolding.objects.filter(replica=replica, object_type=model.object_type)
    if among is not None:
        held = records.among(held, "record_id", among, bounded=False)
    if after is not None:
        held = held.filter(record_id__gt=after)
    seen = _visible(user, model)
    if seen is not None:
        held = held.filter(~Exists(seen.filter(pk=OuterRef("record_id"))))
    ids = list(held.order_by("record_id").values_list("record_id", flat=True)[:limit])
    if not ids:
        return []
    live = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
    return [
        {
            "object_type": model.object_type,
            "id": str(pk),
            "version": None,
            "deleted": True,
            "reason": "access" if pk in live else "deleted",
            "record": None,
        }
        for pk in ids
    ]


def _records(
    user: Any,
    replica: SyncReplica,
    writer: Writable,
    after: uuid.UUID | None,
    limit: int,
    among: list[uuid.UUID] | None = None,
) -> list[dict[str, Any]]:
    """Visible records of the writer's type (those of ``among`` only, when given) not held at
    their current version, as the API shows them to the user."""
    model = writer.service.model
    seen = _visible(user, model)
    if seen is None or limit <= 0:
        return []
    if among is not None:
        seen = records.among(seen, model._meta.pk.attname, among, bounded=False)
    same = SyncHolding.objects.filter(
        replica=replica,
        object_type=model.object_type,
        record_id=OuterRef("pk"),
        version=OuterRef("version"),
    )
    if after is not None:
        # Bounding the holdings too lets the database skip those before the page: without
        # it, every page of a first pull would compare against everything pulled so far.
        same = same.filter(record_id__gt=after)
        seen = seen.filter(pk__gt=after)
    # Plain rows made into records without ``Model.__init__`` (see ``records.instance``):
    # a first pull makes a hundred thousand of them.
    names = [f.attname for f in model._meta.concrete_fields]
    rows = seen.filter(~Exists(same)).order_by("pk").values(*names)[:limit]
    found = [records.instance(model, **row) for row in rows]
    service = writer.service
    records.prefetch(found, *service.prefetch, plain=True)
    policy = registry.field_policy(user, model.object_type)
    return [
        {
            "object_type": model.object_type,
            "id": str(record.pk),
            "version": record.version,
            "deleted": False,
            "reason": None,
            "record": policy.mask(service.payload(record)),
        }
        for record in found
    ]


# -- push --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """One offline edit as the client sends it."""

    op: str
    object_type: str
    id: uuid.UUID | None = None
    temp_id: str | None = None
    base_version: int | None = None
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one edit: ``applied``, ``conflict`` (nothing written; both versions
    given) or ``rejected`` (``code`` is the HTTP status the same write would get alone)."""

    index: int
    op: str
    object_type: str
    id: str | None
    temp_id: str | None
    status: str
    code: int
    version: int | None = None
    record: dict[str, Any] | None = None
    server: dict[str, Any] | None = None
    mine: dict[str, Any] | None = None
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)


class _Abandon(Exception):
    """Leaves the all-or-none transaction so it rolls back."""


def push(
    user: Any,
    edits: Sequence[Edit],
    *,
    all_or_none: bool,
    writers: Mapping[str, Writable],
    may_write: Callable[[str], bool] = lambda object_type: True,
) -> list[Outcome]:
    """Apply ``edits`` in order, each on its own (or, with ``all_or_none``, all or none).
    ``may_write(object_type)`` narrows what the caller's credentials allow (token scopes)."""
    if len(edits) > MAX_PUSH:
        raise InvalidInput.field("changes", f"at most {MAX_PUSH} edits per push")
    created: dict[str, str] = {}

    def apply(index: int, edit: Edit) -> Outcome:
        return _apply(user, index, edit, writers, may_write, created)

    if not all_or_none:
        return [apply(n, edit) for n, edit in enumerate(edits)]
    outcomes: list[Outcome] = []
    try:
        with transaction.atomic():
            outcomes = [apply(n, edit) for n, edit in enumerate(edits)]
            if any(o.status != "applied" for o in outcomes):
                raise _Abandon
    except _Abandon:
        for outcome in outcomes:
            if outcome.status == "applied":
                outcome.status, outcome.code = "rolled_back", 424
                outcome.detail = "Not applied: another edit of this all-or-none push failed"
                outcome.version = outcome.record = None
                if outcome.op == "create":
                    outcome.id = None
    return outcomes


def _apply(
    user: Any,
    index: int,
    edit: Edit,
    writers: Mapping[str, Writable],
    may_write: Callable[[str], bool],
    created: dict[str, str],
) -> Outcome:
    outcome = Outcome(
        index=index,
        op=edit.op,
        object_type=edit.object_type,
        id=str(edit.id) if edit.id else None,
        temp_id=edit.temp_id,
        status="rejected",
        code=422,
    )
    writer = writers.get(edit.object_type)
    try:
        if writer is None:
            raise InvalidInput.field(
                "object_type", f"{edit.object_type!r} is not an object type of the sync feed"
            )
        if not may_write(edit.object_type):
            raise PermissionDenied(f"This token may not write {edit.object_type} records")
        _check_shape(edit)
        if edit.op == "create":
            _create(user, edit, writer, outcome, created)
        else:
            _change(user, edit, writer, outcome)
    except PydanticValidationError as exc:
        errors = [_field_error(e) for e in exc.errors()]
        outcome.detail = "Invalid value for: " + ", ".join(dict.fromkeys(e.field for e in errors))
        outcome.errors = errors
    except AccordError as exc:
        outcome.code, outcome.detail, outcome.errors = exc.status, exc.detail, exc.errors
    return outcome


def _check_shape(edit: Edit) -> None:
    errors: list[FieldError] = []
    if edit.op == "create":
        if edit.id is not None:
            errors.append(FieldError("id", "a create has no id yet; name it with temp_id"))
        if edit.base_version is not None:
            errors.append(FieldError("base_version", "a create has no base version"))
    else:
        if edit.id is None:
            errors.append(FieldError("id", f"required to {edit.op} a record"))
        if edit.base_version is None:
            errors.append(
                FieldError("base_version", "required: the version your edit started from")
            )
        if edit.op == "delete" and edit.changes:
            errors.append(FieldError("changes", "a delete changes no fields"))
    if errors:
        raise InvalidInput("; ".join(f"{e.field}: {e.message}" for e in errors), errors)


def _field_error(error: Any) -> FieldError:
    name = ""
    for part in error.get("loc", ()):
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return FieldError(f"changes.{name}" if name else "changes", str(error.get("msg")))


def _show(user: Any, writer: Writable, record: Record) -> dict[str, Any]:
    policy = registry.field_policy(user, record.object_type)
    return policy.mask(writer.service.payload(record))


def _resolve_temp_ids(changes: Mapping[str, Any], created: Mapping[str, str]) -> dict[str, Any]:
    """Values naming a record created earlier in the same push by its temp id get its id."""
    if not created:
        return dict(changes)
    return {
        key: created.get(value, value) if isinstance(value, str) else value
        for key, value in changes.items()
    }


def _create(
    user: Any, edit: Edit, writer: Writable, outcome: Outcome, created: dict[str, str]
) -> None:
    data = writer.create_in.model_validate(_resolve_temp_ids(edit.changes, created))
    record = writer.service.create(
        actor=user, data=data.model_dump(exclude_unset=True), source=Source.API
    )
    if edit.temp_id:
        created[edit.temp_id] = str(record.pk)
    outcome.status, outcome.code, outcome.id = "applied", 201, str(record.pk)
    outcome.version, outcome.record = record.version, _show(user, writer, record)


def _current(user: Any, writer: Writable, record_id: Any) -> Record:
    model = writer.service.model
    record = writer.service.scope(user, model.objects.all()).filter(pk=record_id).first()
    if record is None:
        raise NotFound(f"No {model.object_type} {record_id} that you may see")
    records.prefetch([record], *writer.service.prefetch)
    return record


def _change(user: Any, edit: Edit, writer: Writable, outcome: Outcome) -> None:
    current = _current(user, writer, edit.id)
    base = edit.base_version or 0
    if base > current.version:
        raise InvalidInput.field(
            "base_version",
            f"{base} is ahead of the record (version {current.version}); send the version "
            "your edit started from",
        )
    data: dict[str, Any] = {}
    if edit.op == "update":
        data = writer.patch_in.model_validate(edit.changes).model_dump(exclude_unset=True)
    try:
        if edit.op == "update":
            record = writer.service.update(
                actor=user, record_id=edit.id, data=data, expected_version=base, source=Source.API
            )
        else:
            record = writer.service.delete(
                actor=user, record_id=edit.id, expected_version=base, source=Source.API
            )
    except PreconditionFailed:
        server = _current(user, writer, edit.id)
        outcome.status, outcome.code = "conflict", 409
        outcome.detail = (
            f"The {server.object_type} changed since version {base} (now {server.version}); "
            "nothing was written: resolve and push again with the new base version"
        )
        outcome.version, outcome.server = server.version, _show(user, writer, server)
        outcome.mine = {"op": edit.op, "base_version": base, "changes": dict(edit.changes)}
        return
    outcome.status, outcome.version = "applied", record.version
    if edit.op == "update":
        outcome.code, outcome.record = 200, _show(user, writer, record)
    else:
        outcome.code = 204


# -- retention ---------------------------------------------------------------------------------


def purge_replicas() -> int:
    """Drop replicas idle longer than the event retention (with what they hold); how many."""
    cutoff = clock.now() - config.retention()
    idle = list(SyncReplica.objects.filter(pulled_at__lt=cutoff).values_list("pk", flat=True))
    for chunk in _chunks(idle, 100):
        with transaction.atomic():
            _drop(chunk)
    return len(idle)


def _drop(replica_ids: list[Any]) -> None:
    """Delete replicas with what they hold, by replica (one statement per table)."""
    if replica_ids:
        SyncHolding.objects.filter(replica_id__in=replica_ids).delete()
        SyncPending.objects.filter(replica_id__in=replica_ids).delete()
        SyncReplica.objects.filter(pk__in=replica_ids).delete()


def _chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@task()
def purge_sync_replicas() -> int:
    """The scheduled job around :func:`purge_replicas`."""
    return purge_replicas()

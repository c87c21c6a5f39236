"""The reference client of the sync feed: a local SQLite replica that ``accord sync`` keeps.

It needs neither Django nor a database server: only the replica file and the HTTP API, so it
is what a laptop working offline runs, and the proof that the feed's contract closes the loop.

The file holds three tables:

- ``records``: each record as the server last sent it (``object_type``, ``id``, ``version``,
  ``data`` as JSON), replaced whole on every pull, removed by tombstones;
- ``edits``: local changes not yet accepted by the server, one per record, in the order they
  were made: an ``update`` (its ``changes`` and the ``base_version`` it started from), a
  ``create`` (named by a ``local-…`` temp id until the server gives it an id) or a ``delete``;
  ``state`` is ``pending``, ``conflict`` (with the server's version in ``server``) or
  ``rejected`` (with the server's reason);
- ``meta``: the server's URL, the cursor and the object types pulled.

A page and its cursor are stored in one transaction, so a crash leaves the replica at a page
boundary; asking with the stored cursor again is exactly the server's retry protocol.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

TEMP_PREFIX = "local-"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    object_type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (object_type, id)
);
CREATE TABLE IF NOT EXISTS edits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    object_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    base_version INTEGER,
    changes TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'conflict', 'rejected')),
    server TEXT,
    server_version INTEGER,
    detail TEXT NOT NULL DEFAULT '',
    UNIQUE (object_type, record_id)
);
"""


class SyncError(Exception):
    """Something the user must see: a refused request, an unknown record, a bad replica."""


# -- the replica file ----------------------------------------------------------------------------


@contextmanager
def replica(path: str | Path) -> Iterator[sqlite3.Connection]:
    """The replica at ``path`` (created when new), committed when the block ends."""
    connection = sqlite3.connect(str(path), isolation_level=None)
    connection.row_factory = sqlite3.Row
    with closing(connection):
        connection.executescript(_SCHEMA)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row["value"])


def _set_meta(db: sqlite3.Connection, key: str, value: str | None) -> None:
    if value is None:
        db.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _record(db: sqlite3.Connection, object_type: str, record_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM records WHERE object_type = ? AND id = ?", (object_type, record_id)
    ).fetchone()
    return row


def _edit(db: sqlite3.Connection, object_type: str, record_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM edits WHERE object_type = ? AND record_id = ?", (object_type, record_id)
    ).fetchone()
    return row


# -- talking to the server -----------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """Where the API is and how to authenticate; ``transport`` lets tests plug in."""

    url: str
    token: str
    transport: httpx.BaseTransport | None = None

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=httpx.Timeout(120.0, connect=10.0),
            transport=self.transport,
        )


def _answer(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
        detail = problem.get("detail") or problem.get("title") or response.reason_phrase
        errors = "; ".join(f"{e['field']}: {e['message']}" for e in problem.get("errors") or [])
    except (ValueError, AttributeError):
        detail, errors = response.text[:500], ""
    raise SyncError(f"{response.status_code}: {detail}" + (f" ({errors})" if errors else ""))


def _server(db: sqlite3.Connection, url: str | None, token: str | None) -> tuple[str, str]:
    known = _meta(db, "url")
    url = url or known
    if not url:
        raise SyncError("Give the server's address with --url (it is kept in the replica)")
    if known and known.rstrip("/") != url.rstrip("/") and _meta(db, "cursor"):
        raise SyncError(f"This replica belongs to {known}; use another replica file for {url}")
    if not token:
        raise SyncError("Give an API token with --token or ACCORD_TOKEN")
    _set_meta(db, "url", url)
    return url, token


# -- pull ----------------------------------------------------------------------------------------


@dataclass
class PullReport:
    pages: int = 0
    stored: int = 0
    removed: int = 0
    resynced: bool = False


def pull(
    path: str | Path,
    *,
    url: str | None,
    token: str | None,
    types: str | None = None,
    limit: int | None = None,
    full: bool = False,
    transport: httpx.BaseTransport | None = None,
) -> PullReport:
    """Pull until the server has nothing more. ``full`` (or a 410 from the server) starts a
    new replica: every record is fetched again; local edits are kept."""
    report = PullReport()
    with replica(path) as db:
        url, token = _server(db, url, token)
        if types is not None:
            _set_meta(db, "types", types)
        if full:
            _forget_records(db)
    server = Server(url, token, transport)
    with server.client() as http:
        while True:
            with replica(path) as db:
                params: dict[str, Any] = {}
                cursor = _meta(db, "cursor")
                if cursor:
                    params["cursor"] = cursor
                if _meta(db, "types"):
                    params["types"] = _meta(db, "types")
                if limit:
                    params["limit"] = limit
                response = http.get("/sync", params=params)
                if response.status_code == 410 and cursor:
                    # The server forgot this replica: start again from nothing.
                    _forget_records(db)
                    report.resynced = True
                    continue
                page = _answer(response)
                _store_page(db, page, report)
            report.pages += 1
            if not page["has_more"]:
                return report


def _forget_records(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM records")
    _set_meta(db, "cursor", None)


def _store_page(db: sqlite3.Connection, page: dict[str, Any], report: PullReport) -> None:
    for item in page["items"]:
        if item["deleted"]:
            db.execute(
                "DELETE FROM records WHERE object_type = ? AND id = ?",
                (item["object_type"], item["id"]),
            )
            report.removed += 1
        else:
            db.execute(
                "INSERT OR REPLACE INTO records (object_type, id, version, data) "
                "VALUES (?, ?, ?, ?)",
                (item["object_type"], item["id"], item["version"], json.dumps(item["record"])),
            )
            report.stored += 1
    _set_meta(db, "cursor", page["next_cursor"])


# -- local edits ---------------------------------------------------------------------------------


def _check_not_in_flight(db: sqlite3.Connection, edit: sqlite3.Row | None) -> None:
    """An edit sent in a push whose answer never came may not change before it is resent."""
    if edit is not None and edit["seq"] in json.loads(_meta(db, "push_seqs") or "[]"):
        raise SyncError(
            f"A push of {edit['object_type']} {edit['record_id']} did not finish; run "
            "accord sync push first"
        )


def edit(path: str | Path, object_type: str, record_id: str, changes: dict[str, Any]) -> None:
    """Change fields of a record offline (merged into an edit not pushed yet)."""
    with replica(path) as db:
        pending = _edit(db, object_type, record_id)
        _check_not_in_flight(db, pending)
        if pending is not None:
            if pending["op"] == "delete":
                raise SyncError(f"{object_type} {record_id} is deleted locally")
            merged = {**json.loads(pending["changes"]), **changes}
            db.execute(
                "UPDATE edits SET changes = ? WHERE seq = ?", (json.dumps(merged), pending["seq"])
            )
            return
        held = _record(db, object_type, record_id)
        if held is None:
            raise SyncError(f"No {object_type} {record_id} in this replica")
        db.execute(
            "INSERT INTO edits (object_type, record_id, op, base_version, changes) "
            "VALUES (?, ?, 'update', ?, ?)",
            (object_type, record_id, held["version"], json.dumps(changes)),
        )


def create(path: str | Path, object_type: str, changes: dict[str, Any]) -> str:
    """A new record made offline; its temp id, which later edits (and values) may use."""
    temp_id = f"{TEMP_PREFIX}{uuid.uuid4()}"
    with replica(path) as db:
        db.execute(
            "INSERT INTO edits (object_type, record_id, op, changes) VALUES (?, ?, 'create', ?)",
            (object_type, temp_id, json.dumps(changes)),
        )
    return temp_id


def delete(path: str | Path, object_type: str, record_id: str) -> None:
    with replica(path) as db:
        pending = _edit(db, object_type, record_id)
        _check_not_in_flight(db, pending)
        if pending is not None and pending["op"] == "create":
            db.execute("DELETE FROM edits WHERE seq = ?", (pending["seq"],))
            return
        held = _record(db, object_type, record_id)
        if held is None:
            raise SyncError(f"No {object_type} {record_id} in this replica")
        base = pending["base_version"] if pending is not None else held["version"]
        db.execute(
            "DELETE FROM edits WHERE object_type = ? AND record_id = ?", (object_type, record_id)
        )
        db.execute(
            "INSERT INTO edits (object_type, record_id, op, base_version) "
            "VALUES (?, ?, 'delete', ?)",
            (object_type, record_id, base),
        )


def show(
    path: str | Path, object_type: str | None = None, record_id: str | None = None
) -> list[dict[str, Any]]:
    """Records as the user sees them offline: the server's, with local edits on top."""
    with replica(path) as db:
        rows = db.execute("SELECT * FROM records ORDER BY object_type, id").fetchall()
        edits = {(e["object_type"], e["record_id"]): e for e in db.execute("SELECT * FROM edits")}
    shown: list[dict[str, Any]] = []
    for row in rows:
        data = json.loads(row["data"])
        change = edits.pop((row["object_type"], row["id"]), None)
        if change is not None and change["op"] == "delete":
            continue
        if change is not None:
            data.update(json.loads(change["changes"]))
        state = change["state"] if change is not None else "synced"
        shown.append({"object_type": row["object_type"], "id": row["id"], "state": state, **data})
    for (kind, key), change in edits.items():
        if change["op"] == "create":
            shown.append(
                {
                    "object_type": kind,
                    "id": key,
                    "state": change["state"],
                    **json.loads(change["changes"]),
                }
            )
    return [
        r
        for r in shown
        if (object_type is None or r["object_type"] == object_type)
        and (record_id is None or r["id"] == record_id)
    ]


# -- push ----------------------------------------------------------------------------------------


@dataclass
class Problem:
    """An edit the server did not take: a conflict, or a rejection with its reason."""

    object_type: str
    record_id: str
    op: str
    state: str
    detail: str
    mine: dict[str, Any] = field(default_factory=dict)
    server: dict[str, Any] | None = None
    server_version: int | None = None


@dataclass
class PushReport:
    applied: int = 0
    conflicts: int = 0
    rejected: int = 0
    created: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def push(
    path: str | Path,
    *,
    url: str | None,
    token: str | None,
    transport: httpx.BaseTransport | None = None,
) -> PushReport:
    """Send the pending edits; store what the server answers for each.

    The batch, its edits and an ``Idempotency-Key`` are stored before it is sent, so a push
    whose answer got lost (a crash, a timeout) is sent again unchanged under the same key:
    the server answers what it answered the first time instead of applying it twice.
    """
    with replica(path) as db:
        url, token = _server(db, url, token)
        if _meta(db, "push_key") is None:
            pending = db.execute(
                "SELECT seq FROM edits WHERE state = 'pending' ORDER BY seq"
            ).fetchall()
            if pending:
                batch = [row["seq"] for row in pending]
                _set_meta(db, "push_key", str(uuid.uuid4()))
                _set_meta(db, "push_seqs", json.dumps(batch))
                _set_meta(db, "push_body", json.dumps({"changes": _changes(db, batch)}))
        key, body, seqs = _meta(db, "push_key"), _meta(db, "push_body"), _meta(db, "push_seqs")
    report = PushReport()
    if key is not None and body is not None and seqs is not None:
        with Server(url, token, transport).client() as http:
            headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
            answer = _answer(http.post("/sync", content=body, headers=headers))
        with replica(path) as db:
            for seq, result in zip(json.loads(seqs), answer["results"], strict=True):
                row = db.execute("SELECT * FROM edits WHERE seq = ?", (seq,)).fetchone()
                if row is not None:
                    _store_result(db, row, result, report)
            for name in ("push_key", "push_seqs", "push_body"):
                _set_meta(db, name, None)
    report.problems = conflicts(path)
    return report


def _changes(db: sqlite3.Connection, seqs: list[int]) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(seqs))
    rows = db.execute(f"SELECT * FROM edits WHERE seq IN ({marks}) ORDER BY seq", seqs)  # noqa: S608
    return [_as_change(row) for row in rows]


def _as_change(row: sqlite3.Row) -> dict[str, Any]:
    change: dict[str, Any] = {"op": row["op"], "object_type": row["object_type"]}
    if row["op"] == "create":
        change["temp_id"] = row["record_id"]
    else:
        change["id"] = row["record_id"]
        change["base_version"] = row["base_version"]
    if row["op"] != "delete":
        change["changes"] = json.loads(row["changes"])
    return change


def _store_result(
    db: sqlite3.Connection, row: sqlite3.Row, result: dict[str, Any], report: PushReport
) -> None:
    status = result["status"]
    if status == "applied":
        report.applied += 1
        db.execute("DELETE FROM edits WHERE seq = ?", (row["seq"],))
        if row["op"] == "delete":
            db.execute(
                "DELETE FROM records WHERE object_type = ? AND id = ?",
                (row["object_type"], row["record_id"]),
            )
            return
        db.execute(
            "INSERT OR REPLACE INTO records (object_type, id, version, data) VALUES (?, ?, ?, ?)",
            (row["object_type"], result["id"], result["version"], json.dumps(result["record"])),
        )
        if row["op"] == "create":
            report.created[row["record_id"]] = result["id"]
            _replace_temp_id(db, row["record_id"], result["id"])
    elif status == "conflict":
        report.conflicts += 1
        db.execute(
            "UPDATE edits SET state = 'conflict', server = ?, server_version = ?, detail = ? "
            "WHERE seq = ?",
            (json.dumps(result["server"]), result["version"], result["detail"], row["seq"]),
        )
    elif status == "rejected":
        report.rejected += 1
        reasons = "; ".join(f"{e['field']}: {e['message']}" for e in result["errors"])
        detail = f"{result['code']}: {result['detail']}" + (f" ({reasons})" if reasons else "")
        db.execute(
            "UPDATE edits SET state = 'rejected', detail = ? WHERE seq = ?", (detail, row["seq"])
        )


def _replace_temp_id(db: sqlite3.Connection, temp_id: str, real_id: str) -> None:
    """Later edits naming the new record by its temp id (as a value) name it by its id."""
    for other in db.execute("SELECT seq, changes FROM edits").fetchall():
        changes = json.loads(other["changes"])
        if temp_id in changes.values():
            fixed = {k: real_id if v == temp_id else v for k, v in changes.items()}
            db.execute(
                "UPDATE edits SET changes = ? WHERE seq = ?", (json.dumps(fixed), other["seq"])
            )


# -- conflicts -----------------------------------------------------------------------------------


def conflicts(path: str | Path) -> list[Problem]:
    """Edits the server did not take, oldest first."""
    with replica(path) as db:
        rows = db.execute("SELECT * FROM edits WHERE state != 'pending' ORDER BY seq").fetchall()
    return [
        Problem(
            object_type=row["object_type"],
            record_id=row["record_id"],
            op=row["op"],
            state=row["state"],
            detail=row["detail"],
            mine=json.loads(row["changes"]),
            server=json.loads(row["server"]) if row["server"] else None,
            server_version=row["server_version"],
        )
        for row in rows
    ]


def resolve(path: str | Path, *, keep: str, record_id: str | None = None) -> int:
    """Settle conflicts and rejections (all, or one record's): ``server`` drops the local edit
    (a conflict's server version becomes the local record); ``mine`` makes it pending again,
    a conflict's based on the server's version, so the next push applies it over the server's
    changes. How many were settled."""
    if keep not in ("server", "mine"):
        raise SyncError("--keep is server or mine")
    with replica(path) as db:
        query = "SELECT * FROM edits WHERE state != 'pending'"
        params: tuple[Any, ...] = ()
        if record_id is not None:
            query += " AND record_id = ?"
            params = (record_id,)
        rows = db.execute(query, params).fetchall()
        if record_id is not None and not rows:
            raise SyncError(f"No conflict or rejected edit of {record_id}")
        for row in rows:
            if keep == "server":
                db.execute("DELETE FROM edits WHERE seq = ?", (row["seq"],))
                if row["server"]:
                    db.execute(
                        "INSERT OR REPLACE INTO records (object_type, id, version, data) "
                        "VALUES (?, ?, ?, ?)",
                        (
                            row["object_type"],
                            row["record_id"],
                            row["server_version"],
                            row["server"],
                        ),
                    )
            else:
                base = row["server_version"] or row["base_version"]
                db.execute(
                    "UPDATE edits SET state = 'pending', base_version = ?, server = NULL, "
                    "server_version = NULL, detail = '' WHERE seq = ?",
                    (base, row["seq"]),
                )
    return len(rows)


def parse_assignments(pairs: list[str], json_pairs: list[str]) -> dict[str, Any]:
    """``--set title=CTO`` (text) and ``--set-json email_opt_in=true`` (a JSON value)."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SyncError(f"--set wants FIELD=VALUE, not {pair!r}")
        changes[key] = value
    for pair in json_pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SyncError(f"--set-json wants FIELD=JSON, not {pair!r}")
        try:
            changes[key] = json.loads(value)
        except ValueError:
            raise SyncError(f"--set-json {key}: {value!r} is not JSON") from None
    if not changes:
        raise SyncError("Nothing to change: give --set FIELD=VALUE")
    return changes

"""Broken object-level authorization: a record the caller cannot see answers exactly like one
that does not exist, on every endpoint that takes its id (item reads and writes, the timeline,
nested actions such as lead conversion), in bulk rows and inside request bodies, and is never
changed.

The collections, their item endpoints and the fields of bodies that point at records are read
from the OpenAPI schema, so a new collection or reference is covered without editing this file.
Records are invisible in two ways: another user's record of a private type (owned types), and
a record in the recycle bin (every type).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction

from accord.core.models import record_types
from accord.identity.models import Access, SharingDefault
from accord.identity.tokens import create_token
from accord.parties.models import Account, Contact
from tests.conftest import ApiClient
from tests.identity.company import (
    PATCH_BODIES,
    Operation,
    built_once,
    create_body,
    hire_staff,
    identity_prefixes,
    is_identity_operation,
    make_person,
    operations,
    record_collections,
)

UNKNOWN_ID = "0190a000-0000-7000-8000-00000000beef"
OPERATIONS = [op for op in operations() if not is_identity_operation(op)]
COLLECTIONS = record_collections()
#: Fields of request bodies that name a person, not a record: any active user may be named.
USER_REFERENCES = {"owner_id", "assignee_id", "lead_owner_id"}
#: Collections of the access model (departments, roles, teams, ...): a body field naming one of
#: those (a webhook's ``department_id``) names part of the organisation, not a record, so the
#: record visibility these tests probe does not apply to it.
ACCESS_MODEL = {prefix.strip("/").split("/")[0] for prefix in identity_prefixes()}


def _model(collection: str) -> Any:
    return record_types()[collection.removesuffix("s").replace("-", "_")]


def _owned(collection: str) -> bool:
    return any(f.name == "owner" for f in _model(collection)._meta.get_fields())


def _item_operations(collection: str) -> list[Operation]:
    """Every operation addressing one record of ``collection`` by id, the routes every
    collection shares (timeline, field history) included."""
    found = [
        op
        for op in OPERATIONS
        if op.path.startswith(f"/{collection}/{{record_id}}")
        or op.path.startswith("/{collection}/{record_id}/")
    ]
    assert any(op.method == "GET" for op in found), f"{collection} has no item read"
    return found


@dataclass
class World:
    snoop: ApiClient
    admin: ApiClient
    #: (collection, how) → id of a record the snoop cannot see; how is "private" or "deleted".
    hidden: dict[tuple[str, str], str]
    #: collection → a record the snoop owns (where the snoop may create one).
    own: dict[str, str]
    #: collection → a live record of the admin, for configuration only administrators create.
    configured: dict[str, str]
    refs: dict[str, Any]
    #: Natural keys the hidden account and contact carry (bulk match keys).
    keys: dict[str, dict[str, Any]]


def _created(client: ApiClient, collection: str, body: dict[str, Any]) -> str:
    response = client.post(f"/api/v1/{collection}", body)
    assert response.status_code == 201, (collection, response.content)
    return str(response.json()["id"])


def _build() -> World:
    staff = hire_staff()
    admin = ApiClient(create_token(user=staff["admin"], expires_at=None)[1])
    owner = make_person("olga")
    # A standard user (no role: every object permission), so only sharing keeps records away.
    snoop_user = make_person("snoop", department=staff.departments["sales"])
    snoop = ApiClient(create_token(user=snoop_user, expires_at=None)[1])
    for object_type, model in record_types().items():
        if any(f.name == "owner" for f in model._meta.get_fields()):
            SharingDefault.objects.update_or_create(
                object_type=object_type, defaults={"access": Access.PRIVATE}
            )

    default_pipeline = _created(admin, "pipelines", {"name": "Default"})
    _created(admin, "stages", {"pipeline_id": default_pipeline, "name": "First"})
    seen_account = _created(snoop, "accounts", {"name": "Snoop's own"})
    refs = {"account": seen_account, "pipeline": default_pipeline}
    keys = {
        "accounts": {"domain": "hidden.example", "external_id": "HIDDEN-A"},
        "contacts": {"emails": ["hidden@example.com"], "external_id": "HIDDEN-C"},
    }
    admin_refs = {"account": _created(admin, "accounts", {"name": "Admin's"}), **refs}
    hidden: dict[tuple[str, str], str] = {}
    own: dict[str, str] = {}
    configured: dict[str, str] = {}
    for n, collection in enumerate(COLLECTIONS):
        body = create_body(collection, admin_refs, tag=f"h{n}")
        if _owned(collection):
            extra = {"owner_id": str(owner.pk), **keys.get(collection, {})}
            if collection == "leads":
                extra["status"] = "qualified"
            hidden[collection, "private"] = _created(admin, collection, {**body, **extra})
        binned = _created(admin, collection, create_body(collection, admin_refs, tag=f"d{n}"))
        deleted = admin.delete(f"/api/v1/{collection}/{binned}", if_match="*")
        assert deleted.status_code == 204, (collection, deleted.content)
        hidden[collection, "deleted"] = binned
        mine = snoop.post(f"/api/v1/{collection}", create_body(collection, refs, tag=f"s{n}"))
        if mine.status_code == 201:
            own[collection] = str(mine.json()["id"])
        else:
            body = create_body(collection, admin_refs, tag=f"c{n}")
            configured[collection] = _created(admin, collection, body)
    return World(
        snoop=snoop,
        admin=admin,
        hidden=hidden,
        own=own,
        configured=configured,
        refs=refs,
        keys=keys,
    )


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """Built once for the module (see company.built_once); each cell of a test runs in a
    savepoint of its own."""
    yield from built_once(django_db_blocker, _build)


def _state(collection: str, record_id: str) -> dict[str, Any]:
    return _model(collection).all_objects.filter(pk=record_id).values().get()


def _send(client: ApiClient, op: Operation, collection: str, record_id: str) -> Any:
    path = "/api/v1" + op.path.replace("{collection}", collection).replace("{record_id}", record_id)
    if op.method == "GET":
        return client.get(path)
    if op.method == "PATCH":
        body: dict[str, Any] | None = PATCH_BODIES[collection]
    elif op.method == "DELETE":
        body = None
    elif op.path.endswith("/convert"):
        body = {}
    elif op.request_schema is None:
        body = None  # an action without a body (e.g. a restore)
    else:
        raise AssertionError(f"{op.key}: teach the BOLA test a valid body for this operation")
    return getattr(client, op.method.lower())(path, body, if_match="*")


def _same_as_unknown(hidden: Any, unknown: Any, hidden_id: str) -> None:
    """The answer for a hidden record, with its id swapped for the unknown one, is the answer
    for an id nobody has."""
    assert hidden.status_code == unknown.status_code == 404, hidden.content
    shown, absent = hidden.json(), unknown.json()
    assert shown["title"] == absent["title"]
    assert shown["detail"].replace(hidden_id, UNKNOWN_ID) == absent["detail"]
    assert shown["errors"] == absent["errors"] == []


def test_collections_come_from_the_schema() -> None:
    assert {"accounts", "contacts", "leads", "deals", "cases", "tasks"} <= set(COLLECTIONS)


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_item_endpoint_answers_404_for_a_record_the_caller_cannot_see(
    world: World, db: None, collection: str
) -> None:
    hows = ("private", "deleted") if _owned(collection) else ("deleted",)
    for how in hows:
        record_id = world.hidden[collection, how]
        before = _state(collection, record_id)
        for op in _item_operations(collection):
            hidden = _send(world.snoop, op, collection, record_id)
            unknown = _send(world.snoop, op, collection, UNKNOWN_ID)
            try:
                _same_as_unknown(hidden, unknown, record_id)
            except AssertionError as exc:
                raise AssertionError(f"{op.key} on a {how} {collection} record: {exc}") from None
        assert _state(collection, record_id) == before, f"a {how} {collection} record changed"


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_the_caller_reaches_its_own_records_on_the_same_endpoints(
    world: World, db: None, collection: str
) -> None:
    """The 404s above come from visibility, not from a broken request: the snoop's own record
    (or, for configuration only administrators create, the admin's) answers the same reads."""
    if collection in world.own:
        record_id, client = world.own[collection], world.snoop
    else:
        record_id, client = world.configured[collection], world.admin
    for op in _item_operations(collection):
        if op.method == "GET" and not op.path.endswith("/snippet"):
            response = _send(client, op, collection, record_id)
            assert response.status_code == 200, (op.key, response.content)


#: The match keys of each bulk collection but ``id`` (values in ``World.keys``).
NATURAL_KEYS = {"accounts": ("domain", "external_id"), "contacts": ("email", "external_id")}


def _bulk_collections() -> list[str]:
    return sorted(op.collection for op in OPERATIONS if op.path.endswith("/bulk"))


def _bulk(client: ApiClient, collection: str, match_on: str, row: dict[str, Any]) -> Any:
    response = client.post(f"/api/v1/{collection}/bulk", {"match_on": match_on, "records": [row]})
    assert response.status_code == 200, response.content
    (result,) = response.json()["results"]
    return result


@pytest.mark.parametrize("collection", _bulk_collections())
def test_bulk_rows_naming_a_hidden_record_by_id_fail_like_unknown_ids(
    world: World, db: None, collection: str
) -> None:
    for how in ("private", "deleted"):
        record_id = world.hidden[collection, how]
        before = _state(collection, record_id)
        patch = PATCH_BODIES[collection]
        hidden = _bulk(world.snoop, collection, "id", {"id": record_id, **patch})
        unknown = _bulk(world.snoop, collection, "id", {"id": UNKNOWN_ID, **patch})
        assert hidden["status"] == unknown["status"] == "error"
        assert hidden["errors"] == unknown["errors"] == [{"field": "id", "message": "unknown id"}]
        assert hidden["id"] is None
        assert _state(collection, record_id) == before


@pytest.mark.parametrize("collection", _bulk_collections())
def test_bulk_rows_never_match_a_hidden_record_by_natural_key(
    world: World, db: None, collection: str
) -> None:
    record_id = world.hidden[collection, "private"]
    before = _state(collection, record_id)
    for match_on in NATURAL_KEYS[collection]:
        row = {**create_body(collection, world.refs), **world.keys[collection]}
        with transaction.atomic():
            result = _bulk(world.snoop, collection, match_on, row)
            transaction.set_rollback(True)
        assert result["status"] == "created", (match_on, result)
        assert result["id"] != record_id
    assert _state(collection, record_id) == before


# -- references to records inside request bodies -----------------------------------------------


def _holds_ids(prop: Any) -> bool:
    """Whether a property's schema is a UUID, an optional one or a list of them."""
    if not isinstance(prop, dict):
        return False
    if prop.get("format") == "uuid":
        return True
    return any(_holds_ids(p) for p in prop.get("anyOf", [])) or _holds_ids(prop.get("items"))


def _references(op: Operation) -> dict[str, str]:
    """Body fields of ``op`` that hold record ids, and the collection each points into
    (references to people and to the access model are not record ids: skipped)."""
    schema = op.request_schema or {}
    found: dict[str, str] = {}
    for name, prop in schema.get("properties", {}).items():
        if name in USER_REFERENCES or not _holds_ids(prop):
            continue
        target = name.removesuffix("_ids").removesuffix("_id").removeprefix("attendee_")
        if target == "parent":
            found[name] = op.collection
        elif target == "related":
            found[name] = "accounts"
        elif (collection := target.replace("_", "-") + "s") not in ACCESS_MODEL:
            found[name] = collection
    return found


REFERENCING = [
    (op, field, target)
    for op in OPERATIONS
    for field, target in _references(op).items()
    if op.method in ("POST", "PATCH") and not op.path.endswith("/bulk")
]


def test_references_come_from_the_schema() -> None:
    pairs = {(op.key, field) for op, field, _ in REFERENCING}
    assert ("POST /contacts", "account_id") in pairs
    assert ("POST /deals", "contact_ids") in pairs
    assert ("POST /leads/{record_id}/convert", "account_id") in pairs
    assert {target for *_, target in REFERENCING} <= set(COLLECTIONS)


def _body(world: World, op: Operation, field: str, value: str) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if op.method == "POST" and op.path == f"/{op.collection}":
        base = create_body(op.collection, world.refs, tag="ref")
    if field == "related_id":
        base["related_type"] = "account"
    base[field] = [value] if field.endswith("_ids") else value
    return base


def _refused_like_unknown(
    send: Callable[[dict[str, Any]], Any], make: Callable[[str], dict[str, Any]], hidden_id: str
) -> None:
    hidden, unknown = send(make(hidden_id)), send(make(UNKNOWN_ID))
    assert hidden.status_code == unknown.status_code == 422, hidden.content
    shown = [
        {**e, "message": e["message"].replace(hidden_id, UNKNOWN_ID)}
        for e in hidden.json()["errors"]
    ]
    assert shown == unknown.json()["errors"] != []


@pytest.mark.parametrize(
    ("op", "field", "target"), REFERENCING, ids=[f"{op.key} {f}" for op, f, _ in REFERENCING]
)
def test_a_body_naming_a_hidden_record_is_refused_like_an_unknown_id(
    world: World, db: None, op: Operation, field: str, target: str
) -> None:
    """The snoop names another user's private record or one in the recycle bin; where only
    administrators may write (configuration), the admin names a record in the recycle bin."""
    if op.path.endswith("/convert"):
        lead = _created(
            world.snoop,
            "leads",
            {"last_name": "Mine", "company": "Mine Ltd", "status": "qualified"},
        )
        path, client = f"/api/v1/leads/{lead}/convert", world.snoop
    elif op.method == "PATCH" and op.collection in world.own:
        path, client = f"/api/v1/{op.collection}/{world.own[op.collection]}", world.snoop
    elif op.method == "PATCH":
        path, client = f"/api/v1/{op.collection}/{world.configured[op.collection]}", world.admin
    else:
        path = f"/api/v1/{op.collection}"
        client = world.snoop if op.collection in world.own else world.admin
    hows = ["deleted"]
    if client is world.snoop and _owned(target):
        hows.append("private")

    def send(body: dict[str, Any]) -> Any:
        if op.method == "PATCH":
            return client.patch(path, body, if_match="*")
        return client.post(path, body, if_match="*")

    counts = {c: _model(c).all_objects.count() for c in COLLECTIONS}
    for how in hows:
        hidden_id = world.hidden[target, how]
        before = _state(target, hidden_id)

        try:
            _refused_like_unknown(send, lambda v: _body(world, op, field, v), hidden_id)
        except AssertionError as exc:
            raise AssertionError(f"{field} naming a {how} {target} record: {exc}") from None
        assert _state(target, hidden_id) == before
    assert {c: _model(c).all_objects.count() for c in COLLECTIONS} == counts


@pytest.mark.parametrize("collection", _bulk_collections())
def test_bulk_rows_naming_a_hidden_record_in_a_reference_fail(
    world: World, db: None, collection: str
) -> None:
    op = next(o for o in OPERATIONS if o.key == f"POST /{collection}")
    for field, target in _references(op).items():
        for how in ("private", "deleted"):
            hidden_id = world.hidden[target, how]
            rows = [
                {**_body(world, op, field, value), "external_id": f"NEW-{n}"}
                for n, value in enumerate((hidden_id, UNKNOWN_ID))
            ]
            response = world.snoop.post(
                f"/api/v1/{collection}/bulk", {"match_on": "external_id", "records": rows}
            )
            hidden, unknown = response.json()["results"]
            assert hidden["status"] == unknown["status"] == "error", (field, how, hidden)
            shown = [
                {**e, "message": e["message"].replace(hidden_id, UNKNOWN_ID)}
                for e in hidden["errors"]
            ]
            assert shown == unknown["errors"] != []
    assert not Account.objects.filter(external_id__startswith="NEW-").exists()
    assert not Contact.objects.filter(external_id__startswith="NEW-").exists()

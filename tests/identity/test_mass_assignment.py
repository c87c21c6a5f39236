"""Mass assignment: what the server owns (ids, audit stamps, versions, the recycle bin, lifecycle
times) and what says who may do what cannot be set through a request body, not even by an
administrator; the owner cannot be set by a role that has it read-only; and a hidden field
never leaves the server in an answer, cannot be filtered, sorted or searched on, and cannot be
written.

The server-owned fields of each collection are read from the OpenAPI schema: every field its
answers show that its create body does not take.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from accord.core.models import record_types
from accord.identity.models import FieldAccess, FieldPermission, Role, User
from accord.identity.tokens import create_token
from accord.parties import services as parties
from accord.parties.models import Account, Contact
from accord.sales import services as sales
from tests.conftest import ApiClient
from tests.identity.company import (
    PATCH_BODIES,
    built_once,
    create_body,
    grant,
    is_identity_operation,
    make_person,
    make_role,
    operations,
)

OPERATIONS = {op.key: op for op in operations() if not is_identity_operation(op)}

#: Names a client might try to slip in to gain rights or impersonate, on any record.
PERMISSION_LIKE = (
    "created_by",
    "updated_by",
    "owner",
    "is_superuser",
    "is_staff",
    "role",
    "role_id",
    "permissions",
    "manages_access",
    "shared_with",
    "object_type",
)


def _server_owned(collection: str) -> list[str]:
    create = OPERATIONS[f"POST /{collection}"].request_schema or {}
    answer = OPERATIONS[f"GET /{collection}/{{record_id}}"].response_schema or {}
    return sorted(set(answer.get("properties", {})) - set(create.get("properties", {})))


WRITABLE = sorted(
    op.collection
    for op in OPERATIONS.values()
    if op.method == "POST"
    and op.path == f"/{op.collection}"
    and f"GET /{op.collection}/{{record_id}}" in OPERATIONS
)


def _value(name: str) -> Any:
    """Something type-correct for ``name``, so only the field's being forbidden can refuse it."""
    if name == "id" or name.endswith("_id"):
        return str(uuid.uuid4())
    if name.endswith("_at"):
        return "2026-01-01T00:00:00Z"
    if name == "version":
        return 99
    if name.startswith("is_") or name == "manages_access":
        return True
    return "C-999999" if name == "number" else "x"


@dataclass
class World:
    admin: ApiClient
    refs: dict[str, Any]
    #: collection → a record the admin created (for PATCH).
    items: dict[str, str]


def _build() -> World:
    admin_user = make_person("admin", superuser=True)
    admin = ApiClient(create_token(user=admin_user, expires_at=None)[1])
    pipeline = admin.post("/api/v1/pipelines", {"name": "Default"}).json()["id"]
    assert (
        admin.post("/api/v1/stages", {"pipeline_id": pipeline, "name": "First"}).status_code == 201
    )
    account = admin.post("/api/v1/accounts", {"name": "Refs"}).json()["id"]
    refs = {"account": account, "pipeline": pipeline}
    items = {}
    for n, collection in enumerate(WRITABLE):
        response = admin.post(f"/api/v1/{collection}", create_body(collection, refs, tag=f"i{n}"))
        assert response.status_code == 201, (collection, response.content)
        items[collection] = str(response.json()["id"])
    return World(admin=admin, refs=refs, items=items)


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    yield from built_once(django_db_blocker, _build)


def _model(collection: str) -> Any:
    return record_types()[collection.removesuffix("s").replace("-", "_")]


def _rows(collection: str) -> list[dict[str, Any]]:
    return list(_model(collection).all_objects.order_by("pk").values())


def test_server_owned_fields_come_from_the_schema() -> None:
    assert {"id", "version", "created_at", "created_by_id", "deleted_at"} <= set(
        _server_owned("accounts")
    )
    assert {"number", "closed_at", "first_response_at"} <= set(_server_owned("cases"))
    assert {"converted_at", "converted_contact_id"} <= set(_server_owned("leads"))


@pytest.mark.parametrize("collection", WRITABLE)
def test_nobody_sets_server_owned_or_permission_fields(
    world: World, db: None, collection: str
) -> None:
    """Sent by an administrator, each of these fields is an unknown field (422) on create and
    on change, and nothing is written."""
    before = _rows(collection)
    item = world.items[collection]
    for name in (*_server_owned(collection), *PERMISSION_LIKE):
        body = {**create_body(collection, world.refs, tag="x"), name: _value(name)}
        created = world.admin.post(f"/api/v1/{collection}", body)
        changed = world.admin.patch(
            f"/api/v1/{collection}/{item}",
            {**PATCH_BODIES[collection], name: _value(name)},
            if_match="*",
        )
        for response in (created, changed):
            assert response.status_code == 422, (collection, name, response.content)
            assert name in [e["field"] for e in response.json()["errors"]], response.content
    assert _rows(collection) == before


def _bulk_collections() -> list[str]:
    return sorted(op.collection for op in OPERATIONS.values() if op.path.endswith("/bulk"))


@pytest.mark.parametrize("collection", _bulk_collections())
def test_bulk_rows_cannot_set_server_owned_or_permission_fields(
    world: World, db: None, collection: str
) -> None:
    before = _rows(collection)
    # ``id`` is what a bulk row matches on, so it has its own test below.
    names = [n for n in (*_server_owned(collection), *PERMISSION_LIKE) if n != "id"]
    rows = [
        {
            **create_body(collection, world.refs, tag=f"b{n}"),
            "external_id": f"B-{n}",
            name: _value(name),
        }
        for n, name in enumerate(names)
    ]
    response = world.admin.post(
        f"/api/v1/{collection}/bulk", {"match_on": "external_id", "records": rows}
    )
    assert response.status_code == 200, response.content
    for name, result in zip(names, response.json()["results"], strict=True):
        assert result["status"] == "error", (name, result)
        assert name in [e["field"] for e in result["errors"]], (name, result)
    assert _rows(collection) == before


@pytest.mark.parametrize("collection", _bulk_collections())
def test_a_bulk_row_cannot_choose_the_id_of_a_new_record(
    world: World, db: None, collection: str
) -> None:
    chosen = str(uuid.uuid4())
    row = {**create_body(collection, world.refs, tag="c"), "external_id": "CHOSEN", "id": chosen}
    for match_on in ("id", "external_id"):
        response = world.admin.post(
            f"/api/v1/{collection}/bulk", {"match_on": match_on, "records": [row]}
        )
        (result,) = response.json()["results"]
        assert result["id"] != chosen, (match_on, result)
    assert not _model(collection).all_objects.filter(pk=chosen).exists()


# -- the owner, read-only for a role --------------------------------------------------------------


@dataclass
class Office:
    rep: User
    colleague: User
    rep_api: ApiClient
    role: Role


@pytest.fixture
def office(db: None) -> Office:
    """A sales rep whose role may not change the owner of accounts (but may of contacts)."""
    role = make_role("Sales Rep")
    for object_type in ("account", "contact"):
        grant(role, object_type, "CRED")
    FieldPermission.objects.create(
        role=role, object_type="account", field="owner_id", access=FieldAccess.READ_ONLY
    )
    rep = make_person("rey", role=role)
    colleague = make_person("cole", role=role)
    rep_api = ApiClient(create_token(user=rep, expires_at=None)[1])
    return Office(rep=rep, colleague=colleague, rep_api=rep_api, role=role)


def test_a_role_with_the_owner_read_only_cannot_set_it(office: Office) -> None:
    own = parties.accounts.create(actor=office.rep, data={"name": "Mine"})
    before = _rows("accounts")
    for owner in (office.colleague, office.rep):
        created = office.rep_api.post(
            "/api/v1/accounts", {"name": "Given away", "owner_id": str(owner.pk)}
        )
        changed = office.rep_api.patch(
            f"/api/v1/accounts/{own.pk}", {"owner_id": str(owner.pk)}, if_match="*"
        )
        for response in (created, changed):
            assert response.status_code == 403, response.content
            assert [e["field"] for e in response.json()["errors"]] == ["owner_id"]
    bulk = office.rep_api.post(
        "/api/v1/accounts/bulk",
        {
            "match_on": "id",
            "records": [{"id": str(own.pk), "owner_id": str(office.colleague.pk)}],
        },
    )
    (row,) = bulk.json()["results"]
    assert row["status"] == "error"
    assert [e["field"] for e in row["errors"]] == ["owner_id"]
    assert _rows("accounts") == before


def test_the_owner_still_defaults_to_the_caller_and_others_may_assign_it(office: Office) -> None:
    created = office.rep_api.post("/api/v1/accounts", {"name": "Mine"})
    assert created.status_code == 201
    assert created.json()["owner_id"] == str(office.rep.pk)
    # The same role has no such rule on contacts: there the rep hands records over.
    handed = office.rep_api.post(
        "/api/v1/contacts", {"last_name": "Over", "owner_id": str(office.colleague.pk)}
    )
    assert handed.status_code == 201
    assert Contact.objects.get(pk=handed.json()["id"]).owner_id == office.colleague.pk


# -- a hidden field -------------------------------------------------------------------------------


@dataclass
class Secrets:
    analyst: ApiClient
    account: Account
    contact: Contact


@pytest.fixture
def secrets(db: None) -> Secrets:
    """An analyst whose role hides accounts' annual revenue, domain and ``tier`` custom field,
    and contacts' email addresses; the records carry values in all of them."""
    admin = make_person("boss", superuser=True)
    role = make_role("Analyst")
    for object_type in ("account", "contact"):
        grant(role, object_type, "CRED")
    for object_type, name in (
        ("account", "annual_revenue"),
        ("account", "domain"),
        ("account", "custom_fields.tier"),
        ("contact", "emails"),
    ):
        FieldPermission.objects.create(
            role=role, object_type=object_type, field=name, access=FieldAccess.HIDDEN
        )
    parties.custom_fields.create(
        actor=admin, data={"record_type": "account", "key": "tier", "label": "Tier", "type": "text"}
    )
    analyst = make_person("ana", role=role)
    account = parties.accounts.create(
        actor=admin,
        data={
            "name": "Globex",
            "domain": "quarterly-secret.example",
            "annual_revenue": Decimal("1234567.00"),
            "custom_fields": {"tier": "platinum"},
            "owner_id": analyst.pk,
        },
    )
    contact = parties.contacts.create(
        actor=admin,
        data={
            "last_name": "Hidden",
            "emails": ["private.mail@example.com"],
            "owner_id": analyst.pk,
        },
    )
    client = ApiClient(create_token(user=analyst, expires_at=None)[1])
    return Secrets(analyst=client, account=account, contact=contact)


HIDDEN_ACCOUNT = ("annual_revenue", "domain")


def _assert_masked(account: dict[str, Any]) -> None:
    for name in HIDDEN_ACCOUNT:
        assert name not in account, account
    assert "tier" not in account.get("custom_fields", {}), account
    text = str(account)
    for value in ("1234567", "quarterly-secret", "platinum"):
        assert value not in text


def test_a_hidden_field_never_appears_in_answers(secrets: Secrets) -> None:
    api = secrets.analyst
    url = f"/api/v1/accounts/{secrets.account.pk}"
    listed = api.get("/api/v1/accounts").json()["items"]
    assert str(secrets.account.pk) in [a["id"] for a in listed]
    detail = api.get(url)
    changed = api.patch(url, {"external_id": "G-1"}, if_match="*")
    created = api.post("/api/v1/accounts", {"name": "Initech"})
    assert (detail.status_code, changed.status_code, created.status_code) == (200, 200, 201)
    for shown in (*listed, detail.json(), changed.json(), created.json()):
        _assert_masked(shown)
    contacts = [*api.get("/api/v1/contacts").json()["items"]]
    contacts.append(api.get(f"/api/v1/contacts/{secrets.contact.pk}").json())
    for contact in contacts:
        assert "emails" not in contact
        assert "private.mail" not in str(contact)


def test_a_hidden_field_stays_out_of_the_timeline(secrets: Secrets) -> None:
    response = secrets.analyst.get(f"/api/v1/accounts/{secrets.account.pk}/timeline")
    assert response.status_code == 200
    assert response.json()["items"], "the creation is on the timeline"
    text = str(response.json())
    for name in (*HIDDEN_ACCOUNT, "1234567", "quarterly-secret", "platinum"):
        assert name not in text


def test_a_hidden_field_cannot_be_written(secrets: Secrets) -> None:
    api = secrets.analyst
    url = f"/api/v1/accounts/{secrets.account.pk}"
    before = _rows("accounts")
    for body in (
        {"annual_revenue": "1.00"},
        {"domain": "leak.example"},
        {"custom_fields": {"tier": "bronze"}},
    ):
        created = api.post("/api/v1/accounts", {"name": "Sneaky", **body})
        changed = api.patch(url, body, if_match="*")
        for response in (created, changed):
            assert response.status_code == 403, (body, response.content)
            assert response.json()["errors"], response.content
    assert _rows("accounts") == before
    stored = Account.objects.get(pk=secrets.account.pk)
    assert stored.annual_revenue == Decimal("1234567.00")
    assert stored.custom_fields == {"tier": "platinum"}


def test_a_hidden_field_cannot_be_filtered_or_sorted_on(secrets: Secrets) -> None:
    api = secrets.analyst
    for path, query, field in (
        ("/api/v1/accounts", {"sort": "annual_revenue"}, "annual_revenue"),
        ("/api/v1/accounts", {"sort": "-annual_revenue"}, "annual_revenue"),
        ("/api/v1/accounts", {"domain": "quarterly-secret.example"}, "domain"),
        ("/api/v1/accounts", {"cf.tier": "platinum"}, "cf.tier"),
        ("/api/v1/contacts", {"email": "private.mail@example.com"}, "email"),
    ):
        response = api.get(path, query)
        assert response.status_code == 403, (query, response.content)
        assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_hidden_field_cannot_be_searched(secrets: Secrets) -> None:
    """The search finds the account by its name, never by its hidden domain (nor the contact
    by its hidden email address)."""
    api = secrets.analyst

    def found(path: str, q: str) -> list[str]:
        response = api.get(path, {"q": q})
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    assert found("/api/v1/accounts", "globex") == [str(secrets.account.pk)]
    assert found("/api/v1/accounts", "quarterly-secret") == []
    assert found("/api/v1/contacts", "hidden") == [str(secrets.contact.pk)]
    assert found("/api/v1/contacts", "private.mail") == []


def test_conversion_answer_leaves_out_what_the_role_may_not_see(db: None) -> None:
    admin = make_person("boss", superuser=True)
    role = make_role("Closer")
    for object_type in ("lead", "account", "contact"):
        grant(role, object_type, "CRED")
    for name in ("phone", "captured"):
        FieldPermission.objects.create(
            role=role, object_type="lead", field=name, access=FieldAccess.HIDDEN
        )
    closer = make_person("cleo", role=role)
    lead = sales.leads.create(
        actor=admin,
        data={
            "last_name": "Lead",
            "company": "Lead Ltd",
            "phone": "+49 30 1234567",
            "captured": {"budget": "secret-budget"},
            "status": "qualified",
            "owner_id": closer.pk,
        },
    )
    api = ApiClient(create_token(user=closer, expires_at=None)[1])
    response = api.post(f"/api/v1/leads/{lead.pk}/convert", {}, if_match="*")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert "phone" not in answer["lead"]
    assert "captured" not in answer["lead"]
    assert "carried" not in answer, "carried lists the captured values"
    for value in ("1234567", "secret-budget"):
        assert value not in str(answer)

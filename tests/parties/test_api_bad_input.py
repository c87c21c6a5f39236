"""Every class of bad input to /api/v1/accounts, /contacts and /tags is a 4xx
``application/problem+json`` naming the offending field, and writes nothing at all.

Cases are declared as data (NetBox style), so a new class of bad input is one line per
collection. ``<name>`` in a path, query or body stands for a record of the ``world`` fixture,
built only for the cases that name it.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from accord.parties import services

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PROBLEM = "application/problem+json"
UNKNOWN_ID = "0190a000-0000-7000-8000-000000000000"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    field: str | None
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    if_match: str | None = '"2"'
    #: World records the case needs beyond those its path, query and body name.
    needs: tuple[str, ...] = ()


def _cases(collection: str, cases: list[Case]) -> list[Any]:
    return [pytest.param(case, id=f"{collection}-{case.name}") for case in cases]


def _common(path: str, item: str) -> list[Case]:
    """Bad input every collection shares: body syntax, preconditions, list parameters, ids."""
    return [
        Case("malformed_json", "post", path, 400, None, body='{"name": "x",'),
        Case("json_array_body", "post", path, 422, "body", body=[1, 2]),
        Case("unknown_field", "post", path, 422, "nickname", body={"nickname": "x"}),
        Case("unknown_field_on_patch", "patch", item, 422, "nickname", body={"nickname": "x"}),
        Case("stale_etag_patch", "patch", item, 412, None, body={}, if_match='"1"'),
        Case("stale_etag_delete", "delete", item, 412, None, if_match='"1"'),
        Case("garbage_etag", "patch", item, 412, None, body={}, if_match="yesterday"),
        Case("missing_if_match_patch", "patch", item, 428, None, body={}, if_match=None),
        Case("missing_if_match_delete", "delete", item, 428, None, if_match=None),
        Case("limit_over_200", "get", path, 422, "limit", query={"limit": 201}),
        Case("limit_zero", "get", path, 422, "limit", query={"limit": 0}),
        Case("limit_not_a_number", "get", path, 422, "limit", query={"limit": "many"}),
        Case("garbled_cursor", "get", path, 422, "cursor", query={"cursor": "not*a*cursor"}),
        Case("over_long_cursor", "get", path, 422, "cursor", query={"cursor": "A" * 2001}),
        Case("unknown_sort", "get", path, 422, "sort", query={"sort": "shoe_size"}),
        Case("malformed_id_get", "get", f"{path}/not-a-uuid", 404, None),
        Case("malformed_id_patch", "patch", f"{path}/not-a-uuid", 404, None, body={}),
        Case("malformed_id_delete", "delete", f"{path}/not-a-uuid", 404, None),
        Case("unknown_id_get", "get", f"{path}/{UNKNOWN_ID}", 404, None),
        Case("unknown_id_patch", "patch", f"{path}/{UNKNOWN_ID}", 404, None, body={}),
        Case("deleted_id_get", "get", f"{path}/<deleted_{path.rsplit('/', 1)[1][:-1]}>", 404, None),
    ]


ACCOUNTS = "/api/v1/accounts"
ACCOUNT = f"{ACCOUNTS}/<account>"
CONTACTS = "/api/v1/contacts"
CONTACT = f"{CONTACTS}/<contact>"
TAGS = "/api/v1/tags"
TAG = f"{TAGS}/<tag>"


def _account(**extra: Any) -> dict[str, Any]:
    return {"name": "Globex", **extra}


def _contact(**extra: Any) -> dict[str, Any]:
    return {"last_name": "Simpson", **extra}


CASES = [
    *_cases("accounts", _common(ACCOUNTS, ACCOUNT)),
    *_cases(
        "accounts",
        [
            Case("missing_name", "post", ACCOUNTS, 422, "name", body={"industry": "Steel"}),
            Case("empty_name", "post", ACCOUNTS, 422, "name", body={"name": ""}),
            Case("null_name_on_patch", "patch", ACCOUNT, 422, "name", body={"name": None}),
            Case("name_wrong_type", "post", ACCOUNTS, 422, "name", body={"name": 123}),
            Case(
                "employee_count_wrong_type", "post", ACCOUNTS, 422, "employee_count",
                body=_account(employee_count="many"),
            ),
            Case(
                "employee_count_too_big", "post", ACCOUNTS, 422, "employee_count",
                body=_account(employee_count=2**31),
            ),
            Case(
                "negative_employee_count", "post", ACCOUNTS, 422, "employee_count",
                body=_account(employee_count=-3),
            ),
            Case(
                "address_wrong_type", "post", ACCOUNTS, 422, "billing_address",
                body=_account(billing_address="1 Main St"),
            ),
            Case(
                "unknown_address_field", "post", ACCOUNTS, 422, "billing_address.town",
                body=_account(billing_address={"town": "Leeds"}),
            ),
            Case("over_long_name", "post", ACCOUNTS, 422, "name", body={"name": "x" * 201}),
            Case(
                "over_long_name_on_patch", "patch", ACCOUNT, 422, "name", body={"name": "x" * 201}
            ),
            Case(
                "over_long_industry_on_patch", "patch", ACCOUNT, 422, "industry",
                body={"industry": "x" * 101},
            ),
            Case(
                "over_long_website", "post", ACCOUNTS, 422, "website",
                body=_account(website="https://example.com/" + "x" * 240),
            ),
            Case(
                "over_long_city", "post", ACCOUNTS, 422, "billing_address.city",
                body=_account(billing_address={"city": "x" * 101}),
            ),
            Case(
                "three_letter_country", "post", ACCOUNTS, 422, "shipping_address.country",
                body=_account(shipping_address={"country": "GBR"}),
            ),
            Case(
                "digits_as_country", "post", ACCOUNTS, 422, "billing_address.country",
                body=_account(billing_address={"country": "12"}),
            ),
            Case(
                "website_is_no_address", "post", ACCOUNTS, 422, "website",
                body=_account(website="not a website"),
            ),
            Case("bad_domain", "post", ACCOUNTS, 422, "domain", body=_account(domain="-x-")),
            Case(
                "negative_annual_revenue", "post", ACCOUNTS, 422, "annual_revenue",
                body=_account(annual_revenue="-0.01"),
            ),
            Case(
                "negative_annual_revenue_on_patch", "patch", ACCOUNT, 422, "annual_revenue",
                body={"annual_revenue": -100},
            ),
            Case(
                "annual_revenue_too_precise", "post", ACCOUNTS, 422, "annual_revenue",
                body=_account(annual_revenue="1.001"),
            ),
            Case(
                "annual_revenue_not_a_number", "post", ACCOUNTS, 422, "annual_revenue",
                body=_account(annual_revenue="lots"),
            ),
            Case(
                "unknown_parent", "post", ACCOUNTS, 422, "parent_id",
                body=_account(parent_id=UNKNOWN_ID),
            ),
            Case(
                "deleted_parent", "post", ACCOUNTS, 422, "parent_id",
                body=_account(parent_id="<deleted_account>"),
            ),
            Case(
                "malformed_parent", "post", ACCOUNTS, 422, "parent_id",
                body=_account(parent_id="not-a-uuid"),
            ),
            Case(
                "unknown_parent_on_patch", "patch", ACCOUNT, 422, "parent_id",
                body={"parent_id": UNKNOWN_ID},
            ),
            Case(
                "unknown_owner", "post", ACCOUNTS, 422, "owner_id",
                body=_account(owner_id=UNKNOWN_ID),
            ),
            Case(
                "inactive_owner", "post", ACCOUNTS, 422, "owner_id",
                body=_account(owner_id="<inactive_user>"),
            ),
            Case(
                "unknown_owner_on_patch", "patch", ACCOUNT, 422, "owner_id",
                body={"owner_id": UNKNOWN_ID},
            ),
            Case("unknown_tag", "post", ACCOUNTS, 422, "tags", body=_account(tags=["Nope"])),
            Case(
                "tags_wrong_type", "post", ACCOUNTS, 422, "tags", body=_account(tags="VIP")
            ),
            Case(
                "unknown_custom_field", "post", ACCOUNTS, 422, "custom_fields.shoe_size",
                body=_account(custom_fields={"shoe_size": 9}),
            ),
            Case(
                "malformed_owner_filter", "get", ACCOUNTS, 422, "owner_id",
                query={"owner_id": "bob"},
            ),
            Case(
                "malformed_parent_filter", "get", ACCOUNTS, 422, "parent_id",
                query={"parent_id": "bob"},
            ),
            Case(
                "malformed_updated_since", "get", ACCOUNTS, 422, "updated_since",
                query={"updated_since": "last week"},
            ),
        ],
    ),
    *_cases("contacts", _common(CONTACTS, CONTACT)),
    *_cases(
        "contacts",
        [
            Case("nameless", "post", CONTACTS, 422, "last_name", body={"title": "CEO"}),
            Case(
                "name_and_emails_cleared_on_patch", "patch", CONTACT, 422, "last_name",
                body={"last_name": "", "emails": []},
            ),
            Case(
                "opt_in_wrong_type", "post", CONTACTS, 422, "email_opt_in",
                body=_contact(email_opt_in="yes"),
            ),
            Case(
                "opt_in_as_number", "post", CONTACTS, 422, "sms_opt_in",
                body=_contact(sms_opt_in=1),
            ),
            Case(
                "emails_not_a_list", "post", CONTACTS, 422, "emails",
                body=_contact(emails="bart@example.com"),
            ),
            Case("first_name_wrong_type", "post", CONTACTS, 422, "first_name",
                 body=_contact(first_name=["Bart"])),
            Case(
                "over_long_first_name", "post", CONTACTS, 422, "first_name",
                body=_contact(first_name="x" * 101),
            ),
            Case(
                "over_long_title", "post", CONTACTS, 422, "title", body=_contact(title="x" * 201)
            ),
            Case(
                "over_long_title_on_patch", "patch", CONTACT, 422, "title",
                body={"title": "x" * 201},
            ),
            Case(
                "email_without_at", "post", CONTACTS, 422, "emails[0]",
                body=_contact(emails=["bart.example.com"]),
            ),
            Case(
                "second_email_invalid", "post", CONTACTS, 422, "emails[1]",
                body=_contact(emails=["bart@example.com", "bart@"]),
            ),
            Case(
                "email_with_space", "post", CONTACTS, 422, "emails[0]",
                body=_contact(emails=["bart simpson@example.com"]),
            ),
            Case(
                "invalid_email_on_patch", "patch", CONTACT, 422, "emails[0]",
                body={"emails": ["nope"]},
            ),
            Case(
                "too_many_emails", "post", CONTACTS, 422, "emails",
                body=_contact(emails=[f"b{i}@example.com" for i in range(11)]),
            ),
            Case(
                "phone_with_letters", "post", CONTACTS, 422, "phones[0]",
                body=_contact(phones=["call me maybe"]),
            ),
            Case(
                "phone_too_short", "post", CONTACTS, 422, "phones[0]",
                body=_contact(phones=["123"]),
            ),
            Case(
                "phone_too_long", "post", CONTACTS, 422, "phones[0]",
                body=_contact(phones=["+1 415 555 2671 555 2671"]),
            ),
            Case(
                "invalid_phone_on_patch", "patch", CONTACT, 422, "phones[0]",
                body={"phones": ["call me"]},
            ),
            Case(
                "too_many_emails_on_patch", "patch", CONTACT, 422, "emails",
                body={"emails": [f"b{i}@example.com" for i in range(11)]},
            ),
            Case(
                "unknown_lifecycle_stage", "post", CONTACTS, 422, "lifecycle_stage",
                body=_contact(lifecycle_stage="vip"),
            ),
            Case(
                "unknown_account", "post", CONTACTS, 422, "account_id",
                body=_contact(account_id=UNKNOWN_ID),
            ),
            Case(
                "deleted_account", "post", CONTACTS, 422, "account_id",
                body=_contact(account_id="<deleted_account>"),
            ),
            Case(
                "malformed_account", "post", CONTACTS, 422, "account_id",
                body=_contact(account_id=12),
            ),
            Case(
                "deleted_account_on_patch", "patch", CONTACT, 422, "account_id",
                body={"account_id": "<deleted_account>"},
            ),
            Case(
                "unknown_owner", "post", CONTACTS, 422, "owner_id",
                body=_contact(owner_id=UNKNOWN_ID),
            ),
            Case(
                "inactive_owner", "post", CONTACTS, 422, "owner_id",
                body=_contact(owner_id="<inactive_user>"),
            ),
            Case("unknown_tag", "post", CONTACTS, 422, "tags", body=_contact(tags=["Nope"])),
            Case(
                "malformed_email_filter", "get", CONTACTS, 422, "email",
                query={"email": "not-an-address"},
            ),
            Case(
                "malformed_phone_filter", "get", CONTACTS, 422, "phone", query={"phone": "abc"}
            ),
            Case(
                "malformed_account_filter", "get", CONTACTS, 422, "account_id",
                query={"account_id": "acme"},
            ),
            Case(
                "unknown_lifecycle_filter", "get", CONTACTS, 422, "lifecycle_stage",
                query={"lifecycle_stage": "vip"},
            ),
        ],
    ),
    *_cases("tags", _common(TAGS, TAG)),
    *_cases(
        "tags",
        [
            Case("missing_name", "post", TAGS, 422, "name", body={"color": "#000000"}),
            Case("empty_name", "post", TAGS, 422, "name", body={"name": ""}),
            Case("name_wrong_type", "post", TAGS, 422, "name", body={"name": 5}),
            Case("over_long_name", "post", TAGS, 422, "name", body={"name": "x" * 51}),
            Case("over_long_name_on_patch", "patch", TAG, 422, "name", body={"name": "x" * 51}),
            Case("colour_word", "post", TAGS, 422, "color", body={"name": "Hot", "color": "red"}),
            Case(
                "over_long_colour", "post", TAGS, 422, "color",
                body={"name": "Hot", "color": "#1234567"},
            ),
            Case("colour_on_patch", "patch", TAG, 422, "color", body={"color": "blue"}),
            Case(
                "duplicate_name", "post", TAGS, 409, None, body={"name": "Partner"},
                needs=("partner_tag",),
            ),
            Case("rename_to_existing", "patch", TAG, 409, None, body={"name": "Partner"}),
        ],
    ),
]  # fmt: skip


_PLACEHOLDER = re.compile(r"<([a-z_]+)>")


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: world[m.group(1)], value)
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


class World:
    """Records a case refers to, built on first use (a case pays only for what it names).

    Live records are at version 2, so ``"1"`` is a stale ETag; ``deleted_*`` are in the recycle
    bin; ``inactive_user`` has been deactivated.
    """

    def __init__(self, admin: Any, make_user: Any) -> None:
        self.admin = admin
        self.make_user = make_user
        self.built: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if key not in self.built:
            self.built[key] = getattr(self, f"_{key}")()
        return self.built[key]

    def _at_version_2(self, service: Any, data: dict[str, Any], change: dict[str, Any]) -> str:
        record = service.create(actor=self.admin, data=data)
        service.update(actor=self.admin, record_id=record.pk, data=change, expected_version=1)
        return str(record.pk)

    def _deleted(self, service: Any, data: dict[str, Any]) -> str:
        record = service.create(actor=self.admin, data=data)
        service.delete(actor=self.admin, record_id=record.pk, expected_version=1)
        return str(record.pk)

    def _account(self) -> str:
        return self._at_version_2(services.accounts, {"name": "Initech"}, {"industry": "Software"})

    def _contact(self) -> str:
        data = {"last_name": "Lumbergh", "emails": ["bill@initech.example"]}
        return self._at_version_2(services.contacts, data, {"title": "VP"})

    def _tag(self) -> str:
        self["partner_tag"]
        return self._at_version_2(services.tags, {"name": "VIP"}, {"color": "#ff0000"})

    def _partner_tag(self) -> str:
        return str(services.tags.create(actor=self.admin, data={"name": "Partner"}).pk)

    def _deleted_account(self) -> str:
        return self._deleted(services.accounts, {"name": "Gone"})

    def _deleted_contact(self) -> str:
        return self._deleted(services.contacts, {"last_name": "Gone"})

    def _deleted_tag(self) -> str:
        return self._deleted(services.tags, {"name": "Gone"})

    def _inactive_user(self) -> str:
        return str(self.make_user(username="leaver", active=False).pk)


@pytest.fixture
def world(admin: Any, make_user: Any) -> World:
    return World(admin, make_user)


def _send(api: Any, case: Case, world: World) -> Any:
    path = _fill(case.path, world)
    if case.method == "get":
        return api.get(path, _fill(case.query, world))
    kwargs: dict[str, Any] = {"if_match": case.if_match} if case.method != "post" else {}
    return getattr(api, case.method)(path, _fill(case.body, world), **kwargs)


def _assert_problem(response: Any, status: int, field: str | None) -> None:
    assert response.status_code == status, response.content
    assert response.headers["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    if field is not None:
        fields = [e["field"] for e in problem["errors"]]
        assert field in fields, f"expected an error naming {field!r}, got {fields}"


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(
    case, world, admin_api, db_state
):
    for name in (*case.needs, *_PLACEHOLDER.findall(repr(case))):
        world[name]
    before = db_state()

    response = _send(admin_api, case, world)

    _assert_problem(response, case.status, case.field)
    assert db_state() == before


def _cursor(parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        pytest.param("id", "%%%", id="not-base64"),
        pytest.param("id", _cursor({"a": 1}), id="object"),
        pytest.param("id", _cursor("abc"), id="string"),
        pytest.param("id", base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
        pytest.param("id", _cursor(["id", None, "not-a-uuid"]), id="bad-uuid"),
        pytest.param("updated_at", _cursor(["updated_at", "yesterday", UNKNOWN_ID]), id="bad-time"),
        pytest.param("id", _cursor([1, 2, 3]), id="numbers"),
        pytest.param("id", _cursor(["id", None, 7]), id="numeric-id"),
        pytest.param("name", _cursor(["name", "Acme", ["x"]]), id="list-id"),
    ],
)
def test_crafted_cursor_is_422_naming_cursor(sort, cursor, admin_api, make_account):
    make_account()
    response = admin_api.get(ACCOUNTS, {"sort": sort, "cursor": cursor})
    _assert_problem(response, 422, "cursor")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param(ACCOUNTS, {"name": "Acme\x00 Ltd"}, "name", id="account-name"),
        pytest.param(CONTACTS, {"last_name": "Null\x00"}, "last_name", id="contact-last-name"),
        pytest.param(TAGS, {"name": "V\x00IP"}, "name", id="tag-name"),
        pytest.param(CONTACTS, {"last_name": "Tagged", "tags": ["VIP\x00"]}, "tags", id="tag-ref"),
    ],
)
def test_text_with_nul_character_is_refused_naming_the_field(
    path, body, field, admin_api, make_tag, db_state
):
    # PostgreSQL cannot store U+0000 in text; SQLite can. The same input must get the same
    # answer on both databases, and never a 500.
    make_tag(name="VIP")
    before = db_state()

    response = admin_api.post(path, body)

    _assert_problem(response, 422, field)
    assert db_state() == before


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"tag": "VIP\x00"}, id="tag-filter"),
        pytest.param({"sort": "last_name", "cursor": _cursor(["last_name", "A\x00", UNKNOWN_ID])},
                     id="cursor-value"),
    ],
)  # fmt: skip
def test_list_filter_with_nul_character_is_never_a_server_error(query, admin_api, make_contact):
    make_contact()
    response = admin_api.get(CONTACTS, query)
    assert response.status_code < 500, response.content


def test_unknown_and_deleted_references_read_alike(world, admin_api):
    """The error for a deleted account must not reveal that it ever existed."""
    unknown = admin_api.post(CONTACTS, _contact(account_id=UNKNOWN_ID)).json()
    deleted = admin_api.post(CONTACTS, _contact(account_id=world["deleted_account"])).json()

    def message(problem: dict[str, Any], record_id: str) -> str:
        (error,) = problem["errors"]
        return str(error["message"]).replace(record_id, "<id>")

    assert message(unknown, UNKNOWN_ID) == message(deleted, world["deleted_account"])

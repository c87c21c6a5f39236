"""Search over names, emails, phones and domains answers the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from accord.core import search
from accord.core.models import SearchEntry
from accord.identity.models import (
    Access,
    FieldAccess,
    FieldPermission,
    ObjectPermission,
    Role,
    SharingDefault,
)
from accord.parties import services
from accord.parties.models import Account, Contact


@pytest.fixture
def people(admin):
    acme = services.accounts.create(
        actor=admin, data={"name": "Acme Rockets", "website": "acme.io"}
    )
    rows = [
        {
            "first_name": "Ann",
            "last_name": "Smith",
            "emails": ["ann@acme.io"],
            "phones": ["+49 30 1234567"],
            "account_id": acme.pk,
        },
        {"first_name": "Bob", "last_name": "Smithers", "emails": ["bob@example.org"]},
        {"first_name": "Al", "last_name": "Jones", "phones": ["+1 415 555 0100"]},
    ]
    return {c.first_name: c for c in services.contacts.create_many(actor=admin, rows=rows)}


def names(response):
    assert response.status_code == 200, response.content
    return sorted(item["first_name"] for item in response.json()["items"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("smith", ["Ann", "Bob"]),
        ("ann smi", ["Ann"]),
        ("ACME.IO", ["Ann"]),
        ("1234567", ["Ann"]),
        ("030 1234567", []),
        ("415 555", ["Al"]),
        ("al", ["Al"]),
        ("zzz", []),
        ('"smith', ["Ann", "Bob"]),
        ("100%", []),
    ],
)
def test_contact_search_matches_every_term_as_substring(admin_api, people, query, expected):
    assert names(admin_api.get("/api/v1/contacts", {"q": query})) == expected


def test_search_follows_edits_and_deletes(admin, admin_api, people):
    ann = people["Ann"]
    services.contacts.update(
        actor=admin, record_id=ann.pk, data={"last_name": "Baker"}, expected_version=1
    )
    assert names(admin_api.get("/api/v1/contacts", {"q": "smith"})) == ["Bob"]
    assert names(admin_api.get("/api/v1/contacts", {"q": "baker"})) == ["Ann"]
    services.contacts.delete(actor=admin, record_id=ann.pk, expected_version=2)
    assert names(admin_api.get("/api/v1/contacts", {"q": "baker"})) == []


def test_account_search_by_domain_and_name(admin_api, people):
    response = admin_api.get("/api/v1/accounts", {"q": "acme.io"})
    assert [a["name"] for a in response.json()["items"]] == ["Acme Rockets"]
    response = admin_api.get("/api/v1/accounts", {"q": "rock"})
    assert [a["name"] for a in response.json()["items"]] == ["Acme Rockets"]


def test_overlong_search_is_rejected_naming_q(admin_api):
    response = admin_api.get("/api/v1/contacts", {"q": "x" * 201})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "q"


def test_punctuation_only_search_matches_nothing(admin_api, people):
    for query in ("!", "- !"):
        response = admin_api.get("/api/v1/contacts", {"q": query})
        assert response.status_code == 200
        assert response.json()["items"] == []


# -- field-level security: nobody finds a record by a field hidden from them ------------------


def role_hiding(object_type: str, *fields: str) -> Role:
    """A role that may read and edit accounts and contacts, with ``fields`` of
    ``object_type`` hidden."""
    role = Role(name=f"hides {object_type} {' '.join(fields)}")
    role.path = f"/{role.pk}/"
    role.save()
    for kind in ("account", "contact"):
        ObjectPermission.objects.create(role=role, object_type=kind, can_read=True, can_edit=True)
    for name in fields:
        FieldPermission.objects.create(
            role=role, object_type=object_type, field=name, access=FieldAccess.HIDDEN
        )
    return role


@pytest.fixture
def search_as(make_user, api_as):
    """``search_as(object_type, *hidden)(q)``: the names a user whose role hides ``hidden``
    finds with ``q``."""

    def make(object_type, *hidden):
        user = make_user()
        user.role = role_hiding(object_type, *hidden)
        user.save()
        client = api_as(user)

        def find(query, collection="contacts"):
            # Named from the database: the response itself leaves hidden fields out.
            response = client.get(f"/api/v1/{collection}", {"q": query})
            assert response.status_code == 200, response.content
            model = Contact if collection == "contacts" else Account
            found = model.objects.filter(pk__in=[i["id"] for i in response.json()["items"]])
            return sorted(str(record).split()[0] for record in found)

        return find

    return make


@pytest.mark.parametrize(
    ("hidden", "query", "expected"),
    [
        (("last_name",), "smith", []),
        (("last_name",), "ann", ["Ann"]),
        (("last_name",), "ann smi", []),
        (("emails",), "ann smi", ["Ann"]),
        (("emails",), "acme.io", []),
        (("emails",), "bob@example", []),
        (("phones",), "1234567", []),
        (("phones",), "+49 30 1234567", []),
        (("phones",), "ann", ["Ann"]),
        (("first_name",), "al", []),
        (("first_name",), "jo", ["Al"]),
        (("first_name", "last_name"), "smith", []),
        (("title",), "smith", ["Ann", "Bob"]),
    ],
)
def test_a_hidden_contact_field_is_not_searchable(search_as, people, hidden, query, expected):
    assert search_as("contact", *hidden)(query) == expected


def test_the_same_search_finds_by_those_fields_for_who_sees_them(admin_api, people):
    assert names(admin_api.get("/api/v1/contacts", {"q": "smith"})) == ["Ann", "Bob"]
    assert names(admin_api.get("/api/v1/contacts", {"q": "acme.io"})) == ["Ann"]
    assert names(admin_api.get("/api/v1/contacts", {"q": "1234567"})) == ["Ann"]


def test_a_hidden_account_domain_is_not_searchable(search_as, people):
    find = search_as("account", "domain")
    assert find("acme.io", "accounts") == []
    assert find("rock", "accounts") == ["Acme"]
    # The contacts' own fields are not the account's: their email still finds Ann.
    assert find("acme.io") == ["Ann"]


def test_search_documents_hold_only_the_declared_fields(admin, people):
    from accord.core.services import RecordService

    services_ = [services.contacts, services.accounts]
    for service in services_:
        assert isinstance(service, RecordService)
        for record in service.model.objects.all():
            assert set(service.search_document(record)) <= set(service.search_fields)
    entry = SearchEntry.objects.get(record_id=people["Ann"].pk)
    assert entry.fields == {
        "first_name": "ann",
        "last_name": "smith",
        "emails": "ann@acme.io",
        "phones": "+49301234567 49301234567",
    }
    assert entry.body == "ann smith ann@acme.io +49301234567 49301234567"


def test_entries_from_before_field_security_match_only_for_who_sees_everything(
    admin, admin_api, search_as, people
):
    # As the migration leaves them: a body without fields.
    SearchEntry.objects.update(fields={})
    find = search_as("contact", "emails")
    assert find("ann") == []
    assert names(admin_api.get("/api/v1/contacts", {"q": "ann"})) == ["Ann"]

    assert services.contacts.reindex_search(batch=2) == 3

    assert find("ann") == ["Ann"]
    assert find("acme.io") == []


# -- pages of matches in id order ---------------------------------------------------------------


def walk(client, query, *, limit, sort=None):
    found, cursor = [], None
    while True:
        params = {"q": query, "limit": limit}
        if sort:
            params["sort"] = sort
        if cursor:
            params["cursor"] = cursor
        response = client.get("/api/v1/contacts", params)
        assert response.status_code == 200, response.content
        body = response.json()
        found += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


@pytest.mark.parametrize("probes", [1, 3])
@pytest.mark.parametrize("window", [10_000, 3])
@pytest.mark.parametrize("sort", [None, "-id"])
def test_search_pages_are_exact_when_the_caller_sees_few_matches(
    admin, admin_api, make_user, api_as, monkeypatch, sort, window, probes
):
    owner = make_user()
    rows = []
    for i in range(12):
        # One match in four is the owner's, in id order.
        rows.append({"last_name": f"Miller {i}", "owner_id": owner.pk})
        rows += [{"last_name": "Millerson"} for _ in range(3)]
    services.contacts.create_many(actor=admin, rows=rows)
    # The owner sees only their own contacts: few probes, then the rest through the database.
    SharingDefault.objects.create(object_type="contact", access=Access.PRIVATE)
    monkeypatch.setattr(search, "PROBES", probes)
    monkeypatch.setattr(search, "MAX_GROWTH", 2)
    # A small window makes PostgreSQL take the rest of the matches from the trigram index.
    monkeypatch.setattr(search, "WINDOW", window)
    expected = sorted(
        (str(pk) for pk in Contact.objects.filter(owner=owner).values_list("pk", flat=True)),
        reverse=sort == "-id",
    )
    assert walk(api_as(owner), "mill", limit=3, sort=sort) == expected
    everyone = sorted(
        (str(pk) for pk in Contact.objects.values_list("pk", flat=True)), reverse=sort == "-id"
    )
    assert walk(admin_api, "mill", limit=4, sort=sort) == everyone
    millersons = {
        str(pk) for pk in Contact.objects.filter(last_name="Millerson").values_list("pk", flat=True)
    }
    assert walk(admin_api, "millerson", limit=2, sort=sort) == [
        pk for pk in everyone if pk in millersons
    ]


def test_search_pages_leave_out_records_in_the_recycle_bin(admin, admin_api, monkeypatch):
    made = services.contacts.create_many(
        actor=admin, rows=[{"last_name": f"Baker {i}"} for i in range(6)]
    )
    for contact in made[:3]:
        services.contacts.delete(actor=admin, record_id=contact.pk, expected_version=1)
    monkeypatch.setattr(search, "PROBES", 1)
    assert walk(admin_api, "baker", limit=1) == sorted(str(c.pk) for c in made[3:])


def test_accord_reindex_rewrites_entries_from_the_records(admin, search_as, people):
    from typer.testing import CliRunner

    from accord.cli import app

    SearchEntry.objects.update(fields={}, body="")
    result = CliRunner().invoke(app, ["reindex", "--type", "contact"])
    assert result.exit_code == 0, result.output
    assert "Reindexed 3 contact(s)" in result.output
    assert search_as("contact", "emails")("ann") == ["Ann"]
    refused = CliRunner().invoke(app, ["reindex", "--type", "tag"])
    assert refused.exit_code == 1
    assert "Not searchable: tag" in refused.output

"""Search over names, emails, phones and domains answers the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from accord.parties import services


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

"""Input no database can take is refused up front, naming the field, instead of failing late."""

from __future__ import annotations

import pytest

from accord.parties.models import Contact, Tag


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/tags", {"name": "a\u0000"}, "name"),
        ("/api/v1/contacts", {"last_name": "x", "tags": ["a\u0000"]}, "tags"),
        ("/api/v1/contacts", {"last_name": "x", "custom_fields": {"k": "\u0000"}}, "custom_fields"),
    ],
)
def test_nul_characters_are_rejected(admin_api, path, body, field):
    response = admin_api.post(path, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert Tag.objects.count() == Contact.objects.count() == 0


def test_numeric_timestamps_are_not_read_as_dates(admin_api):
    response = admin_api.get("/api/v1/contacts", {"updated_since": "0.5"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "updated_since"


def test_extreme_utc_offsets_are_normalised(admin_api):
    response = admin_api.get("/api/v1/contacts", {"updated_since": "2024-01-01T00:00:00+16:00"})
    assert response.status_code == 200


def test_openapi_documents_errors_as_problem_json(admin_api):
    schema = admin_api.get("/api/v1/openapi.json").json()
    answer = schema["paths"]["/api/v1/contacts"]["post"]["responses"]["422"]
    assert list(answer["content"]) == ["application/problem+json"]


def test_whitespace_only_required_text_is_rejected(admin):
    from accord.core.errors import InvalidInput
    from accord.parties import services

    with pytest.raises(InvalidInput) as caught:
        services.tags.create(actor=admin, data={"name": "   "})
    assert caught.value.errors[0].field == "name"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/tags", {"name": " " + "x" * 50}, "name"),
        ("/api/v1/tags", {"name": " \u00bf\u00e9" + "*" * 48}, "name"),
        (
            "/api/v1/contacts",
            {"last_name": "x", "emails": [" " + "a" * 241 + "@example.com "]},
            "emails",
        ),
    ],
)
def test_text_over_its_max_length_as_sent_is_refused(admin_api, path, body, field):
    """The published ``maxLength`` counts the text as sent: white space that would be
    stripped still counts, so the API never accepts what its schema refuses."""
    response = admin_api.post(path, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith(field)
    assert Tag.objects.count() == Contact.objects.count() == 0


def test_text_at_its_max_length_with_stripped_space_inside_the_limit_is_kept(admin_api):
    response = admin_api.post("/api/v1/tags", {"name": " " + "x" * 48 + " "})
    assert response.status_code == 201
    assert response.json()["name"] == "x" * 48


def test_a_bulk_row_over_a_max_length_as_sent_gets_the_schemas_error(admin_api):
    rows = [
        {"last_name": " " + "x" * 100, "emails": ["long@example.com"]},
        {"last_name": "Short", "emails": ["short@example.com"]},
    ]
    answer = admin_api.post("/api/v1/contacts/bulk", {"match_on": "email", "records": rows})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert results[0]["status"] == "error"
    assert results[0]["errors"][0]["field"] == "last_name"
    assert results[1]["status"] == "created"
    assert Contact.objects.count() == 1

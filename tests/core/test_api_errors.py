"""Every API error is problem+json, including the ones Django raises outside the API."""

from __future__ import annotations


def test_wrong_method_is_a_problem_with_allowed_methods(admin_api):
    response = admin_api.patch("/api/v1/contacts", {})
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert "GET" in response.json()["detail"]


def test_unknown_api_path_is_a_problem(admin_api):
    response = admin_api.get("/api/v1/no-such-things")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404

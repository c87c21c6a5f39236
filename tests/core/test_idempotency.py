"""Idempotency-Key: a retried POST gets the first answer instead of writing twice."""

from __future__ import annotations

import datetime as dt

from accord.core import clock
from accord.parties.models import Contact


def post(api, body, key):
    return api.post("/api/v1/contacts", body, headers={"Idempotency-Key": key})


def test_retry_with_same_key_replays_first_answer_without_writing(admin_api):
    first = post(admin_api, {"last_name": "Once"}, "k-1")
    again = post(admin_api, {"last_name": "Once"}, "k-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1


def test_same_key_for_a_different_body_is_rejected(admin_api):
    post(admin_api, {"last_name": "Once"}, "k-2")
    response = post(admin_api, {"last_name": "Other"}, "k-2")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert Contact.objects.count() == 1


def test_keys_are_scoped_to_the_caller(admin_api, make_user, api_as):
    post(admin_api, {"last_name": "Mine"}, "shared")
    other = api_as(make_user())
    assert post(other, {"last_name": "Mine"}, "shared").status_code == 201
    assert Contact.objects.count() == 2


def test_key_expires_after_24_hours(admin_api):
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with clock.frozen(start):
        post(admin_api, {"last_name": "Day one"}, "k-3")
        clock.advance(dt.timedelta(hours=25))
        response = post(admin_api, {"last_name": "Day one"}, "k-3")
    assert "Idempotent-Replayed" not in response.headers
    assert Contact.objects.count() == 2


def test_validation_errors_are_replayed_too(admin_api):
    first = post(admin_api, {"emails": ["nope"]}, "k-4")
    again = post(admin_api, {"emails": ["nope"]}, "k-4")
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()

"""Property: whatever JSON object is POSTed to /api/v1/contacts, the answer is never a 5xx; a 4xx
is a problem that writes nothing, and a 201 writes exactly one contact with its event."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accord.core.models import OutboxEvent
from accord.parties.models import Contact

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)

# Mostly valid values for each field, so examples get past the schema into the service and
# the database; ``<owner>`` and ``<account>`` stand for real records.
VALID: dict[str, st.SearchStrategy[Any]] = {
    "first_name": st.text(max_size=40),
    "last_name": st.text(max_size=40),
    "title": st.text(max_size=60),
    "emails": st.lists(st.emails(), max_size=3),
    "phones": st.lists(
        st.sampled_from(["+14155552671", "(415) 555-2672", "+44 20 7946 0958", "415.555.2673"]),
        max_size=3,
    ),
    "account_id": st.none() | st.just("<account>"),
    "owner_id": st.none() | st.just("<owner>"),
    "lifecycle_stage": st.sampled_from(
        ["subscriber", "lead", "marketing_qualified", "customer", "evangelist", "other"]
    ),
    "email_opt_in": st.booleans(),
    "sms_opt_in": st.booleans(),
    "do_not_call": st.booleans(),
    "external_id": st.text(max_size=40),
    "tags": st.lists(st.sampled_from(["VIP", "Partner"]), max_size=2),
    "custom_fields": st.just({}),
}
# Values that are nearly right for a field: the edges a client gets wrong.
NEAR_MISS: dict[str, st.SearchStrategy[Any]] = {
    "first_name": st.text(min_size=95, max_size=110),
    "last_name": st.text(min_size=95, max_size=110),
    "title": st.text(min_size=195, max_size=210),
    "emails": st.lists(st.emails() | st.text(max_size=20), min_size=1, max_size=12),
    "phones": st.lists(st.from_regex(r"\+?[0-9 ().-]{0,24}", fullmatch=True), min_size=1),
    "account_id": st.uuids().map(str) | st.text(max_size=40),
    "owner_id": st.uuids().map(str) | st.integers(),
    "lifecycle_stage": st.text(max_size=20),
    "email_opt_in": st.sampled_from(["true", 1, 0, None]),
    "sms_opt_in": st.sampled_from(["false", 1, None]),
    "do_not_call": st.sampled_from(["yes", 0, None]),
    "external_id": st.text(min_size=95, max_size=110),
    "tags": st.lists(st.text(max_size=55), min_size=1),
    "custom_fields": st.dictionaries(st.text(max_size=10), JSON_SCALARS, min_size=1, max_size=3),
}
VALID_BODY = st.fixed_dictionaries({}, optional=VALID)
BODIES = (
    VALID_BODY
    # A valid body with one field (known or not) made wrong.
    | st.sampled_from(sorted(VALID))
    .flatmap(lambda key: st.tuples(VALID_BODY, st.just(key), NEAR_MISS[key] | JSON))
    .map(lambda parts: {**parts[0], parts[1]: parts[2]})
    | st.tuples(VALID_BODY, st.text(max_size=20), JSON).map(
        lambda parts: {**parts[0], parts[1]: parts[2]}
    )
    | st.dictionaries(st.text(max_size=20), JSON, max_size=5)
)


def _resolve(body: dict[str, Any], refs: dict[str, str]) -> dict[str, Any]:
    return {k: refs.get(v, v) if isinstance(v, str) else v for k, v in body.items()}


@pytest.fixture
def refs(admin: Any, make_tag: Any, make_account: Any) -> dict[str, str]:
    # Function-scoped fixtures run once for all of a test's examples, so these persist.
    make_tag(name="VIP")
    make_tag(name="Partner")
    return {"<owner>": str(admin.pk), "<account>": str(make_account(name="Initech").pk)}


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_any_json_object_posted_to_contacts_is_answered_without_a_server_error(
    body, admin_api, refs, db_state
):
    body = _resolve(body, refs)
    before = db_state()

    response = admin_api.post("/api/v1/contacts", body)
    event(f"status {response.status_code}")

    assert response.status_code < 500, (body, response.content)
    if response.status_code >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code
        assert db_state() == before, body
    else:
        assert response.status_code == 201, response.content
        created = response.json()["id"]
        assert Contact.objects.filter(pk=created).count() == 1
        assert OutboxEvent.objects.filter(object_id=created).count() == 1
        assert len(db_state()["parties.Contact"]) == len(before["parties.Contact"]) + 1

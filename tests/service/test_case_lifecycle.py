"""The service stamps a case's lifecycle times on status changes, by the (moved) clock."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.core import clock
from accord.core.errors import InvalidInput
from accord.service.services import cases
from tests.catalog.helpers import history_of

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def move(admin, case, status):
    return cases.update(
        actor=admin, record_id=case.pk, data={"status": status}, expected_version=None
    )


def times(case):
    return case.first_response_at, case.resolved_at, case.closed_at


def test_case_walks_from_new_to_closed_and_back(admin, make_case):
    with clock.frozen(T0):
        case = make_case()
        assert times(case) == (None, None, None)

        clock.advance(HOUR)
        case = move(admin, case, "open")
        assert times(case) == (T0 + HOUR, None, None)

        clock.advance(HOUR)
        case = move(admin, case, "pending")
        assert times(case) == (T0 + HOUR, None, None)

        clock.advance(HOUR)
        case = move(admin, case, "resolved")
        assert times(case) == (T0 + HOUR, T0 + 3 * HOUR, None)

        clock.advance(HOUR)
        case = move(admin, case, "closed")
        assert times(case) == (T0 + HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR)

        clock.advance(HOUR)
        case = move(admin, case, "open")
        assert times(case) == (T0 + HOUR, None, None)

    assert case.opened_at == T0


def test_lifecycle_times_are_in_history_and_the_event(admin, make_case):
    with clock.frozen(T0):
        case = make_case(status="open")
        clock.advance(HOUR)
        move(admin, case, "resolved")

    changes = history_of(case.pk)[-1].changes
    assert changes == {
        "status": ["open", "resolved"],
        "resolved_at": [None, (T0 + HOUR).isoformat()],
    }


def test_closing_an_unresolved_case_resolves_it_at_the_same_time(admin, make_case):
    with clock.frozen(T0):
        case = make_case()
        clock.advance(HOUR)
        case = move(admin, case, "closed")

    assert times(case) == (T0 + HOUR, T0 + HOUR, T0 + HOUR)


def test_reopening_a_closed_case_as_resolved_keeps_its_resolution_time(admin, make_case):
    with clock.frozen(T0):
        case = make_case(status="resolved")
        clock.advance(HOUR)
        case = move(admin, case, "closed")
        clock.advance(HOUR)
        case = move(admin, case, "resolved")

    assert times(case) == (T0, T0, None)


def test_case_opened_already_worked_has_its_first_response_at_once(make_case):
    with clock.frozen(T0):
        case = make_case(status="pending", opened_at=T0 - 2 * HOUR)

    assert case.opened_at == T0 - 2 * HOUR
    assert times(case) == (T0, None, None)


def test_first_response_is_stamped_once(admin, make_case):
    with clock.frozen(T0):
        case = make_case(status="open")
        clock.advance(HOUR)
        case = move(admin, case, "resolved")
        clock.advance(HOUR)
        case = move(admin, case, "open")

    assert case.first_response_at == T0


def test_same_status_again_changes_nothing(admin, make_case):
    with clock.frozen(T0):
        case = make_case(status="resolved")
        clock.advance(HOUR)
        again = move(admin, case, "resolved")

    assert (again.version, again.resolved_at) == (1, T0)


def test_worked_case_cannot_return_to_new(admin, make_case):
    case = make_case(status="open")

    with pytest.raises(InvalidInput) as caught:
        move(admin, case, "new")

    assert [e.field for e in caught.value.errors] == ["status"]


def test_lifecycle_times_are_not_writable_through_the_api(admin_api, make_case):
    case = make_case()

    response = admin_api.patch(
        f"/api/v1/cases/{case.pk}", {"resolved_at": T0.isoformat()}, if_match='"1"'
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "resolved_at"


def test_status_change_through_the_api_stamps_the_clock_time(admin_api, make_case):
    case = make_case()
    with clock.frozen(T0):
        response = admin_api.patch(
            f"/api/v1/cases/{case.pk}", {"status": "resolved"}, if_match='"1"'
        )

    body = response.json()
    assert dt.datetime.fromisoformat(body["first_response_at"]) == T0
    assert dt.datetime.fromisoformat(body["resolved_at"]) == T0
    assert body["closed_at"] is None

"""SLA policies: business-time arithmetic, which policy a case gets, its due times, and the
warning and breach notices the SLA job sends once each."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.activities.models import Notification, NotificationKind
from accord.core import clock
from accord.core.errors import InvalidInput, PermissionDenied
from accord.core.models import HistoryEntry
from accord.parties.services import accounts
from accord.service import sla
from accord.service.models import Case, Holiday
from accord.service.services import cases
from accord.service.sla_config import calendars, sla_policies
from accord.service.tasks import check_sla_targets

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def office(**changes: object) -> sla.Hours:
    values = {"timezone": "Europe/Berlin", "always_open": False, "week": OFFICE, "holidays": ()}
    return sla.hours_of(**{**values, **changes})  # type: ignore[arg-type]


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


# -- business time ------------------------------------------------------------------------------


def test_business_time_continues_next_morning():
    # Monday 2026-11-30, 16:00: one hour today, one tomorrow.
    assert sla.add_business_time(berlin(2026, 11, 30, 16), minutes(120), office()) == berlin(
        2026, 12, 1, 10
    )


def test_business_time_skips_the_weekend():
    assert sla.add_business_time(berlin(2026, 12, 4, 16, 30), minutes(60), office()) == berlin(
        2026, 12, 7, 9, 30
    )


def test_business_time_skips_holidays():
    hours = office(holidays=[dt.date(2026, 12, 7)])
    assert sla.add_business_time(berlin(2026, 12, 4, 16, 30), minutes(60), hours) == berlin(
        2026, 12, 8, 9, 30
    )


def test_business_time_starts_at_the_next_opening_and_may_end_at_closing():
    assert sla.add_business_time(berlin(2026, 11, 30, 7), minutes(30), office()) == berlin(
        2026, 11, 30, 9, 30
    )
    assert sla.add_business_time(berlin(2026, 11, 30, 16), minutes(60), office()) == berlin(
        2026, 11, 30, 17
    )


def test_business_time_follows_the_change_to_summer_time():
    # 29 March 2026 has 23 hours in Berlin: a whole-day calendar gives it 23 business hours.
    whole_days = office(week={day: [["00:00", "24:00"]] for day in sla.WEEKDAYS})
    start = berlin(2026, 3, 28, 12)
    due = sla.add_business_time(start, dt.timedelta(hours=24), whole_days)
    assert due == berlin(2026, 3, 29, 13)
    assert due.astimezone(BERLIN).utcoffset() == dt.timedelta(hours=2)
    # Office hours keep their wall-clock times across the change.
    assert sla.add_business_time(berlin(2026, 3, 27, 16), minutes(120), office()) == berlin(
        2026, 3, 30, 10
    )
    assert sla.business_time_between(
        berlin(2026, 3, 27, 16), berlin(2026, 3, 30, 10), office()
    ) == dt.timedelta(hours=2)


def test_around_the_clock_counts_every_minute():
    hours = sla.Hours.around_the_clock()
    start = berlin(2026, 12, 5, 23)
    assert sla.add_business_time(start, minutes(90), hours) == start + minutes(90)
    assert sla.business_time_between(start, start + minutes(90), hours) == minutes(90)


def test_business_time_between_counts_only_open_hours():
    assert sla.business_time_between(
        berlin(2026, 12, 4, 16), berlin(2026, 12, 7, 10), office()
    ) == dt.timedelta(hours=2)
    assert sla.business_time_between(
        berlin(2026, 12, 7, 10), berlin(2026, 12, 4, 16), office()
    ) == dt.timedelta(0)


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(
        min_value=dt.datetime(2026, 1, 1),
        max_value=dt.datetime(2027, 12, 31),
        timezones=st.just(BERLIN),
    ),
    amount=st.integers(min_value=0, max_value=20_000),
)
def test_adding_then_measuring_business_time_gives_the_amount_back(start, amount):
    hours = office(holidays=[dt.date(2026, 12, 25), dt.date(2027, 1, 1)])
    due = sla.add_business_time(start, minutes(amount), hours)
    assert due >= start
    assert sla.business_time_between(start, due, hours) == minutes(amount)


def test_calendar_without_openings_cannot_reach_a_target():
    with pytest.raises(sla.CalendarError):
        sla.add_business_time(berlin(2026, 12, 1), minutes(1), office(week={}))


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ({"mon": [["17:00", "09:00"]]}, "before"),
        ({"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}, "overlap"),
        ({"funday": [["09:00", "17:00"]]}, "unknown weekday"),
        ({"mon": [["9", "17:00"]]}, "not a time"),
        ({"mon": [["09:00", "24:30"]]}, "not a time of day"),
    ],
)
def test_bad_weekly_hours_are_refused(week, message):
    with pytest.raises(ValueError, match=message):
        sla.parse_week(week)


def test_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        sla.zone("Europe/Atlantis")


# -- policies -----------------------------------------------------------------------------------


@pytest.fixture
def make_policy(admin):
    def make(name: str, **data: object):
        values = {"first_response_minutes": 60, "resolution_minutes": 480, **data}
        return sla_policies.create(actor=admin, data={"name": name, **values})

    return make


def test_most_specific_policy_wins(make_policy, make_queue):
    queue = make_queue()
    make_policy("Everyone")
    make_policy("Urgent", priority="urgent", first_response_minutes=15)
    make_policy("Urgent in queue", priority="urgent", queue_id=queue.pk, first_response_minutes=5)
    policies = list(sla_policies.model.objects.all())

    def pick(**case: object) -> str:
        found = sla.match_policy(policies, **{"queue_id": None, "tier": "standard", **case})
        return found.name if found else ""

    assert pick(priority="normal") == "Everyone"
    assert pick(priority="urgent") == "Urgent"
    assert pick(priority="urgent", queue_id=queue.pk) == "Urgent in queue"


def test_order_breaks_ties_between_equally_specific_policies(make_policy):
    make_policy("B gold", tier="gold", order=5)
    make_policy("A high", priority="high", order=9)
    policies = list(sla_policies.model.objects.all())
    found = sla.match_policy(policies, queue_id=None, priority="high", tier="gold")
    assert found is not None
    assert found.name == "B gold"


def test_case_takes_the_policy_of_its_accounts_tier(admin, make_policy, make_case):
    make_policy("Standard", first_response_minutes=240, resolution_minutes=2400)
    gold = make_policy("Gold", tier="gold", first_response_minutes=30, resolution_minutes=240)
    account = accounts.create(actor=admin, data={"name": "Goldfinch AG", "tier": "gold"})
    with clock.frozen(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)):
        case = make_case(account_id=account.pk)
        assert case.sla_policy == gold
        assert case.first_response_due_at == clock.now() + minutes(30)
        assert case.resolution_due_at == clock.now() + minutes(240)
        assert case.sla_due_at == case.first_response_due_at


def test_only_administrators_change_policies(make_user):
    with pytest.raises(PermissionDenied):
        sla_policies.create(
            actor=make_user(),
            data={"name": "Mine", "first_response_minutes": 1, "resolution_minutes": 2},
        )


def test_policy_input_is_checked(make_policy):
    with pytest.raises(InvalidInput) as caught:
        make_policy("Bad", first_response_minutes=0, resolution_minutes=30, warn_at_percent=100)
    fields = {e.field for e in caught.value.errors}
    assert fields == {"first_response_minutes", "warn_at_percent"}
    with pytest.raises(InvalidInput, match="resolution_minutes"):
        make_policy("Backwards", first_response_minutes=60, resolution_minutes=30)


# -- due times on cases -------------------------------------------------------------------------


@pytest.fixture
def office_queue(admin, make_queue):
    calendar = calendars.create(
        actor=admin,
        data={
            "name": "Berlin office",
            "timezone": "Europe/Berlin",
            "hours": OFFICE,
            "holidays": [{"date": "2026-12-07", "name": "Company day"}],
        },
    )
    return make_queue(name="Support DE", calendar_id=calendar.pk)


def test_calendar_keeps_its_holidays_and_records_them_in_its_history(admin, office_queue):
    calendar = office_queue.calendar
    assert list(Holiday.objects.filter(calendar=calendar).values_list("name", flat=True)) == [
        "Company day"
    ]
    calendars.update(
        actor=admin,
        record_id=calendar.pk,
        data={"holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}]},
        expected_version=None,
    )
    assert [h.date for h in Holiday.objects.filter(calendar=calendar)] == [dt.date(2026, 12, 24)]
    entry = HistoryEntry.objects.filter(object_id=calendar.pk, verb="updated").get()
    assert "holidays" in entry.changes


def test_calendar_needs_openings_and_a_real_time_zone(admin):
    with pytest.raises(InvalidInput) as caught:
        calendars.create(actor=admin, data={"name": "Never", "timezone": "Mars/Olympus"})
    assert {e.field for e in caught.value.errors} == {"timezone", "hours"}


def test_due_times_count_business_hours_of_the_queue(make_policy, make_case, office_queue):
    make_policy("Support", first_response_minutes=120, resolution_minutes=960)
    # Friday 16:00 in Berlin: Monday is a holiday, so the work resumes on Tuesday.
    with clock.frozen(berlin(2026, 12, 4, 16)):
        case = make_case(queue_id=office_queue.pk)
    assert case.first_response_due_at == berlin(2026, 12, 8, 10)
    assert case.resolution_due_at == berlin(2026, 12, 9, 16)


def test_priority_change_moves_the_due_times_with_history(admin, make_policy, make_case):
    make_policy("Normal", first_response_minutes=240, resolution_minutes=2400)
    make_policy("Urgent", priority="urgent", first_response_minutes=15, resolution_minutes=120)
    with clock.frozen(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)):
        case = make_case()
        opened = case.opened_at
        clock.advance(minutes(5))
        case = cases.update(
            actor=admin, record_id=case.pk, data={"priority": "urgent"}, expected_version=None
        )
    assert case.sla_policy.name == "Urgent"
    assert case.first_response_due_at == opened + minutes(15)
    entry = HistoryEntry.objects.filter(object_id=case.pk, verb="updated").get()
    assert {"priority", "sla_policy_id", "first_response_due_at"} <= set(entry.changes)


def test_first_response_stops_its_timer_and_resolving_stops_the_other(
    admin, make_policy, make_case
):
    make_policy("All", first_response_minutes=60, resolution_minutes=480)
    with clock.frozen(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)):
        case = make_case()
        assert case.sla_due_at == case.first_response_due_at
        clock.advance(minutes(10))
        case = cases.update(
            actor=admin, record_id=case.pk, data={"status": "open"}, expected_version=None
        )
        assert case.first_response_at is not None
        assert case.sla_due_at == case.resolution_due_at
        assert case.sla_check_at == case.opened_at + minutes(480 * 0.8)
        case = cases.update(
            actor=admin, record_id=case.pk, data={"status": "resolved"}, expected_version=None
        )
    assert case.sla_due_at is None
    assert case.sla_check_at is None


def test_case_without_a_matching_policy_has_no_targets(make_case):
    case = make_case()
    assert (case.sla_policy, case.first_response_due_at, case.sla_check_at) == (None, None, None)


# -- warnings and breaches ----------------------------------------------------------------------


def _sla_notices(user):
    return list(
        Notification.objects.filter(recipient=user, kind=NotificationKind.SLA_WARNING)
        .order_by("created_at", "pk")
        .values_list("title", flat=True)
    )


def test_owner_is_warned_then_told_of_the_breach_once_each(make_user, make_policy, make_case):
    agent = make_user(username="agent")
    make_policy("Fast", first_response_minutes=60, resolution_minutes=600, warn_at_percent=80)
    with clock.frozen(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)):
        case = make_case(owner=agent)
        clock.advance(minutes(47))
        assert check_sla_targets.call() == 0
        clock.advance(minutes(1))
        assert check_sla_targets.call() == 1
        assert check_sla_targets.call() == 0
        assert _sla_notices(agent) == ["A case is close to missing its first-response target"]
        clock.advance(minutes(13))
        assert check_sla_targets.call() == 1
        clock.advance(minutes(5))
        assert check_sla_targets.call() == 0
    assert _sla_notices(agent) == [
        "A case is close to missing its first-response target",
        "A case missed its first-response target",
    ]
    case.refresh_from_db()
    assert case.first_response_alert == Case.SlaAlert.BREACHED
    notice = Notification.objects.filter(recipient=agent).last()
    assert (notice.object_type, notice.object_id) == ("case", case.pk)


def test_a_case_answered_in_time_gets_no_breach_notice(admin, make_user, make_policy, make_case):
    agent = make_user(username="agent")
    make_policy("Fast", first_response_minutes=60, resolution_minutes=6000)
    with clock.frozen(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)):
        case = make_case(owner=agent)
        clock.advance(minutes(50))
        check_sla_targets.call()
        cases.update(actor=agent, record_id=case.pk, data={"status": "open"}, expected_version=None)
        clock.advance(minutes(60))
        assert check_sla_targets.call() == 0
    assert _sla_notices(agent) == ["A case is close to missing its first-response target"]


def test_api_shows_the_due_times_of_a_case(admin_api, make_policy, make_case):
    policy = make_policy("All", first_response_minutes=60, resolution_minutes=480)
    with clock.frozen(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)):
        case = make_case()
    body = admin_api.get(f"/api/v1/cases/{case.pk}").json()
    assert body["sla_policy_id"] == str(policy.pk)
    assert dt.datetime.fromisoformat(body["first_response_due_at"]) == case.first_response_due_at
    assert dt.datetime.fromisoformat(body["resolution_due_at"]) == case.resolution_due_at
    refused = admin_api.patch(
        f"/api/v1/cases/{case.pk}", {"first_response_due_at": None}, if_match="*"
    )
    assert refused.status_code == 422

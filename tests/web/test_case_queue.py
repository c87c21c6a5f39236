"""The case queue page (Service workspace) and the Settings pages for queues, business
calendars and SLA policies."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.core import clock
from accord.core.models import HistoryEntry
from accord.identity.models import Access, ObjectPermission, SharingDefault
from accord.service.models import BusinessCalendar, Case, SlaPolicy
from accord.service.services import cases, queues
from accord.service.sla_config import sla_policies
from accord.service.views import duration_text
from tests.web.fixtures import assert_page, make_role, signed_in

START = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


@pytest.fixture
def agent_role(db):
    role = make_role("Service agent")
    for object_type in ("case", "queue", "account"):
        ObjectPermission.objects.create(
            role=role, object_type=object_type, can_create=True, can_read=True, can_edit=True
        )
    return role


@pytest.fixture
def agent(make_user, agent_role):
    user = make_user(username="ana")
    user.first_name, user.last_name, user.role = "Ana", "Agent", agent_role
    user.save()
    return user


@pytest.fixture
def colleague(make_user, agent_role):
    user = make_user(username="carl")
    user.role = agent_role
    user.save()
    return user


@pytest.fixture
def support(admin):
    return queues.create(actor=admin, data={"name": "Support"})


@pytest.fixture
def policy(admin):
    return sla_policies.create(
        actor=admin,
        data={"name": "Standard", "first_response_minutes": 60, "resolution_minutes": 480},
    )


def _case(owner, **data):
    return cases.create(actor=owner, data={"subject": "Printer on fire", **data})


def test_queue_lists_my_cases_most_urgent_first_with_time_left(agent, policy, admin):
    with clock.frozen(START):
        urgent_policy = sla_policies.create(
            actor=admin,
            data={
                "name": "Urgent",
                "priority": "urgent",
                "first_response_minutes": 10,
                "resolution_minutes": 60,
            },
        )
        later = _case(agent, subject="Later one")
        sooner = _case(agent, subject="Sooner one", priority="urgent")
        assert sooner.sla_policy == urgent_policy
        clock.advance(dt.timedelta(minutes=9))
        page = assert_page(signed_in(agent).get("/service/queue/"))
    assert page.index("Sooner one") < page.index("Later one")
    assert "At risk" in page
    assert "1 min left" in page
    assert "51 min left" in page
    assert f'data-sla-due="{sooner.first_response_due_at.isoformat()}"' in page
    assert "service/queue.js" in page
    assert later.reference in page


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "under 1 min"),
        (-420, "7 min"),
        (2 * 3600 + 300, "2 h 5 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
    ],
)
def test_time_left_reads_in_days_hours_and_minutes(seconds, text):
    assert duration_text(seconds) == text


def test_breached_target_reads_overdue(agent, policy):
    with clock.frozen(START):
        _case(agent)
        clock.advance(dt.timedelta(minutes=75))
        page = assert_page(signed_in(agent).get("/service/queue/"))
    assert "Breached" in page
    assert "Overdue by 15 min" in page
    assert "sla-breached" in page


def test_htmx_refresh_sends_only_the_table(agent, policy):
    _case(agent)
    response = signed_in(agent).get("/service/queue/?queue=mine", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="case-queue"')
    assert "<html" not in html


def test_queue_shows_only_cases_the_agent_may_see(agent, colleague, support, policy):
    SharingDefault.objects.update_or_create(object_type="case", defaults={"access": Access.PRIVATE})
    _case(agent, subject="Mine to see", queue_id=support.pk)
    _case(colleague, subject="Hidden from ana", queue_id=support.pk)
    page = assert_page(signed_in(agent).get(f"/service/queue/?queue={support.pk}"))
    assert "Mine to see" in page
    assert "Hidden from ana" not in page


def test_filters_by_queue_and_unqueued(agent, support):
    _case(agent, subject="In support", queue_id=support.pk)
    _case(agent, subject="Nowhere yet")
    client = signed_in(agent)
    in_queue = assert_page(client.get(f"/service/queue/?queue={support.pk}"))
    assert "In support" in in_queue
    assert "Nowhere yet" not in in_queue
    unqueued = assert_page(client.get("/service/queue/?queue=unqueued"))
    assert "Nowhere yet" in unqueued
    assert "In support" not in unqueued
    assert client.get("/service/queue/?queue=not-a-queue").status_code == 404


def _shared_cases(access: str = Access.PUBLIC_READ_WRITE) -> None:
    SharingDefault.objects.update_or_create(object_type="case", defaults={"access": access})


def test_claim_assigns_the_case_to_me_and_returns_to_the_queue(agent, colleague, support):
    _shared_cases()
    case = _case(colleague, queue_id=support.pk)
    response = signed_in(agent).post(f"/service/queue/{case.pk}/claim", {"queue": str(support.pk)})
    assert response.status_code == 302
    assert response["Location"] == f"/service/queue/?queue={support.pk}"
    case.refresh_from_db()
    assert case.owner == agent
    entry = HistoryEntry.objects.filter(object_id=case.pk, verb="updated").get()
    assert entry.changes["owner_id"] == [str(colleague.pk), str(agent.pk)]
    assert entry.source == "web"


def test_assign_and_status_change_go_through_the_case_service(agent, colleague):
    case = _case(agent)
    client = signed_in(agent)
    client.post(f"/service/queue/{case.pk}/status", {"status": "pending", "queue": "mine"})
    client.post(f"/service/queue/{case.pk}/assign", {"owner_id": str(colleague.pk)})
    case.refresh_from_db()
    assert (case.owner, case.status) == (colleague, Case.Status.PENDING)
    assert case.first_response_at is not None


def test_bad_status_is_reported_not_saved(agent):
    case = _case(agent)
    response = signed_in(agent).post(
        f"/service/queue/{case.pk}/status", {"status": "exploded"}, follow=True
    )
    page = assert_page(response)
    assert "Invalid value for: status" in page
    case.refresh_from_db()
    assert case.status == Case.Status.NEW


def test_actions_on_an_invisible_case_are_404(agent, colleague):
    SharingDefault.objects.update_or_create(object_type="case", defaults={"access": Access.PRIVATE})
    case = _case(colleague)
    response = signed_in(agent).post(f"/service/queue/{case.pk}/claim")
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.owner == colleague


def test_queue_page_needs_the_right_to_read_cases(make_user):
    role = make_role("No cases")
    ObjectPermission.objects.create(role=role, object_type="account", can_read=True)
    user = make_user(username="nobody")
    user.role = role
    user.save()
    assert signed_in(user).get("/service/queue/").status_code == 403


# -- Settings ---------------------------------------------------------------------------------


def test_admin_creates_a_calendar_with_hours_and_holidays(admin):
    client = signed_in(admin)
    assert_page(client.get("/settings/business-calendars/new"))
    response = client.post(
        "/settings/business-calendars/new",
        {
            "name": "Berlin office",
            "timezone": "Europe/Berlin",
            "mon_opens": "09:00",
            "mon_closes": "17:00",
            "fri_opens": "09:00",
            "fri_closes": "13:00",
            "holidays": "2026-12-24 Christmas Eve\n2026-12-31",
        },
    )
    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(name="Berlin office")
    assert calendar.hours == {"mon": [["09:00", "17:00"]], "fri": [["09:00", "13:00"]]}
    assert [h.name for h in calendar.holidays.all()] == ["Christmas Eve", ""]
    listing = assert_page(client.get("/settings/business-calendars/"))
    assert "Berlin office" in listing
    assert "Europe/Berlin" in listing
    edit = assert_page(client.get(f"/settings/business-calendars/{calendar.pk}/"))
    assert 'value="09:00"' in edit
    assert "2026-12-24 Christmas Eve" in edit


def test_calendar_errors_show_on_the_form(admin):
    response = signed_in(admin).post(
        "/settings/business-calendars/new",
        {"name": "Bad", "timezone": "UTC", "mon_opens": "17:00", "mon_closes": "09:00"},
    )
    page = assert_page(response, 422)
    assert "must be before" in page
    assert not BusinessCalendar.objects.filter(name="Bad").exists()


def test_admin_edits_a_queue_and_picks_its_calendar(admin, support):
    client = signed_in(admin)
    client.post(
        "/settings/business-calendars/new",
        {"name": "Always", "timezone": "UTC", "always_open": "on"},
    )
    calendar = BusinessCalendar.objects.get(name="Always")
    response = client.post(
        f"/settings/queues/{support.pk}/",
        {"name": "Support", "calendar_id": str(calendar.pk), "active": "on"},
    )
    assert response.status_code == 302
    support.refresh_from_db()
    assert support.calendar == calendar
    assert "Always" in assert_page(client.get("/settings/queues/"))


def test_admin_creates_and_deactivates_an_sla_policy(admin, support):
    client = signed_in(admin)
    assert_page(client.get("/settings/sla-policies/new"))
    response = client.post(
        "/settings/sla-policies/new",
        {
            "name": "Urgent support",
            "queue_id": str(support.pk),
            "priority": "urgent",
            "tier": "",
            "first_response_minutes": "15",
            "resolution_minutes": "240",
            "warn_at_percent": "75",
            "order": "10",
            "active": "on",
        },
    )
    assert response.status_code == 302
    policy = SlaPolicy.objects.get(name="Urgent support")
    assert (policy.queue, policy.priority, policy.tier) == (support, "urgent", "")
    client.post(
        f"/settings/sla-policies/{policy.pk}/",
        {
            "name": "Urgent support",
            "queue_id": str(support.pk),
            "priority": "urgent",
            "first_response_minutes": "15",
            "resolution_minutes": "240",
            "warn_at_percent": "75",
            "order": "10",
        },
    )
    policy.refresh_from_db()
    assert not policy.active
    assert "Inactive" in assert_page(client.get("/settings/sla-policies/"))


def test_policy_errors_show_next_to_the_field(admin):
    response = signed_in(admin).post(
        "/settings/sla-policies/new",
        {
            "name": "Backwards",
            "first_response_minutes": "60",
            "resolution_minutes": "30",
            "warn_at_percent": "80",
            "order": "100",
        },
    )
    page = assert_page(response, 422)
    assert "cannot be shorter than the first response time" in page


@pytest.mark.parametrize(
    "path",
    [
        "/settings/queues/",
        "/settings/queues/new",
        "/settings/business-calendars/",
        "/settings/business-calendars/new",
        "/settings/sla-policies/",
        "/settings/sla-policies/new",
    ],
)
def test_settings_pages_are_for_administrators_only(path, agent, manager_client):
    assert signed_in(agent).get(path).status_code == 403
    assert manager_client.get(path).status_code == 403
    assert signed_in(agent).post(path, {"name": "Sneaky"}).status_code == 403


def test_settings_menu_lists_service_sections_for_admins_only(admin, manager_client):
    page = assert_page(signed_in(admin).get("/settings/"))
    assert "SLA policies" in page
    assert "Business calendars" in page
    assert "SLA policies" not in assert_page(manager_client.get("/settings/"))

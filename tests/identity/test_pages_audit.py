"""Settings pages for auditing: the security log (filters, keyset paging) and "explain
access", which answers from the same rules as the visibility filter."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.core import clock
from accord.identity import audit
from accord.identity.models import ObjectPermission, SharingDefault
from tests.web.fixtures import assert_page, make_role

pytest_plugins = ["tests.web.fixtures"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def events(staff, manager):
    with clock.frozen(T0):
        audit.record("login", actor=staff)
        clock.advance(dt.timedelta(days=1))
        audit.record("login", username="mallory", outcome="failure")
        clock.advance(dt.timedelta(days=1))
        audit.record("role_changed", actor=manager, details={"action": "create"})


def test_security_log_lists_events_newest_first(manager_client, events):
    page = assert_page(manager_client.get("/settings/security-log/"))
    body = page.split("<tbody>", 1)[1]
    assert body.index("role_changed") < body.index("mallory") < body.index(">sam<")
    assert '<time datetime="2026-03-04T09:00:00+00:00">2026-03-04 09:00:00</time>' in body


def test_security_log_filters_by_kind_outcome_actor_and_day(manager_client, events):
    failures = assert_page(manager_client.get("/settings/security-log/", {"outcome": "failure"}))
    assert "mallory" in failures
    assert ">sam<" not in failures
    by_actor = assert_page(manager_client.get("/settings/security-log/", {"actor": "maria"}))
    assert "role_changed" in by_actor
    assert "mallory" not in by_actor
    one_day = assert_page(
        manager_client.get(
            "/settings/security-log/", {"since": "2026-03-03", "until": "2026-03-03"}
        )
    )
    tbody = one_day.split("<tbody>", 1)[1]
    assert "mallory" in tbody
    assert "role_changed" not in tbody
    assert ">sam<" not in tbody
    kinds = assert_page(manager_client.get("/settings/security-log/", {"kind": "role_changed"}))
    assert "mallory" not in kinds


def test_security_log_refuses_an_unknown_actor_inline(manager_client, events):
    page = assert_page(manager_client.get("/settings/security-log/", {"actor": "nobody"}), 422)
    field = page.split('<label for="id_actor">', 1)[1].split('<div class="field')[0]
    assert "No user has this username." in field


def test_security_log_pages_with_a_cursor_and_keeps_the_filters(
    manager_client, events, monkeypatch
):
    monkeypatch.setattr("accord.identity.views.audit.PAGE_SIZE", 1)
    first = assert_page(manager_client.get("/settings/security-log/", {"kind": "login"}))
    assert "mallory" in first
    link = first.split('rel="next"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    assert "kind=login" in link
    second = assert_page(manager_client.get(f"/settings/security-log/{link.replace('&amp;', '&')}"))
    tbody = second.split("<tbody>", 1)[1]
    assert ">sam<" in tbody
    assert "mallory" not in tbody
    assert 'rel="next"' not in second


@pytest.fixture
def manager_reads_accounts(manager_role):
    """Explaining a record needs the explainer to see it too."""
    ObjectPermission.objects.create(role=manager_role, object_type="account", can_read=True)


@pytest.mark.usefixtures("manager_reads_accounts")
def test_explain_access_shows_why_a_person_sees_a_record(manager_client, staff, make_account):
    account = make_account(name="Globex", owner=staff)
    page = assert_page(
        manager_client.get(
            "/settings/explain/",
            {"user_id": str(staff.pk), "object_type": "account", "record_id": str(account.pk)},
        )
    )
    answer = page.split('id="answer"', 1)[1]
    assert "owns the record" in answer
    assert 'See: <strong class="tag tag-success">yes</strong>' in answer


@pytest.mark.usefixtures("manager_reads_accounts")
def test_explain_access_says_when_nothing_grants_access(
    manager_client, manager_role, staff, make_user, make_account
):
    SharingDefault.objects.create(object_type="account", access="private")
    # Olga reports to the manager (who may therefore see her account), not to Sam.
    olga = make_user(username="olga")
    olga.role = make_role("Field rep", manager_role)
    olga.save()
    ObjectPermission.objects.create(
        role=olga.role, object_type="account", can_read=True, can_create=True
    )
    account = make_account(name="Globex", owner=olga)
    staff.role = make_role("Inside rep")
    staff.save()
    ObjectPermission.objects.create(role=staff.role, object_type="account", can_read=True)
    page = assert_page(
        manager_client.get(
            "/settings/explain/",
            {"user_id": str(staff.pk), "object_type": "account", "record_id": str(account.pk)},
        )
    )
    answer = page.split('id="answer"', 1)[1]
    assert "nothing grants access to this record" in answer
    assert 'See: <strong class="tag tag-danger">no</strong>' in answer


def test_explain_access_for_an_unknown_record_is_an_inline_error(manager_client, staff):
    page = assert_page(
        manager_client.get(
            "/settings/explain/",
            {
                "user_id": str(staff.pk),
                "object_type": "account",
                "record_id": "01900000-0000-7000-8000-000000000000",
            },
        ),
        404,
    )
    field = page.split('<label for="id_record_id">', 1)[1]
    assert "No such record, or not one you can see." in field
    assert 'id="answer"' not in page

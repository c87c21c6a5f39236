"""End to end in a real browser: an agent's case queue shows a case's SLA target at risk, the
live timer turns it to breached as the due time passes, and after the SLA job ran the page and
the inbox report the breach. The live server runs in this process, so ``clock.frozen`` moves its
clock too. axe-core checks each page (no serious or critical violation) and full-page
screenshots go to ``artifacts/screenshots/``, as in test_browser.py."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from accord.core import clock
from accord.identity.models import ObjectPermission
from accord.identity.services import create_user
from accord.service.services import cases, queues
from accord.service.sla_config import calendars, sla_policies
from accord.service.tasks import check_sla_targets
from tests.web import test_browser
from tests.web.fixtures import make_role
from tests.web.test_browser import PASSWORD, check_page

# The browser and axe-core set-up of test_browser.py, as fixtures of this module too.
axe_source = test_browser.axe_source
browser_page = test_browser.browser_page

pytestmark = pytest.mark.slow

START = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


def _sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_queue_shows_a_breach_as_the_clock_passes_the_target(live_server, axe_source, browser_page):
    page = browser_page
    admin, _ = create_user(username="root", password=PASSWORD, is_superuser=True)
    role = make_role("Service agent")
    for object_type in ("case", "queue", "account"):
        ObjectPermission.objects.create(
            role=role, object_type=object_type, can_create=True, can_read=True, can_edit=True
        )
    agent, _ = create_user(username="ana", password=PASSWORD, first_name="Ana")
    agent.role = role
    agent.save()
    calendar = calendars.create(
        actor=admin, data={"name": "Always on", "timezone": "Europe/Berlin", "always_open": True}
    )
    support = queues.create(actor=admin, data={"name": "Support", "calendar_id": calendar.pk})
    sla_policies.create(
        actor=admin,
        data={"name": "Standard", "first_response_minutes": 60, "resolution_minutes": 480},
    )
    with clock.frozen(START):
        case = cases.create(
            actor=agent, data={"subject": "Printer on fire", "queue_id": str(support.pk)}
        )
        clock.advance(dt.timedelta(minutes=30))
        cases.create(actor=agent, data={"subject": "Toner low"})
        # Three seconds before the first case's first response is due: at risk, not breached.
        clock.advance(dt.timedelta(minutes=30) - dt.timedelta(seconds=3))
        _sign_in(page, f"{live_server.url}/service/queue/", "ana")
        page.wait_for_url("**/service/queue/")
        row = page.locator("tr", has_text="Printer on fire")
        assert "At risk" in row.inner_text()
        assert "under 1 min left" in row.inner_text()
        assert "sla-warning" in row.locator(".sla").get_attribute("class")
        check_page(page, axe_source, "sla-01-queue-at-risk")

        # queue.js counts down from the server's time and marks the breach without a reload.
        # (A locator, not wait_for_function: the page's CSP refuses string evaluation.)
        row.locator(".sla-breached .sla-state", has_text="Breached").wait_for(timeout=15_000)
        assert "Overdue by" in row.inner_text()

        clock.advance(dt.timedelta(minutes=5))
        assert check_sla_targets.call() == 1
        page.reload()
        row = page.locator("tr", has_text="Printer on fire")
        # 4 min 57 s overdue; the live timer may have ticked past the minute since.
        assert "Breached" in row.inner_text()
        assert re.search(r"Overdue by [45] min", row.inner_text())
        # The breached case comes first: most urgent at the top.
        first = page.locator("#case-queue tbody tr").first
        assert case.reference in first.inner_text()
        check_page(page, axe_source, "sla-02-queue-breached")

        page.get_by_role("link", name="Inbox").click()
        page.wait_for_url("**/inbox**")
        assert "missed its first-response target" in page.content()

    # Without the frozen clock the same server still answers: the settings pages, by an admin.
    page.context.clear_cookies()
    _sign_in(page, f"{live_server.url}/settings/sla-policies/", "root")
    page.wait_for_url("**/settings/sla-policies/")
    check_page(page, axe_source, "sla-03-policies")
    page.goto(f"{live_server.url}/settings/business-calendars/new")
    check_page(page, axe_source, "sla-04-calendar-form")
    page.goto(f"{live_server.url}/settings/sla-policies/new")
    check_page(page, axe_source, "sla-05-policy-form")

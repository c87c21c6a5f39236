"""The dashboard in a real browser (Debian's Chromium driven by Playwright): a sales rep signs
in, plotly.js (served from the plotly package) draws the pipeline chart under the page's
Content-Security-Policy, and a click on a bar opens the deal list filtered by that stage. axe
finds no serious or critical violation; screenshots go to ``artifacts/screenshots/``."""

from __future__ import annotations

import pytest

from accord.identity.models import Department
from accord.identity.services import create_user
from accord.parties import services as parties
from accord.sales.services import deals, pipelines, stages
from accord.service.services import cases
from tests.web import test_browser as shared
from tests.web.test_browser import PASSWORD, check_page

pytestmark = pytest.mark.slow

#: The browser and axe-core of the shell's browser test, shared.
axe_source = shared.axe_source
browser_page = shared.browser_page


def test_rep_clicks_a_pipeline_bar_through_to_the_filtered_deals(
    live_server, axe_source, browser_page, admin
):
    page = browser_page
    sales = Department.objects.create(name="Field sales", kind="sales")
    rep, _ = create_user(username="rita", password=PASSWORD, first_name="Rita", department=sales)
    pipeline = pipelines.create(actor=admin, data={"name": "New business", "is_default": True})
    prospecting, proposal = (
        stages.create(actor=admin, data={"pipeline_id": pipeline.pk, "name": name})
        for name in ("Prospecting", "Proposal")
    )
    account = parties.accounts.create(actor=admin, data={"name": "Acme Ltd"})
    for name, stage, amount in (
        ("Sensors rollout", prospecting, "4000"),
        ("Spare parts", prospecting, "1500"),
        ("Maintenance plan", proposal, "9000"),
    ):
        deals.create(
            actor=admin,
            data={
                "name": name,
                "account_id": account.pk,
                "owner_id": rep.pk,
                "stage_id": stage.pk,
                "amount": amount,
            },
        )

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.wait_for_selector(".chart.chart-drawn .point path", timeout=30_000)
    assert page.evaluate("typeof Plotly") == "object"
    # Once drawn, the table folds away but stays one click away.
    assert page.locator("details.chart-table").get_attribute("open") is None
    check_page(page, axe_source, "dashboard-01-home")

    bar = page.locator(".chart .point path").first.bounding_box()
    assert bar is not None
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    page.wait_for_url("**/records/deal/?**")
    assert f"stage_id={prospecting.pk}" in page.url
    listing = page.locator("main").inner_text()
    assert "Sensors rollout" in listing
    assert "Spare parts" in listing
    assert "Maintenance plan" not in listing
    check_page(page, axe_source, "dashboard-02-deals-of-a-stage")

    # The service workspace: cases stacked by status under each priority, with a legend.
    for subject, priority in (("Line down", "urgent"), ("Slow UI", "normal"), ("Typo", "low")):
        cases.create(actor=rep, data={"subject": subject, "priority": priority})
    page.goto(f"{live_server.url}/service/")
    page.wait_for_selector(".chart.chart-drawn .point path", timeout=30_000)
    assert page.locator(".chart .legend").count() == 1
    check_page(page, axe_source, "dashboard-03-service")

    # A phone screen still draws the chart; the table stays one click away.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/sales/")
    page.wait_for_selector(".chart.chart-drawn .point path", timeout=30_000)
    check_page(page, axe_source, "dashboard-04-sales-phone")

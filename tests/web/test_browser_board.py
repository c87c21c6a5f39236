"""The deal board in a real browser (Debian's Chromium driven by Playwright): a sales admin
drags a deal card to another stage, then moves another with the keyboard through the card's
form; each time the column figures change without a page load and focus returns to the card.
axe-core finds no serious or critical violation on the board and the stage settings, the CSP
reports nothing, and full-page screenshots go to ``artifacts/screenshots/``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accord.identity.services import create_user
from accord.parties.services import accounts
from accord.sales.models import Deal
from accord.sales.services import deals
from tests.web.test_board import make_funnel
from tests.web.test_browser import PASSWORD, check_page

pytestmark = pytest.mark.slow


def column(page, stage):
    return page.locator(f'section[data-stage="{stage.pk}"]')


def test_deal_cards_move_by_drag_and_by_keyboard(live_server, axe_source, browser_page):
    page = browser_page
    admin, _ = create_user(username="sara", password=PASSWORD, is_superuser=True)
    funnel = make_funnel(admin)
    account = accounts.create(actor=admin, data={"name": "Acme Ltd"})
    made = {
        name: deals.create(
            actor=admin,
            data={
                "name": name,
                "account_id": account.pk,
                "amount": amount,
                "expected_close": "2026-06-30",
                "stage_id": funnel.open.pk,
            },
        )
        for name, amount in (("Sensors rollout", "12000"), ("Pumps refit", "800"))
    }

    page.goto(f"{live_server.url}/sales/board/")
    page.get_by_label("Username").fill("sara")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/sales/board/")
    assert "2 deals" in column(page, funnel.open).locator(".board-figures").inner_text()
    check_page(page, axe_source, "board-01-board")

    # Drag and drop: the card lands in "Proposal", and both columns' figures follow.
    dragged = made["Sensors rollout"]
    page.drag_and_drop(f"#deal-{dragged.pk}", f'section[data-stage="{funnel.proposal.pk}"]')
    column(page, funnel.proposal).locator(f"#deal-{dragged.pk}").wait_for()
    assert "Moved Sensors rollout to Proposal." in page.locator("#board-status").inner_text()
    figures = column(page, funnel.proposal).locator(".board-figures").inner_text()
    assert "1 deal" in figures
    assert "EUR 12,000.00" in figures
    assert "1 deal" in column(page, funnel.open).locator(".board-figures").inner_text()
    assert Deal.objects.get(pk=dragged.pk).stage_id == funnel.proposal.pk

    # The keyboard: the card's own form, then focus is back on the moved card.
    moved = made["Pumps refit"]
    page.locator(f"#deal-{moved.pk}").focus()
    page.keyboard.press("Tab")  # the deal's link
    page.keyboard.press("Tab")  # "Move to stage"
    assert page.evaluate("document.activeElement.id") == f"move-{moved.pk}"
    page.locator(f"#move-{moved.pk}").select_option(label="Closed won")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    column(page, funnel.won).locator(f"#deal-{moved.pk}").wait_for()
    # A locator, not wait_for_function: the page's CSP refuses the string evaluation its
    # polling needs whenever focus has not moved yet.
    expect(page.locator(f"#deal-{moved.pk}")).to_be_focused()
    assert "Moved Pumps refit to Closed won." in page.locator("#board-status").inner_text()
    assert "0 deals" in column(page, funnel.open).locator(".board-figures").inner_text()
    assert Deal.objects.get(pk=moved.pk).closed_at is not None
    check_page(page, axe_source, "board-02-after-moves")

    page.goto(f"{live_server.url}/settings/pipelines/{funnel.pipeline.pk}/")
    page.get_by_role("button", name=re.compile("move Proposal earlier")).click()
    page.wait_for_load_state()
    rows = page.locator(".stage-table tbody tr td:first-child a").all_inner_texts()
    assert rows[:2] == ["Proposal", "Prospecting"]
    check_page(page, axe_source, "board-03-pipeline-settings")

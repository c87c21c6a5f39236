"""The search box's type-ahead in a real browser (Debian's Chromium driven by Playwright):
"/" jumps to the box, part of a phone number brings suggestions, the keyboard chooses one and
opens its record page; the Settings pages for custom fields and tags and the record page's
"send to another department" form are checked by axe too. Screenshots go to
``artifacts/screenshots/`` like the other browser test's."""

from __future__ import annotations

import pytest

from accord.identity.models import Department
from accord.identity.services import create_user
from accord.parties import services as parties_services
from tests.web.test_browser import PASSWORD, axe_source, browser_page, check_page

__all__ = ["axe_source", "browser_page"]  # fixtures, used by name

pytestmark = pytest.mark.slow


def test_typing_part_of_a_phone_number_and_choosing_a_suggestion(
    live_server, axe_source, browser_page
):
    page = browser_page
    admin, _ = create_user(username="ada", password=PASSWORD, is_superuser=True)
    Department.objects.create(name="Service", kind=Department.Kind.SERVICE)
    contact = parties_services.contacts.create(
        actor=admin,
        data={"first_name": "Phoebe", "last_name": "Phone", "phones": ["+1 212 555 0123"]},
    )
    parties_services.accounts.create(actor=admin, data={"name": "Phone Company"})

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    page.locator("main").click()
    page.keyboard.press("/")
    box = page.get_by_role("combobox", name="Search records")
    assert page.evaluate("document.activeElement.id") == "global-search"
    box.press_sequentially("555 01", delay=30)
    page.wait_for_selector('#global-search-popup [role="option"]')
    assert box.get_attribute("aria-expanded") == "true"
    assert "suggestion" in page.locator("#global-search-status").inner_text()
    options = page.get_by_role("option")
    assert options.first.inner_text() == "Phoebe Phone"
    check_page(page, axe_source, "search-01-suggestions")

    box.press("ArrowDown")
    assert options.first.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    box.press("ArrowDown")  # opens the list again, on the first option
    box.press("Enter")
    page.wait_for_url(f"**/records/contact/{contact.pk}/")
    check_page(page, axe_source, "search-02-record-with-send-to-department")
    assert page.get_by_label("Send to another department").is_visible()

    for name, path in (
        ("search-03-custom-fields", "/settings/custom-fields/"),
        ("search-04-tags", "/settings/tags/"),
    ):
        page.goto(f"{live_server.url}{path}")
        check_page(page, axe_source, name)

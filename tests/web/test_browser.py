"""End to end in a real browser (Debian's Chromium driven by Playwright): an access manager
signs in, opens Settings → Roles and permissions, creates a role and gives it a permission.
axe-core checks every page visited (no serious or critical accessibility violation), the
browser reports no Content-Security-Policy violation, and a full-page screenshot of each page
is saved under ``artifacts/screenshots/`` for a person to look at."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from accord.identity.models import ObjectPermission, Role
from accord.identity.services import create_user
from tests.web.fixtures import make_role

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
#: axe-core from the npm registry, installed by this set-up into the git-ignored artifacts/.
AXE_PACKAGE = "axe-core@4.14.1"
AXE_DIR = ARTIFACTS / "node"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
#: The other Settings pages, each checked by axe once.
OTHER_SETTINGS_PAGES = [
    "/settings/users/",
    "/settings/users/new",
    "/settings/departments/",
    "/settings/teams/new",
    "/settings/territories/new",
    "/settings/sharing/",
    "/settings/sharing/rules/new",
    "/settings/security-log/",
    "/settings/explain/",
    "/search?q=maria",
]


@pytest.fixture(scope="session")
def axe_source() -> str:
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the browser tests")
        subprocess.run(  # noqa: S603 - a fixed command line
            [
                npm,
                "install",
                "--prefix",
                str(AXE_DIR),
                "--no-save",
                "--no-audit",
                "--no-fund",
                AXE_PACKAGE,
            ],
            check=True,
            timeout=300,
        )
    return script.read_text()


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.csp_violations = []
        page.on(
            "console",
            lambda message: (
                page.csp_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        try:
            yield page
        finally:
            # The test's ORM calls while Playwright's event loop runs get connections of their
            # own (Django keys them by async context); give them back before the loop ends, or
            # they stay open and the test database cannot be dropped.
            connections.close_all()
            context.close()
            browser.close()


def check_page(page: Any, axe_source: str, name: str) -> None:
    """No serious or critical axe violation on ``page``; a full-page screenshot saved."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    # Evaluated through the DevTools protocol, which the page's CSP does not govern.
    page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document)")
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {json.dumps(bad, indent=2)}"
    assert not page.csp_violations, page.csp_violations


def test_manager_signs_in_and_creates_a_role(live_server, axe_source, browser_page):
    server_url = live_server.url
    page = browser_page
    manager, _ = create_user(username="maria", password=PASSWORD, first_name="Maria")
    manager.role = make_role("Access admin", manages_access=True)
    manager.save()
    parent = make_role("VP Sales")

    page.goto(f"{server_url}/settings/roles/")
    assert "/login?next=" in page.url
    check_page(page, axe_source, "01-sign-in")

    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/settings/roles/")
    # Our scripts ran under the CSP: accord.js marks the page, htmx is loaded.
    assert page.evaluate("document.documentElement.classList.contains('js')")
    assert page.evaluate("typeof htmx") == "object"
    check_page(page, axe_source, "02-roles")

    page.get_by_role("link", name="Admin", exact=True).click()
    page.wait_for_url("**/settings/")
    check_page(page, axe_source, "03-settings")
    page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="Roles and permissions"
    ).click()
    page.wait_for_url("**/settings/roles/")

    page.get_by_label("Name").fill("Regional sales manager")
    page.get_by_label("Reports to").select_option(label="VP Sales")
    page.get_by_role("button", name="Add the role").click()
    page.wait_for_url("**/permissions/")
    assert "Added the role Regional sales manager" in page.locator('[role="status"]').inner_text()
    role = Role.objects.get(name="Regional sales manager")
    assert role.parent == parent
    check_page(page, axe_source, "04-role-permissions")

    page.get_by_label("Read account", exact=True).check()
    page.get_by_role("button", name="Save permissions").click()
    page.wait_for_load_state()
    assert "Saved the permissions" in page.locator('[role="status"]').inner_text()
    assert ObjectPermission.objects.get(role=role, object_type="account").can_read
    check_page(page, axe_source, "05-permissions-saved")

    # An error shown inline is accessible too: the field says it is invalid and why.
    page.goto(f"{server_url}/settings/roles/")
    page.get_by_role("button", name="Add the role").click()
    name = page.get_by_label("Name", exact=True)
    assert name.get_attribute("aria-invalid") == "true"
    check_page(page, axe_source, "06-role-error")

    for number, path in enumerate(OTHER_SETTINGS_PAGES, start=7):
        page.goto(f"{server_url}{path}")
        check_page(page, axe_source, f"{number:02d}-{re.sub(r'[^a-z0-9]+', '-', path).strip('-')}")

    # The criteria editor: accord.js adds rows, htmx swaps the field names for the chosen type.
    page.goto(f"{server_url}/settings/sharing/rules/new")
    page.get_by_role("button", name="Add a condition").click()
    assert page.locator("[data-rows-body] [data-row]").count() == 2
    assert page.evaluate("document.activeElement.id") == "criteria-1-field"
    page.get_by_label("Records of type").select_option("deal")
    page.wait_for_selector('#criteria-fields option[value="amount"]', state="attached")
    page.locator("[data-rows-body] [data-row]").nth(1).get_by_role("button").click()
    assert page.locator("[data-rows-body] [data-row]").count() == 1
    assert not page.csp_violations, page.csp_violations

    # A narrow screen: the same page stays usable (navigation wraps, nothing hidden).
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server_url}/settings/roles/")
    assert page.get_by_role("link", name="Regional sales manager", exact=True).is_visible()
    check_page(page, axe_source, "99-roles-phone")

"""End to end in a real browser (Debian's Chromium driven by Playwright), issue 5's everyday
flows of the staff app: signing in with a second factor and creating linked records, logging a
call, an inline validation error, the stale-edit conflict screen, a list view shared with a
team, the CSV export of a view, an assignment reaching the assignee's inbox once, and an
attachment refused for what its bytes are rather than what its name says.

Every test runs axe-core on the main page it checks (no serious or critical violation, no CSP
violation) and saves a full-page screenshot under ``artifacts/screenshots/`` (the fixtures and
``check_page`` are test_browser's, the fixtures shared through conftest)."""

from __future__ import annotations

import csv
import re
from typing import Any

import pyotp
import pytest

from accord.activities.models import Notification
from accord.core import clock
from accord.identity.models import MfaDevice, User
from accord.identity.services import create_team, create_user
from accord.parties.models import Account, Attachment, Contact
from accord.parties.services import accounts, contacts
from accord.sales.models import Deal, Lead
from accord.sales.services import leads, pipelines, stages
from accord.web.models import SavedView
from tests.web.test_browser import PASSWORD, check_page

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.sync_api").expect

#: A record page's address: ``/records/<type>/<uuid>/``.
RECORD_URL = r"**/records/{}/*-*-*-*-*/"
#: The first bytes of a Windows executable, named like a PDF.
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 240
#: A small but well-formed PDF (one empty page).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def person(username: str, **kw: Any) -> User:
    user, _ = create_user(username=username, password=PASSWORD, is_superuser=True, **kw)
    return user


def sign_in(page: Any, server_url: str, username: str, *, code: str | None = None) -> None:
    page.goto(f"{server_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if code is not None:
        page.wait_for_url("**/login/verify**")
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{server_url}/")


def other_page(page: Any) -> Any:
    """A second browser, signed in as nobody yet (its own cookies)."""
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    second = context.new_page()
    second.set_default_timeout(15_000)
    second.csp_violations = []
    return second


def says(page: Any, text: str) -> None:
    """The page's messages (after a redirect) include ``text``, waiting for it to load."""
    expect(page.locator(".messages")).to_contain_text(text)


def test_sign_in_with_mfa_and_create_an_account_contact_and_deal(
    live_server, axe_source, browser_page
):
    page, server_url = browser_page, live_server.url
    user = person("olga")
    secret = pyotp.random_base32()
    MfaDevice.objects.create(user=user, secret=secret, created_at=clock.now())
    MfaDevice.objects.filter(user=user).update(confirmed_at=clock.now())
    # A new deal goes to the first stage of the default pipeline, as on any configured install.
    pipeline = pipelines.create(actor=user, data={"name": "New business"})
    stages.create(actor=user, data={"pipeline_id": pipeline.pk, "name": "Qualify"})

    page.goto(f"{server_url}/login")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/verify**")
    check_page(page, axe_source, "flows-01-mfa-code")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{server_url}/")

    page.goto(f"{server_url}/records/account/")
    page.get_by_role("link", name="New account").click()
    page.wait_for_url("**/records/account/new")
    check_page(page, axe_source, "flows-01-new-account")
    page.get_by_label("Name", exact=True).fill("Analytical Engines Ltd")
    page.get_by_label("Industry").fill("Machinery")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(RECORD_URL.format("account"))
    says(page, "Account created.")
    account = Account.objects.get(name="Analytical Engines Ltd")
    account_url = page.url

    # From the account's related list: the new contact's form names the account already.
    page.get_by_role("link", name="New contact").click()
    page.wait_for_url("**/records/contact/new?account_id=*")
    assert page.get_by_label("Account", exact=True).input_value() == str(account.pk)
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(RECORD_URL.format("contact"))
    assert page.get_by_role("link", name="Analytical Engines Ltd").count() >= 1

    page.goto(account_url)
    page.get_by_role("link", name="New deal").click()
    page.wait_for_url("**/records/deal/new?account_id=*")
    page.get_by_label("Name", exact=True).fill("Difference engine no. 2")
    page.get_by_label("Amount").fill("17000")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(RECORD_URL.format("deal"))

    page.goto(account_url)
    contacts_list = page.locator(
        "section.related", has=page.get_by_role("heading", name="Contacts")
    )
    deals_list = page.locator("section.related", has=page.get_by_role("heading", name="Deals"))
    assert contacts_list.get_by_role("link", name="Ada Lovelace").is_visible()
    assert deals_list.get_by_role("link", name="Difference engine no. 2").is_visible()
    check_page(page, axe_source, "flows-01-account-related")
    assert Contact.objects.get(last_name="Lovelace").account_id == account.pk
    assert Deal.objects.get(name="Difference engine no. 2").account_id == account.pk


def test_log_a_call_from_the_quick_actions(live_server, axe_source, browser_page):
    page, server_url = browser_page, live_server.url
    user = person("cleo")
    account = accounts.create(actor=user, data={"name": "Babbage & Co"})
    sign_in(page, server_url, "cleo")

    page.goto(f"{server_url}/records/account/{account.pk}/")
    page.get_by_label("Log a call: subject").fill("Asked about the engine's tolerances")
    page.get_by_label("Notes").fill("Call back on Monday")
    page.get_by_role("button", name="Log the call").click()
    says(page, "Call added.")
    timeline = page.locator("ol.timeline")
    assert "Call: Asked about the engine's tolerances" in timeline.inner_text()
    check_page(page, axe_source, "flows-02-call-on-timeline")


def test_a_validation_error_is_shown_inline_and_nothing_is_saved(
    live_server, axe_source, browser_page
):
    page, server_url = browser_page, live_server.url
    user = person("vera")
    lead = leads.create(
        actor=user, data={"first_name": "Mary", "last_name": "Somerville", "company": "RI"}
    )
    sign_in(page, server_url, "vera")

    page.goto(f"{server_url}/records/lead/{lead.pk}/edit")
    page.get_by_label("Email").fill("mary at example")
    page.get_by_label("Title").fill("Science writer")
    page.get_by_role("button", name="Save").click()
    email = page.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    assert page.locator("#email-errors").inner_text().strip()
    # What the person typed is kept, and nothing of the form was saved.
    assert email.input_value() == "mary at example"
    assert page.get_by_label("Title").input_value() == "Science writer"
    check_page(page, axe_source, "flows-03-invalid-email")
    unchanged = Lead.objects.get(pk=lead.pk)
    assert (unchanged.email, unchanged.title, unchanged.version) == ("", "", lead.version)

    email.fill("mary@example.org")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(RECORD_URL.format("lead"))
    says(page, "Lead saved.")
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.email, saved.title) == ("mary@example.org", "Science writer")


def test_a_stale_edit_shows_the_conflict_screen_and_overwrites_nothing(
    live_server, axe_source, browser_page
):
    page, server_url = browser_page, live_server.url
    user = person("hugo")
    colleague = person("ines")
    account = accounts.create(actor=user, data={"name": "Jacquard Looms", "industry": "Textiles"})
    sign_in(page, server_url, "hugo")

    page.goto(f"{server_url}/records/account/{account.pk}/edit")
    # Meanwhile a colleague renames it (another page, another person: the same service).
    accounts.update(
        actor=colleague,
        record_id=account.pk,
        data={"name": "Jacquard Looms SA"},
        expected_version=account.version,
    )
    page.get_by_label("Name", exact=True).fill("Jacquard Weaving")
    page.get_by_label("Industry").fill("Machinery")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Someone changed this account")
    rows = page.locator("table.conflict-table tbody tr")
    name_row = rows.filter(has=page.get_by_role("rowheader", name="Name"))
    assert name_row.locator("td").all_inner_texts() == ["Jacquard Looms SA", "Jacquard Weaving"]
    industry_row = rows.filter(has=page.get_by_role("rowheader", name="Industry"))
    assert industry_row.locator("td").all_inner_texts() == ["Textiles", "Machinery"]
    check_page(page, axe_source, "flows-04-conflict")
    current = Account.objects.get(pk=account.pk)
    assert (current.name, current.industry) == ("Jacquard Looms SA", "Textiles")
    assert current.version == account.version + 1

    page.get_by_role("link", name="Discard my changes").click()
    page.wait_for_url(RECORD_URL.format("account"))
    assert Account.objects.get(pk=account.pk).name == "Jacquard Looms SA"


def test_a_list_view_shared_with_a_team_is_seen_by_its_members(
    live_server, axe_source, browser_page
):
    page, server_url = browser_page, live_server.url
    owner, member = person("nora"), person("omar")
    create_team(actor=owner, data={"name": "West", "member_ids": [owner.pk, member.pk]})
    for last in ("Hopper", "Hopper", "Lamarr"):
        contacts.create(actor=owner, data={"first_name": "G", "last_name": last})
    sign_in(page, server_url, "nora")

    page.goto(f"{server_url}/records/contact/")
    page.get_by_label("Q", exact=True).fill("hopper")
    page.get_by_text("Columns", exact=True).click()
    page.get_by_label("Title", exact=True).check()
    page.get_by_role("button", name="Apply", exact=True).click()
    page.wait_for_url("**q=hopper**")
    page.get_by_text("Save this view").click()
    page.get_by_label("Name", exact=True).fill("Hoppers")
    page.get_by_label("Share with").select_option(label="Team West")
    page.get_by_role("button", name="Save view").click()
    says(page, "saved for team West")
    view = SavedView.objects.get(name="Hoppers")
    assert view.team is not None
    assert view.team.name == "West"
    assert "q=hopper" in view.query
    assert "columns=title" in view.query

    second = other_page(page)
    try:
        sign_in(second, server_url, "omar")
        second.goto(f"{server_url}/records/contact/")
        second.get_by_role("link", name="Hoppers").click()
        second.wait_for_url("**q=hopper**")
        rows = second.locator("table.record-list tbody tr")
        assert rows.count() == 2
        headers = second.locator("table.record-list thead th").all_inner_texts()
        assert "Title" in headers
        check_page(second, axe_source, "flows-05-shared-view")
    finally:
        second.context.close()


def test_export_a_list_view_to_csv(live_server, axe_source, browser_page, tmp_path):
    page, server_url = browser_page, live_server.url
    user = person("paula")
    account = accounts.create(actor=user, data={"name": "Harwell"})
    for first, last in (("Kathleen", "Booth"), ("Andrew", "Booth"), ("Dina", "St Johnston")):
        contacts.create(
            actor=user, data={"first_name": first, "last_name": last, "account_id": account.pk}
        )
    contacts.create(actor=user, data={"first_name": "Tom", "last_name": "Kilburn"})
    sign_in(page, server_url, "paula")

    page.goto(f"{server_url}/records/contact/?account_id={account.pk}&sort=first_name")
    shown = [
        link.get_attribute("href").rstrip("/").rsplit("/", 1)[-1]
        for link in page.locator("table.record-list tbody tr td:nth-child(2) a").all()
    ]
    assert len(shown) == 3
    check_page(page, axe_source, "flows-06-export-view")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export this view to CSV").click()
    download = download_info.value
    target = tmp_path / "contacts.csv"
    download.save_as(target)
    with target.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "first_name", "last_name", "emails", "account_id", "owner_id"]
    assert [r[0] for r in rows[1:]] == shown
    assert [r[1] for r in rows[1:]] == ["Andrew", "Dina", "Kathleen"]
    assert {r[4] for r in rows[1:]} == {str(account.pk)}


def test_assignment_notifies_the_assignee_once(live_server, axe_source, browser_page):
    page, server_url = browser_page, live_server.url
    manager = person("quinn")
    assignee = person("rosa", first_name="Rosa", last_name="Peter")
    account = accounts.create(actor=manager, data={"name": "Zuse KG"})
    sign_in(page, server_url, "quinn")

    page.goto(f"{server_url}/records/account/{account.pk}/edit")
    page.get_by_label("Owner").fill(str(assignee.pk))
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(RECORD_URL.format("account"))
    assert Account.objects.get(pk=account.pk).owner_id == assignee.pk

    second = other_page(page)
    try:
        sign_in(second, server_url, "rosa")
        badge = second.get_by_role("link", name=re.compile("^Inbox"))
        assert badge.inner_text().split() == ["Inbox", "1", "unread"]
        second.goto(f"{server_url}/inbox/")
        entries = second.locator("ul.inbox > li")
        assert entries.count() == 1
        assert "Account assigned to you" in entries.first.inner_text()
        assert "1 unread" in second.get_by_role("heading", level=1).inner_text()
        check_page(second, axe_source, "flows-07-inbox")
    finally:
        second.context.close()
    assert Notification.objects.filter(recipient=assignee).count() == 1


def test_an_executable_named_pdf_is_refused_and_a_pdf_is_attached(
    live_server, axe_source, browser_page
):
    page, server_url = browser_page, live_server.url
    user = person("sara")
    account = accounts.create(actor=user, data={"name": "Ferranti"})
    sign_in(page, server_url, "sara")

    page.goto(f"{server_url}/records/account/{account.pk}/")
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": EXECUTABLE}
    )
    page.get_by_role("button", name="Attach the file").click()
    error = page.locator("#attach-errors")
    expect(error).to_be_visible()
    assert "may not be attached" in error.inner_text()
    assert page.get_by_label("File", exact=True).get_attribute("aria-invalid") == "true"
    check_page(page, axe_source, "flows-08-attachment-refused")
    assert not Attachment.objects.filter(related_id=account.pk).exists()

    page.get_by_label("File", exact=True).set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Attach the file").click()
    page.wait_for_url(RECORD_URL.format("account"))
    says(page, "Attached report.pdf")
    assert "report.pdf" in page.locator("ol.timeline").inner_text()
    stored = Attachment.objects.get(related_id=account.pk)
    assert (stored.filename, stored.content_type) == ("report.pdf", "application/pdf")

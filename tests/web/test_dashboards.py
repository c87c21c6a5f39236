"""The dashboard cards of the home and workspace pages: declared by the domains, shown to each
department, counted through the visibility filter, drawn with plotly.js from the installed
package, and linked to list pages that show exactly what a bar or a count counts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import html
import json
import re
import types
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accord.activities import dashboards as activity_cards
from accord.activities import services as activities
from accord.core import clock
from accord.core.models import Source
from accord.identity.models import Access, Department, SharingDefault, User
from accord.marketing.services import campaigns
from accord.parties import services as parties
from accord.sales.services import deals, pipelines, stages
from accord.service.services import cases
from accord.web import dashboards, pages
from accord.web.pages import site
from tests.web.fixtures import assert_page, signed_in

NOW = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)
CARD_LABELS = {
    "sales": ["My tasks due", "My pipeline by stage", "Recent activity"],
    "marketing": ["My tasks due", "Campaign calendar", "Recent activity"],
    "service": ["My tasks due", "Open cases by priority", "Recent activity"],
    "back_office": ["My tasks due", "Recent activity"],
}
ALL_LABELS = {label for labels in CARD_LABELS.values() for label in labels}


def card_headings(page: str) -> list[str]:
    return re.findall(r'<h3 id="card-[^"]+">([^<]+)</h3>', page)


def card_html(page: str, key: str) -> str:
    """The HTML of one card of ``page``."""
    start = page.index(f'aria-labelledby="card-{key}"')
    end = page.find("<article", start)
    return page[start : end if end != -1 else len(page)]


def links(fragment: str) -> dict[str, str]:
    """The links of ``fragment``: their text (without markup) → their URL."""
    found = {}
    for url, text in re.findall(r'<a href="([^"]+)">(.*?)</a>', fragment, re.DOTALL):
        found[re.sub(r"<[^>]+>", "", text).strip()] = html.unescape(url)
    return found


def figure(page: str, key: str) -> dict[str, Any]:
    attribute = re.search(r'data-figure="([^"]+)"', card_html(page, key))
    assert attribute, f"no chart in card {key}"
    return json.loads(html.unescape(attribute.group(1)))


@pytest.fixture
def departments(db: None) -> dict[str, Department]:
    return {
        kind: Department.objects.create(name=f"{kind} team", kind=kind)
        for kind in ("sales", "marketing", "service", "finance")
    }


@pytest.fixture
def rep(make_user: Callable[..., User], departments: dict[str, Department]) -> User:
    return make_user(username="rita", department=departments["sales"])


@pytest.fixture
def other_rep(make_user: Callable[..., User], departments: dict[str, Department]) -> User:
    return make_user(username="otto", department=departments["sales"])


@pytest.fixture
def board(admin: User) -> dict[str, Any]:
    pipeline = pipelines.create(actor=admin, data={"name": "New business", "is_default": True})
    made = {
        name: stages.create(actor=admin, data={"pipeline_id": pipeline.pk, "name": name, **extra})
        for name, extra in (
            ("Prospecting", {}),
            ("Proposal", {}),
            ("Closed won", {"is_won": True}),
        )
    }
    return {"pipeline": pipeline, **made}


@pytest.fixture(autouse=True)
def _euros(settings: Any) -> None:
    settings.ACCORD_CURRENCY = "EUR"


@pytest.fixture
def account(admin: User) -> Any:
    return parties.accounts.create(actor=admin, data={"name": "Acme Ltd"})


def make_deal(admin: User, account: Any, owner: User, stage: Any, amount: str, **data: Any) -> Any:
    return deals.create(
        actor=admin,
        data={
            "name": data.pop("name", f"Deal {amount}"),
            "account_id": account.pk,
            "owner_id": owner.pk,
            "stage_id": stage.pk,
            "amount": amount,
            **data,
        },
    )


# -- the registry ------------------------------------------------------------------------------


def test_a_domain_declares_a_card_as_plain_data_and_it_is_shown_to_its_workspace():
    target = pages.Site()
    pages.declare_workspaces(target)
    module = types.ModuleType("accord.example.dashboards")
    module.CARDS = [  # type: ignore[attr-defined]
        {
            "key": "stock",
            "label": "Stock levels",
            "workspaces": ["back_office"],
            "data": lambda user: {"empty": "No stock"},
            "allowed": lambda user: user.name == "clerk",
        }
    ]
    target.read("example", module)
    clerk = types.SimpleNamespace(is_authenticated=True, name="clerk")
    other = types.SimpleNamespace(is_authenticated=True, name="rep")
    assert [c.label for c in target.cards_for(clerk, ["back_office"])] == ["Stock levels"]
    assert target.cards_for(clerk, ["sales"]) == []
    assert target.cards_for(other, ["back_office"]) == []
    assert target.cards[0].template == "web/cards/chart.html"


def test_a_card_for_an_unknown_workspace_or_declared_twice_is_refused():
    target = pages.Site()
    pages.declare_workspaces(target)
    card = {"key": "x", "label": "X", "workspaces": ["sales"], "data": dict}
    target.card(**card)
    with pytest.raises(ImproperlyConfigured, match="declared twice"):
        target.card(**card)
    with pytest.raises(ImproperlyConfigured, match="unknown workspaces"):
        target.card(**{**card, "key": "y", "workspaces": ["warehouse"]})


def test_the_domains_dashboards_modules_are_read_at_start_up():
    keys = {c.key for c in site.cards}
    assert {
        "tasks-due",
        "recent-activity",
        "pipeline-by-stage",
        "open-cases-by-priority",
        "campaign-calendar",
    } <= keys


# -- which cards, where ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "workspace"),
    [
        ("sales", "sales"),
        ("marketing", "marketing"),
        ("service", "service"),
        ("finance", "back_office"),
    ],
)
def test_home_shows_the_cards_of_the_users_department(
    make_user, departments, kind, workspace, board
):
    user = make_user(username=f"{kind}-person", department=departments[kind])
    page = assert_page(signed_in(user).get("/"))
    assert card_headings(page) == CARD_LABELS[workspace]


def test_home_shows_every_card_to_someone_of_no_department(staff_client, board):
    page = assert_page(staff_client.get("/"))
    headings = card_headings(page)
    assert set(headings) == ALL_LABELS
    assert len(headings) == len(ALL_LABELS)  # a card of several workspaces is shown once


@pytest.mark.parametrize("workspace", ["sales", "marketing", "service", "back_office"])
def test_each_workspace_shows_its_cards_above_its_pages(staff_client, workspace, board):
    path = "/back-office/" if workspace == "back_office" else f"/{workspace}/"
    page = assert_page(staff_client.get(path))
    assert card_headings(page) == CARD_LABELS[workspace]
    assert page.index('class="dashboard"') < page.index("<h2>Pages</h2>")


def test_a_card_is_shown_only_to_people_whose_role_may_read_its_records(
    make_user, departments, board
):
    from accord.identity.models import ObjectPermission
    from tests.web.fixtures import make_role

    role = make_role("Field rep")
    for object_type in ("task", "note", "call", "meeting", "account", "contact"):
        ObjectPermission.objects.create(role=role, object_type=object_type, can_read=True)
    user = make_user(username="nodeals", department=departments["sales"])
    user.role = role
    user.save()
    page = assert_page(signed_in(user).get("/"))
    assert card_headings(page) == ["My tasks due", "Recent activity"]


def test_a_failing_card_says_so_and_the_page_still_shows(staff_client, board, monkeypatch):
    def broken(user: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    swapped = [
        dataclasses.replace(c, data=broken) if c.key == "pipeline-by-stage" else c
        for c in site.cards
    ]
    monkeypatch.setattr(site, "cards", swapped)
    page = assert_page(staff_client.get("/sales/"))
    assert "This card could not be loaded" in card_html(page, "pipeline-by-stage")
    assert "My tasks due" in card_headings(page)


# -- the pipeline chart --------------------------------------------------------------------------


def test_pipeline_counts_only_the_reps_own_visible_open_deals(
    admin, rep, other_rep, board, account
):
    SharingDefault.objects.create(object_type="deal", access=Access.PRIVATE)
    make_deal(admin, account, rep, board["Prospecting"], "100.00")
    make_deal(admin, account, rep, board["Prospecting"], "250.00")
    make_deal(admin, account, rep, board["Proposal"], "1000.00")
    make_deal(admin, account, rep, board["Closed won"], "7777.00")
    make_deal(admin, account, other_rep, board["Prospecting"], "9999.00")

    page = assert_page(signed_in(rep).get("/"))
    card = card_html(page, "pipeline-by-stage")
    assert "350.00" in card
    assert "(2 deals)" in card
    assert "1,000.00" in card
    assert "(1 deal)" in card
    assert "9999" not in card
    assert "9,999" not in card
    assert "Closed won" not in card  # closed stages are not the open pipeline
    shown = figure(page, "pipeline-by-stage")
    (bars,) = shown["data"]
    assert bars["type"] == "bar"
    assert bars["x"] == ["Prospecting", "Proposal"]
    assert bars["y"] == [350.0, 1000.0]


def test_a_pipeline_bar_links_to_the_deal_list_filtered_by_its_stage_and_owner(
    admin, rep, other_rep, board, account
):
    make_deal(admin, account, rep, board["Prospecting"], "100.00", name="Mine prospecting")
    make_deal(admin, account, rep, board["Proposal"], "200.00", name="Mine proposal")
    make_deal(admin, account, other_rep, board["Prospecting"], "300.00", name="Theirs")
    client = signed_in(rep)
    page = assert_page(client.get("/"))
    url = figure(page, "pipeline-by-stage")["data"][0]["customdata"][0]
    assert url in links(card_html(page, "pipeline-by-stage")).values()  # the table's link too
    listed = assert_page(client.get(url))
    assert "Mine prospecting" in listed
    assert "Mine proposal" not in listed
    assert "Theirs" not in listed


def test_deals_in_two_currencies_are_two_series_never_added_up(admin, rep, board, account):
    make_deal(admin, account, rep, board["Prospecting"], "100.00", currency="EUR")
    make_deal(admin, account, rep, board["Prospecting"], "40.00", currency="USD")
    page = assert_page(signed_in(rep).get("/"))
    series = {t["name"]: t["y"] for t in figure(page, "pipeline-by-stage")["data"]}
    assert series == {"EUR": [100.0, 0.0], "USD": [40.0, 0.0]}


def test_a_rep_without_open_deals_gets_a_sentence_not_a_chart(rep, board):
    page = assert_page(signed_in(rep).get("/"))
    card = card_html(page, "pipeline-by-stage")
    assert "You have no open deals in the default pipeline." in card
    assert "data-figure" not in card
    assert "plotly" not in page  # no chart on the page: plotly.js is not loaded


# -- the case chart ----------------------------------------------------------------------------


def test_open_cases_by_priority_count_visible_open_cases_and_link_to_them(
    make_user, departments, admin
):
    agent = make_user(username="agent", department=departments["service"])
    SharingDefault.objects.create(object_type="case", access=Access.PRIVATE)
    cases.create(actor=agent, data={"subject": "Urgent new one", "priority": "urgent"})
    cases.create(actor=agent, data={"subject": "Urgent new two", "priority": "urgent"})
    cases.create(actor=agent, data={"subject": "Low new", "priority": "low"})
    done = cases.create(actor=agent, data={"subject": "Urgent closed", "priority": "urgent"})
    cases.update(
        actor=agent, record_id=done.pk, data={"status": "closed"}, expected_version=done.version
    )
    cases.create(actor=admin, data={"subject": "Not mine", "priority": "urgent"})

    client = signed_in(agent)
    page = assert_page(client.get("/"))
    traces = {t["name"]: t for t in figure(page, "open-cases-by-priority")["data"]}
    assert list(traces) == ["New", "Open", "Pending"]
    assert traces["New"]["x"] == ["Urgent", "High", "Normal", "Low"]
    assert traces["New"]["y"] == [2, 0, 0, 1]
    assert traces["Open"]["y"] == [0, 0, 0, 0]
    listed = assert_page(client.get(traces["New"]["customdata"][0]))
    assert "Urgent new one" in listed
    assert "Urgent new two" in listed
    assert "Low new" not in listed
    assert "Urgent closed" not in listed
    assert "Not mine" not in listed


# -- tasks due ---------------------------------------------------------------------------------


def test_tasks_due_counts_overdue_today_and_this_week_and_links_to_them(
    rep, other_rep, account, admin
):
    def task(subject: str, due: dt.datetime, assignee: User = rep, **extra: Any) -> Any:
        return activities.tasks.create(
            actor=admin,
            data={
                "related_type": "account",
                "related_id": str(account.pk),
                "subject": subject,
                "due_at": due.isoformat(),
                "assignee_id": str(assignee.pk),
                "owner_id": str(assignee.pk),
                **extra,
            },
            source=Source.WEB,
        )

    with clock.frozen(NOW):
        task("Late call back", NOW - dt.timedelta(days=2))
        task("Send the quote", NOW + dt.timedelta(hours=3))
        task("Book the venue", NOW + dt.timedelta(days=3))
        task("Plan next quarter", NOW + dt.timedelta(days=30))
        task("Already done", NOW - dt.timedelta(days=1), status="done")
        task("Someone else's", NOW + dt.timedelta(hours=1), assignee=other_rep)
        client = signed_in(rep)
        page = assert_page(client.get("/"))
    card = card_html(page, "tasks-due")
    counts = dict(
        (label, int(n))
        for n, label in re.findall(r'<span class="dash-count">(\d+)</span> ([^<]+)</li>', card)
    )
    assert counts == {"Overdue": 1, "Due today": 1, "Later this week": 1}
    found = links(card)
    assert {"Late call back", "Send the quote", "Book the venue"} <= set(found)
    for hidden in ("Plan next quarter", "Already done", "Someone else's"):
        assert hidden not in card
    assert "Overdue" in card
    detail = assert_page(client.get(found["Send the quote"]))
    assert "Send the quote" in detail
    with clock.frozen(NOW):
        listed = assert_page(client.get(found["Open"]))
    assert "Late call back" in listed
    assert "Book the venue" in listed
    assert "Plan next quarter" not in listed
    assert "Someone else&#x27;s" not in listed


# -- campaigns ---------------------------------------------------------------------------------


def test_campaign_calendar_lists_running_and_coming_campaigns_by_month(
    make_user, departments, admin
):
    marketer = make_user(username="mara", department=departments["marketing"])
    today = NOW.date()

    def campaign(name: str, starts: int, ends: int | None, **extra: Any) -> Any:
        data = {"name": name, "starts_on": today + dt.timedelta(starts), **extra}
        if ends is not None:
            data["ends_on"] = today + dt.timedelta(ends)
        return campaigns.create(actor=admin, data=data)

    with clock.frozen(NOW):
        campaign("Summer sale", -5, 10, status="active")
        campaign("Webinar series", 25, 40)
        campaign("Trade fair", 50, 52)
        campaign("Winter launch", 90, 120)
        campaign("Old newsletter", -30, -1)
        campaign("Dropped idea", 5, 10, status="aborted")
        page = assert_page(signed_in(marketer).get("/"))
    card = card_html(page, "campaign-calendar")
    headings = re.findall(r"<h4>([^<]+)</h4>", card)
    assert headings == ["Running now", "July 2026"]
    assert card.index("Summer sale") < card.index("Webinar series") < card.index("Trade fair")
    assert card.count("within 30 days") == 1  # the webinar series
    for absent in ("Winter launch", "Old newsletter", "Dropped idea"):
        assert absent not in card


# -- recent activity -----------------------------------------------------------------------------


def test_recent_activity_lists_only_activities_on_records_the_user_may_see(staff, admin):
    SharingDefault.objects.create(object_type="contact", access=Access.PRIVATE)
    mine = parties.contacts.create(actor=staff, data={"last_name": "Mine"})
    secret = parties.contacts.create(actor=admin, data={"last_name": "Secret"})
    for related, body in ((mine, "Likes tea"), (secret, "Confidential remark")):
        activities.notes.create(
            actor=admin,
            data={"related_type": "contact", "related_id": str(related.pk), "body": body},
            source=Source.WEB,
        )
    activities.calls.create(
        actor=staff,
        data={
            "related_type": "contact",
            "related_id": str(mine.pk),
            "direction": "outbound",
            "subject": "Follow-up call",
        },
        source=Source.WEB,
    )
    client = Client()
    client.force_login(staff)
    page = assert_page(client.get("/"))
    card = card_html(page, "recent-activity")
    found = links(card)
    assert "Follow-up call" in found
    assert "Likes tea" in found
    assert "Confidential remark" not in card
    assert found["Likes tea"] == f"/records/contact/{mine.pk}/"
    assert "Likes tea" in assert_page(client.get(found["Likes tea"]))


# -- cost of the cards -------------------------------------------------------------------------


def test_recent_activity_looks_past_newer_activities_the_user_may_not_see(
    staff, admin, monkeypatch
):
    monkeypatch.setattr(activity_cards, "RECENT_CHUNK", 3)
    SharingDefault.objects.create(object_type="contact", access=Access.PRIVATE)
    mine = parties.contacts.create(actor=staff, data={"last_name": "Mine"})
    secret = parties.contacts.create(actor=admin, data={"last_name": "Secret"})
    for related, bodies in ((mine, ["Older note"]), (secret, [f"Hidden {n}" for n in range(7)])):
        for body in bodies:
            activities.notes.create(
                actor=admin,
                data={"related_type": "contact", "related_id": str(related.pk), "body": body},
                source=Source.WEB,
            )
    entries = activity_cards.recent_activity(staff)["entries"]
    assert [e["title"] for e in entries] == ["Older note"]


def test_each_card_reads_in_a_fixed_number_of_queries(admin, rep, board, account):
    for i in range(5):
        make_deal(admin, account, rep, board["Prospecting"], f"{i + 1}00.00")
    cost = {}
    for card in site.cards:
        card.data(rep)  # the user's grants are cached on first use
        with CaptureQueriesContext(connection) as queries:
            card.data(rep)
        cost[card.key] = len(queries)
    # Recent activity reads each kind's newest rows in chunks (two queries a chunk); here each
    # kind fits in one chunk.
    recent = cost.pop("recent-activity")
    assert recent <= 2 * len(activity_cards.RECENT_KINDS), recent
    assert all(n <= 2 for n in cost.values()), cost


# -- plotly.js and the policy --------------------------------------------------------------------


def test_plotly_js_is_served_from_the_installed_package(client):
    expected = dashboards.PLOTLY_JS.read_bytes()
    plain = client.get("/assets/plotly.min.js?v=" + dashboards.PLOTLY_VERSION)
    assert plain.status_code == 200
    assert plain["Content-Type"].startswith("text/javascript")
    assert plain.content == expected
    assert "immutable" in plain["Cache-Control"]
    assert "max-age=31536000" in plain["Cache-Control"]
    zipped = client.get("/assets/plotly.min.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == expected
    again = client.get("/assets/plotly.min.js", HTTP_IF_NONE_MATCH=plain["ETag"])
    assert again.status_code == 304


def test_plotly_styles_are_served_as_a_stylesheet_read_from_the_bundle(client):
    response = client.get("/assets/plotly.css?v=" + dashboards.PLOTLY_VERSION)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    css = response.content.decode()
    # The rules that stack plotly's SVG layers, and the notifier's (an unquoted key).
    assert ".js-plotly-plot .plotly .main-svg{position:absolute;top:0;left:0;" in css
    assert ".plotly-notifier{" in css
    assert len(css.splitlines()) > 50


def test_chart_pages_load_plotly_from_us_never_a_cdn_and_allow_no_inline_script(
    admin, rep, board, account
):
    make_deal(admin, account, rep, board["Prospecting"], "100.00")
    response = signed_in(rep).get("/sales/")
    page = assert_page(response)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert f"/assets/plotly.min.js?v={dashboards.PLOTLY_VERSION}" in scripts
    assert "/static/web/charts.js" in scripts
    assert f'href="/assets/plotly.css?v={dashboards.PLOTLY_VERSION}"' in page
    assert all(s.startswith("/") and not s.startswith("//") for s in scripts)
    assert "cdn" not in page.lower()
    policy = response["Content-Security-Policy"]
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src
    assert "unsafe-eval" not in script_src


def test_amounts_are_shown_with_two_decimals(admin, rep, board, account):
    make_deal(admin, account, rep, board["Prospecting"], str(Decimal("1234.5")))
    page = assert_page(signed_in(rep).get("/"))
    assert "1,234.50 EUR" in card_html(page, "pipeline-by-stage")


def test_chart_labels_reach_plotly_as_plain_text_not_markup(admin, rep, board, account):
    stages.update(
        actor=admin,
        record_id=board["Prospecting"].pk,
        data={"name": '<a href="https://evil.example">Hot</a>'},
        expected_version=board["Prospecting"].version,
    )
    make_deal(admin, account, rep, board["Prospecting"], "100.00")
    page = assert_page(signed_in(rep).get("/"))
    labels = figure(page, "pipeline-by-stage")["data"][0]["x"]
    assert labels[0] == '&lt;a href="https://evil.example"&gt;Hot&lt;/a&gt;'
    assert '<a href="https://evil.example">' not in page

"""The deal pipeline board (columns, figures, visibility, filters, moving cards) and the
Settings pages for pipelines and stages."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accord.core.models import HistoryEntry, OutboxEvent
from accord.identity.models import (
    Access,
    FieldAccess,
    FieldPermission,
    ObjectPermission,
    SharingDefault,
    Team,
    User,
)
from accord.parties.models import Account
from accord.parties.services import accounts
from accord.sales import board as boards
from accord.sales.models import Deal, Pipeline, Stage
from accord.sales.services import deals, pipelines, stages
from tests.web.fixtures import assert_page, make_role, signed_in

pytestmark = pytest.mark.django_db

BOARD = "/sales/board/"
MOVE = "/sales/board/move"
HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Funnel:
    pipeline: Pipeline
    open: Stage
    proposal: Stage
    won: Stage
    lost: Stage


def make_funnel(actor: User, name: str = "New business", *, default: bool = True) -> Funnel:
    pipeline = pipelines.create(actor=actor, data={"name": name, "is_default": default})
    made = [
        stages.create(actor=actor, data={"pipeline_id": pipeline.pk, "name": n, **extra})
        for n, extra in (
            ("Prospecting", {"probability": 10}),
            ("Proposal", {"probability": 60}),
            ("Closed won", {"is_won": True}),
            ("Closed lost", {"is_lost": True}),
        )
    ]
    return Funnel(pipeline, *made)


@pytest.fixture
def funnel(admin: User) -> Funnel:
    return make_funnel(admin)


def account_of(actor: User) -> Account:
    found = Account.objects.filter(owner=actor).first()
    return found or accounts.create(actor=actor, data={"name": f"{actor.username} Ltd"})


def deal(actor: User, stage: Stage, name: str = "Sensors", **data: Any) -> Deal:
    values = {"name": name, "stage_id": stage.pk, "account_id": account_of(actor).pk}
    return deals.create(actor=actor, data={**values, **data})


def column(page: str, stage: Stage) -> str:
    """The HTML of ``stage``'s column on the board."""
    start = page.index(f'data-stage="{stage.pk}"')
    end = page.find("</section>", start)
    return page[start:end]


def move(client: Any, record: Deal, stage: Stage, *, version: int | None = None, **extra: Any):
    data = {
        "deal": str(record.pk),
        "stage": str(stage.pk),
        "version": str(record.version if version is None else version),
        **extra,
    }
    return client.post(MOVE, data)


# -- the board ---------------------------------------------------------------------------------


def test_board_shows_every_stage_with_counts_and_totals_per_currency(admin, funnel):
    deal(admin, funnel.open, "Alpha", amount="100.00", currency="EUR")
    deal(admin, funnel.open, "Beta", amount="1250.50", currency="EUR")
    deal(admin, funnel.open, "Gamma", amount="10", currency="USD")
    won = deal(admin, funnel.won, "Delta", amount="5000", currency="EUR")

    page = assert_page(signed_in(admin).get(BOARD))

    order = [page.index(f'id="stage-{s.pk}"') for s in (funnel.open, funnel.proposal, funnel.won)]
    assert order == sorted(order)
    first = column(page, funnel.open)
    assert "3 deals" in first
    assert "EUR 1,350.50" in first
    assert "USD 10.00" in first
    assert "Alpha" in first
    assert "Gamma" in first
    assert "0 deals" in column(page, funnel.proposal)
    assert "1 deal<" in column(page, funnel.won)
    assert f'href="/records/deal/{won.pk}/"' in column(page, funnel.won)
    assert 'src="/static/sales/board.js"' in page


def test_board_is_listed_in_the_sales_workspace(staff_client, funnel):
    page = assert_page(staff_client.get("/sales/"))
    assert f'href="{BOARD}"' in page


def test_rep_sees_only_deals_they_may_see(make_user, funnel):
    SharingDefault.objects.create(object_type="deal", access=Access.PRIVATE)
    rita, otto = make_user(username="rita"), make_user(username="otto")
    deal(rita, funnel.open, "Ritas deal", amount="10")
    deal(otto, funnel.open, "Ottos secret", amount="99")

    page = assert_page(signed_in(rita).get(BOARD))

    first = column(page, funnel.open)
    assert "Ritas deal" in first
    assert "Ottos secret" not in page
    assert "1 deal<" in first
    assert "EUR 99" not in page


def test_filters_narrow_the_board_by_owner_team_and_close_date(admin, make_user, funnel):
    rita = make_user(username="rita")
    team = Team.objects.create(name="North")
    team.members.add(rita)
    deal(rita, funnel.open, "Rita soon", expected_close="2026-03-01")
    deal(rita, funnel.open, "Rita later", expected_close="2026-09-01")
    deal(admin, funnel.open, "Admin soon", expected_close="2026-03-02")
    client = signed_in(admin)

    mine = assert_page(client.get(BOARD, {"owner": "me"}))
    assert "Admin soon" in mine
    assert "Rita soon" not in mine

    theirs = assert_page(client.get(BOARD, {"team": str(team.pk)}))
    assert "Rita soon" in theirs
    assert "Rita later" in theirs
    assert "Admin soon" not in theirs

    dated = assert_page(client.get(BOARD, {"owner": str(rita.pk), "close_before": "2026-06-30"}))
    first = column(dated, funnel.open)
    assert "Rita soon" in first
    assert "Rita later" not in first
    assert "1 deal<" in first

    after = assert_page(client.get(BOARD, {"close_after": "2026-03-02"}))
    assert "Rita later" in after
    assert "Admin soon" in after
    assert "Rita soon" not in after


def test_unreadable_filters_are_shown_inline_and_ignored(admin, funnel):
    deal(admin, funnel.open, "Still here")
    page = assert_page(signed_in(admin).get(BOARD, {"close_after": "soon", "owner": "x"}))
    assert "Enter a date as YYYY-MM-DD." in page
    assert 'aria-invalid="true"' in page
    assert "Still here" in page


def test_pipeline_selector_shows_the_chosen_pipeline(admin, funnel):
    renewals = make_funnel(admin, "Renewals", default=False)
    deal(admin, funnel.open, "New one")
    deal(admin, renewals.open, "Renewal one")
    client = signed_in(admin)

    default = assert_page(client.get(BOARD))
    assert "New one" in default
    assert "Renewal one" not in default

    chosen = assert_page(client.get(BOARD, {"pipeline": str(renewals.pipeline.pk)}))
    assert "Renewal one" in chosen
    assert "New one" not in chosen


def test_columns_show_a_capped_number_of_cards_and_link_to_the_rest(admin, funnel):
    account = account_of(admin).pk
    rows = [
        {"name": f"Bulk {i:03d}", "stage_id": funnel.open.pk, "account_id": account}
        for i in range(53)
    ]
    deals.create_many(actor=admin, rows=rows)

    page = assert_page(signed_in(admin).get(BOARD))

    first = column(page, funnel.open)
    assert "53 deals" in first
    assert first.count('class="deal-card"') == boards.CARDS_PER_COLUMN
    assert f"/records/deal/?stage_id={funnel.open.pk}" in first
    assert "3 more in Prospecting" in first


# -- moving a card ----------------------------------------------------------------------------


def test_move_form_changes_the_stage_records_history_and_returns_to_the_filtered_board(
    admin, funnel
):
    record = deal(admin, funnel.open, "Mover", amount="40")
    client = signed_in(admin)

    response = move(client, record, funnel.proposal, owner="me", close_after="2026-01-01")

    assert response.status_code == 302
    assert response["Location"].startswith(f"{BOARD}?")
    assert "owner=me" in response["Location"]
    assert "close_after=2026-01-01" in response["Location"]
    record.refresh_from_db()
    assert record.stage == funnel.proposal
    assert record.probability == 60
    entry = HistoryEntry.objects.filter(object_id=record.pk, verb="updated").get()
    assert entry.source == "web"
    assert entry.changes["stage_id"] == [str(funnel.open.pk), str(funnel.proposal.pk)]
    assert OutboxEvent.objects.filter(object_id=record.pk, type="accord.deal.updated").exists()
    page = assert_page(client.get(response["Location"]))
    assert "Moved Mover to Proposal." in page


def test_move_with_htmx_answers_the_board_with_updated_figures(admin, funnel):
    record = deal(admin, funnel.open, "Mover", amount="40")
    client = signed_in(admin)

    response = client.post(
        MOVE,
        {"deal": str(record.pk), "stage": str(funnel.won.pk), "version": str(record.version)},
        headers=HTMX,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board"')
    assert "0 deals" in column(html, funnel.open)
    won = column(html, funnel.won)
    assert "1 deal<" in won
    assert "EUR 40.00" in won
    assert re.search(rf'id="deal-{record.pk}"[^>]*data-moved', html)
    assert 'id="board-status" hx-swap-oob="innerHTML"' in html
    assert "Moved Mover to Closed won." in html
    record.refresh_from_db()
    assert record.stage == funnel.won
    assert record.closed_at is not None


def test_move_to_a_stage_of_another_pipeline_is_refused_with_a_message(admin, funnel):
    other = make_funnel(admin, "Renewals", default=False)
    record = deal(admin, funnel.open, "Stay")
    client = signed_in(admin)

    response = move(client, record, other.proposal)

    assert response.status_code == 302
    page = assert_page(client.get(response["Location"]))
    assert "The deal was not moved" in page
    assert "belongs to another pipeline" in page
    record.refresh_from_db()
    assert record.stage == funnel.open
    assert not HistoryEntry.objects.filter(object_id=record.pk, verb="updated").exists()


def test_stale_version_is_refused_and_the_board_shows_the_current_stage(admin, funnel):
    record = deal(admin, funnel.open, "Contested")
    deals.update(
        actor=admin,
        record_id=record.pk,
        data={"stage_id": funnel.proposal.pk},
        expected_version=record.version,
    )
    client = signed_in(admin)

    response = client.post(
        MOVE,
        {"deal": str(record.pk), "stage": str(funnel.won.pk), "version": str(record.version)},
        headers=HTMX,
    )

    html = response.content.decode()
    assert "Someone changed this deal since the board was loaded" in html
    assert "message-error" in html
    assert "Contested" in column(html, funnel.proposal)
    record.refresh_from_db()
    assert record.stage == funnel.proposal


def test_moving_a_deal_one_may_only_read_is_refused(make_user, funnel):
    owner, viewer = make_user(username="olga"), make_user(username="vic")
    record = deal(owner, funnel.open, "Olgas deal")  # readable by all, editable by Olga
    client = signed_in(viewer)

    response = move(client, record, funnel.proposal)

    page = assert_page(client.get(response["Location"]))
    assert "The deal was not moved: You may not change this deal" in page
    record.refresh_from_db()
    assert record.stage == funnel.open


def test_incomplete_move_form_is_a_message_not_an_error(admin, funnel):
    client = signed_in(admin)
    response = client.post(MOVE, {"deal": "nonsense", "stage": str(funnel.open.pk)})
    assert response.status_code == 302
    assert "the form was incomplete" in assert_page(client.get(response["Location"]))


# -- settings: pipelines and stages ----------------------------------------------------------


def test_admin_creates_a_pipeline_adds_renames_and_reorders_stages(admin):
    client = signed_in(admin)
    assert "Pipelines and stages" in assert_page(client.get("/settings/"))

    response = client.post("/settings/pipelines/", {"name": "Partners"})
    made = Pipeline.objects.get(name="Partners")
    assert response.status_code == 302
    assert response["Location"] == f"/settings/pipelines/{made.pk}/"
    assert made.is_default  # the first pipeline is the default

    for name, outcome in (("Intro", "open"), ("Signed", "won"), ("Pilot", "open")):
        add = client.post(
            f"/settings/pipelines/{made.pk}/stages/new",
            {"stage-name": name, "stage-probability": "", "stage-outcome": outcome},
        )
        assert add.status_code == 302, add.content[:500]
    intro, signed, pilot = Stage.objects.filter(pipeline=made).order_by("position")
    assert (signed.is_won, signed.probability) == (True, 100)

    # "Pilot" belongs before "Signed": one Up.
    assert client.post(f"/settings/pipelines/stages/{pilot.pk}/up").status_code == 302
    names = list(
        Stage.objects.filter(pipeline=made).order_by("position").values_list("name", flat=True)
    )
    assert names == ["Intro", "Pilot", "Signed"]
    moved = HistoryEntry.objects.filter(object_id=pilot.pk, verb="updated").get()
    assert list(moved.changes) == ["position"]
    assert moved.source == "web"
    assert HistoryEntry.objects.filter(object_id=signed.pk, verb="updated").count() == 1

    rename = client.post(
        f"/settings/pipelines/stages/{intro.pk}/",
        {"name": "Introduction", "probability": "15", "outcome": "open"},
    )
    assert rename.status_code == 302
    intro.refresh_from_db()
    assert (intro.name, intro.probability) == ("Introduction", 15)

    client.post(f"/settings/pipelines/{made.pk}/", {"name": "Partner deals", "is_default": "on"})
    made.refresh_from_db()
    assert made.name == "Partner deals"

    page = assert_page(client.get(f"/settings/pipelines/{made.pk}/"))
    page = page.split('class="stage-table"', 1)[1]
    assert page.index("Introduction") < page.index("Pilot") < page.index("Signed")


def test_first_stage_cannot_move_up_and_the_refusal_is_shown_in_its_row(admin, funnel):
    response = signed_in(admin).post(f"/settings/pipelines/stages/{funnel.open.pk}/up")
    html = assert_page(response, 409)
    row = html.split(f'id="stage-{funnel.open.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "already the first of its pipeline" in row


def test_stage_with_deals_cannot_be_deleted_and_the_error_is_inline(admin, funnel):
    deal(admin, funnel.proposal, "Blocking")
    client = signed_in(admin)

    response = client.post(f"/settings/pipelines/stages/{funnel.proposal.pk}/delete")
    html = assert_page(response, 409)
    row = html.split(f'id="stage-{funnel.proposal.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Deals are in this stage" in row
    assert Stage.objects.filter(pk=funnel.proposal.pk).exists()

    assert client.post(f"/settings/pipelines/stages/{funnel.lost.pk}/delete").status_code == 302
    assert not Stage.objects.filter(pk=funnel.lost.pk).exists()


def test_stage_outcome_change_refused_while_deals_are_in_it(admin, funnel):
    deal(admin, funnel.proposal, "Blocking")
    response = signed_in(admin).post(
        f"/settings/pipelines/stages/{funnel.proposal.pk}/",
        {"name": "Proposal", "probability": "60", "outcome": "won"},
    )
    html = assert_page(response, 422)
    assert "cannot change while deals are in this stage" in html
    funnel.proposal.refresh_from_db()
    assert not funnel.proposal.is_won


def test_default_pipeline_cannot_be_undefaulted_inline_error(admin, funnel):
    response = signed_in(admin).post(
        f"/settings/pipelines/{funnel.pipeline.pk}/", {"name": "New business"}
    )
    assert "make another pipeline the default instead" in assert_page(response, 422)


def test_people_who_may_not_configure_sales_are_refused_the_settings_pages(
    staff, staff_client, manager_client, funnel
):
    for client in (staff_client, manager_client):
        assert client.get("/settings/pipelines/").status_code == 403
        assert client.get(f"/settings/pipelines/{funnel.pipeline.pk}/").status_code == 403
        assert client.post(f"/settings/pipelines/stages/{funnel.won.pk}/up").status_code == 403
        assert client.post("/settings/pipelines/", {"name": "Sneaky"}).status_code == 403
    assert not Pipeline.objects.filter(name="Sneaky").exists()
    funnel.won.refresh_from_db()
    assert funnel.won.position == 2
    # Access managers see Settings, but not this section; staff see the board without its link.
    assert "Pipelines and stages" not in assert_page(manager_client.get("/settings/"))
    assert "/settings/pipelines/" not in assert_page(staff_client.get(BOARD))


def test_board_without_pipelines_says_so(admin):
    page = assert_page(signed_in(admin).get(BOARD))
    assert "No pipelines yet." in page


def test_expected_close_shows_on_the_card(admin, funnel):
    deal(admin, funnel.open, "Dated", expected_close=dt.date(2026, 5, 4).isoformat())
    page = assert_page(signed_in(admin).get(BOARD))
    assert '<time datetime="2026-05-04">4 May 2026</time>' in page


def test_hidden_amount_is_left_off_cards_and_totals(make_user, admin, funnel):
    role = make_role("Sales assistant")
    for object_type in ("deal", "pipeline", "stage"):
        ObjectPermission.objects.create(role=role, object_type=object_type, can_read=True)
    FieldPermission.objects.create(
        role=role, object_type="deal", field="amount", access=FieldAccess.HIDDEN
    )
    assistant = make_user(username="asa")
    assistant.role = role
    assistant.save()
    deal(admin, funnel.open, "Priced", amount="4321", currency="EUR")

    page = assert_page(signed_in(assistant).get(BOARD))

    first = column(page, funnel.open)
    assert "Priced" in first
    assert "1 deal<" in first
    assert "4,321" not in page
    assert "data-total" not in page


@pytest.mark.parametrize(("field", "shown"), [("owner_id", "Owner"), ("account_id", "Account")])
def test_hidden_owner_or_account_is_left_off_cards(make_user, admin, funnel, field, shown):
    role = make_role(f"Hides {field}")
    for object_type in ("deal", "pipeline", "stage"):
        ObjectPermission.objects.create(role=role, object_type=object_type, can_read=True)
    FieldPermission.objects.create(
        role=role, object_type="deal", field=field, access=FieldAccess.HIDDEN
    )
    viewer = make_user(username=f"viewer-{field}")
    viewer.role = role
    viewer.save()
    deal(admin, funnel.open, "Guarded")

    card = column(assert_page(signed_in(viewer).get(BOARD)), funnel.open)

    assert "Guarded" in card
    assert f"<dt>{shown}</dt>" not in card


def test_board_reads_take_the_same_queries_however_many_deals(admin, funnel):
    client = signed_in(admin)
    deal(admin, funnel.open, "One")
    client.get(BOARD)  # warm the per-process caches (grants, content types)
    with CaptureQueriesContext(connection) as few:
        assert_page(client.get(BOARD))
    account = account_of(admin).pk
    rows = [
        {"name": f"More {i}", "stage_id": stage.pk, "account_id": account}
        for i in range(10)
        for stage in (funnel.open, funnel.proposal, funnel.won)
    ]
    deals.create_many(actor=admin, rows=rows)
    with CaptureQueriesContext(connection) as many:
        assert_page(client.get(BOARD))
    assert len(many.captured_queries) == len(few.captured_queries)

"""List pages of the record types: columns, filters, sort, paging, inline edit, bulk actions
and CSV export, with the role's object and field permissions applied."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from accord.identity import visibility
from accord.identity.models import (
    Access,
    FieldPermission,
    ObjectPermission,
    SecurityEvent,
    SharingDefault,
)
from accord.parties import services
from accord.parties.models import Account
from tests.web.fixtures import assert_page, make_role, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(make_user):
    """A sales rep whose role creates, reads, edits and deletes accounts but may not export
    them, and for whom an account's annual revenue is hidden and its industry read-only."""
    role = make_role("Sales rep")
    ObjectPermission.objects.create(
        role=role,
        object_type="account",
        can_create=True,
        can_read=True,
        can_edit=True,
        can_delete=True,
    )
    FieldPermission.objects.create(
        role=role, object_type="account", field="annual_revenue", access="hidden"
    )
    FieldPermission.objects.create(
        role=role, object_type="account", field="industry", access="read_only"
    )
    user = make_user(username="rita")
    user.role = role
    user.save()
    return user


def test_list_shows_the_visible_records_with_the_default_columns(staff, staff_client):
    services.accounts.create(actor=staff, data={"name": "Globex", "domain": "globex.example"})
    page = assert_page(staff_client.get("/records/account/"))
    assert "Globex" in page
    assert "globex.example" in page
    assert '<th scope="col"><a href="?sort=name">Name</a></th>' in page
    # The Sales workspace is the current tab and its menu holds the record lists.
    assert '<a href="/sales/" aria-current="page">Sales</a>' in page
    menu = page.split('class="subnav"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/records/account/" aria-current="page">Accounts</a>' in menu
    assert 'href="/records/deal/"' in menu


def test_list_without_read_permission_is_the_403_page(make_user):
    role = make_role("Marketing")
    ObjectPermission.objects.create(role=role, object_type="campaign", can_read=True)
    user = make_user(username="mark")
    user.role = role
    user.save()
    assert_page(signed_in(user).get("/records/account/"), 403)


def test_unknown_record_type_is_the_404_page(staff_client):
    assert_page(staff_client.get("/records/spaceship/00000000-0000-7000-8000-000000000000/"), 404)


def test_chosen_columns_and_sort(staff, staff_client):
    for name, industry in (("Beta", "steel"), ("Alpha", "steel"), ("Gamma", "food")):
        services.accounts.create(actor=staff, data={"name": name, "industry": industry})
    page = assert_page(
        staff_client.get("/records/account/", {"columns": ["name", "industry"], "sort": "name"})
    )
    header = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "Industry" in header
    assert "Domain" not in header
    body = page.split("<tbody>", 1)[1]
    assert body.index("Alpha") < body.index("Beta") < body.index("Gamma")


def test_filter_by_custom_field(staff, staff_client, admin):
    services.custom_fields.create(
        actor=admin, data={"record_type": "account", "key": "tier", "label": "Tier", "type": "text"}
    )
    services.accounts.create(
        actor=staff, data={"name": "Gold Co", "custom_fields": {"tier": "gold"}}
    )
    services.accounts.create(actor=staff, data={"name": "Tin Co", "custom_fields": {"tier": "tin"}})
    page = assert_page(
        staff_client.get("/records/account/", {"cf.tier": "gold", "columns": ["name", "cf.tier"]})
    )
    assert "Gold Co" in page
    assert '<th scope="col">Tier</th>' in page
    assert '<td data-column="cf.tier">gold' in page
    assert "Tin Co" not in page
    assert 'name="cf.tier" value="gold"' in page


def test_invalid_filter_is_shown_not_a_server_error(staff_client):
    page = assert_page(staff_client.get("/records/account/", {"owner_id": "nope"}), 422)
    assert "must be a UUID" in page


def test_keyset_paging_walks_every_record_once(staff, staff_client, monkeypatch):
    from accord.web import lists

    monkeypatch.setattr(lists, "PAGE_SIZE", 2)
    for i in range(5):
        services.accounts.create(actor=staff, data={"name": f"Firm {i}"})
    seen: list[str] = []
    url = "/records/account/?sort=name"
    while url:
        page = assert_page(staff_client.get(url))
        seen += [f"Firm {i}" for i in range(5) if f">Firm {i}</a>" in page]
        marker = 'rel="next"'
        if marker in page:
            href = page.split(marker, 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
            url = "/records/account/" + href.replace("&amp;", "&")
        else:
            url = ""
    assert seen == [f"Firm {i}" for i in range(5)]


def test_invisible_records_are_not_listed(staff, staff_client, admin):
    SharingDefault.objects.create(object_type="account", access=Access.PRIVATE)
    services.accounts.create(actor=admin, data={"name": "Secret Corp"})
    services.accounts.create(actor=staff, data={"name": "Mine Ltd"})
    page = assert_page(staff_client.get("/records/account/"))
    assert "Mine Ltd" in page
    assert "Secret Corp" not in page


def test_hidden_field_is_neither_a_column_nor_a_filter(rep, admin):
    services.accounts.create(
        actor=admin,
        data={"name": "Initech", "annual_revenue": Decimal("987654"), "owner_id": str(rep.pk)},
    )
    client = signed_in(rep)
    page = assert_page(client.get("/records/account/", {"columns": ["name", "annual_revenue"]}))
    assert "Initech" in page
    assert "987654" not in page
    assert 'value="annual_revenue"' not in page
    assert "Export this view" not in page  # no export permission


def test_list_page_reads_in_a_fixed_number_of_queries(
    staff, staff_client, django_assert_max_num_queries
):
    account = services.accounts.create(actor=staff, data={"name": "Parent"})
    for i in range(30):
        services.contacts.create(
            actor=staff,
            data={
                "last_name": f"Person {i}",
                "emails": [f"p{i}@example.com"],
                "account_id": str(account.pk),
            },
        )
    with django_assert_max_num_queries(20):
        page = assert_page(staff_client.get("/records/contact/"))
    assert page.count("p1@example.com") == 1
    assert page.count(">Parent</a>") == 30  # the account named through one query


# -- inline edit -----------------------------------------------------------------------------


def test_inline_edit_of_a_cell_through_htmx(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Old name"})
    url = f"/records/account/{account.pk}/cell/name"
    form = assert_page(staff_client.get(url, headers={"HX-Request": "true"}))
    assert 'name="version" value="1"' in form
    assert form.lstrip().startswith("<td")
    cell = assert_page(
        staff_client.post(
            url, {"value": "New name", "version": "1"}, headers={"HX-Request": "true"}
        )
    )
    assert "New name" in cell
    account.refresh_from_db()
    assert account.name == "New name"
    assert account.version == 2


def test_inline_edit_without_javascript_redirects_back(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Plain"})
    response = staff_client.post(
        f"/records/account/{account.pk}/cell/name",
        {"value": "Plainer", "version": "1", "next": "/records/account/?sort=name"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/records/account/?sort=name"


def test_inline_edit_of_a_stale_cell_is_refused(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "First"})
    services.accounts.update(
        actor=staff, record_id=account.pk, data={"name": "Second"}, expected_version=1
    )
    page = assert_page(
        staff_client.post(
            f"/records/account/{account.pk}/cell/name", {"value": "Mine", "version": "1"}
        ),
        412,
    )
    assert "changed this record since you opened it" in page
    account.refresh_from_db()
    assert account.name == "Second"


def test_inline_edit_of_a_read_only_field_is_the_403_page(rep):
    account = services.accounts.create(actor=rep, data={"name": "Hooli"})
    client = signed_in(rep)
    assert_page(client.get(f"/records/account/{account.pk}/cell/industry"), 403)


def test_inline_edit_shows_the_validation_message(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Valid"})
    page = assert_page(
        staff_client.post(
            f"/records/account/{account.pk}/cell/employee_count", {"value": "many", "version": "1"}
        ),
        422,
    )
    assert "whole number" in page


# -- bulk actions ----------------------------------------------------------------------------


def test_bulk_delete_moves_each_row_to_the_recycle_bin_and_reports_it(staff, staff_client, admin):
    SharingDefault.objects.create(object_type="account", access=Access.PUBLIC_READ)
    mine = services.accounts.create(actor=staff, data={"name": "Mine"})
    theirs = services.accounts.create(actor=admin, data={"name": "Theirs"})
    page = assert_page(
        staff_client.post(
            "/records/account/bulk", {"action": "delete", "ids": [str(mine.pk), str(theirs.pk)]}
        )
    )
    assert page.count("tag-success") == 1
    assert page.count("tag-danger") == 1
    assert Account.all_objects.get(pk=mine.pk).deleted_at is not None
    assert Account.objects.filter(pk=theirs.pk).exists()


def test_bulk_assign_owner(staff, staff_client, make_user):
    other = make_user(username="otto")
    a = services.accounts.create(actor=staff, data={"name": "A"})
    b = services.accounts.create(actor=staff, data={"name": "B"})
    ids = [str(a.pk), str(b.pk)]
    listed = assert_page(staff_client.get("/records/account/"))
    assert f'<option value="{other.pk}">otto</option>' in listed
    page = assert_page(
        staff_client.post(
            "/records/account/bulk", {"action": "assign", "owner_id": str(other.pk), "ids": ids}
        )
    )
    assert page.count("tag-success") == 2
    assert set(Account.objects.filter(pk__in=ids).values_list("owner_id", flat=True)) == {other.pk}


def test_bulk_add_tag_keeps_the_other_tags(staff, staff_client, make_tag):
    make_tag(name="old")
    make_tag(name="vip")
    a = services.accounts.create(actor=staff, data={"name": "A", "tags": ["old"]})
    assert_page(
        staff_client.post(
            "/records/account/bulk", {"action": "tag", "tag": "vip", "ids": [str(a.pk)]}
        )
    )
    assert set(Account.objects.get(pk=a.pk).tags.values_list("name", flat=True)) == {"old", "vip"}


def test_bulk_set_status_checks_each_value(staff, staff_client):
    from accord.sales import services as sales

    lead = sales.leads.create(actor=staff, data={"last_name": "Lee", "company": "Lee Inc"})
    page = assert_page(
        staff_client.post(
            "/records/lead/bulk",
            {"action": "set", "field": "status", "value": "bogus", "ids": [str(lead.pk)]},
        )
    )
    assert "tag-danger" in page
    assert_page(
        staff_client.post(
            "/records/lead/bulk",
            {"action": "set", "field": "status", "value": "working", "ids": [str(lead.pk)]},
        )
    )
    lead.refresh_from_db()
    assert lead.status == "working"


def test_bulk_without_a_selection_is_refused(staff_client):
    assert_page(staff_client.post("/records/account/bulk", {"action": "delete"}), 422)


# -- CSV export ------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_of_the_current_view_reads_back_and_is_logged(staff, staff_client, monkeypatch):
    from accord.web import lists

    monkeypatch.setattr(lists, "EXPORT_BATCH", 2)  # several pages, one file
    for i in range(5):
        services.accounts.create(actor=staff, data={"name": f"Co {i}", "industry": "steel"})
    services.accounts.create(actor=staff, data={"name": "Other", "industry": "food"})
    rows = _csv(
        staff_client.get(
            "/records/account/export.csv",
            {"columns": ["name", "industry"], "sort": "name", "q": "Co"},
        )
    )
    assert rows[0] == ["id", "name", "industry"]
    assert [r[1] for r in rows[1:]] == [f"Co {i}" for i in range(5)]
    event = SecurityEvent.objects.get(kind="export")
    assert event.actor == staff
    assert event.target_type == "account"


def test_export_needs_the_export_permission(rep):
    assert_page(signed_in(rep).get("/records/account/export.csv"), 403)
    assert not SecurityEvent.objects.filter(kind="export").exists()


def test_export_never_contains_a_hidden_field(rep, admin):
    ObjectPermission.objects.filter(role=rep.role, object_type="account").update(can_export=True)
    visibility.access_model_changed()  # as every write to the access model does
    services.accounts.create(
        actor=admin,
        data={"name": "Umbrella", "annual_revenue": Decimal("4242420"), "owner_id": str(rep.pk)},
    )
    rows = _csv(
        signed_in(rep).get("/records/account/export.csv", {"columns": ["name", "annual_revenue"]})
    )
    assert rows[0] == ["id", "name"]
    assert "4242420" not in str(rows)


# -- saved views -----------------------------------------------------------------------------


def test_saved_view_is_listed_for_its_owner_and_the_team_it_is_shared_with(staff, make_user):
    from accord.identity.models import Team
    from accord.web.models import SavedView

    team = Team.objects.create(name="North")
    team.members.add(staff)
    mate, outsider = make_user(username="mate"), make_user(username="outsider")
    team.members.add(mate)
    client = signed_in(staff)
    response = client.post(
        "/records/account/views",
        {
            "name": "Steel firms",
            "query": "industry=steel&columns=name&columns=industry&cursor=abc",
            "audience": f"team:{team.pk}",
        },
    )
    assert response.status_code == 302
    view = SavedView.objects.get()
    assert view.query == "industry=steel&columns=name&columns=industry"  # no page position
    assert view.team == team
    for user, shown in ((staff, True), (mate, True), (outsider, False)):
        page = assert_page(signed_in(user).get("/records/account/"))
        assert ("Steel firms" in page) is shown, user
    # Only the owner removes it.
    assert_page(signed_in(mate).post(f"/records/account/views/{view.pk}/delete"), 404)
    assert client.post(f"/records/account/views/{view.pk}/delete").status_code == 302
    assert not SavedView.objects.exists()


def test_view_cannot_be_shared_with_someone_elses_team(staff, staff_client):
    from accord.identity.models import Team
    from accord.web.models import SavedView

    team = Team.objects.create(name="Not mine")
    staff_client.post(
        "/records/account/views", {"name": "Sneaky", "query": "", "audience": f"team:{team.pk}"}
    )
    assert not SavedView.objects.exists()


def test_view_shared_with_a_department_reaches_its_members(make_user):
    from accord.identity.models import Department

    sales = Department.objects.create(name="Sales dept")
    author, colleague = (
        make_user(username="au", department=sales),
        make_user(username="co", department=sales),
    )
    signed_in(author).post(
        "/records/account/views",
        {"name": "Dept view", "query": "sort=name", "audience": "department"},
    )
    page = assert_page(signed_in(colleague).get("/records/account/"))
    assert "Dept view" in page
    assert 'href="/records/account/?sort=name"' in page

"""Settings pages for people: who may open them, and users, departments and teams created and
changed through the identity services, with their errors shown next to the field and nothing
saved."""

from __future__ import annotations

import pytest
from django.test import Client

from accord.identity.models import Department, SecurityEvent, Team, User
from tests.web.fixtures import assert_page, make_role

pytest_plugins = ["tests.web.fixtures"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def sales(db) -> Department:
    return Department.objects.create(name="Sales", kind=Department.Kind.SALES)


@pytest.fixture
def team(sales) -> Team:
    return Team.objects.create(name="DACH field sales", department=sales)


SETTINGS_PAGES = [
    "/settings/",
    "/settings/users/",
    "/settings/users/new",
    "/settings/users/{staff}/",
    "/settings/departments/",
    "/settings/departments/{department}/",
    "/settings/teams/",
    "/settings/teams/new",
    "/settings/teams/{team}/",
    "/settings/roles/",
    "/settings/roles/{role}/",
    "/settings/roles/{role}/permissions/",
    "/settings/roles/{role}/fields/",
    "/settings/territories/",
    "/settings/territories/new",
    "/settings/sharing/",
    "/settings/sharing/rules/new",
    "/settings/security-log/",
    "/settings/explain/",
]


@pytest.fixture
def ids(staff, sales, team, manager_role) -> dict[str, str]:
    return {
        "staff": str(staff.pk),
        "department": str(sales.pk),
        "team": str(team.pk),
        "role": str(manager_role.pk),
    }


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_settings_page_opens_for_an_access_manager(manager_client, ids, path):
    page = assert_page(manager_client.get(path.format(**ids)))
    assert '<nav class="settings-nav" aria-label="Settings">' in page


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_settings_page_is_the_403_page_for_everyone_else(staff_client, ids, path):
    page = assert_page(staff_client.get(path.format(**ids)), 403)
    assert "Not allowed" in page


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_settings_page_sends_anonymous_visitors_to_sign_in(ids, path):
    response = Client().get(path.format(**ids))
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_settings_writes_are_forbidden_to_everyone_else(staff_client, staff):
    response = staff_client.post(f"/settings/users/{staff.pk}/", {"role_id": ""})
    assert_page(response, 403)
    assert (
        staff_client.post("/settings/departments/", {"name": "X", "kind": "it"}).status_code == 403
    )
    assert not Department.objects.filter(name="X").exists()


def test_unknown_id_is_the_404_page(manager_client):
    page = assert_page(
        manager_client.get("/settings/users/01900000-0000-7000-8000-000000000000/"), 404
    )
    assert "Page not found" in page


# -- users -----------------------------------------------------------------------------------


def test_users_list_filters_by_department_and_status(manager_client, make_user, sales):
    make_user(username="ines", department=sales)
    make_user(username="olga", department=sales, active=False)
    make_user(username="pablo")
    page = assert_page(manager_client.get("/settings/users/", {"department": str(sales.pk)}))
    assert ">ines</a>" in page
    assert ">olga</a>" not in page
    assert ">pablo</a>" not in page
    everyone = assert_page(
        manager_client.get("/settings/users/", {"department": str(sales.pk), "status": "all"})
    )
    assert ">olga</a>" in everyone


def test_users_list_answers_htmx_with_only_the_table(manager_client, make_user):
    make_user(username="ines")
    response = manager_client.get("/settings/users/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="user-rows">')
    assert ">ines</a>" in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]
    restore = manager_client.get(
        "/settings/users/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.content.decode()


def test_users_list_pages_with_a_cursor(manager_client, make_user, monkeypatch):
    monkeypatch.setattr("accord.identity.views.people.PAGE_SIZE", 2)
    for name in ("u1", "u2", "u3"):
        make_user(username=name)
    first = assert_page(manager_client.get("/settings/users/"))
    assert "maria" in first
    assert ">u1</a>" in first
    next_link = first.split('rel="next"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    second = assert_page(manager_client.get(f"/settings/users/{next_link.replace('&amp;', '&')}"))
    assert ">u2</a>" in second
    assert ">maria</a>" not in second
    assert "First page" in second


def test_manager_adds_a_user_and_sees_the_password_once(manager_client, sales, team):
    role = make_role("Sales rep")
    response = manager_client.post(
        "/settings/users/new",
        {
            "username": "ines",
            "first_name": "Inès",
            "last_name": "Ortega",
            "email": "ines@example.com",
            "department_id": str(sales.pk),
            "role_id": str(role.pk),
            "team_ids": [str(team.pk)],
        },
    )
    page = assert_page(response)
    ines = User.objects.get(username="ines")
    assert (ines.department, ines.role, list(ines.teams.all())) == (sales, role, [team])
    password = page.split('<code class="mono">', 1)[1].split("</code>", 1)[0]
    assert ines.check_password(password)
    assert response["Cache-Control"].startswith("max-age=0")
    assert "no-store" in response["Cache-Control"]
    assert SecurityEvent.objects.filter(kind="user_created", target_id=str(ines.pk)).exists()


def test_invalid_username_is_shown_next_to_the_field_and_nothing_is_saved(manager_client):
    before = User.objects.count()
    page = assert_page(
        manager_client.post("/settings/users/new", {"username": "no spaces please"}), 422
    )
    field = page.split('<label for="id_username">', 1)[1].split('<label for="id_first_name">')[0]
    assert 'class="errorlist"' in field
    assert 'aria-invalid="true"' in field
    assert User.objects.count() == before


def test_duplicate_username_is_a_conflict_shown_next_to_the_field(manager_client, staff):
    page = assert_page(manager_client.post("/settings/users/new", {"username": "SAM"}), 409)
    field = page.split('<label for="id_username">', 1)[1].split('<label for="id_first_name">')[0]
    assert "already exists" in field
    assert User.objects.filter(username__iexact="sam").count() == 1


def test_manager_changes_a_users_role_and_teams(manager_client, staff, team):
    role = make_role("Support agent")
    response = manager_client.post(
        f"/settings/users/{staff.pk}/",
        {"role_id": str(role.pk), "team_ids": [str(team.pk)], "first_name": "Sam"},
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.role == role
    assert staff.first_name == "Sam"
    assert list(staff.teams.all()) == [team]
    page = assert_page(manager_client.get(response["Location"]))
    assert "Saved sam." in page


def test_manager_deactivates_and_reactivates_a_user(manager_client, staff):
    response = manager_client.post(f"/settings/users/{staff.pk}/deactivate")
    assert response.status_code == 302
    staff.refresh_from_db()
    assert not staff.is_active
    assert "deactivated" in assert_page(manager_client.get(response["Location"]))
    manager_client.post(f"/settings/users/{staff.pk}/reactivate")
    staff.refresh_from_db()
    assert staff.is_active


def test_manager_cannot_deactivate_themselves(manager_client, manager):
    response = manager_client.post(f"/settings/users/{manager.pk}/deactivate", follow=True)
    page = assert_page(response)
    assert "You cannot deactivate yourself" in page
    manager.refresh_from_db()
    assert manager.is_active


def test_manager_resets_a_password(manager_client, staff):
    page = assert_page(manager_client.post(f"/settings/users/{staff.pk}/reset-password"))
    password = page.split('<code class="mono">', 1)[1].split("</code>", 1)[0]
    staff.refresh_from_db()
    assert staff.check_password(password)


def test_deactivate_needs_a_post(manager_client, staff):
    assert manager_client.get(f"/settings/users/{staff.pk}/deactivate").status_code == 405
    staff.refresh_from_db()
    assert staff.is_active


# -- departments and teams -------------------------------------------------------------------


def test_manager_adds_renames_and_deletes_a_department(manager_client):
    response = manager_client.post("/settings/departments/", {"name": "Finance", "kind": "finance"})
    assert response.status_code == 302
    finance = Department.objects.get(name="Finance")
    manager_client.post(
        f"/settings/departments/{finance.pk}/", {"name": "Back office", "kind": "finance"}
    )
    finance.refresh_from_db()
    assert finance.name == "Back office"
    page = assert_page(manager_client.get("/settings/departments/"))
    assert ">Back office</a>" in page
    manager_client.post(f"/settings/departments/{finance.pk}/delete")
    assert not Department.objects.filter(pk=finance.pk).exists()


def test_duplicate_department_name_is_shown_inline(manager_client, sales):
    page = assert_page(
        manager_client.post("/settings/departments/", {"name": "sales", "kind": "sales"}), 409
    )
    assert "already exists" in page
    assert Department.objects.count() == 1


def test_department_with_members_is_not_deleted(manager_client, make_user, sales):
    make_user(username="ines", department=sales)
    page = assert_page(manager_client.post(f"/settings/departments/{sales.pk}/delete", follow=True))
    assert "still has 1 members" in page
    assert Department.objects.filter(pk=sales.pk).exists()


def test_manager_creates_edits_and_deletes_a_team(manager_client, sales, staff):
    response = manager_client.post(
        "/settings/teams/new",
        {"name": "Key accounts", "department_id": str(sales.pk), "member_ids": [str(staff.pk)]},
    )
    assert response.status_code == 302
    team = Team.objects.get(name="Key accounts")
    assert list(team.members.all()) == [staff]
    manager_client.post(f"/settings/teams/{team.pk}/", {"name": "Key accounts", "member_ids": []})
    assert team.members.count() == 0
    team.refresh_from_db()
    assert team.department is None
    manager_client.post(f"/settings/teams/{team.pk}/delete")
    assert not Team.objects.filter(pk=team.pk).exists()


def test_team_without_a_name_is_refused_inline(manager_client):
    page = assert_page(manager_client.post("/settings/teams/new", {"name": ""}), 422)
    assert "This field is required." in page
    assert not Team.objects.exists()

"""The shell around every page: navigation by workspace, the Settings area, search, error
pages, the Content-Security-Policy and CSRF on every form and htmx request."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory

from accord import urls
from accord.identity.models import Department, FieldPermission, ObjectPermission
from tests.web.fixtures import assert_page, make_role, signed_in

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_shell_has_landmarks_skip_link_search_and_user_menu(staff_client):
    page = assert_page(staff_client.get("/"))
    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page
    assert '<nav class="workspaces" aria-label="Workspaces">' in page
    assert 'role="search" action="/search"' in page
    assert '<label for="global-search"' in page
    assert 'action="/logout"' in page
    for label in ("Sales", "Marketing", "Service", "Back office"):
        assert f">{label}</a>" in page
    # Only people who may open a settings section see the Admin workspace.
    assert ">Admin</a>" not in page


def test_scripts_come_from_our_static_files_not_a_cdn(staff_client):
    page = assert_page(staff_client.get("/"))
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer>' in page
    assert '<script src="/static/web/accord.js" defer>' in page
    assert "https://" not in page
    assert finders.find("django_htmx/htmx-2.min.js")
    assert finders.find("web/accord.js")
    assert finders.find("web/accord.css")
    assert '<meta name="csrf-token" content="' in page


def test_manager_sees_the_admin_workspace_and_the_settings_sections(manager_client):
    page = assert_page(manager_client.get("/"))
    assert '<a href="/settings/">Admin</a>' in page
    settings_page = assert_page(manager_client.get("/settings/"))
    assert '<a href="/settings/" aria-current="page">Admin</a>' in settings_page
    for section in ("Users", "Departments", "Teams", "Roles and permissions", "Territories"):
        assert f">{section}</a>" in settings_page
    assert ">Security log</a>" in settings_page
    assert ">Explain access</a>" in settings_page


def test_settings_area_is_forbidden_to_everyone_else(staff_client):
    page = assert_page(staff_client.get("/settings/"), 403)
    assert "Not allowed" in page


def test_workspace_pages_mark_the_current_workspace(staff_client):
    page = assert_page(staff_client.get("/service/"))
    assert '<a href="/service/" aria-current="page">Service</a>' in page
    assert "<h1>Service</h1>" in page


def test_search_finds_visible_records_by_part_of_a_name(staff_client, make_account):
    make_account(name="Globex Corporation")
    page = assert_page(staff_client.get("/search", {"q": "globe"}))
    assert "Globex Corporation" in page
    assert 'value="globe"' in page
    nothing = assert_page(staff_client.get("/search", {"q": "initech"}))
    assert "Nothing matches" in nothing


def test_search_hides_types_the_role_may_not_read(staff, make_account):
    make_account(name="Globex Corporation")
    staff.role = make_role("Support")
    staff.save()
    ObjectPermission.objects.create(role=staff.role, object_type="contact", can_read=True)
    page = assert_page(signed_in(staff).get("/search", {"q": "globex"}))
    assert "Globex Corporation" not in page
    assert "Nothing matches" in page


def test_search_results_never_show_a_field_hidden_from_the_role(staff, make_contact):
    make_contact(first_name="Ada", last_name="Lovelace")
    staff.role = make_role("Marketing")
    staff.save()
    ObjectPermission.objects.create(role=staff.role, object_type="contact", can_read=True)
    FieldPermission.objects.create(
        role=staff.role, object_type="contact", field="last_name", access="hidden"
    )
    client = signed_in(staff)
    page = assert_page(client.get("/search", {"q": "ada"}))
    assert ">Ada</a></li>" in page
    assert "Lovelace" not in page
    # Nor can the hidden field be searched.
    assert "Nothing matches" in assert_page(client.get("/search", {"q": "lovelace"}))


def test_unknown_page_is_the_404_page_and_the_api_keeps_problem_json(staff_client):
    page = assert_page(staff_client.get("/no-such-page"), 404)
    assert "Page not found" in page
    api = staff_client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api["Content-Type"] == "application/problem+json"
    assert "Content-Security-Policy" not in api


def test_server_error_page_renders_without_a_request_context(db):
    response = urls.handler500(RequestFactory().get("/sales/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_csp_forbids_inline_scripts_everywhere_but_the_api(db):
    response = Client().get("/login")
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'"


def test_csrf_is_enforced_on_sign_in_and_on_settings_forms(manager):
    anonymous = Client(enforce_csrf_checks=True)
    refused = anonymous.post("/login", {"username": "maria", "password": "x"})
    page = assert_page(refused, 403)
    assert "This form has expired" in page

    client = signed_in(manager, enforce_csrf_checks=True)
    data = {"name": "Finance", "kind": "finance"}
    assert client.post("/settings/departments/", data).status_code == 403
    assert not Department.objects.filter(name="Finance").exists()


def test_htmx_requests_pass_csrf_with_the_header_accord_js_sets(manager):
    client = signed_in(manager, enforce_csrf_checks=True)
    page = client.get("/settings/departments/").content.decode()
    token = page.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/settings/departments/",
        {"name": "Finance", "kind": "finance"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 302
    assert Department.objects.filter(name="Finance").exists()

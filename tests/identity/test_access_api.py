"""The API through which business admins manage people, departments, teams, territories,
org-wide defaults and the security log; and the directory every staff member may read."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.core import clock
from accord.identity.models import Department, SecurityEvent, SharingDefault, Team, User

from .access_factories import (
    PROBLEM,
    access_state,
    error_fields,
    events,
    make_role,
    put,
    with_role,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def manager(make_user):
    """An access manager who is not a superuser."""
    role = make_role(name="Access admin", manages_access=True)
    return with_role(make_user(username="manager"), role)


@pytest.fixture
def staff(make_user):
    return make_user(username="staff")


@pytest.fixture
def sales():
    return Department.objects.create(name="Sales", kind="sales")


# -- who may do what -------------------------------------------------------------------------


def test_non_managers_get_403_on_every_admin_write_and_nothing_changes(
    staff, sales, api_as, db_state
):
    client = api_as(staff)
    team = Team.objects.create(name="DACH")
    before, records = access_state(), db_state()
    attempts = [
        client.post("/api/v1/departments", {"name": "Legal"}),
        client.patch(f"/api/v1/departments/{sales.pk}", {"name": "Revenue"}),
        client.delete(f"/api/v1/departments/{sales.pk}"),
        client.post("/api/v1/users", {"username": "mallory"}),
        client.patch(f"/api/v1/users/{staff.pk}", {"first_name": "Boss"}),
        client.post(f"/api/v1/users/{staff.pk}/reset-password"),
        client.post("/api/v1/roles", {"name": "Everything"}),
        client.post("/api/v1/teams", {"name": "Mine"}),
        client.patch(f"/api/v1/teams/{team.pk}", {"member_ids": [str(staff.pk)]}),
        client.post("/api/v1/territories", {"name": "Everywhere"}),
        put(client, "/api/v1/sharing-defaults/contact", {"access": "public_read_write"}),
    ]
    for response in attempts:
        assert (response.status_code, response.headers["Content-Type"]) == (403, PROBLEM)
    assert access_state() == before
    assert db_state() == records
    refused = SecurityEvent.objects.filter(actor=staff, outcome="denied")
    assert refused.count() == len(attempts)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/territories",
        "/api/v1/sharing-defaults",
        "/api/v1/sharing-rules",
        "/api/v1/security-events",
    ],
)
def test_admin_only_reads_are_403_for_staff(staff, api_as, path):
    response = api_as(staff).get(path)
    assert (response.status_code, response.headers["Content-Type"]) == (403, PROBLEM)


def test_staff_read_the_directory_without_account_details(staff, manager, sales, api_as):
    staff.department = sales
    staff.save()
    listed = api_as(staff).get("/api/v1/users", {"department_id": str(sales.pk)})
    assert listed.status_code == 200, listed.content
    [entry] = listed.json()["items"]
    assert entry["username"] == "staff"
    assert entry["department_name"] == "Sales"
    assert {"email", "is_superuser"}.isdisjoint(entry)

    as_manager = api_as(manager).get(f"/api/v1/users/{staff.pk}").json()
    assert (as_manager["email"], as_manager["is_superuser"]) == ("", False)
    assert api_as(staff).get("/api/v1/departments").json()["items"][0]["member_count"] == 1
    assert api_as(staff).get("/api/v1/roles").status_code == 200
    assert api_as(staff).get("/api/v1/teams").status_code == 200


def test_the_directory_needs_a_token_and_its_scope(staff, api_as):
    assert api_as(None).get("/api/v1/users").status_code == 401
    assert api_as(staff, scopes=["contacts:read"]).get("/api/v1/users").status_code == 403
    assert api_as(staff, scopes=["users:read"]).get("/api/v1/users").status_code == 200


# -- departments -----------------------------------------------------------------------------


def test_manager_creates_renames_and_deletes_an_empty_department(manager, api_as):
    client = api_as(manager)
    created = client.post("/api/v1/departments", {"name": "Legal", "kind": "other"})
    assert created.status_code == 201, created.content
    department_id = created.json()["id"]
    assert created.headers["Location"].endswith(department_id)

    renamed = client.patch(f"/api/v1/departments/{department_id}", {"name": "Legal & Compliance"})
    assert renamed.json()["name"] == "Legal & Compliance"
    assert client.delete(f"/api/v1/departments/{department_id}").status_code == 204
    assert not Department.objects.filter(pk=department_id).exists()
    actions = [e.details["action"] for e in events("department_changed", outcome="success")]
    assert actions == ["create", "change", "delete"]


def test_department_with_members_or_a_duplicate_name_is_refused(manager, sales, api_as, make_user):
    make_user(department=sales)
    client = api_as(manager)
    before = access_state()

    assert client.delete(f"/api/v1/departments/{sales.pk}").status_code == 409
    assert client.post("/api/v1/departments", {"name": "sales"}).status_code == 409
    bad_kind = client.post("/api/v1/departments", {"name": "Legal", "kind": "law"})
    assert (bad_kind.status_code, error_fields(bad_kind)) == (422, ["kind"])
    assert access_state() == before
    assert len(events("department_changed", outcome="failed")) == 2


# -- users -----------------------------------------------------------------------------------


def test_manager_creates_a_user_with_role_department_and_teams(manager, sales, api_as):
    rep = make_role(name="Sales rep")
    team = Team.objects.create(name="DACH", department=sales)
    response = api_as(manager).post(
        "/api/v1/users",
        {
            "username": "grace",
            "first_name": "Grace",
            "email": "Grace@Example.com",
            "department_id": str(sales.pk),
            "role_id": str(rep.pk),
            "team_ids": [str(team.pk)],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["role_name"], body["team_ids"]) == ("Sales rep", [str(team.pk)])
    assert body["email"] == "grace@example.com"
    grace = User.objects.get(username="grace")
    assert grace.check_password(body["password"])
    [event] = events("user_created", outcome="success", actor=manager)
    assert (event.actor, event.target_id) == (manager, str(grace.pk))


def test_unknown_role_department_or_team_is_a_422_naming_each(manager, api_as):
    unknown = "0190a000-0000-7000-8000-000000000000"
    before = access_state()
    response = api_as(manager).post(
        "/api/v1/users",
        {"username": "x", "role_id": unknown, "department_id": unknown, "team_ids": [unknown]},
    )
    assert response.status_code == 422
    assert set(error_fields(response)) == {"role_id", "department_id", "team_ids[0]"}
    assert access_state() == before
    [failed] = events("user_created", outcome="failed")
    assert failed.actor == manager
    assert "role_id" in str(failed.details["errors"])


def test_user_input_cannot_set_privileges_or_unknown_fields(manager, staff, api_as):
    client = api_as(manager)
    before = access_state()
    for body in ({"is_superuser": True}, {"password": "x" * 20}, {"username": "renamed"}):
        response = client.patch(f"/api/v1/users/{staff.pk}", body)
        assert response.status_code == 422, body
    created = client.post("/api/v1/users", {"username": "eve", "is_superuser": True})
    assert created.status_code == 422
    assert access_state() == before


def test_change_user_role_and_teams_is_logged_with_old_and_new(manager, staff, api_as):
    role = make_role(name="Finance user")
    team = Team.objects.create(name="Billing")
    response = api_as(manager).patch(
        f"/api/v1/users/{staff.pk}", {"role_id": str(role.pk), "team_ids": [str(team.pk)]}
    )
    assert response.status_code == 200, response.content
    assert response.json()["role_name"] == "Finance user"
    [event] = events("user_changed", outcome="success")
    assert event.details["changed"]["role_id"] == [None, str(role.pk)]
    assert event.details["changed"]["team_ids"] == [[], [str(team.pk)]]

    cleared = api_as(manager).patch(f"/api/v1/users/{staff.pk}", {"role_id": None})
    assert cleared.json()["role_id"] is None


def test_deactivated_user_is_refused_at_once_and_can_come_back(manager, staff, api_as):
    client = api_as(staff)
    assert client.get("/api/v1/users").status_code == 200
    assert api_as(manager).post(f"/api/v1/users/{staff.pk}/deactivate").status_code == 200
    assert client.get("/api/v1/users").status_code == 401
    assert events("user_deactivated", outcome="success")
    reactivated = api_as(manager).post(f"/api/v1/users/{staff.pk}/reactivate")
    assert reactivated.json()["is_active"] is True
    assert client.get("/api/v1/users").status_code == 200


def test_nobody_deactivates_themselves(manager, api_as):
    response = api_as(manager).post(f"/api/v1/users/{manager.pk}/deactivate")
    assert response.status_code == 409
    manager.refresh_from_db()
    assert manager.is_active


def test_admin_password_reset_answers_a_new_password_once(manager, staff, api_as):
    response = api_as(manager).post(f"/api/v1/users/{staff.pk}/reset-password")
    assert response.status_code == 200, response.content
    staff.refresh_from_db()
    assert staff.check_password(response.json()["password"])
    [event] = events("password_reset")
    assert (event.actor, event.target_id) == (manager, str(staff.pk))


def test_an_access_manager_cannot_take_over_a_superuser(manager, admin, api_as):
    client = api_as(manager)
    before = access_state()
    for response in (
        client.post(f"/api/v1/users/{admin.pk}/reset-password"),
        client.post(f"/api/v1/users/{admin.pk}/deactivate"),
        client.patch(f"/api/v1/users/{admin.pk}", {"email": "me@example.com"}),
    ):
        assert response.status_code == 403
    assert access_state() == before
    assert len(events("password_reset", outcome="denied")) == 1


def test_malformed_and_unknown_ids_in_paths_are_404(manager, api_as):
    client = api_as(manager)
    for path in (
        "/api/v1/users/not-a-uuid",
        "/api/v1/users/0190a000-0000-7000-8000-000000000000",
        "/api/v1/departments/nope",
        "/api/v1/teams/0190a000-0000-7000-8000-000000000000",
        "/api/v1/roles/nope/permissions",
    ):
        response = client.get(path)
        assert (response.status_code, response.headers["Content-Type"]) == (404, PROBLEM), path


def test_user_list_pages_with_a_cursor(manager, make_user, api_as):
    for n in range(5):
        make_user(username=f"person{n}")
    client = api_as(manager)
    first = client.get("/api/v1/users", {"limit": 3}).json()
    rest = client.get("/api/v1/users", {"limit": 3, "cursor": first["next_cursor"]}).json()
    names = [u["username"] for u in first["items"] + rest["items"]]
    assert names == sorted(names)
    assert len(set(names)) == 6
    assert rest["next_cursor"] is None


# -- teams and territories -------------------------------------------------------------------


def test_manager_manages_teams_and_their_members(manager, staff, sales, api_as):
    client = api_as(manager)
    created = client.post(
        "/api/v1/teams",
        {"name": "DACH", "department_id": str(sales.pk), "member_ids": [str(staff.pk)]},
    )
    assert created.status_code == 201, created.content
    team_id = created.json()["id"]
    assert created.json()["member_ids"] == [str(staff.pk)]
    emptied = client.patch(f"/api/v1/teams/{team_id}", {"member_ids": []})
    assert emptied.json()["member_ids"] == []
    [change] = [e for e in events("team_changed") if e.details["action"] == "change"]
    assert change.details["changed"]["member_ids"] == [[str(staff.pk)], []]
    assert client.delete(f"/api/v1/teams/{team_id}").status_code == 204


def test_territory_rules_are_validated(manager, api_as):
    client = api_as(manager)
    before = access_state()
    bad = client.post(
        "/api/v1/territories",
        {"name": "North", "rules": [{"country": "DE", "planet": "Mars"}, {"employees_min": "x"}]},
    )
    assert bad.status_code == 422
    assert error_fields(bad) == ["rules[0]", "rules[1].employees_min"]
    assert access_state() == before
    good = client.post(
        "/api/v1/territories",
        {"name": "DACH", "rules": [{"country": "DE"}, {"country": "AT"}], "level": "read"},
    )
    assert good.status_code == 201, good.content
    assert client.get(f"/api/v1/territories/{good.json()['id']}").json()["level"] == "read"


# -- org-wide defaults -----------------------------------------------------------------------


def test_sharing_defaults_list_every_owned_type_and_can_be_set(manager, api_as):
    client = api_as(manager)
    listed = {d["object_type"]: d for d in client.get("/api/v1/sharing-defaults").json()["items"]}
    assert listed["contact"] == {
        "object_type": "contact",
        "access": "public_read",
        "department_level": "",
        "configured": False,
    }
    assert "tag" not in listed  # tags have no owner

    response = put(
        client, "/api/v1/sharing-defaults/deal", {"access": "private", "department_level": "read"}
    )
    assert response.status_code == 200, response.content
    row = SharingDefault.objects.get(object_type="deal")
    assert (row.access, row.department_level) == ("private", "read")
    [event] = events("sharing_default_changed")
    assert event.details["access"] == ["public_read", "private"]


def test_sharing_default_for_an_unknown_or_ownerless_type_is_refused(manager, api_as):
    client = api_as(manager)
    assert put(client, "/api/v1/sharing-defaults/planet", {"access": "private"}).status_code == 404
    ownerless = put(client, "/api/v1/sharing-defaults/tag", {"access": "private"})
    assert (ownerless.status_code, error_fields(ownerless)) == (422, ["object_type"])
    bad = put(client, "/api/v1/sharing-defaults/contact", {"access": "everyone"})
    assert bad.status_code == 422
    assert not SharingDefault.objects.exists()


# -- the security log and explain access -----------------------------------------------------


def test_security_events_filter_and_page_newest_first(manager, staff, api_as):
    start = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
    client = api_as(manager)
    with clock.frozen(start):
        for name in ("One", "Two", "Three"):
            client.post("/api/v1/departments", {"name": name})
            clock.advance(dt.timedelta(minutes=1))
        api_as(staff).post("/api/v1/departments", {"name": "Sneaky"})

    page = client.get("/api/v1/security-events", {"kind": "department_changed", "limit": 2})
    assert page.status_code == 200, page.content
    first = page.json()
    assert [e["details"].get("name") for e in first["items"]] == [None, "Three"]
    assert first["items"][0]["outcome"] == "denied"
    rest = client.get(
        "/api/v1/security-events",
        {"kind": "department_changed", "limit": 2, "cursor": first["next_cursor"]},
    ).json()
    assert [e["details"]["name"] for e in rest["items"]] == ["Two", "One"]

    mine = client.get("/api/v1/security-events", {"actor_id": str(staff.pk)}).json()["items"]
    assert {e["outcome"] for e in mine} == {"denied"}
    window = client.get(
        "/api/v1/security-events",
        {
            "kind": "department_changed",
            "since": (start + dt.timedelta(minutes=1)).isoformat(),
            "until": (start + dt.timedelta(minutes=2)).isoformat(),
        },
    ).json()["items"]
    assert [e["details"]["name"] for e in window] == ["Two"]
    unknown = client.get("/api/v1/security-events", {"kind": "coffee"})
    assert (unknown.status_code, error_fields(unknown)) == (422, ["kind"])


def test_explain_access_tells_a_manager_why_and_is_admin_only(
    manager, staff, make_user, make_contact, admin_api, api_as
):
    SharingDefault.objects.create(object_type="contact", access="private")
    boss_role = make_role(name="Boss")
    rep_role = make_role(name="Rep", parent=boss_role, hidden=[("contact", "title")])
    boss = with_role(make_user(username="boss"), boss_role)
    rep = with_role(make_user(username="rep"), rep_role)
    contact = make_contact(owner=rep)
    query = {"object_type": "contact", "record_id": str(contact.pk)}

    answer = admin_api.get("/api/v1/access/explain", {**query, "user_id": str(boss.pk)})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["can_see"], body["can_edit"]) == (True, True)
    assert any("hierarchy" in reason for reason in body["reasons"])
    outsider = admin_api.get("/api/v1/access/explain", {**query, "user_id": str(staff.pk)})
    assert outsider.json()["can_see"] is False
    as_rep = admin_api.get("/api/v1/access/explain", {**query, "user_id": str(rep.pk)})
    assert as_rep.json()["hidden_fields"] == ["title"]

    # A manager who cannot see the record learns nothing about it, not even that it exists.
    blind = api_as(manager).get("/api/v1/access/explain", {**query, "user_id": str(boss.pk)})
    assert (blind.status_code, blind.headers["Content-Type"]) == (404, PROBLEM)
    refused = api_as(staff).get("/api/v1/access/explain", {**query, "user_id": str(boss.pk)})
    assert refused.status_code == 403

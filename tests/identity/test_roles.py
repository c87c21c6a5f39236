"""Roles: the hierarchy (materialised paths kept in step when a role moves, no cycles), object
permissions per role and field-level security, all managed through the API."""

from __future__ import annotations

import pytest
from django.test import Client

from accord.identity import services, visibility
from accord.identity.models import (
    FieldPermission,
    ObjectPermission,
    Role,
    SharingDefault,
    SharingRule,
    User,
)
from accord.parties import services as parties_services

from .access_factories import (
    ALL,
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
    return with_role(make_user(username="manager"), make_role(name="Admins", manages_access=True))


def _create(client, name, parent=None, **extra):
    body = {"name": name, **extra}
    if parent is not None:
        body["parent_id"] = parent
    response = client.post("/api/v1/roles", body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def ladder(manager, api_as):
    """CEO → VP → Manager → Rep, created through the API; ids by name."""
    client = api_as(manager)
    ceo = _create(client, "CEO")["id"]
    vp = _create(client, "VP", ceo)["id"]
    mgr = _create(client, "Manager", vp)["id"]
    rep = _create(client, "Rep", mgr)["id"]
    return {"CEO": ceo, "VP": vp, "Manager": mgr, "Rep": rep}


def _paths():
    return {r.name: (r.path, r.depth) for r in Role.objects.exclude(name="Admins")}


def test_created_roles_carry_their_path_from_the_top(ladder, manager, api_as):
    ceo, vp, mgr, rep = (ladder[n] for n in ("CEO", "VP", "Manager", "Rep"))
    assert _paths()["Rep"] == (f"/{ceo}/{vp}/{mgr}/{rep}/", 3)
    listed = api_as(manager).get("/api/v1/roles", {"sort": "path"}).json()["items"]
    tree = [r["name"] for r in listed if r["name"] != "Admins"]
    assert tree == ["CEO", "VP", "Manager", "Rep"]
    created = [e.details for e in events("role_changed", outcome="success", actor=manager)]
    assert [d["name"] for d in created] == ["CEO", "VP", "Manager", "Rep"]


def test_moving_a_role_moves_its_whole_subtree(ladder, manager, api_as):
    ceo, vp, mgr, rep = (ladder[n] for n in ("CEO", "VP", "Manager", "Rep"))
    response = api_as(manager).patch(f"/api/v1/roles/{mgr}", {"parent_id": ceo})
    assert response.status_code == 200, response.content
    assert (response.json()["parent_id"], response.json()["depth"]) == (ceo, 1)
    paths = _paths()
    assert paths["Manager"] == (f"/{ceo}/{mgr}/", 1)
    assert paths["Rep"] == (f"/{ceo}/{mgr}/{rep}/", 2)
    assert paths["VP"] == (f"/{ceo}/{vp}/", 1)

    to_top = api_as(manager).patch(f"/api/v1/roles/{mgr}", {"parent_id": None})
    assert to_top.json()["depth"] == 0
    assert _paths()["Rep"] == (f"/{mgr}/{rep}/", 1)
    [*_, event] = events("role_changed", outcome="success")
    assert event.details["changed"]["parent_id"] == [ceo, None]


def test_moving_changes_who_manages_whose_records(ladder, manager, make_user, make_contact):
    SharingDefault.objects.create(object_type="contact", access="private")
    for name in ("VP", "Rep"):
        ObjectPermission.objects.create(
            role_id=ladder[name], object_type="contact", **{f"can_{a}": True for a in ALL}
        )
    vp = with_role(make_user(username="vp"), Role.objects.get(pk=ladder["VP"]))
    rep = with_role(make_user(username="rep"), Role.objects.get(pk=ladder["Rep"]))
    contact = make_contact(owner=rep)
    assert visibility.can_see(User.objects.get(pk=vp.pk), contact)

    services.change_role(actor=manager, role_id=ladder["Manager"], data={"parent_id": None})
    assert not visibility.can_see(User.objects.get(pk=vp.pk), contact)


@pytest.mark.parametrize("target", ["Manager", "Rep"])
def test_a_cycle_is_a_422_and_changes_nothing(ladder, manager, api_as, target):
    before = access_state()
    response = api_as(manager).patch(
        f"/api/v1/roles/{ladder['Manager']}", {"parent_id": ladder[target]}
    )
    assert (response.status_code, response.headers["Content-Type"]) == (422, PROBLEM)
    assert error_fields(response) == ["parent_id"]
    assert access_state() == before
    [failed] = events("role_changed", outcome="failed")
    assert failed.details["target_id"] == ladder["Manager"]


def test_unknown_parent_is_a_422(manager, api_as):
    before = access_state()
    response = api_as(manager).post(
        "/api/v1/roles", {"name": "Orphan", "parent_id": "0190a000-0000-7000-8000-000000000000"}
    )
    assert (response.status_code, error_fields(response)) == (422, ["parent_id"])
    assert access_state() == before
    assert events("role_changed", outcome="failed")


def test_duplicate_role_name_is_a_409(ladder, manager, api_as):
    response = api_as(manager).post("/api/v1/roles", {"name": "ceo"})
    assert response.status_code == 409


def test_only_unused_roles_can_be_deleted(ladder, manager, make_user, api_as):
    client = api_as(manager)
    assert client.delete(f"/api/v1/roles/{ladder['Manager']}").status_code == 409  # has Rep
    with_role(make_user(), Role.objects.get(pk=ladder["Rep"]))
    assert client.delete(f"/api/v1/roles/{ladder['Rep']}").status_code == 409  # has people
    SharingRule.objects.create(
        name="To VPs",
        object_type="contact",
        criteria=[{"field": "title", "op": "eq", "value": "CEO"}],
        grantee_type="role_and_below",
        grantee_id=ladder["VP"],
    )
    User.objects.filter(role_id=ladder["Rep"]).update(role=None)
    assert client.delete(f"/api/v1/roles/{ladder['Rep']}").status_code == 204
    assert client.delete(f"/api/v1/roles/{ladder['Manager']}").status_code == 204
    assert client.delete(f"/api/v1/roles/{ladder['VP']}").status_code == 409  # a rule grants
    assert not Role.objects.filter(pk=ladder["Rep"]).exists()


def test_staff_read_roles_but_cannot_change_them(ladder, make_user, api_as):
    client = api_as(make_user(username="staff"))
    assert client.get(f"/api/v1/roles/{ladder['CEO']}").json()["name"] == "CEO"
    before = access_state()
    assert client.patch(f"/api/v1/roles/{ladder['CEO']}", {"name": "King"}).status_code == 403
    assert client.delete(f"/api/v1/roles/{ladder['Rep']}").status_code == 403
    assert client.get(f"/api/v1/roles/{ladder['CEO']}/permissions").status_code == 403
    matrix = put(client, f"/api/v1/roles/{ladder['CEO']}/permissions", {"permissions": {}})
    assert matrix.status_code == 403
    assert access_state() == before


# -- object permissions ----------------------------------------------------------------------


def test_permission_matrix_replaces_the_role_s_permissions(ladder, manager, api_as):
    url = f"/api/v1/roles/{ladder['Rep']}/permissions"
    client = api_as(manager)
    body = {
        "permissions": {
            "contact": {"create": True, "read": True, "edit": True},
            "deal": {"read": True},
        }
    }
    response = put(client, url, body)
    assert response.status_code == 200, response.content
    read_back = client.get(url).json()
    contact = read_back["permissions"]["contact"]
    assert contact == {"create": True, "read": True, "edit": True, "delete": False, "export": False}
    assert set(read_back["permissions"]) == {"contact", "deal"}
    assert "account" in read_back["object_types"]

    put(client, url, {"permissions": {"deal": {"read": True}}})
    stored = ObjectPermission.objects.filter(role_id=ladder["Rep"])
    assert list(stored.values_list("object_type", flat=True)) == ["deal"]
    [*_, event] = events("permission_changed", outcome="success")
    assert event.details["changed"]["contact"] == [["create", "edit", "read"], []]


def test_the_matrix_takes_effect_on_the_next_request(ladder, manager, make_user, api_as):
    rep = with_role(make_user(username="rep"), Role.objects.get(pk=ladder["Rep"]))
    rep_client = api_as(rep)
    assert rep_client.get("/api/v1/contacts").status_code == 403  # a new role may do nothing
    url = f"/api/v1/roles/{ladder['Rep']}/permissions"
    put(api_as(manager), url, {"permissions": {"contact": {"read": True}}})
    assert rep_client.get("/api/v1/contacts").status_code == 200
    created = rep_client.post("/api/v1/contacts", {"last_name": "Hopper"})
    assert created.status_code == 403


@pytest.mark.parametrize(
    ("permissions", "field"),
    [
        ({"planet": {"read": True}}, "permissions.planet"),
        ({"contact": {"edit": True}}, "permissions.contact"),
        ({"contact": {"read": True, "delete": True}}, "permissions.contact"),
    ],
)
def test_bad_matrices_are_422_and_change_nothing(ladder, manager, api_as, permissions, field):
    url = f"/api/v1/roles/{ladder['Rep']}/permissions"
    put(api_as(manager), url, {"permissions": {"contact": {"read": True}}})
    before = access_state()
    response = put(api_as(manager), url, {"permissions": permissions})
    assert (response.status_code, error_fields(response)) == (422, [field])
    assert access_state() == before
    assert events("permission_changed", outcome="failed")


def test_unknown_action_in_the_matrix_is_a_422(ladder, manager, api_as):
    url = f"/api/v1/roles/{ladder['Rep']}/permissions"
    response = put(api_as(manager), url, {"permissions": {"contact": {"fly": True}}})
    assert response.status_code == 422


# -- field permissions -----------------------------------------------------------------------


def test_field_permissions_round_trip(ladder, manager, api_as):
    url = f"/api/v1/roles/{ladder['Rep']}/field-permissions"
    body = {
        "fields": [
            {"object_type": "account", "field": "annual_revenue", "access": "hidden"},
            {"object_type": "account", "field": "billing_address", "access": "read_only"},
            {"object_type": "contact", "field": "account_id", "access": "hidden"},
            {"object_type": "contact", "field": "owner_id", "access": "read_only"},
            {"object_type": "contact", "field": "emails", "access": "hidden"},
        ]
    }
    response = put(api_as(manager), url, body)
    assert response.status_code == 200, response.content
    assert response.json()["fields"][0] == body["fields"][0]
    assert FieldPermission.objects.filter(role_id=ladder["Rep"]).count() == 5
    rep_role = Role.objects.get(pk=ladder["Rep"])
    assert FieldPermission.objects.get(role=rep_role, field="owner_id").access == "read_only"
    [event] = events("field_permission_changed", outcome="success")
    assert event.details["changed"]["account.annual_revenue"] == [None, "hidden"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"object_type": "planet", "field": "name", "access": "hidden"}, "is not one"),
        ({"object_type": "account", "field": "shoe_size", "access": "hidden"}, "no field"),
        ({"object_type": "account", "field": "billing_city", "access": "hidden"}, "address"),
        ({"object_type": "contact", "field": "account", "access": "hidden"}, "account_id"),
        ({"object_type": "contact", "field": "custom_fields.tier", "access": "hidden"}, "custom"),
        ({"object_type": "contact", "field": "owner_id", "access": "hidden"}, "identifies"),
        ({"object_type": "contact", "field": "id", "access": "hidden"}, "identifies"),
    ],
)
def test_unknown_or_identifying_fields_are_refused(ladder, manager, api_as, rule, message):
    url = f"/api/v1/roles/{ladder['Rep']}/field-permissions"
    before = access_state()
    response = put(api_as(manager), url, {"fields": [rule]})
    assert response.status_code == 422, response.content
    assert message in response.json()["errors"][0]["message"]
    assert access_state() == before
    assert events("field_permission_changed", outcome="failed")


def test_a_defined_custom_field_can_be_hidden(ladder, manager, admin, api_as):
    parties_services.custom_fields.create(
        actor=admin,
        data={"record_type": "contact", "key": "tier", "label": "Tier", "type": "text"},
    )
    url = f"/api/v1/roles/{ladder['Rep']}/field-permissions"
    rule = {"object_type": "contact", "field": "custom_fields.tier", "access": "hidden"}
    assert put(api_as(manager), url, {"fields": [rule]}).status_code == 200
    duplicate = put(api_as(manager), url, {"fields": [rule, rule]})
    assert (duplicate.status_code, error_fields(duplicate)) == (422, ["fields[1]"])


def test_django_admin_shows_roles_but_never_changes_the_access_model(admin, ladder):
    client = Client()
    client.force_login(admin)
    url = f"/admin/identity/role/{ladder['Rep']}/change/"
    assert client.get(url).status_code == 200
    client.post(url, {"name": "Renamed", "manages_access": "on"})
    rep = Role.objects.get(pk=ladder["Rep"])
    assert (rep.name, rep.manages_access) == ("Rep", False)
    for model in ("role", "sharingrule", "sharingdefault", "team", "territory", "recordshare"):
        assert client.get(f"/admin/identity/{model}/add/").status_code == 403, model
    assert client.get("/admin/identity/securityevent/").status_code == 200

"""Settings pages for access: the role tree (with cycle errors inline), the permission matrix,
field security, territories and sharing (defaults and rules with their criteria editor). Every
write goes through identity's services; a refused one shows its errors where they belong and
changes nothing."""

from __future__ import annotations

import pytest

from accord.core.models import record_types
from accord.identity import queries, visibility
from accord.identity.models import (
    Department,
    FieldPermission,
    ObjectPermission,
    Role,
    SharingDefault,
    SharingRule,
    Territory,
)
from tests.web.fixtures import assert_page, make_role

pytest_plugins = ["tests.web.fixtures"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


# -- roles -----------------------------------------------------------------------------------


def test_roles_page_shows_the_hierarchy_as_a_nested_tree(manager_client):
    ceo = make_role("CEO")
    vp = make_role("VP Sales", ceo)
    make_role("Sales rep", vp)
    page = assert_page(manager_client.get("/settings/roles/"))
    tree = page.split('<ul class="tree">', 1)[1]
    assert tree.index(">CEO</a>") < tree.index(">VP Sales</a>") < tree.index(">Sales rep</a>")
    # Each level is a list inside its manager's item.
    between = tree.split(">CEO</a>", 1)[1].split(">VP Sales</a>", 1)[0]
    assert "<ul>" in between


def test_manager_creates_a_role_under_another(manager_client):
    ceo = make_role("CEO")
    response = manager_client.post(
        "/settings/roles/",
        {"new-name": "VP Service", "new-parent_id": str(ceo.pk), "new-mfa_required": "on"},
    )
    role = Role.objects.get(name="VP Service")
    assert response.status_code == 302
    assert response["Location"] == f"/settings/roles/{role.pk}/permissions/"
    assert role.parent == ceo
    assert role.path == f"{ceo.path}{role.pk}/"
    assert role.mfa_required
    assert not role.manages_access


def test_moving_a_role_under_its_own_subordinate_is_refused_inline(manager_client):
    ceo = make_role("CEO")
    vp = make_role("VP Sales", ceo)
    rep = make_role("Sales rep", vp)
    page = assert_page(
        manager_client.post(
            f"/settings/roles/{vp.pk}/", {"name": "VP Sales", "parent_id": str(rep.pk)}
        ),
        422,
    )
    field = page.split('<label for="id_parent_id">', 1)[1].split('<div class="field')[0]
    assert "cannot move under itself or a role below it" in field
    vp.refresh_from_db()
    assert vp.parent == ceo
    assert vp.path == f"{ceo.path}{vp.pk}/"


def test_moving_a_role_moves_its_subtree(manager_client):
    ceo = make_role("CEO")
    vp = make_role("VP Sales", ceo)
    rep = make_role("Sales rep", vp)
    other = make_role("COO")
    response = manager_client.post(
        f"/settings/roles/{vp.pk}/", {"name": "VP Sales", "parent_id": str(other.pk)}
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.path == f"{other.path}{vp.pk}/{rep.pk}/"
    assert rep.depth == 2


def test_duplicate_role_name_is_shown_next_to_the_name(manager_client):
    make_role("CEO")
    page = assert_page(manager_client.post("/settings/roles/", {"new-name": "ceo"}), 409)
    field = page.split('<label for="id_new-name">', 1)[1].split('<div class="field')[0]
    assert "already exists" in field
    assert Role.objects.filter(name__iexact="ceo").count() == 1


def test_role_with_people_is_not_deleted(manager_client, manager, manager_role):
    page = assert_page(
        manager_client.post(f"/settings/roles/{manager_role.pk}/delete", follow=True)
    )
    assert "still have this role" in page
    assert Role.objects.filter(pk=manager_role.pk).exists()


# -- object permissions ----------------------------------------------------------------------


def test_permission_matrix_has_a_labelled_checkbox_per_type_and_action(manager_client):
    role = make_role("Marketing")
    ObjectPermission.objects.create(role=role, object_type="deal", can_read=True)
    page = assert_page(manager_client.get(f"/settings/roles/{role.pk}/permissions/"))
    for object_type in record_types():
        for action in visibility.ACTIONS:
            assert f'for="perm-{object_type}-{action}"' in page
    assert 'name="perm.deal.read" checked' in page
    assert 'name="perm.deal.edit">' in page


def test_manager_saves_the_permission_matrix(manager_client):
    role = make_role("Marketing")
    response = manager_client.post(
        f"/settings/roles/{role.pk}/permissions/",
        {"perm.deal.read": "on", "perm.campaign.read": "on", "perm.campaign.create": "on"},
    )
    assert response.status_code == 302
    rows = {p.object_type: p for p in ObjectPermission.objects.filter(role=role)}
    assert rows["deal"].can_read
    assert not rows["deal"].can_edit
    assert rows["campaign"].can_create
    assert "account" not in rows or not rows["account"].can_read


def test_invalid_permissions_are_shown_on_their_row_and_nothing_is_saved(manager_client):
    role = make_role("Marketing")
    ObjectPermission.objects.create(role=role, object_type="deal", can_read=True)
    page = assert_page(
        manager_client.post(
            f"/settings/roles/{role.pk}/permissions/",
            {"perm.deal.read": "on", "perm.account.edit": "on"},
        ),
        422,
    )
    row = page.split('<p class="errorlist" id="perm-account-error">', 1)[1].split("</p>")[0]
    assert "need read" in row
    # What was ticked stays ticked, so the person fixes it instead of starting over.
    assert 'name="perm.account.edit" checked' in page
    assert list(
        ObjectPermission.objects.filter(role=role).values_list("object_type", flat=True)
    ) == ["deal"]


# -- field security --------------------------------------------------------------------------


def test_field_security_lists_the_fields_of_the_chosen_type(manager_client):
    role = make_role("Sales rep")
    page = assert_page(
        manager_client.get(f"/settings/roles/{role.pk}/fields/", {"object_type": "account"})
    )
    assert 'name="access.annual_revenue"' in page
    assert 'name="access.id"' not in page  # identifying fields cannot be hidden
    assert "<caption>Fields of account</caption>" in page


def test_manager_hides_a_field_and_keeps_the_other_types_rules(manager_client):
    role = make_role("Sales rep")
    FieldPermission.objects.create(
        role=role, object_type="deal", field="amount", access="read_only"
    )
    response = manager_client.post(
        f"/settings/roles/{role.pk}/fields/",
        {"object_type": "account", "access.annual_revenue": "hidden", "access.name": ""},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?object_type=account")
    rules = set(
        FieldPermission.objects.filter(role=role).values_list("object_type", "field", "access")
    )
    assert rules == {("deal", "amount", "read_only"), ("account", "annual_revenue", "hidden")}
    page = assert_page(manager_client.get(response["Location"]))
    selected = page.split('name="access.annual_revenue"', 1)[1].split("</select>")[0]
    assert '<option value="hidden" selected>' in selected


# -- territories -----------------------------------------------------------------------------


def test_manager_creates_a_territory_with_rules_rows(manager_client, staff):
    response = manager_client.post(
        "/settings/territories/new",
        {
            "name": "DACH",
            "level": "read",
            "member_ids": [str(staff.pk)],
            "rules-0-country": "DE",
            "rules-0-employees_min": "50",
            "rules-1-country": "",  # an empty spare row is ignored
            "rules-2-country": "AT",
        },
    )
    assert response.status_code == 302
    territory = Territory.objects.get(name="DACH")
    assert territory.rules == [{"country": "DE", "employees_min": 50}, {"country": "AT"}]
    assert list(territory.members.all()) == [staff]
    page = assert_page(manager_client.get(f"/settings/territories/{territory.pk}/"))
    assert 'name="rules-1-country" value="AT"' in page
    assert 'name="rules-2-country" value=""' in page  # a spare row to add one without JS


def test_invalid_territory_rule_is_shown_on_its_row_and_nothing_is_saved(manager_client):
    page = assert_page(
        manager_client.post(
            "/settings/territories/new",
            {
                "name": "DACH",
                "level": "read",
                "rules-0-country": "DE",
                "rules-1-employees_min": "many",
            },
        ),
        422,
    )
    second = page.split('aria-label="Rule 2"', 1)[1].split('aria-label="Rule 3"')[0]
    assert "must be a whole number" in second
    assert 'value="many"' in second
    assert not Territory.objects.exists()


# -- sharing ---------------------------------------------------------------------------------


def test_manager_sets_sharing_defaults(manager_client):
    response = manager_client.post(
        "/settings/sharing/",
        {f"{t}-access": "public_read" for t in queries.owned_object_types()}
        | {"account-access": "private", "account-department_level": "read"},
    )
    assert response.status_code == 302
    row = SharingDefault.objects.get(object_type="account")
    assert (row.access, row.department_level) == ("private", "read")
    # Types whose default did not change keep having no row (the built-in default applies).
    assert not SharingDefault.objects.filter(object_type="contact").exists()


def test_manager_creates_a_sharing_rule_with_criteria(manager_client):
    marketing = Department.objects.create(name="Marketing", kind="marketing")
    response = manager_client.post(
        "/settings/sharing/rules/new",
        {
            "name": "Big accounts to marketing",
            "object_type": "account",
            "grantee": f"department:{marketing.pk}",
            "level": "read",
            "active": "on",
            "criteria-0-field": "employee_count",
            "criteria-0-op": "gte",
            "criteria-0-value": "500",
            "criteria-1-field": "billing_country",
            "criteria-1-op": "in",
            "criteria-1-value": "DE, AT",
        },
    )
    assert response.status_code == 302
    rule = SharingRule.objects.get(name="Big accounts to marketing")
    assert (rule.grantee_type, rule.grantee_id) == ("department", marketing.pk)
    assert rule.criteria == [
        {"field": "employee_count", "op": "gte", "value": 500},
        {"field": "billing_country", "op": "in", "value": ["DE", "AT"]},
    ]
    listed = assert_page(manager_client.get("/settings/sharing/"))
    assert "employee_count is at least 500 and billing_country is one of DE, AT" in listed
    assert "Departments: Marketing" in listed
    edit = assert_page(manager_client.get(f"/settings/sharing/rules/{rule.pk}/"))
    assert 'name="criteria-1-value" value="DE, AT"' in edit


def test_invalid_criterion_is_shown_on_its_row_and_nothing_is_saved(manager_client):
    marketing = Department.objects.create(name="Marketing", kind="marketing")
    page = assert_page(
        manager_client.post(
            "/settings/sharing/rules/new",
            {
                "name": "Broken",
                "object_type": "account",
                "grantee": f"department:{marketing.pk}",
                "level": "read",
                "criteria-0-field": "industry",
                "criteria-0-value": "Retail",
                "criteria-1-field": "shoe_size",
                "criteria-1-value": "44",
            },
        ),
        422,
    )
    second = page.split('aria-label="Condition 2"', 1)[1].split('aria-label="Condition 3"')[0]
    assert "account has no field &#x27;shoe_size&#x27;" in second
    first = page.split('aria-label="Condition 1"', 1)[1].split('aria-label="Condition 2"')[0]
    assert "errorlist" not in first
    assert not SharingRule.objects.exists()


def test_sharing_rule_without_a_grantee_is_refused_next_to_the_grantee(manager_client):
    page = assert_page(
        manager_client.post(
            "/settings/sharing/rules/new",
            {
                "name": "No one",
                "object_type": "account",
                "level": "read",
                "criteria-0-field": "industry",
                "criteria-0-value": "Retail",
            },
        ),
        422,
    )
    field = page.split('<label for="id_grantee">', 1)[1].split('<div class="field')[0]
    assert "This field is required." in field
    assert not SharingRule.objects.exists()


def test_criteria_field_names_follow_the_object_type_through_htmx(manager_client):
    response = manager_client.get(
        "/settings/sharing/rules/fields", {"object_type": "deal"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode().strip()
    assert html.startswith('<datalist id="criteria-fields">')
    assert '<option value="amount">' in html
    assert '<option value="employee_count">' not in html
    form = assert_page(manager_client.get("/settings/sharing/rules/new"))
    assert 'hx-get="/settings/sharing/rules/fields"' in form
    assert 'hx-target="#criteria-fields"' in form


def test_manager_deletes_a_sharing_rule(manager_client):
    marketing = Department.objects.create(name="Marketing", kind="marketing")
    rule = SharingRule.objects.create(
        name="R",
        object_type="account",
        criteria=[{"field": "industry", "op": "eq", "value": "x"}],
        grantee_type="department",
        grantee_id=marketing.pk,
    )
    response = manager_client.post(f"/settings/sharing/rules/{rule.pk}/delete")
    assert response.status_code == 302
    assert not SharingRule.objects.exists()

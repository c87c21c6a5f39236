"""The demo's standard access model: a six-level sales hierarchy beside the other departments'
roles, with permissions and field rules that say what each department does."""

from __future__ import annotations

import pytest

from accord.identity import demo, visibility
from accord.identity.models import Role, SecurityEvent, SharingDefault, SharingRule, User
from tests.catalog.demo import demo_context


@pytest.fixture
def loaded(admin):
    ctx, _ = demo_context(admin, users=40)
    demo.load(ctx)
    return ctx


def _user_with(role_name: str) -> User:
    user = User.objects.filter(role__name=role_name).first()
    assert user is not None, role_name
    return user


def test_demo_builds_a_six_level_sales_hierarchy(loaded):
    rep = Role.objects.get(name="Sales Rep")
    chain = [Role.objects.get(pk=pk).name for pk in rep.path.strip("/").split("/")]
    assert chain == ["CEO", "VP Sales", "Sales Director", "Sales Manager", "Team Lead", "Sales Rep"]
    assert rep.depth == 5
    assert Role.objects.get(name="Access Admin").manages_access


def test_demo_roles_say_what_each_department_does(loaded):
    marketing = _user_with("Marketing User")
    assert visibility.permitted(marketing, "deal", "read")
    assert not visibility.permitted(marketing, "deal", "edit")
    assert "amount" in visibility.read_only_fields(marketing, "deal")
    finance = _user_with("Finance User")
    assert visibility.permitted(finance, "deal", "export")
    assert not any(visibility.permitted(finance, t, "edit") for t in demo.SALES)
    agent = _user_with("Service Agent")
    assert visibility.hidden_fields(agent, "account") == {"annual_revenue"}
    reader = _user_with("Read-only")
    assert visibility.permitted(reader, "case", "read")
    assert not visibility.permitted(reader, "case", "edit")


def test_every_demo_user_gets_a_role_by_department(loaded):
    staff = User.objects.filter(pk__in=loaded.ids["user"])
    assert not staff.filter(role__isnull=True).exists()
    sales = staff.filter(department__kind="sales")
    assert set(sales.values_list("role__name", flat=True)) <= set(demo.SALES_LADDER)
    assert sales.filter(role__name="Sales Rep").count() > sales.count() // 2
    assert staff.filter(role__name="Access Admin").count() == 1


def test_demo_makes_deals_private_and_opens_them_by_rule(loaded):
    assert SharingDefault.objects.get(object_type="deal").department_level == "read"
    assert SharingRule.objects.filter(object_type="deal").count() == 2
    assert SecurityEvent.objects.filter(kind="role_changed", outcome="success").exists()


def test_loading_the_demo_twice_keeps_one_role_set(loaded, admin):
    before = sorted(Role.objects.values_list("name", "path"))
    ctx, _ = demo_context(admin, users=40)
    demo.load(ctx)
    assert sorted(Role.objects.values_list("name", "path")) == before
    assert SharingRule.objects.count() == 2

"""The declarative page registry: domains declare pages, settings sections and URLs in their
``pages`` module, web reads them, and the shell shows each entry to the people it is for."""

from __future__ import annotations

import types

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from accord.web import pages


def _declared(**attributes: object) -> types.ModuleType:
    module = types.ModuleType("accord.example.pages")
    for name, value in attributes.items():
        setattr(module, name, value)
    return module


def test_a_domain_declares_pages_and_settings_as_plain_data():
    site = pages.Site()
    pages.declare_workspaces(site)
    site.read(
        "example",
        _declared(
            PAGES=[{"workspace": "sales", "label": "Deals", "url": "web:home", "order": 5}],
            SETTINGS=[
                {
                    "group": "Sales",
                    "label": "Pipelines",
                    "url": "web:home",
                    "allowed": lambda user: user == "admin",
                }
            ],
        ),
    )
    someone = types.SimpleNamespace(is_authenticated=True)
    assert [p.label for p in site.pages_for(someone, "sales")] == ["Deals"]
    assert site.pages_for(someone, "service") == []
    assert site.settings_for("admin")[0].label == "Pipelines"
    assert site.settings_for("rep") == []
    keys = [w.key for w in site.workspaces_for("admin")]
    assert keys == ["sales", "marketing", "service", "back_office", "admin"]
    assert "admin" not in [w.key for w in site.workspaces_for("rep")]


def test_a_page_for_an_unknown_workspace_is_refused_at_start_up():
    site = pages.Site()
    pages.declare_workspaces(site)
    with pytest.raises(ImproperlyConfigured, match="unknown workspace 'warehouse'"):
        site.read(
            "example", _declared(PAGES=[{"workspace": "warehouse", "label": "Stock", "url": "x"}])
        )
    with pytest.raises(TypeError):
        site.read(
            "example", _declared(SETTINGS=[{"group": "G", "label": "L", "url": "x", "colour": 1}])
        )


def test_identity_settings_are_discovered_from_its_pages_module():
    labels = [s.label for s in pages.site.settings]
    assert labels[:3] == ["Users", "Departments", "Teams"]
    assert "Explain access" in labels
    assert reverse("identity:users") == "/settings/users/"

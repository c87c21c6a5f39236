"""The event backbone's status page in Settings: the same figures as `accord events status`,
for access managers only."""

from __future__ import annotations

import pytest
from tests.web.fixtures import assert_page

from accord.integration.models import Destination

pytest_plugins = ["tests.web.fixtures"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_access_managers_see_backlog_and_each_destination(manager_client, make_contact):
    make_contact(last_name="Waiting")
    Destination.objects.create(name="nats:ACCORD", kind="nats", last_error="connection refused")

    page = assert_page(manager_client.get("/settings/events/"))

    assert "Waiting for a number</dt>" in page
    assert "<dd>1" in page.split("Waiting for a number</dt>", 1)[1]
    assert "nats:ACCORD" in page
    assert "connection refused" in page


def test_other_staff_get_the_403_page(staff_client):
    assert_page(staff_client.get("/settings/events/"), status=403)

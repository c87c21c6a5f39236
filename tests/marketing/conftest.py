from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accord.identity.models import User
from accord.marketing.models import Campaign
from accord.marketing.services import campaigns
from tests.catalog.conftest import make_product  # noqa: F401 - a fixture, shared


@pytest.fixture
def make_campaign(admin: User) -> Callable[..., Campaign]:
    def make(*, name: str = "Spring launch", owner: User | None = None, **data: Any) -> Campaign:
        return campaigns.create(actor=owner or admin, data={"name": name, **data})

    return make

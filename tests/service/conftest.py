from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accord.identity.models import User
from accord.service.models import Case, Queue
from accord.service.services import cases, queues
from tests.catalog.conftest import make_product  # noqa: F401 - a fixture, shared


@pytest.fixture
def make_queue(admin: User) -> Callable[..., Queue]:
    counter = iter(range(1_000_000))

    def make(*, name: str | None = None, **data: Any) -> Queue:
        return queues.create(actor=admin, data={"name": name or f"Queue {next(counter)}", **data})

    return make


@pytest.fixture
def make_case(admin: User) -> Callable[..., Case]:
    def make(*, subject: str = "It broke", owner: User | None = None, **data: Any) -> Case:
        return cases.create(actor=owner or admin, data={"subject": subject, **data})

    return make

"""Shared fixtures. Factories take keyword-only arguments so a test names only what it is about."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from hypothesis import settings as hypothesis_settings

from accord.identity.models import Department, User
from accord.identity.services import create_user
from accord.identity.tokens import create_token

hypothesis_settings.register_profile("ci", max_examples=50, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests run once, on PostgreSQL (see ARCHITECTURE.md, Tests)."""
    url = os.environ.get("ACCORD_DATABASE_URL", "")
    if url.startswith("postgres") or os.environ.get("ACCORD_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: runs on PostgreSQL (set ACCORD_RUN_SLOW=1 to force)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = iter(range(1_000_000))

    def make(
        *,
        username: str | None = None,
        superuser: bool = False,
        department: Department | None = None,
        active: bool = True,
    ) -> User:
        user, _ = create_user(
            username=username or f"user{next(counter)}",
            password="correct horse battery staple",
            is_superuser=superuser,
            department=department,
        )
        if not active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        return user

    return make


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(username="admin", superuser=True)


class ApiClient(Client):
    """A test client that speaks JSON and authenticates with a bearer token."""

    def __init__(self, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__(headers=headers)

    def _send(self, method: str, path: str, data: Any = None, **kw: Any) -> Any:
        if_match = kw.pop("if_match", None)
        headers = dict(kw.pop("headers", {}) or {})
        if if_match is not None:
            headers["If-Match"] = if_match
        fn = getattr(super(), method)
        if method in ("get", "head"):
            return fn(path, data, headers=headers, **kw)
        return fn(path, data, content_type="application/json", headers=headers, **kw)

    def get(self, path: str, data: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        return self._send("get", path, data, **kw)

    def post(self, path: str, data: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        return self._send("post", path, data, **kw)

    def patch(self, path: str, data: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        return self._send("patch", path, data, **kw)

    def delete(self, path: str, data: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        return self._send("delete", path, data, **kw)


@pytest.fixture
def api_as(db: None) -> Callable[..., ApiClient]:
    """``api_as(user, scopes=[...])``: a client holding a fresh token of ``user``."""

    def make(user: User | None, *, scopes: list[str] | None = None) -> ApiClient:
        if user is None:
            return ApiClient(None)
        _, plain = create_token(user=user, scopes=scopes, expires_at=None)
        return ApiClient(plain)

    return make


@pytest.fixture
def admin_api(admin: User, api_as: Callable[..., ApiClient]) -> ApiClient:
    return api_as(admin)


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"

"""Shared fixtures. Factories take keyword-only arguments so a test names only what it is about."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test import Client
from hypothesis import settings as hypothesis_settings

from accord.core.models import HistoryEntry, OutboxEvent
from accord.identity.models import Department, User
from accord.identity.services import create_user
from accord.identity.tokens import create_token
from accord.parties import customfields, services
from accord.parties.models import Account, Contact, ContactEmail, ContactPhone, Tag

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


@pytest.fixture(autouse=True)
def _fresh_custom_field_cache() -> None:
    """Each test starts without the custom field definitions an earlier test cached."""
    customfields.reset_cache()


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


@pytest.fixture
def owner(make_user: Callable[..., User]) -> User:
    """A plain user who owns the records of a visibility test."""
    return make_user(username="owner")


@pytest.fixture
def reader(make_user: Callable[..., User]) -> User:
    """A plain user whose view of others' records a visibility test checks."""
    return make_user(username="reader")


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


@pytest.fixture
def fast_password_hashing(settings: Any) -> None:
    """Opt in (``pytestmark = pytest.mark.usefixtures("fast_password_hashing")``) to hash test
    users' passwords with MD5: argon2 costs ~0.2 s a user, which dominates API tests that create
    a user or two each. Tests of password storage itself must not use it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def token_api(db: None) -> Callable[[str | None], ApiClient]:
    """``token_api(plain)``: a client that sends exactly this bearer token (or none)."""
    return ApiClient


@pytest.fixture
def make_tag(admin: User) -> Callable[..., Tag]:
    counter = iter(range(1_000_000))

    def make(*, name: str | None = None, color: str = "", actor: User | None = None) -> Tag:
        data = {"name": name or f"tag{next(counter)}", "color": color}
        return services.tags.create(actor=actor or admin, data=data)

    return make


@pytest.fixture
def make_account(admin: User) -> Callable[..., Account]:
    def make(*, name: str = "Acme", owner: User | None = None, **data: Any) -> Account:
        actor = owner or admin
        return services.accounts.create(actor=actor, data={"name": name, **data})

    return make


@pytest.fixture
def make_contact(admin: User) -> Callable[..., Contact]:
    def make(*, last_name: str = "Lovelace", owner: User | None = None, **data: Any) -> Contact:
        actor = owner or admin
        return services.contacts.create(actor=actor, data={"last_name": last_name, **data})

    return make


#: Tables a write touches; ``db_state`` compares them whole so a failed write that changed a row
#: in place (not only one that added rows) is caught.
_WRITE_TABLES: tuple[type[Model], ...] = (
    Tag,
    Account,
    Contact,
    ContactEmail,
    ContactPhone,
    Account.tags.through,
    Contact.tags.through,
    HistoryEntry,
    OutboxEvent,
)


def _rows(model: type[Model]) -> list[dict[str, Any]]:
    manager = getattr(model, "all_objects", model._default_manager)
    return list(manager.order_by("pk").values())


@pytest.fixture
def db_state(db: None) -> Callable[[], dict[str, list[dict[str, Any]]]]:
    """``db_state()``: every row a write could touch; equal snapshots mean nothing was written."""

    def snapshot() -> dict[str, list[dict[str, Any]]]:
        return {model._meta.label: _rows(model) for model in _WRITE_TABLES}

    return snapshot

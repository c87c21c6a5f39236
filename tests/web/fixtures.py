"""People and clients for the page tests (imported by tests/web and tests/identity/test_pages*):
an access manager, a plain staff member, and test clients signed in as them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accord.identity.models import Role, User

#: A ``<script>`` element with content between its tags: the CSP would refuse to run it.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)
#: Attributes that run code (``onclick=``…) or style inline, which the CSP also refuses.
INLINE_HANDLER = re.compile(r"<[^>]+\s(on[a-z]+|style)\s*=", re.IGNORECASE)


def make_role(name: str, parent: Role | None = None, **flags: Any) -> Role:
    """A role placed in the hierarchy as identity's services place it."""
    role = Role(name=name, parent=parent, **flags)
    role.path = f"{parent.path if parent else '/'}{role.pk}/"
    role.depth = parent.depth + 1 if parent else 0
    role.save()
    return role


def signed_in(user: User, **kw: Any) -> Client:
    client = Client(**kw)
    client.force_login(user)
    return client


def assert_page(response: Any, status: int = 200) -> str:
    """The answer is an HTML page of the shell with ``status``, the CSP header and no inline
    script or handler; returns the page's text."""
    assert response.status_code == status, response.content[:2000]
    assert response["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html)
    return html


@pytest.fixture
def manager_role(db: None) -> Role:
    return make_role("Access admin", manages_access=True)


@pytest.fixture
def manager(make_user: Callable[..., User], manager_role: Role) -> User:
    user = make_user(username="maria")
    user.first_name, user.last_name, user.role = "Maria", "Manager", manager_role
    user.save()
    return user


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user(username="sam")


@pytest.fixture
def manager_client(manager: User) -> Client:
    return signed_in(manager)


@pytest.fixture
def staff_client(staff: User) -> Client:
    return signed_in(staff)

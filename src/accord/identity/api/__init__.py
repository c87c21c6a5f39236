"""REST endpoints of identity (mounted by accord.api): sign-in and MFA (``auth``), and the
access model that business admins manage (``access``)."""

from __future__ import annotations

from typing import Any

#: (prefix, router, collection) like every domain; the sub-modules append their routers.
ROUTES: list[tuple[str, Any, str]] = []

#: Routers that answer without a token or session (sign-in, password reset).
PUBLIC_ROUTES: list[tuple[str, Any]] = []

from accord.identity.api import auth  # noqa: E402,F401

# isort: split
from accord.identity.api import access  # noqa: E402,F401

"""REST endpoints of activities (mounted by accord.api)."""

from __future__ import annotations

from typing import Any

#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES: list[tuple[str, Any, str]] = []

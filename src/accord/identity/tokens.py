"""API tokens: issue, verify, revoke.

A token reads ``acc_<prefix>_<secret>``; only its digest is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction

from accord.core import clock
from accord.core.errors import InvalidInput
from accord.identity.models import ApiToken, User

_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
SCOPE_ACTIONS = ("read", "write")


def _digest(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough: no dictionary to resist.
    return hashlib.sha256(token.encode()).hexdigest()


def check_scopes(scopes: list[str]) -> list[str]:
    for scope in scopes:
        if scope == "*":
            continue
        collection, _, action = scope.partition(":")
        if not collection or action not in SCOPE_ACTIONS:
            raise InvalidInput.field(
                "scope", f"{scope!r} is not a scope; use '*' or '<collection>:read|write'"
            )
    return scopes or ["*"]


def create_token(
    *, user: User, name: str = "", scopes: list[str] | None = None, expires_at: dt.datetime | None
) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its plain text, which is never stored or shown again."""
    checked = check_scopes(scopes or [])
    if expires_at is not None and expires_at <= clock.now():
        raise InvalidInput.field("expires", "must be in the future")
    prefix = secrets.token_hex(4)
    plain = f"acc_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            digest=_digest(plain),
            scopes=checked,
            expires_at=expires_at,
        )
    return token, plain


def authenticate(plain: str) -> ApiToken | None:
    """The live token behind ``plain``, or None. Checked on every request, so revoking a token
    or deactivating its user takes effect on the very next one."""
    if not plain.startswith("acc_"):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(plain), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = clock.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def allows(token: ApiToken | None, collection: str, action: str) -> bool:
    """Whether ``token`` carries the scope for ``action`` on ``collection``. Session callers
    (``token`` None) are limited by their permissions alone."""
    if token is None:
        return True
    scopes = token.scopes or ["*"]
    if "*" in scopes or f"{collection}:{action}" in scopes:
        return True
    return action == "read" and f"{collection}:write" in scopes


def revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=clock.now())

"""API tokens: issue, verify, revoke.

A token reads ``acc_<prefix>_<secret>``; only its digest is kept. Issuing and revoking are in
the security log (with the acting user, or none when the command line acts as the operator),
and so is a known token that is refused because it expired, was revoked or its user left,
once a minute per token at most.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest

from accord.core import clock, rows
from accord.core.errors import AccordError, InvalidInput, PermissionDenied
from accord.identity import audit, mfa, ratelimit, visibility
from accord.identity.models import ApiToken, User

_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_WELL_FORMED = re.compile(r"^acc_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")
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


class TokenRefused(AccordError):
    """A token that exists but may no longer be used: 401 saying why."""

    status = 401
    title = "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="accord", error="invalid_token"'}


def create_token(
    *,
    user: User,
    name: str = "",
    scopes: list[str] | None = None,
    expires_at: dt.datetime | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its plain text, which is never stored or shown again.

    Refused while the user's role requires MFA and they have not enrolled: a token would be a
    way around the second factor the role asks for."""
    checked = check_scopes(scopes or [])
    if expires_at is not None and expires_at <= clock.now():
        raise InvalidInput.field("expires", "must be in the future")
    if mfa.enrolment_required(user):
        raise PermissionDenied(
            f"The role of {user.username!r} requires MFA: they must set it up before a token "
            "can be created for them"
        )
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
        audit.record(
            "token_created",
            actor=actor,
            request=request,
            username=actor.username if actor is not None else "",
            target=token,
            details=_describe(token, actor),
        )
    return token, plain


def _describe(token: ApiToken, actor: User | None) -> dict[str, Any]:
    return {
        "owner": token.user.username,
        "prefix": token.prefix,
        "scopes": token.scopes,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "by": "user" if actor is not None else "system",
    }


def _refusal(token: ApiToken, now: dt.datetime) -> str | None:
    if token.revoked_at is not None:
        return "This API token was revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "This API token has expired"
    if not token.user.is_active:
        return "The user of this API token is deactivated"
    return None


@functools.cache
def _lookup() -> tuple[str, rows.Columns, rows.Columns]:
    quote = connection.ops.quote_name
    token, user = rows.Columns(ApiToken, "t"), rows.Columns(User, "u")
    sql = (
        f"SELECT {token.sql}, {user.sql}, ({visibility.stored_token_sql()}) "  # noqa: S608
        f"FROM {quote(ApiToken._meta.db_table)} t "
        f"INNER JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} "
        f"= t.{quote(ApiToken._meta.get_field('user').column)} "
        f"WHERE t.{quote(ApiToken._meta.get_field('digest').column)} = %s"
    )
    return sql, token, user


def _find(digest: str) -> ApiToken | None:
    """The token with ``digest`` and its user, with the access model's stored token read in
    the same statement (the user's grants need it next), whose text is built once: this runs
    on every API request, and compiling the same query anew cost more than running it."""
    sql, token_columns, user_columns = _lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    token: ApiToken = token_columns.load(row)
    user: User = user_columns.load(row[token_columns.width :])
    token.user = user
    visibility.remember_stored_token(user, row[-1])
    return token


def verify(plain: str, *, request: HttpRequest | None = None) -> ApiToken | None:
    """The live token behind ``plain``; None for a string that is no token of ours; raises
    TokenRefused for a token that expired, was revoked or whose user is deactivated. Checked
    on every request, so any of these takes effect on the very next one."""
    if not plain.startswith("acc_"):
        return None
    token = _find(_digest(plain))
    now = clock.now()
    if token is None:
        # Garbage is not logged; a string shaped like our tokens may be a leaked or guessed
        # one, logged once a minute per client address so a loop cannot flood the log.
        ip = audit.client_ip(request)
        if _WELL_FORMED.match(plain) and ratelimit.first_in_window(f"unknown-token:{ip}", 60):
            audit.record(
                "token_refused",
                request=request,
                outcome="unknown",
                details={"prefix": plain[4:12]},
            )
        return None
    reason = _refusal(token, now)
    if reason is not None:
        if ratelimit.first_in_window(f"refused:{token.pk}", 60):
            audit.record(
                "token_refused",
                actor=token.user,
                request=request,
                outcome="refused",
                target=token,
                details={"reason": reason, "prefix": token.prefix},
            )
        raise TokenRefused(reason)
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def authenticate(plain: str) -> ApiToken | None:
    """The live token behind ``plain``, or None for anything else."""
    try:
        return verify(plain)
    except TokenRefused:
        return None


def allows(token: ApiToken | None, collection: str, action: str) -> bool:
    """Whether ``token`` carries the scope for ``action`` on ``collection``. Session callers
    (``token`` None) are limited by their permissions alone."""
    if token is None:
        return True
    scopes = token.scopes or ["*"]
    if "*" in scopes or f"{collection}:{action}" in scopes:
        return True
    return action == "read" and f"{collection}:write" in scopes


def revoke(
    token: ApiToken, *, actor: User | None = None, request: HttpRequest | None = None
) -> None:
    """Revoke ``token``: the next request that sends it is refused. Revoking twice is a
    no-op (and logged once)."""
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=clock.now()
        )
        if changed:
            audit.record(
                "token_revoked",
                actor=actor,
                request=request,
                username=actor.username if actor is not None else "",
                target=token,
                details=_describe(token, actor),
            )

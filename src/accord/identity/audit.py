"""The security event log: who did what to access, from where. See models.SecurityEvent.

Call :func:`record` inside the transaction of the change it logs, so a rolled-back change
leaves no entry; failed attempts (a wrong password, a refused token) are logged on their own.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accord.identity.models import SecurityEvent

#: The kinds the log holds; a new kind is added here so the API can document and filter them.
KINDS = (
    "login",
    "logout",
    "login_locked",
    "mfa_enabled",
    "mfa_disabled",
    "mfa_challenge",
    "recovery_code_used",
    "recovery_codes_regenerated",
    "password_changed",
    "password_reset_requested",
    "password_reset",
    "token_created",
    "token_revoked",
    "token_refused",
    "rate_limited",
    "user_created",
    "user_changed",
    "user_deactivated",
    "role_changed",
    "department_changed",
    "team_changed",
    "territory_changed",
    "permission_changed",
    "field_permission_changed",
    "sharing_default_changed",
    "sharing_rule_changed",
    "record_shared",
    "record_unshared",
    "export",
)


def client_ip(request: HttpRequest | None) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is set by whoever sends the request, so trusting it
    # would let an attacker write any address into the log (and dodge per-IP limits).
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    kind: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    outcome: str = "success",
    username: str = "",
    target: Any = None,
    target_type: str = "",
    details: dict[str, Any] | None = None,
) -> SecurityEvent:
    """Append one entry. ``target`` is the changed row (its type and id are taken from it)."""
    if kind not in KINDS:
        raise ValueError(f"unknown security event kind {kind!r}")
    if target is not None:
        target_type = target_type or str(getattr(target, "object_type", target._meta.model_name))
    user_agent = request.headers.get("User-Agent", "")[:500] if request is not None else ""
    return SecurityEvent.objects.create(
        kind=kind,
        outcome=outcome,
        actor=actor if getattr(actor, "pk", None) else None,
        username=(username or getattr(actor, "username", "") or "")[:150],
        ip=client_ip(request),
        user_agent=user_agent,
        target_type=target_type,
        target_id=str(target.pk) if target is not None else "",
        details=details or {},
    )

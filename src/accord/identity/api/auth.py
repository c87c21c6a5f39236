"""Sign-in, sign-out, MFA enrolment and passwords: ``/api/v1/auth/...``.

The sign-in and password-reset endpoints answer without a token or session; they take only
``application/json`` bodies, which a cross-site form cannot send (login CSRF). The others need a
session or a token like every endpoint.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict, StringConstraints

from accord.core.errors import AccordError
from accord.core.schemas import CleanInput, Problem
from accord.identity import auth, mfa, passwords
from accord.identity.api import PUBLIC_ROUTES, ROUTES
from accord.identity.models import User

# Secrets are taken as typed: no stripping of spaces, which may be part of a passphrase.
Secret = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class SecretInput(CleanInput):
    model_config = ConfigDict(extra="forbid")


class LoginIn(SecretInput):
    username: Annotated[str, StringConstraints(min_length=1, max_length=150)]
    password: Secret


class CodeIn(SecretInput):
    """A six-digit code of the authenticator app, or a recovery code (``xxxx-xxxx-xxxx-xxxx``)."""

    code: Code


class DisableMfaIn(SecretInput):
    password: Secret
    code: Code


class PasswordChangeIn(SecretInput):
    current_password: Secret
    new_password: Secret


class ResetRequestIn(SecretInput):
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]


class ResetConfirmIn(SecretInput):
    uid: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    new_password: Secret


class RefOut(Schema):
    id: uuid.UUID
    name: str


class MfaStatusOut(Schema):
    enabled: bool
    #: The user's role requires MFA.
    required: bool
    #: Required but not enrolled yet: the session serves only enrolment and sign-out.
    enrolment_required: bool


class MeOut(Schema):
    id: uuid.UUID
    username: str
    first_name: str
    last_name: str
    email: str
    is_superuser: bool
    role: RefOut | None
    department: RefOut | None
    mfa: MfaStatusOut


class LoginOut(Schema):
    #: ``mfa_required``: the password was right; send a code to ``/auth/login/mfa``.
    status: Literal["signed_in", "mfa_required"]
    user: MeOut | None = None


class MfaSetupOut(Schema):
    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodesOut(Schema):
    #: Shown this once; each works once in place of a code of the app.
    recovery_codes: list[str]


class AcceptedOut(Schema):
    status: Literal["accepted"]


class UnsupportedMediaType(AccordError):
    status = 415
    title = "Unsupported media type"


def _json_only(request: HttpRequest) -> None:
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Send the body as application/json")


def _caller(request: HttpRequest) -> User:
    user: User = request.auth_user  # type: ignore[attr-defined]
    return user


def _me(user: User) -> dict[str, Any]:
    enabled = mfa.is_enrolled(user)
    required = mfa.required(user)
    role, department = user.role, user.department
    return {
        "id": user.pk,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_superuser": user.is_superuser,
        "role": {"id": role.pk, "name": role.name} if role else None,
        "department": {"id": department.pk, "name": department.name} if department else None,
        "mfa": {
            "enabled": enabled,
            "required": required,
            "enrolment_required": required and not enabled,
        },
    }


public = Router(tags=["auth"])
account = Router(tags=["auth"])

PUBLIC_ERRORS: dict[int, Any] = {401: Problem, 415: Problem, 422: Problem, 429: Problem}
ACCOUNT_ERRORS: dict[int, Any] = {
    401: Problem,
    403: Problem,
    409: Problem,
    422: Problem,
    429: Problem,
}


@public.post("/login", response={200: LoginOut, **PUBLIC_ERRORS})
def login(request: HttpRequest, body: LoginIn) -> Any:
    """Sign in with a user name and password; the answer sets the session cookie.

    Someone with MFA gets ``status: mfa_required`` and completes the sign-in at
    ``/auth/login/mfa``. A wrong name, wrong password and deactivated account all answer the
    same 401. Repeated failures lock the name and the client address (429, ``Retry-After``).
    """
    _json_only(request)
    outcome = auth.sign_in(request, username=body.username, password=body.password)
    if outcome == auth.MFA_REQUIRED:
        return {"status": outcome, "user": None}
    return {"status": outcome, "user": _me(request.user)}  # type: ignore[arg-type]


@public.post("/login/mfa", response={200: LoginOut, **PUBLIC_ERRORS})
def login_second_factor(request: HttpRequest, body: CodeIn) -> Any:
    """Complete a sign-in with a code of the authenticator app or a recovery code, within five
    minutes of the password step. Wrong codes count toward the lockout."""
    _json_only(request)
    user = auth.complete_second_factor(request, code=body.code)
    return {"status": auth.SIGNED_IN, "user": _me(user)}


@public.post("/password-reset", response={202: AcceptedOut, **PUBLIC_ERRORS})
def password_reset(request: HttpRequest, body: ResetRequestIn) -> Any:
    """Mail a one-time reset link to the users with this address. Always 202, whether the
    address is known or not; too many requests for one address or from one client are 429."""
    _json_only(request)
    passwords.request_reset(request, email=body.email)
    return Status(202, {"status": "accepted"})


@public.post("/password-reset/confirm", response={204: None, **PUBLIC_ERRORS})
def password_reset_confirm(request: HttpRequest, body: ResetConfirmIn) -> Any:
    """Set a new password with the ``uid`` and ``token`` of a reset mail. Every session of the
    user ends; a weak password is a 422 naming ``new_password``."""
    _json_only(request)
    passwords.confirm_reset(request, uid=body.uid, token=body.token, new_password=body.new_password)
    return Status(204, None)


@account.post("/logout", response={204: None, 401: Problem, 403: Problem, 429: Problem})
def logout(request: HttpRequest) -> Any:
    """End the session (a no-op for token callers)."""
    auth.sign_out(request)
    return Status(204, None)


@account.get("/me", response={200: MeOut, 401: Problem, 403: Problem, 429: Problem})
def me(request: HttpRequest) -> Any:
    """Who is calling: role, department and MFA state."""
    return _me(_caller(request))


@account.post("/password", response={204: None, **ACCOUNT_ERRORS})
def change_password(request: HttpRequest, body: PasswordChangeIn) -> Any:
    """Change one's own password. A wrong ``current_password`` is a 422 and counts toward the
    lockout; the other sessions of the user end, this one stays signed in."""
    user = _caller(request)
    auth.check_session_complete(request, user)
    passwords.change_password(
        request, user, current_password=body.current_password, new_password=body.new_password
    )
    return Status(204, None)


@account.post("/mfa/setup", response={200: MfaSetupOut, **ACCOUNT_ERRORS})
def mfa_setup(request: HttpRequest) -> Any:
    """Start enrolling an authenticator app: its secret, ``otpauth://`` URI and a QR code (SVG)
    of the URI. Nothing changes for signing in until ``/auth/mfa/confirm``."""
    setup = mfa.start_setup(_caller(request))
    return {"secret": setup.secret, "otpauth_uri": setup.otpauth_uri, "qr_svg": setup.qr_svg}


@account.post("/mfa/confirm", response={200: RecoveryCodesOut, **ACCOUNT_ERRORS})
def mfa_confirm(request: HttpRequest, body: CodeIn) -> Any:
    """Enable MFA with a current code of the app; answers ten recovery codes, shown once."""
    return {"recovery_codes": mfa.confirm(_caller(request), body.code, request=request)}


@account.post("/mfa/disable", response={204: None, **ACCOUNT_ERRORS})
def mfa_disable(request: HttpRequest, body: DisableMfaIn) -> Any:
    """Turn MFA off with the password and a current code (or a recovery code). Where the role
    requires MFA, the session then serves only enrolling again."""
    user = _caller(request)
    auth.check_session_complete(request, user)
    mfa.disable(user, password=body.password, code=body.code, request=request)
    return Status(204, None)


@account.post("/mfa/recovery-codes", response={200: RecoveryCodesOut, **ACCOUNT_ERRORS})
def mfa_recovery_codes(request: HttpRequest, body: CodeIn) -> Any:
    """Ten new recovery codes for a current code of the app; the earlier ones stop working."""
    user = _caller(request)
    auth.check_session_complete(request, user)
    return {"recovery_codes": mfa.regenerate_recovery_codes(user, code=body.code, request=request)}


PUBLIC_ROUTES.append(("/auth", public))
ROUTES.append(("/auth", account, "auth"))

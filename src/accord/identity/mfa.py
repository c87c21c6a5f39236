"""Multi-factor authentication: an authenticator app (TOTP, RFC 6238) and one-time recovery
codes, enrolment, and what a session may do before its second factor is settled.

A role can require MFA (``Role.mfa_required``). Someone in such a role who has not enrolled may
sign in with their password, but that session serves only enrolment (the API answers every
other call 403 "set up MFA first"); with MFA enrolled, signing in needs a code. API tokens are
not sessions: they cannot be created for a user who must enrol and has not (see ``tokens``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass

import pyotp
import segno
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from accord.core import clock
from accord.core.errors import Conflict, InvalidInput
from accord.identity import audit, ratelimit
from accord.identity.models import MfaDevice, RecoveryCode, Role, User

ISSUER = "Accord"
#: Codes of the step before and after the current one are accepted too, for clocks that drift.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10

#: The session's second-factor state: VERIFIED once a code was given at sign-in (or MFA was
#: enrolled in this session), PASSWORD_ONLY after a sign-in without MFA. Absent for sessions
#: made elsewhere (Django's login of a test client, say), which are checked in full.
SESSION_KEY = "accord_mfa"
VERIFIED = "verified"
PASSWORD_ONLY = "password"  # noqa: S105 - a state, not a secret

ENROL_FIRST = (
    "Your role requires multi-factor authentication: set up MFA first "
    "(POST /api/v1/auth/mfa/setup, then /api/v1/auth/mfa/confirm)"
)
SECOND_FACTOR_FIRST = "Sign in again with your second factor (POST /api/v1/auth/login)"


@dataclass(frozen=True)
class Setup:
    """What an authenticator app needs: the secret, as text and as an ``otpauth://`` URI, and
    that URI as a QR code (SVG) to scan."""

    secret: str
    otpauth_uri: str
    qr_svg: str


def is_enrolled(user: User) -> bool:
    return MfaDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def required(user: User) -> bool:
    """Whether the user's role requires MFA."""
    return user.role_id is not None and (
        Role.objects.filter(pk=user.role_id, mfa_required=True).exists()
    )


def enrolment_required(user: User) -> bool:
    """The role requires MFA and the user has not enrolled yet."""
    return required(user) and not is_enrolled(user)


def session_block(request: HttpRequest, user: User) -> str | None:
    """Why this session may not be used for anything but enrolment or signing out, or None.

    Cheap for the usual session: no query after a sign-in with a second factor, and none after
    a password-only sign-in of someone without a role."""
    state = request.session.get(SESSION_KEY)
    if state == VERIFIED:
        return None
    if required(user):
        return SECOND_FACTOR_FIRST if is_enrolled(user) else ENROL_FIRST
    if state is None and is_enrolled(user):
        return SECOND_FACTOR_FIRST
    return None


def mark_session(request: HttpRequest | None, state: str) -> None:
    if request is not None and hasattr(request, "session") and request.session.session_key:
        request.session[SESSION_KEY] = state


def _qr_svg(uri: str) -> str:
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True)
    return out.getvalue().decode()


def start_setup(user: User) -> Setup:
    """A new secret for ``user``'s authenticator app, unconfirmed until :func:`confirm`.
    Starting again replaces an unconfirmed secret; an enabled one must be disabled first."""
    if is_enrolled(user):
        raise Conflict("MFA is already enabled; disable it before enrolling another app")
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    MfaDevice.objects.update_or_create(
        user=user,
        defaults={
            "secret": secret,
            "created_at": clock.now(),
            "confirmed_at": None,
            "last_used_step": None,
        },
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return Setup(secret=secret, otpauth_uri=uri, qr_svg=_qr_svg(uri))


def _totp_step(device: MfaDevice, code: str) -> int | None:
    """The time step ``code`` belongs to (current, one before or one after), or None."""
    code = code.replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(device.secret)
    current = totp.timecode(clock.now())
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _use_step(device: MfaDevice, step: int) -> bool:
    """Claim ``step`` for ``device``; False when it (or a later one) was used already. One
    conditional UPDATE, so two requests replaying a code cannot both succeed."""
    claimed = (
        MfaDevice.objects.filter(pk=device.pk)
        .filter(Q(last_used_step__isnull=True) | Q(last_used_step__lt=step))
        .update(last_used_step=step)
    )
    return claimed == 1


def _digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits, 16 chars
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _issue_recovery_codes(user: User) -> list[str]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, digest=_digest(c)) for c in codes)
    return codes


def verify_second_factor(user: User, code: str, *, request: HttpRequest | None) -> str | None:
    """``"totp"`` or ``"recovery_code"`` when ``code`` is a fresh code of the user's app or
    one of their unused recovery codes (which it uses up), else None."""
    device = MfaDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        return None
    step = _totp_step(device, code)
    if step is not None:
        return "totp" if _use_step(device, step) else None
    used = RecoveryCode.objects.filter(user=user, digest=_digest(code), used_at__isnull=True)
    if used.update(used_at=clock.now()) != 1:
        return None
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
    audit.record(
        "recovery_code_used", actor=user, request=request, target=user, details={"left": left}
    )
    return "recovery_code"


def _wrong_code(user: User, request: HttpRequest | None, during: str) -> InvalidInput:
    ratelimit.count_login_failure(user.username, request, actor=user)
    audit.record(
        "mfa_challenge", actor=user, request=request, outcome="failure", details={"during": during}
    )
    return InvalidInput.field("code", "is not a current code of your authenticator app")


def confirm(user: User, code: str, *, request: HttpRequest | None = None) -> list[str]:
    """Enable MFA with a code from the app just set up; returns the recovery codes, which are
    shown this once. The session that enrolled counts as verified."""
    ratelimit.check_login_allowed(user.username, request)
    device = MfaDevice.objects.filter(user=user).first()
    if device is None:
        raise Conflict("No authenticator is being set up; start with POST /api/v1/auth/mfa/setup")
    if device.confirmed_at is not None:
        raise Conflict("MFA is already enabled")
    step = _totp_step(device, code)
    if step is None:
        raise _wrong_code(user, request, "enrolment")
    with transaction.atomic():
        device.confirmed_at = clock.now()
        device.last_used_step = step
        device.save(update_fields=["confirmed_at", "last_used_step"])
        codes = _issue_recovery_codes(user)
        audit.record("mfa_enabled", actor=user, request=request, target=user)
    mark_session(request, VERIFIED)
    return codes


def disable(user: User, *, password: str, code: str, request: HttpRequest | None = None) -> None:
    """Turn MFA off with the password and a current code (or a recovery code). For a role that
    requires MFA, the session is then good for enrolling again and nothing else."""
    ratelimit.check_login_allowed(user.username, request)
    if not is_enrolled(user):
        raise Conflict("MFA is not enabled")
    if not user.check_password(password):
        ratelimit.count_login_failure(user.username, request, actor=user)
        audit.record("mfa_disabled", actor=user, request=request, outcome="failure")
        raise InvalidInput.field("password", "is not your password")
    if verify_second_factor(user, code, request=request) is None:
        raise _wrong_code(user, request, "disable")
    with transaction.atomic():
        MfaDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        audit.record("mfa_disabled", actor=user, request=request, target=user)
    mark_session(request, PASSWORD_ONLY)


def regenerate_recovery_codes(
    user: User, *, code: str, request: HttpRequest | None = None
) -> list[str]:
    """Ten new recovery codes for a current code of the app; the old ones stop working."""
    ratelimit.check_login_allowed(user.username, request)
    if not is_enrolled(user):
        raise Conflict("MFA is not enabled")
    if verify_second_factor(user, code, request=request) is None:
        raise _wrong_code(user, request, "recovery_codes")
    with transaction.atomic():
        codes = _issue_recovery_codes(user)
        audit.record("recovery_codes_regenerated", actor=user, request=request, target=user)
    return codes


def reset(user: User, *, actor: User | None = None, request: HttpRequest | None = None) -> bool:
    """An administrator removes ``user``'s MFA (lost phone and recovery codes): they sign in
    with their password again and, where their role requires it, must enrol anew. False when
    there was nothing to remove."""
    with transaction.atomic():
        removed, _ = MfaDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        if removed:
            audit.record(
                "mfa_disabled",
                actor=actor,
                request=request,
                target=user,
                details={"reset_for": user.username, "by": "user" if actor else "system"},
            )
    return bool(removed)

"""Signing in and out: the password step, the second-factor step for people with MFA, the
lockout around both, and the backend behind Django's own sign-in forms.

Every answer to a failed sign-in is the same, whether the name is unknown, the password wrong
or the account deactivated, and costs the same: an unknown name still runs the password hasher.
Every attempt, lockout and success is in the security log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import login, logout
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.crypto import constant_time_compare

from accord.core import clock
from accord.core.errors import AccordError, PermissionDenied, TooManyRequests
from accord.identity import audit, mfa, ratelimit
from accord.identity.models import ApiToken, User

BACKEND = "accord.identity.auth.AccordBackend"
#: The session key of a sign-in whose password was right and that waits for the second factor.
PENDING_KEY = "accord_mfa_pending"
PENDING_FOR = dt.timedelta(minutes=5)

BAD_CREDENTIALS = "The username or password is not correct"
BAD_CODE = "The code is not correct"
NOTHING_PENDING = "No sign-in is waiting for a code; sign in with your password first"

SIGNED_IN = "signed_in"
MFA_REQUIRED = "mfa_required"


class SignInFailed(AccordError):
    status = 401
    title = "Unauthorized"


class SecondFactorMissing(PermissionDenied):
    """A session that has not settled its second factor asks for more than enrolment."""


def _check_credentials(username: str, password: str) -> User | None:
    user = User.objects.filter(username=username).first()
    if user is None:
        # The same work as checking a real password, so the time taken does not tell
        # whether the name exists.
        make_password(password)
        return None
    return user if user.check_password(password) else None


def _fail(request: HttpRequest, username: str, user: User | None, reason: str) -> SignInFailed:
    ratelimit.count_login_failure(username, request, actor=user)
    audit.record(
        "login",
        actor=user,
        request=request,
        outcome="failure",
        username=username,
        details={"reason": reason},
    )
    return SignInFailed(BAD_CREDENTIALS)


def sign_in(request: HttpRequest, *, username: str, password: str) -> str:
    """The password step. Signs the session in and answers SIGNED_IN, or, for someone with
    MFA, keeps the sign-in pending in the session and answers MFA_REQUIRED."""
    ratelimit.check_login_allowed(username, request)
    user = _check_credentials(username, password)
    if user is None:
        raise _fail(request, username, None, "bad_credentials")
    if not user.is_active:
        raise _fail(request, username, user, "deactivated")
    if mfa.is_enrolled(user):
        if request.user.is_authenticated and request.user.pk != user.pk:
            request.session.flush()
        else:
            request.session.cycle_key()
        request.session[PENDING_KEY] = {
            "user": str(user.pk),
            "at": clock.now().isoformat(),
            "hash": user.get_session_auth_hash(),
        }
        return MFA_REQUIRED
    _complete(request, user, second_factor=None)
    return SIGNED_IN


def _pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        started = dt.datetime.fromisoformat(pending["at"])
    except (KeyError, TypeError, ValueError):
        return None
    if clock.now() - started > PENDING_FOR:
        return None
    user = User.objects.filter(pk=str(pending.get("user")), is_active=True).first()
    # A password changed since the first step voids it.
    if user is None or not constant_time_compare(
        pending.get("hash", ""), user.get_session_auth_hash()
    ):
        return None
    return user


def complete_second_factor(request: HttpRequest, *, code: str) -> User:
    """The second step: a code of the authenticator app, or a recovery code."""
    user = _pending_user(request)
    if user is None:
        request.session.pop(PENDING_KEY, None)
        raise SignInFailed(NOTHING_PENDING)
    ratelimit.check_login_allowed(user.username, request)
    method = mfa.verify_second_factor(user, code, request=request)
    if method is None:
        ratelimit.count_login_failure(user.username, request, actor=user)
        audit.record(
            "mfa_challenge",
            actor=user,
            request=request,
            outcome="failure",
            details={"during": "sign_in"},
        )
        raise SignInFailed(BAD_CODE)
    _complete(request, user, second_factor=method)
    return user


def _complete(request: HttpRequest, user: User, *, second_factor: str | None) -> None:
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=BACKEND)  # a new session key: no session fixation
    request.session[mfa.SESSION_KEY] = mfa.VERIFIED if second_factor else mfa.PASSWORD_ONLY
    get_token(request)  # the CSRF cookie that session-authenticated writes will need
    ratelimit.forget_login_failures(user.username)
    audit.record(
        "login",
        actor=user,
        request=request,
        details={"second_factor": second_factor or "none"},
    )


def sign_out(request: HttpRequest) -> None:
    user = request.user if request.user.is_authenticated else None
    if user is not None:
        audit.record("logout", actor=user, request=request)
    logout(request)


def check_session_complete(request: HttpRequest, user: User) -> None:
    """403 for a session whose second factor is not settled (see ``mfa.session_block``);
    token callers pass."""
    if isinstance(getattr(request, "auth", None), ApiToken):
        return
    reason = mfa.session_block(request, user)
    if reason is not None:
        raise SecondFactorMissing(reason)


class AccordBackend(ModelBackend):
    """Django's own sign-in forms (the ``/admin/`` login, a test client's ``login()``): the
    password alone, so it counts toward the lockout like the API's sign-in, and it refuses
    people who have or need MFA: they sign in through ``/api/v1/auth/login``."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        username = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            ratelimit.check_login_allowed(username, request)
        except TooManyRequests:
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if not isinstance(user, User):
            ratelimit.count_login_failure(username, request)
            audit.record(
                "login",
                request=request,
                outcome="failure",
                username=username,
                details={"reason": "bad_credentials", "via": "django"},
            )
            return None
        if mfa.is_enrolled(user) or mfa.required(user):
            audit.record(
                "login",
                actor=user,
                request=request,
                outcome="failure",
                details={"reason": "second_factor_needed", "via": "django"},
            )
            return None
        ratelimit.forget_login_failures(username)
        audit.record("login", actor=user, request=request, details={"via": "django"})
        return user

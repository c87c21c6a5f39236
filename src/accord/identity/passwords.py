"""Passwords: the length rule Django lacks, changing one's password, and reset by email.

The rules themselves (length 12 to 128, not common, not like the user's name) are
``AUTH_PASSWORD_VALIDATORS`` in settings, applied by ``services.check_password``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accord.core import clock
from accord.core.errors import FieldError, InvalidInput
from accord.identity import audit, ratelimit
from accord.identity.models import User
from accord.identity.services import check_password

log = logging.getLogger(__name__)


class MaximumLengthValidator:
    """Refuses passwords longer than ``max_length`` characters (ASVS allows a cap of 128 or
    more; without one, megabyte "passwords" would cost a hash each)."""

    def __init__(self, max_length: int = 128) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long: at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password can be up to {self.max_length} characters long."


def check_new_password(password: str, user: User, *, field: str = "new_password") -> None:
    """The password rules, with errors naming the request field that carried the password."""
    try:
        check_password(password, user)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, [FieldError(field, e.message) for e in exc.errors]) from None


def change_password(
    request: HttpRequest, user: User, *, current_password: str, new_password: str
) -> None:
    """A signed-in user changes their own password. The current one must be given; wrong ones
    count toward the sign-in lockout. Other sessions of the user end (their session hash no
    longer matches); the one making the change stays signed in."""
    ratelimit.check_login_allowed(user.username, request)
    if not user.check_password(current_password):
        ratelimit.count_login_failure(user.username, request, actor=user)
        audit.record("password_changed", actor=user, request=request, outcome="failure")
        raise InvalidInput.field("current_password", "is not your current password")
    check_new_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit.record("password_changed", actor=user, request=request, target=user)
    if hasattr(request, "session") and request.session.session_key:
        update_session_auth_hash(request, user)


class ResetTokens(PasswordResetTokenGenerator):
    """Django's reset tokens (bound to the password hash and last sign-in, so a token works
    once and dies with any password change), timed by ``core.clock``."""

    def _now(self) -> dt.datetime:
        return clock.now().replace(tzinfo=None)


reset_tokens = ResetTokens()


def request_reset(request: HttpRequest | None, *, email: str) -> None:
    """Mail a reset link to each active user with this address. Answers the same whether or
    not anyone has it (the caller always says "if the address is known, a mail is on its
    way"); requests are counted like failed sign-ins per address and per client, which keeps
    this from being used to flood an inbox."""
    email = email.strip()
    ratelimit.check_login_allowed(email, request, purpose="reset")
    ratelimit.count_login_failure(email, request, purpose="reset")
    users = [
        user
        for user in User.objects.filter(email__iexact=email, is_active=True)
        if user.has_usable_password()
    ]
    if not users:
        audit.record(
            "password_reset_requested",
            request=request,
            outcome="unknown_address",
            details={"email": email[:254]},
        )
        return
    for user in users:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = reset_tokens.make_token(user)
        link = f"{settings.ACCORD_PUBLIC_URL}/reset-password?uid={uid}&token={token}"
        minutes = settings.PASSWORD_RESET_TIMEOUT // 60
        try:
            send_mail(
                subject="Reset your Accord password",
                message=(
                    f"Someone asked to reset the password of the Accord user {user.username}."
                    f"\n\nTo choose a new password, open:\n{link}\n\n"
                    f"(API clients send uid {uid} and token {token} to "
                    "POST /api/v1/auth/password-reset/confirm.)\n\n"
                    f"The link works once, for {minutes} minutes. If you did not ask for it, "
                    "ignore this mail: your password stays as it is.\n"
                ),
                from_email=None,
                recipient_list=[user.email],
            )
        except Exception:
            # The answer must not differ for known addresses, so a mail server that is down
            # is the operator's problem to see in the log, not the caller's.
            log.exception("The password reset mail to user %s could not be sent", user.pk)
            audit.record(
                "password_reset_requested",
                actor=user,
                request=request,
                outcome="mail_failed",
                target=user,
            )
            continue
        audit.record("password_reset_requested", actor=user, request=request, target=user)


def _user_from_uid(uid: str) -> User | None:
    try:
        pk = force_str(urlsafe_base64_decode(uid))
        return User.objects.filter(pk=pk, is_active=True).first()
    except (ValueError, TypeError, ValidationError, OverflowError):
        return None


def confirm_reset(request: HttpRequest | None, *, uid: str, token: str, new_password: str) -> None:
    """Set a new password with the uid and token of a reset mail. Signs out every session of
    the user and ends any sign-in lockout of the name."""
    user = _user_from_uid(uid)
    if user is None or not reset_tokens.check_token(user, token):
        audit.record(
            "password_reset",
            actor=user,
            request=request,
            outcome="failure",
            details={"reason": "invalid_or_expired_token"},
        )
        raise InvalidInput.field("token", "this reset link is invalid, used or expired")
    check_new_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit.record("password_reset", actor=user, request=request, target=user)
    ratelimit.forget_login_failures(user.username)

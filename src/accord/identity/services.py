"""Writes to people and departments."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from accord.core.errors import Conflict, FieldError, InvalidInput
from accord.identity.models import Department, User


def check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(
            "password is too weak", [FieldError("password", m) for m in exc.messages]
        ) from None


def create_user(
    *,
    username: str,
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    department: Department | None = None,
    is_superuser: bool = False,
) -> tuple[User, str]:
    """A new user and the password they sign in with (generated when not given)."""
    if not username or len(username) > 150:
        raise InvalidInput.field("username", "must be 1 to 150 characters")
    plain = password or secrets.token_urlsafe(16)
    candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
    check_password(plain, candidate)
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"user {username!r} already exists")
        candidate.department = department
        candidate.is_superuser = is_superuser
        candidate.is_staff = is_superuser
        candidate.set_password(plain)
        candidate.save()
    return candidate, plain


def ensure_department(*, name: str, kind: str = Department.Kind.OTHER) -> Department:
    department, _ = Department.objects.get_or_create(name=name, defaults={"kind": kind})
    return department

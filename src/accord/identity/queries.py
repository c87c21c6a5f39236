"""Reads of people and departments."""

from __future__ import annotations

from accord.identity.models import User


def user_by_username(username: str) -> User | None:
    return User.objects.filter(username=username).first()

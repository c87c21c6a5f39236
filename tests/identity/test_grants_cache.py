"""Grants are kept in the process between requests and dropped when the access model changes,
here or in another process (which this process learns from the stored token)."""

from __future__ import annotations

import pytest
from django.db import transaction

from accord.identity import visibility
from accord.identity.models import AccessGeneration, ObjectPermission, Role, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(make_user):
    role = Role.objects.create(name="Reader")
    ObjectPermission.objects.create(role=role, object_type="contact", can_read=True)
    user = make_user()
    user.role = role
    user.save()
    return user


def fresh(user: User) -> User:
    """The user as the next request loads it (no grants cached on the object)."""
    return User.objects.get(pk=user.pk)


def test_a_later_request_reuses_the_grants_with_one_query(reader, django_assert_num_queries):
    assert visibility.permitted(fresh(reader), "contact", "read")
    user = fresh(reader)
    with django_assert_num_queries(1):
        assert visibility.permitted(user, "contact", "read")
        assert not visibility.permitted(user, "contact", "edit")


def test_a_change_committed_by_another_process_is_seen_on_the_next_request(reader):
    assert not visibility.permitted(fresh(reader), "contact", "edit")
    # Another process: rows written without this process's signals, then its new token.
    ObjectPermission.objects.filter(role=reader.role).update(can_edit=True)
    assert not visibility.permitted(fresh(reader), "contact", "edit")  # still cached here
    AccessGeneration.objects.update_or_create(pk=1, defaults={"value": 12345})
    assert visibility.permitted(fresh(reader), "contact", "edit")


def test_grants_loaded_inside_a_rolled_back_change_do_not_survive_it(reader):
    assert not visibility.permitted(fresh(reader), "contact", "edit")
    seen_inside = []

    def change_then_fail() -> None:
        with transaction.atomic():
            ObjectPermission.objects.filter(role=reader.role).update(can_edit=True)
            visibility.access_model_changed()
            seen_inside.append(visibility.permitted(fresh(reader), "contact", "edit"))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert seen_inside == [True]
    assert not visibility.permitted(fresh(reader), "contact", "edit")


def test_a_change_of_the_users_own_role_is_not_served_from_the_cache(reader, make_user):
    assert visibility.permitted(fresh(reader), "contact", "read")
    user = fresh(reader)
    user.role = None
    user.save()
    assert visibility.permitted(fresh(reader), "contact", "edit")  # no role: standard user


def test_the_stored_token_is_replaced_by_every_change(reader):
    before = AccessGeneration.objects.get(pk=1).value
    Role.objects.create(name="Another")
    assert AccessGeneration.objects.get(pk=1).value != before

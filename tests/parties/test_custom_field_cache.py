"""Custom field definitions are cached per process (parties.customfields): a change must show
at once in the process that made it, and a definition the cache does not know yet (made by
another process) must be found when input names it."""

from __future__ import annotations

import pytest

from accord.core.errors import InvalidInput
from accord.parties import customfields, services
from accord.parties.models import CustomField


def tier(admin, **data):
    return services.custom_fields.create(
        actor=admin,
        data={"record_type": "contact", "key": "tier", "label": "Tier", "type": "text", **data},
    )


def test_a_new_definition_is_usable_at_once(admin, make_contact):
    make_contact(last_name="Before")  # reads, and caches, the contact definitions
    tier(admin)
    contact = make_contact(last_name="After", custom_fields={"tier": "gold"})
    assert contact.custom_fields == {"tier": "gold"}


def test_a_deleted_definition_is_refused_at_once(admin, make_contact):
    field = tier(admin)
    make_contact(last_name="With", custom_fields={"tier": "gold"})
    services.custom_fields.delete(actor=admin, record_id=field.pk, expected_version=1)
    with pytest.raises(InvalidInput) as caught:
        make_contact(last_name="Without", custom_fields={"tier": "gold"})
    assert caught.value.errors[0].field == "custom_fields.tier"


def test_a_new_required_definition_applies_at_once(admin, make_contact):
    make_contact(last_name="Before")
    tier(admin, required=True)
    with pytest.raises(InvalidInput) as caught:
        make_contact(last_name="After")
    assert caught.value.errors[0].field == "custom_fields.tier"


def test_a_definition_made_elsewhere_is_found_when_input_names_it(admin, make_contact, monkeypatch):
    # Caching is off once a test changed definitions inside its (never committed) transaction.
    monkeypatch.setattr(customfields._definitions, "_dirty", False)
    make_contact(last_name="Before")
    # As another process would: no signal reaches this process's cache.
    CustomField.objects.bulk_create(
        [CustomField(record_type="contact", key="tier", label="Tier", type="text")]
    )
    assert "tier" not in customfields.definitions("contact")
    contact = make_contact(last_name="After", custom_fields={"tier": "gold"})
    assert contact.custom_fields == {"tier": "gold"}

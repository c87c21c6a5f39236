"""Incremental sync pulls compare only the records named by the events since the last finished
pass (ADR 0011), and compare everything whenever that could miss a change: a change to another
type's records that decides who sees these, a type the last pass did not cover, a change to the
access model or to a user, purged events, or too many events."""

from __future__ import annotations

import pytest
from django.db.models import F
from tests.integration.test_sync_pull import ids, keys, pull, pull_all

from accord.activities import services as activities
from accord.identity.models import Department, SharingDefault, User
from accord.integration import sequencer, sync
from accord.integration.models import Sequencer
from accord.parties import services
from accord.parties.models import Contact

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "relay_numbers_events")


def write_around_the_services(contact: Contact, title: str) -> None:
    """A change no event tells of (what no code of Accord does): only a pull that compares
    every record finds it."""
    Contact.objects.filter(pk=contact.pk).update(title=title, version=F("version") + 1)


def test_an_incremental_pull_compares_only_the_records_events_name(admin, admin_api, make_contact):
    told, untold = make_contact(last_name="Told"), make_contact(last_name="Untold")
    _, cursor = pull_all(admin_api, types="contact")

    services.contacts.update(
        actor=admin, record_id=told.pk, data={"title": "CTO"}, expected_version=1
    )
    write_around_the_services(untold, "Unseen")
    items, cursor = pull_all(admin_api, cursor, types="contact")
    fresh, _ = pull_all(admin_api, types="contact")

    assert ids(items) == {str(told.pk)}, "only the record an event names was compared"
    assert {i["record"]["title"] for i in fresh if i["id"] == str(untold.pk)} == {"Unseen"}


def test_purged_events_make_the_pull_compare_everything(admin, admin_api, make_contact):
    untold = make_contact(last_name="Untold")
    _, cursor = pull_all(admin_api, types="contact")
    write_around_the_services(untold, "Found")
    # The retention job removed events the pull would have needed.
    Sequencer.objects.filter(name=sequencer.OUTBOX).update(purged_through=F("last_sequence") + 1)

    items, _ = pull_all(admin_api, cursor, types="contact")

    assert ids(items) == {str(untold.pk)}


def test_too_many_events_make_the_pull_compare_everything(
    admin, admin_api, make_contact, monkeypatch
):
    contacts = [make_contact(last_name=f"C{n}") for n in range(3)]
    _, cursor = pull_all(admin_api, types="contact")
    for contact in contacts[:2]:
        services.contacts.update(
            actor=admin, record_id=contact.pk, data={"title": "VP"}, expected_version=1
        )
    write_around_the_services(contacts[2], "Found")
    monkeypatch.setattr(sync, "MAX_NARROWING", 1)

    items, _ = pull_all(admin_api, cursor, types="contact")

    assert ids(items) == {str(c.pk) for c in contacts}


def test_a_change_to_a_user_makes_the_pull_compare_everything(admin, api_as, reader, make_contact):
    untold = make_contact(last_name="Untold")
    client = api_as(reader)
    _, cursor = pull_all(client, types="contact")
    write_around_the_services(untold, "Found")
    # As Django admin would: no service, no access-model token, no event.
    User.objects.filter(pk=admin.pk).update(department=Department.objects.create(name="New"))

    items, _ = pull_all(client, cursor, types="contact")

    assert ids(items) == {str(untold.pk)}


def test_an_accounts_change_reaches_its_contacts_in_a_contacts_only_pull(
    api_as, reader, owner, nordics
):
    account, contact, _ = nordics
    client = api_as(reader)
    first, cursor = pull_all(client, types="contact")

    # The account moves out of the territory: an event on the account, none on the contact.
    services.accounts.update(
        actor=owner,
        record_id=account.pk,
        data={"billing_address": {"country": "SE"}},
        expected_version=None,
    )
    items, _ = pull_all(client, cursor, types="contact")

    assert keys(first) == {("contact", str(contact.pk), False)}
    assert [(i["id"], i["reason"]) for i in items] == [(str(contact.pk), "access")]


def test_a_parents_change_reaches_the_activities_under_it(admin, api_as, reader, owner):
    SharingDefault.objects.create(object_type="contact", access="private")
    contact = services.contacts.create(
        actor=owner, data={"last_name": "Parent", "owner_id": str(reader.pk)}
    )
    note = activities.notes.create(
        actor=admin,
        data={"related_type": "contact", "related_id": str(contact.pk), "body": "Called"},
    )
    client = api_as(reader)
    first, cursor = pull_all(client, types="note")

    # The parent changes hands: an event on the contact, none on the note.
    services.contacts.update(
        actor=admin, record_id=contact.pk, data={"owner_id": str(owner.pk)}, expected_version=None
    )
    items, _ = pull_all(client, cursor, types="note")

    assert keys(first) == {("note", str(note.pk), False)}
    assert [(i["id"], i["reason"]) for i in items] == [(str(note.pk), "access")]


def test_a_type_new_to_the_pull_is_compared_in_full(admin, admin_api, make_contact, make_account):
    make_contact(last_name="Kept")
    account = make_account(name="Already there")
    _, cursor = pull_all(admin_api, types="contact")

    items, cursor = pull_all(admin_api, cursor, types="account,contact")
    again, _ = pull_all(admin_api, cursor, types="account,contact")

    assert keys(items) == {("account", str(account.pk), False)}
    assert again == []


def test_a_pass_during_which_a_user_changed_is_followed_by_a_full_one(
    admin, admin_api, make_contact
):
    contacts = [make_contact(last_name=f"C{n}") for n in range(4)]
    department = admin.department_id
    first = pull(admin_api, types="contact", limit=2)
    # Mid-pass, a user changes and changes back: the pass's pages disagree about who saw
    # what, though the access state at its start and at the next pull's are the same.
    User.objects.filter(pk=admin.pk).update(department=Department.objects.create(name="Temp"))
    rest, cursor = pull_all(admin_api, first["next_cursor"], types="contact", limit=2)
    User.objects.filter(pk=admin.pk).update(department=department)
    write_around_the_services(contacts[0], "Found")
    items, _ = pull_all(admin_api, cursor, types="contact")

    assert len(first["items"]) + len(rest) == 4
    assert ids(items) == {str(contacts[0].pk)}

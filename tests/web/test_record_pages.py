"""Record pages: header, sections, field-level security, related lists, timeline, quick
actions, edit with inline validation, the conflict screen, and the recycle bin."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accord.activities.models import Call, Note, Task
from accord.core import clock
from accord.identity.models import Access, FieldPermission, ObjectPermission, SharingDefault
from accord.parties import services
from accord.parties.models import Account
from tests.web.fixtures import assert_page, make_role, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(make_user, admin):
    """A rep who reads and edits accounts (not contacts), without seeing annual revenue and
    without changing the industry."""
    role = make_role("Sales rep")
    ObjectPermission.objects.create(
        role=role, object_type="account", can_read=True, can_edit=True, can_delete=True
    )
    FieldPermission.objects.create(
        role=role, object_type="account", field="annual_revenue", access="hidden"
    )
    FieldPermission.objects.create(
        role=role, object_type="account", field="industry", access="read_only"
    )
    user = make_user(username="rita")
    user.role = role
    user.save()
    return user


def test_record_page_shows_header_sections_related_and_timeline(staff, staff_client):
    account = services.accounts.create(
        actor=staff, data={"name": "Acme", "domain": "acme.example", "employee_count": 12}
    )
    services.contacts.create(
        actor=staff, data={"last_name": "Coyote", "account_id": str(account.pk)}
    )
    services.accounts.update(
        actor=staff, record_id=account.pk, data={"name": "Acme Corp"}, expected_version=1
    )
    page = assert_page(staff_client.get(f"/records/account/{account.pk}/"))
    head = page.split('<header class="record-head">', 1)[1].split("</header>", 1)[0]
    assert "<h1>Acme Corp</h1>" in head
    assert "acme.example" in head
    assert staff.username in head  # the owner, by name
    assert '<h2 id="section-1">Company</h2>' in page
    assert "12" in page
    related = page.split('id="related-1"', 1)[1].split("</section>", 1)[0]
    assert "Coyote" in related
    timeline = page.split('class="timeline"', 1)[1].split("</ol>", 1)[0]
    assert "Acme → Acme Corp" in timeline


def test_record_page_shows_custom_fields(staff, staff_client, admin):
    services.custom_fields.create(
        actor=admin,
        data={"record_type": "account", "key": "tier", "label": "Tier", "type": "text"},
    )
    account = services.accounts.create(
        actor=staff, data={"name": "Tiered", "custom_fields": {"tier": "gold"}}
    )
    page = assert_page(staff_client.get(f"/records/account/{account.pk}/"))
    custom = page.split('id="section-custom"', 1)[1].split("</section>", 1)[0]
    assert "<dt>Tier</dt><dd>gold</dd>" in custom


def test_hidden_field_is_absent_from_the_record_page_and_read_only_is_marked(rep, admin):
    account = services.accounts.create(
        actor=admin,
        data={
            "name": "Initech",
            "industry": "software",
            "annual_revenue": Decimal("1234567"),
            "owner_id": str(rep.pk),
        },
    )
    client = signed_in(rep)
    page = assert_page(client.get(f"/records/account/{account.pk}/"))
    assert "1234567" not in page
    assert 'data-field="annual_revenue"' not in page
    industry = page.split('data-field="industry"', 1)[1].split("</div>", 1)[0]
    assert "(read-only)" in industry
    form = assert_page(client.get(f"/records/account/{account.pk}/edit"))
    assert 'name="industry"' not in form
    assert 'name="annual_revenue"' not in form
    assert 'name="name"' in form


def test_related_list_of_a_type_the_role_cannot_read_is_not_shown(rep, admin):
    account = services.accounts.create(actor=admin, data={"name": "Rel", "owner_id": str(rep.pk)})
    services.contacts.create(
        actor=admin, data={"last_name": "Unseen", "account_id": str(account.pk)}
    )
    page = assert_page(signed_in(rep).get(f"/records/account/{account.pk}/"))
    assert "Unseen" not in page
    assert "Your role does not show these." in page


def test_invisible_record_is_the_404_page(staff_client, admin):
    SharingDefault.objects.create(object_type="account", access=Access.PRIVATE)
    account = services.accounts.create(actor=admin, data={"name": "Secret"})
    assert_page(staff_client.get(f"/records/account/{account.pk}/"), 404)
    assert_page(staff_client.get(f"/records/account/{account.pk}/edit"), 404)


def test_record_page_without_read_permission_is_the_403_page(rep, admin):
    contact = services.contacts.create(actor=admin, data={"last_name": "Nope"})
    assert_page(signed_in(rep).get(f"/records/contact/{contact.pk}/"), 403)


# -- edit ------------------------------------------------------------------------------------


def test_edit_saves_only_what_changed(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Old", "industry": "steel"})
    form = assert_page(staff_client.get(f"/records/account/{account.pk}/edit"))
    assert 'name="version" value="1"' in form
    response = staff_client.post(
        f"/records/account/{account.pk}/edit",
        {
            "version": "1",
            "name": "New",
            "original-name": "Old",
            "industry": "steel",
            "original-industry": "steel",
        },
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.industry, account.version) == ("New", "steel", 2)


def test_edit_shows_validation_messages_next_to_their_fields(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Valid"})
    page = assert_page(
        staff_client.post(
            f"/records/account/{account.pk}/edit",
            {"version": "1", "name": "", "original-name": "Valid", "employee_count": "lots"},
        ),
        422,
    )
    assert 'id="employee_count-errors"' in page
    assert "whole number" in page.split('id="employee_count-errors"', 1)[1].split("</ul>")[0]
    assert 'value="lots"' in page  # what the person typed stays
    account.refresh_from_db()
    assert account.name == "Valid"


def test_edit_shows_service_errors_next_to_their_fields(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Valid"})
    page = assert_page(
        staff_client.post(
            f"/records/account/{account.pk}/edit",
            {"version": "1", "name": "", "original-name": "Valid"},
        ),
        422,
    )
    assert 'id="name-errors"' in page


def test_stale_edit_shows_the_conflict_screen_and_never_overwrites(staff, staff_client, make_user):
    colleague = make_user(username="cole")
    account = services.accounts.create(actor=staff, data={"name": "Base", "industry": "steel"})
    SharingDefault.objects.create(object_type="account", access=Access.PUBLIC_READ_WRITE)
    services.accounts.update(
        actor=colleague, record_id=account.pk, data={"name": "Theirs"}, expected_version=1
    )
    page = assert_page(
        staff_client.post(
            f"/records/account/{account.pk}/edit",
            {
                "version": "1",
                "name": "Mine",
                "original-name": "Base",
                "industry": "steel",
                "original-industry": "steel",
            },
        ),
        409,
    )
    assert "not saved" in page
    row = page.split('<th scope="row">Name</th>', 1)[1].split("</tr>", 1)[0]
    assert "<td>Theirs</td><td>Mine</td>" in row
    account.refresh_from_db()
    assert account.name == "Theirs"
    # Re-apply: the form of the conflict screen posts against the current version.
    assert 'name="version" value="2"' in page
    response = staff_client.post(
        f"/records/account/{account.pk}/edit",
        {"version": "2", "name": "Mine", "original-name": "Theirs"},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.industry) == ("Mine", "steel")


def test_edit_without_edit_permission_is_the_403_page(make_user, admin):
    role = make_role("Reader")
    ObjectPermission.objects.create(role=role, object_type="account", can_read=True)
    reader = make_user(username="reed")
    reader.role = role
    reader.save()
    account = services.accounts.create(actor=admin, data={"name": "Read me"})
    assert_page(signed_in(reader).get(f"/records/account/{account.pk}/edit"), 403)


# -- quick actions ---------------------------------------------------------------------------


def test_quick_actions_log_a_call_add_a_note_and_create_a_task(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Busy"})
    url = f"/records/account/{account.pk}/activity"
    for data in (
        {"kind": "call", "subject": "Intro call", "direction": "outbound"},
        {"kind": "note", "body": "Likes green"},
        {"kind": "task", "subject": "Send offer"},
    ):
        assert staff_client.post(url, data).status_code == 302
    assert Call.objects.get(related_id=account.pk).subject == "Intro call"
    assert Note.objects.get(related_id=account.pk).body == "Likes green"
    assert Task.objects.get(related_id=account.pk).subject == "Send offer"
    page = assert_page(staff_client.get(f"/records/account/{account.pk}/"))
    assert "Intro call" in page.split('class="timeline"', 1)[1]


def test_quick_action_error_is_shown(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Quiet"})
    page = assert_page(
        staff_client.post(
            f"/records/account/{account.pk}/activity", {"kind": "note", "body": ""}, follow=True
        )
    )
    assert "message-error" in page
    assert not Note.objects.filter(related_id=account.pk).exists()


# -- recycle bin -----------------------------------------------------------------------------


def test_delete_moves_to_the_recycle_bin_and_restore_brings_it_back(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Binned"})
    response = staff_client.post(f"/records/account/{account.pk}/delete", {"version": "1"})
    assert response.status_code == 302
    assert not Account.objects.filter(pk=account.pk).exists()
    bin_page = assert_page(staff_client.get("/recycle-bin/"))
    assert "Binned" in bin_page
    response = staff_client.post(f"/recycle-bin/account/{account.pk}/restore")
    assert response.status_code == 302
    assert Account.objects.filter(pk=account.pk).exists()
    assert "Binned" not in assert_page(staff_client.get("/recycle-bin/"))


def test_records_leave_the_bin_after_the_retention(staff, staff_client):
    account = services.accounts.create(actor=staff, data={"name": "Old bin"})
    with clock.frozen(clock.now()):
        services.accounts.delete(actor=staff, record_id=account.pk, expected_version=1)
        clock.advance(dt.timedelta(days=14))
        assert "Old bin" in assert_page(staff_client.get("/recycle-bin/"))
        clock.advance(dt.timedelta(days=2))
        assert "Old bin" not in assert_page(staff_client.get("/recycle-bin/"))
        assert_page(staff_client.post(f"/recycle-bin/account/{account.pk}/restore"), 404)


def test_recycle_bin_shows_only_what_the_user_may_see(staff_client, admin):
    SharingDefault.objects.create(object_type="account", access=Access.PRIVATE)
    account = services.accounts.create(actor=admin, data={"name": "Admin's"})
    services.accounts.delete(actor=admin, record_id=account.pk, expected_version=1)
    assert "Admin&#x27;s" not in assert_page(staff_client.get("/recycle-bin/"))
    assert_page(staff_client.post(f"/recycle-bin/account/{account.pk}/restore"), 404)


def test_edit_sets_and_checks_custom_fields(staff, staff_client, admin):
    services.custom_fields.create(
        actor=admin,
        data={"record_type": "account", "key": "seats", "label": "Seats", "type": "number"},
    )
    account = services.accounts.create(actor=staff, data={"name": "Seated"})
    url = f"/records/account/{account.pk}/edit"
    form = assert_page(staff_client.get(url))
    assert '<label for="id_cf.seats">Seats</label>' in form
    page = assert_page(
        staff_client.post(url, {"version": "1", "cf.seats": "many", "original-cf.seats": ""}), 422
    )
    assert "must be a number" in page.split('id="cf.seats-errors"', 1)[1].split("</ul>")[0]
    response = staff_client.post(url, {"version": "1", "cf.seats": "40", "original-cf.seats": ""})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.custom_fields == {"seats": 40}


def test_record_page_reads_as_many_queries_with_many_related_records(staff, staff_client):
    counts = []
    for n in (1, 12):
        account = services.accounts.create(actor=staff, data={"name": f"Acc {n}"})
        for i in range(n):
            services.contacts.create(
                actor=staff,
                data={
                    "last_name": f"C{i}",
                    "emails": [f"c{n}-{i}@example.com"],
                    "account_id": str(account.pk),
                },
            )
            services.accounts.update(
                actor=staff,
                record_id=account.pk,
                data={"employee_count": i + 1},
                expected_version=None,
            )
        staff_client.get(f"/records/account/{account.pk}/")  # warm the per-user caches
        with CaptureQueriesContext(connection) as queries:
            assert_page(staff_client.get(f"/records/account/{account.pk}/"))
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]

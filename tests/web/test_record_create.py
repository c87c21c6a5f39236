"""The new-record page and attaching a file from a record page, without a browser (the
browser flows are in test_browser_flows.py)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accord.identity.models import ObjectPermission
from accord.parties import services
from accord.parties.models import Account, Attachment, Contact
from tests.web.fixtures import assert_page, make_role, signed_in

pytestmark = pytest.mark.django_db

EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def test_a_new_account_is_created_from_the_form(admin):
    client = signed_in(admin)
    form = assert_page(client.get("/records/account/new"))
    assert 'action="/records/account/new"' in form
    assert 'name="version"' not in form
    response = client.post("/records/account/new", {"name": "Colossus", "industry": "Codes"})
    account = Account.objects.get(name="Colossus")
    assert response.status_code == 302
    assert response["Location"] == f"/records/account/{account.pk}/"
    assert account.industry == "Codes"
    assert account.owner_id == admin.pk


def test_a_missing_name_is_said_next_to_the_field_and_nothing_is_created(admin):
    client = signed_in(admin)
    page = assert_page(client.post("/records/account/new", {"industry": "Codes"}), 422)
    assert 'id="id_name" name="name" value="" aria-invalid="true"' in page
    assert 'value="Codes"' in page
    assert not Account.objects.exists()


def test_an_accounts_related_list_links_to_a_new_contact_of_it(admin):
    account = services.accounts.create(actor=admin, data={"name": "Bletchley"})
    client = signed_in(admin)
    page = assert_page(client.get(f"/records/account/{account.pk}/"))
    assert f'href="/records/contact/new?account_id={account.pk}"' in page
    form = assert_page(client.get(f"/records/contact/new?account_id={account.pk}"))
    assert f'value="{account.pk}"' in form
    client.post(
        "/records/contact/new",
        {"first_name": "Joan", "last_name": "Clarke", "account_id": str(account.pk)},
    )
    assert Contact.objects.get(last_name="Clarke").account_id == account.pk


def test_without_the_create_permission_the_form_is_refused(make_user):
    role = make_role("Reader")
    ObjectPermission.objects.create(role=role, object_type="account", can_read=True)
    reader = make_user(username="rhea")
    reader.role = role
    reader.save()
    client = signed_in(reader)
    assert "New account" not in assert_page(client.get("/records/account/"))
    assert client.get("/records/account/new").status_code == 403
    assert client.post("/records/account/new", {"name": "X"}).status_code == 403
    assert not Account.objects.exists()


def test_an_executable_is_refused_whatever_its_name_and_a_pdf_is_attached(admin):
    account = services.accounts.create(actor=admin, data={"name": "Manchester Baby"})
    client = signed_in(admin)
    url = f"/records/account/{account.pk}/attach"
    refused = client.post(url, {"file": SimpleUploadedFile("report.pdf", EXECUTABLE)})
    page = assert_page(refused, 422)
    assert 'id="attach-errors"' in page
    assert "may not be attached" in page
    assert not Attachment.objects.exists()

    accepted = client.post(url, {"file": SimpleUploadedFile("report.pdf", PDF)})
    assert accepted.status_code == 302
    stored = Attachment.objects.get(related_id=account.pk)
    assert stored.content_type == "application/pdf"
    assert "Attachment: report.pdf" in assert_page(client.get(f"/records/account/{account.pk}/"))
    assert client.post(url, {}).status_code == 422

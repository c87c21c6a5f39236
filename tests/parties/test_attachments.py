"""Attachments: accepted by what their content is (never their name), within the size limit,
stored under the data directory, downloaded only by people who can see the record (404
otherwise, like an unknown id), deleted to the recycle bin through the write path, and listed
on the record's timeline."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accord.core.models import HistoryEntry, OutboxEvent
from accord.identity.models import Access, SharingDefault
from accord.parties import services as parties
from accord.parties.models import Attachment

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
#: A Windows executable's header: "MZ", then the DOS stub.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
UNKNOWN_ID = "0190a000-0000-7000-8000-00000000beef"


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Any) -> Any:
    settings.DATA_DIR = tmp_path
    return tmp_path


def upload(api: Client, path: str, name: str, content: bytes) -> Any:
    # Multipart, not the JSON the ApiClient sends by default.
    return Client.post(api, path, {"file": SimpleUploadedFile(name, content)})


@pytest.fixture
def account(admin: Any) -> Any:
    return parties.accounts.create(actor=admin, data={"name": "Initech"})


def test_a_pdf_is_stored_and_downloaded_as_an_attachment(admin_api, account, data_dir):
    created = upload(admin_api, f"/api/v1/accounts/{account.pk}/attachments", "deal.pdf", PDF)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["filename"], body["content_type"], body["size"]) == (
        "deal.pdf",
        "application/pdf",
        len(PDF),
    )
    assert list(data_dir.glob("attachments/*/*")), "the bytes live under the data directory"
    meta = admin_api.get(f"/api/v1/attachments/{body['id']}")
    assert meta.status_code == 200
    assert meta.json()["sha256"] == body["sha256"]
    download = admin_api.get(f"/api/v1/attachments/{body['id']}/content")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert 'filename="deal.pdf"' in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/pdf"
    listed = admin_api.get(f"/api/v1/accounts/{account.pk}/attachments").json()["items"]
    assert [a["id"] for a in listed] == [body["id"]]
    created_events = OutboxEvent.objects.filter(
        object_type="attachment", type="accord.attachment.created"
    )
    assert created_events.count() == 1


@pytest.mark.parametrize("content", [EXE, ELF], ids=["windows-exe", "elf"])
def test_an_executable_named_pdf_is_refused(admin_api, account, content, data_dir):
    refused = upload(
        admin_api, f"/api/v1/accounts/{account.pk}/attachments", "invoice.pdf", content
    )
    assert refused.status_code == 422, refused.content
    assert refused["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == ["file"]
    assert not Attachment.all_objects.exists()
    assert not list(data_dir.glob("attachments/*/*"))


def test_unrecognised_binary_content_is_refused_whatever_its_name(admin_api, account):
    refused = upload(
        admin_api, f"/api/v1/accounts/{account.pk}/attachments", "notes.txt", bytes(range(256))
    )
    assert refused.status_code == 422, refused.content
    assert "cannot be recognised" in refused.json()["errors"][0]["message"]


def test_a_file_over_the_size_limit_is_refused(admin_api, account, settings):
    settings.ACCORD_ATTACHMENT_MAX_MB = 1
    big = b"a" * (1024 * 1024 + 1)
    refused = upload(admin_api, f"/api/v1/accounts/{account.pk}/attachments", "big.txt", big)
    assert refused.status_code == 422, refused.content
    assert "larger than 1 MB" in refused.json()["errors"][0]["message"]
    fits = upload(admin_api, f"/api/v1/accounts/{account.pk}/attachments", "ok.txt", big[:-1])
    assert fits.status_code == 201, fits.content
    assert fits.json()["content_type"] == "text/plain"


def test_an_upload_without_a_file_is_a_422(admin_api, account):
    answer = Client.post(admin_api, f"/api/v1/accounts/{account.pk}/attachments", {})
    assert answer.status_code == 422


def test_a_hidden_parent_hides_its_attachments_like_unknown_ids(
    admin, admin_api, api_as, make_user
):
    SharingDefault.objects.create(object_type="account", access=Access.PRIVATE)
    secret = parties.accounts.create(actor=admin, data={"name": "Secret"})
    created = upload(admin_api, f"/api/v1/accounts/{secret.pk}/attachments", "a.pdf", PDF)
    attachment_id = created.json()["id"]
    snoop = api_as(make_user())
    for path in (
        "/api/v1/attachments/{}",
        "/api/v1/attachments/{}/content",
    ):
        hidden = snoop.get(path.format(attachment_id))
        unknown = snoop.get(path.format(UNKNOWN_ID))
        assert hidden.status_code == unknown.status_code == 404
        assert (
            hidden.json()["detail"].replace(attachment_id, UNKNOWN_ID) == unknown.json()["detail"]
        )
    assert snoop.get(f"/api/v1/accounts/{secret.pk}/attachments").status_code == 404
    assert snoop.delete(f"/api/v1/attachments/{attachment_id}", if_match="*").status_code == 404
    assert (
        upload(snoop, f"/api/v1/accounts/{secret.pk}/attachments", "b.pdf", PDF).status_code == 404
    )
    assert Attachment.objects.filter(pk=attachment_id).exists()


def test_reading_a_record_is_not_enough_to_attach_or_remove(admin, admin_api, api_as, make_user):
    SharingDefault.objects.create(object_type="account", access=Access.PUBLIC_READ)
    shared = parties.accounts.create(actor=admin, data={"name": "Readable"})
    created = upload(admin_api, f"/api/v1/accounts/{shared.pk}/attachments", "a.pdf", PDF)
    reader = api_as(make_user())
    assert reader.get(f"/api/v1/attachments/{created.json()['id']}/content").status_code == 200
    assert (
        upload(reader, f"/api/v1/accounts/{shared.pk}/attachments", "b.pdf", PDF).status_code == 403
    )
    answer = reader.delete(f"/api/v1/attachments/{created.json()['id']}", if_match="*")
    assert answer.status_code == 403


def test_delete_moves_an_attachment_to_the_recycle_bin(admin_api, account):
    created = upload(admin_api, f"/api/v1/accounts/{account.pk}/attachments", "a.pdf", PDF)
    attachment_id = created.json()["id"]
    assert admin_api.delete(f"/api/v1/attachments/{attachment_id}").status_code == 428
    gone = admin_api.delete(f"/api/v1/attachments/{attachment_id}", if_match='"1"')
    assert gone.status_code == 204, gone.content
    assert admin_api.get(f"/api/v1/attachments/{attachment_id}").status_code == 404
    assert Attachment.all_objects.get(pk=attachment_id).deleted_at is not None
    verbs = set(HistoryEntry.objects.filter(object_id=attachment_id).values_list("verb", flat=True))
    assert verbs == {"created", "deleted"}
    assert admin_api.get(f"/api/v1/accounts/{account.pk}/attachments").json()["items"] == []


def test_attachments_appear_on_the_records_timeline(admin_api, account):
    created = upload(admin_api, f"/api/v1/accounts/{account.pk}/attachments", "plan.pdf", PDF)
    timeline = admin_api.get(f"/api/v1/accounts/{account.pk}/timeline").json()["items"]
    entry = next(e for e in timeline if e["kind"] == "attachment")
    assert str(entry["id"]) == created.json()["id"]
    assert entry["activity"]["summary"] == "plan.pdf"
    assert entry["activity"]["details"] == {"content_type": "application/pdf", "size": len(PDF)}


def test_a_path_in_the_file_name_is_dropped(admin_api, account):
    created = upload(
        admin_api, f"/api/v1/accounts/{account.pk}/attachments", "../../etc/passwd.pdf", PDF
    )
    assert created.status_code == 201, created.content
    assert created.json()["filename"] == "passwd.pdf"


def test_a_multipart_body_without_its_boundary_is_a_400(admin_api, account):
    answer = Client.generic(
        admin_api,
        "POST",
        f"/api/v1/accounts/{account.pk}/attachments",
        b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\nabc\r\n--x--\r\n",
        content_type="multipart/form-data",
    )

    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert not Attachment.all_objects.exists()


def test_every_operation_with_a_body_documents_the_400_for_a_malformed_one():
    from accord.api import api

    schema = api.get_openapi_schema()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and "400" not in operation["responses"]
    ]
    assert missing == []

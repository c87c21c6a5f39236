"""``accord sync``: the reference client closes the loop against a running server: pull into a
local SQLite replica, edit offline, push, see conflicts, resolve them, pull again and match the
server; records that leave the user's sight disappear locally; a forgotten replica resyncs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from accord import cli
from accord.identity.models import SharingDefault
from accord.identity.tokens import create_token
from accord.integration import sync_client
from accord.integration.models import SyncReplica
from accord.parties import services
from accord.parties.models import Contact

pytestmark = [
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.django_db(transaction=True),
]

runner = CliRunner()


class Laptop:
    """One user's replica file and the options every ``accord sync`` command takes."""

    def __init__(self, path: Path, url: str, token: str) -> None:
        self.path, self.url, self.token = path, url, token

    def run(self, command: str, *args: str, server: bool = False) -> Any:
        argv = ["sync", command, "--replica", str(self.path), *args]
        if server:
            argv += ["--url", self.url, "--token", self.token]
        return runner.invoke(cli.app, argv)

    def ok(self, command: str, *args: str, server: bool = False) -> str:
        result = self.run(command, *args, server=server)
        assert result.exit_code == 0, result.output
        return str(result.output)

    def records(self, object_type: str = "contact") -> dict[str, dict[str, Any]]:
        lines = self.ok("show", "--type", object_type).splitlines()
        return {r["id"]: r for r in map(json.loads, lines)}


@pytest.fixture
def rep(make_user):
    return make_user(username="rep")


@pytest.fixture
def laptop(live_server, rep, tmp_path) -> Laptop:
    _, token = create_token(user=rep, scopes=None, expires_at=None)
    return Laptop(tmp_path / "laptop.sqlite", live_server.url, token)


def _contacts(actor: Any, *names: str) -> list[Contact]:
    return [services.contacts.create(actor=actor, data={"last_name": n}) for n in names]


def test_pull_edit_push_resolve_and_pull_again(laptop, rep, admin):
    ada, bob, cyd = _contacts(rep, "Ada", "Bob", "Cyd")

    pulled = laptop.ok("pull", "--types", "contact,account", server=True)
    assert "3 record(s) stored" in pulled
    assert set(laptop.records()) == {str(c.pk) for c in (ada, bob, cyd)}

    laptop.ok("edit", "--type", "contact", "--id", str(ada.pk), "--set", "title=CTO")
    laptop.ok("edit", "--type", "contact", "--id", str(bob.pk), "--set", "title=CFO")
    laptop.ok("delete", "--type", "contact", "--id", str(cyd.pk))
    temp_id = laptop.ok("create", "--type", "contact", "--set", "last_name=Dee").strip()
    assert laptop.records()[str(ada.pk)]["title"] == "CTO", "edits show offline"
    # Meanwhile someone changes Bob on the server.
    services.contacts.update(
        actor=admin, record_id=bob.pk, data={"title": "CEO"}, expected_version=1
    )

    pushed = laptop.run("push", server=True)

    assert pushed.exit_code == 1, pushed.output
    assert "3 applied, 1 conflict(s), 0 rejected" in pushed.output
    assert f"CONFLICT update contact {bob.pk}" in pushed.output
    assert "'title': 'CEO'" in pushed.output
    assert "'title': 'CFO'" in pushed.output
    assert Contact.objects.get(pk=ada.pk).title == "CTO"
    assert Contact.objects.get(pk=bob.pk).title == "CEO", "the conflict overwrote nothing"
    assert not Contact.objects.filter(pk=cyd.pk).exists()
    dee = Contact.objects.get(last_name="Dee")
    assert f"Created {temp_id} as {dee.pk}" in pushed.output
    assert f"CONFLICT update contact {bob.pk}" in laptop.ok("conflicts")

    laptop.ok("resolve", "--keep", "mine", "--id", str(bob.pk))
    assert "1 applied, 0 conflict(s)" in laptop.ok("push", server=True)
    assert Contact.objects.get(pk=bob.pk).title == "CFO"

    laptop.ok("pull", server=True)
    local = laptop.records()
    assert set(local) == {str(c.pk) for c in Contact.objects.all()}
    for contact in Contact.objects.all():
        shown = services.contacts.payload(contact)
        assert {k: local[str(contact.pk)][k] for k in shown} == shown
        assert local[str(contact.pk)]["state"] == "synced"


def test_keeping_the_server_version_drops_the_local_edit(laptop, rep, admin):
    [ada] = _contacts(rep, "Ada")
    laptop.ok("pull", "--types", "contact", server=True)
    laptop.ok("edit", "--type", "contact", "--id", str(ada.pk), "--set", "title=Mine")
    services.contacts.update(
        actor=admin, record_id=ada.pk, data={"title": "Theirs"}, expected_version=1
    )
    assert laptop.run("push", server=True).exit_code == 1

    laptop.ok("resolve", "--keep", "server")

    assert "No conflicts." in laptop.ok("conflicts")
    assert laptop.records()[str(ada.pk)]["title"] == "Theirs"
    assert "0 applied" in laptop.ok("push", server=True)
    assert Contact.objects.get(pk=ada.pk).title == "Theirs"


def test_rejected_edits_are_listed_with_the_servers_reason(laptop, rep):
    [ada] = _contacts(rep, "Ada")
    laptop.ok("pull", "--types", "contact", server=True)
    laptop.ok("edit", "--type", "contact", "--id", str(ada.pk), "--set-json", 'emails=["nope"]')

    pushed = laptop.run("push", server=True)

    assert pushed.exit_code == 1
    assert f"REJECTED update contact {ada.pk}: 422" in pushed.output
    assert "emails" in pushed.output
    assert Contact.objects.get(pk=ada.pk).version == 1


def test_a_record_leaving_the_users_sight_disappears_locally(laptop, rep, admin, make_user):
    SharingDefault.objects.create(object_type="contact", access="private")
    ada, bob = _contacts(rep, "Ada", "Bob")
    laptop.ok("pull", "--types", "contact", server=True)

    other = make_user(username="other")
    services.contacts.update(
        actor=admin, record_id=bob.pk, data={"owner_id": str(other.pk)}, expected_version=None
    )
    pulled = laptop.ok("pull", server=True)

    assert "1 removed" in pulled
    assert set(laptop.records()) == {str(ada.pk)}


def test_a_forgotten_replica_resynchronises_and_keeps_local_edits(laptop, rep):
    [ada] = _contacts(rep, "Ada")
    laptop.ok("pull", "--types", "contact", server=True)
    laptop.ok("edit", "--type", "contact", "--id", str(ada.pk), "--set", "title=Kept")
    SyncReplica.objects.all().delete()

    pulled = laptop.ok("pull", server=True)

    assert "full resynchronisation" in pulled
    assert laptop.records()[str(ada.pk)]["title"] == "Kept"
    assert "1 applied" in laptop.ok("push", server=True)


def test_bad_use_is_a_message_not_a_traceback(laptop, tmp_path):
    no_url = runner.invoke(cli.app, ["sync", "pull", "--replica", str(tmp_path / "x.sqlite")])
    unknown = laptop.run("edit", "--type", "contact", "--id", "nope", "--set", "a=b")
    refused = runner.invoke(
        cli.app,
        ["sync", "pull", "--replica", str(laptop.path), "--url", laptop.url, "--token", "bad"],
    )

    assert (no_url.exit_code, unknown.exit_code, refused.exit_code) == (1, 1, 1)
    assert "--url" in no_url.output
    assert "No contact nope in this replica" in unknown.output
    assert "401" in refused.output


class LostAnswers(httpx.HTTPTransport):
    """Delivers each request, then loses the answer (a timeout after the server wrote)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        super().handle_request(request).read()
        raise httpx.ReadTimeout("the answer got lost", request=request)


def test_a_push_whose_answer_got_lost_is_not_applied_twice(laptop, rep):
    [ada] = _contacts(rep, "Ada")
    laptop.ok("pull", "--types", "contact", server=True)
    laptop.ok("edit", "--type", "contact", "--id", str(ada.pk), "--set", "title=CTO")
    laptop.ok("create", "--type", "contact", "--set", "last_name=Once")

    with pytest.raises(httpx.ReadTimeout):
        sync_client.push(laptop.path, url=laptop.url, token=laptop.token, transport=LostAnswers())
    meanwhile = laptop.run("edit", "--type", "contact", "--id", str(ada.pk), "--set", "title=X")
    again = laptop.ok("push", server=True)

    assert meanwhile.exit_code == 1
    assert "did not finish" in meanwhile.output
    assert "2 applied, 0 conflict(s)" in again
    assert Contact.objects.filter(last_name="Once").count() == 1
    assert Contact.objects.get(pk=ada.pk).version == 2
    assert laptop.records()[str(ada.pk)]["state"] == "synced"

"""Notifications: an assignment reaches the assignee's inbox exactly once, preferences decide
the channel, email goes out at once or in a daily digest (moving core.clock), nobody hears of a
record they may not see, and the inbox API and page serve only the caller's own."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail

from accord.activities import notifications, services
from accord.activities.models import Notification
from accord.activities.tasks import send_notification_digests, send_notification_emails
from accord.core import clock, scheduler
from accord.identity.models import FieldPermission, ObjectPermission, Role
from accord.parties import services as parties
from tests.web.fixtures import assert_page, signed_in

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
JSON = "application/json"


def _inbox(user: Any) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user).order_by("created_at"))


@pytest.fixture
def rep(make_user: Any) -> Any:
    user = make_user(username="rita")
    user.email = "rita@example.com"
    user.save(update_fields=["email"])
    return user


def _role(name: str, **rights: str) -> Role:
    role = Role(name=name)
    role.path, role.depth = f"/{role.pk}/", 0
    role.save()
    for object_type, letters in rights.items():
        ObjectPermission.objects.create(
            role=role,
            object_type=object_type,
            can_create="C" in letters,
            can_read="R" in letters,
            can_edit="E" in letters,
            can_delete="D" in letters,
        )
    return role


def test_assigning_a_task_notifies_the_assignee_exactly_once(admin, admin_api, account, rep):
    created = admin_api.post(
        "/api/v1/tasks",
        {
            "subject": "Send the quote",
            "related_type": "account",
            "related_id": str(account.pk),
            "assignee_id": str(rep.pk),
        },
    )
    assert created.status_code == 201, created.content
    task_id = created.json()["id"]
    (only,) = _inbox(rep)
    assert only.kind == "assignment"
    assert (only.object_type, str(only.object_id)) == ("task", task_id)
    assert "Send the quote" in only.body
    # Later changes that do not reassign it tell nobody again.
    changed = admin_api.patch(f"/api/v1/tasks/{task_id}", {"priority": "high"}, if_match="*")
    assert changed.status_code == 200, changed.content
    assert len(_inbox(rep)) == 1


def test_owner_and_assignee_given_to_one_person_in_one_change_notify_once(admin, account, rep):
    task = services.tasks.create(
        actor=admin,
        data={"subject": "Visit", "related_type": "account", "related_id": account.pk},
    )
    services.tasks.update(
        actor=admin,
        record_id=task.pk,
        data={"owner_id": rep.pk, "assignee_id": rep.pk},
        expected_version=None,
    )
    assert len(_inbox(rep)) == 1


def test_giving_a_record_to_yourself_notifies_nobody(rep, account):
    services.tasks.create(
        actor=rep,
        data={"subject": "Mine", "related_type": "account", "related_id": account.pk},
    )
    assert _inbox(rep) == []


def test_an_owner_change_in_any_domain_notifies_the_new_owner(admin, admin_api, rep, make_user):
    account = parties.accounts.create(actor=admin, data={"name": "Globex"})
    moved = admin_api.patch(
        f"/api/v1/accounts/{account.pk}", {"owner_id": str(rep.pk)}, if_match="*"
    )
    assert moved.status_code == 200, moved.content
    (only,) = _inbox(rep)
    assert only.title == "Account assigned to you"
    assert "Globex" in only.body
    other = make_user()
    parties.accounts.update(
        actor=admin, record_id=account.pk, data={"owner_id": other.pk}, expected_version=None
    )
    assert len(_inbox(rep)) == 1
    assert len(_inbox(other)) == 1


def test_nobody_hears_of_a_record_their_role_may_not_read(admin, rep):
    rep.role = _role("No accounts", task="CRED")
    rep.save(update_fields=["role"])
    parties.accounts.create(actor=admin, data={"name": "Hidden Co", "owner_id": rep.pk})
    assert _inbox(rep) == []


def test_fields_hidden_from_the_recipient_stay_out_of_the_body(admin, rep):
    role = _role("Sales", account="CRED")
    FieldPermission.objects.create(role=role, object_type="account", field="name", access="hidden")
    rep.role = role
    rep.save(update_fields=["role"])
    parties.accounts.create(actor=admin, data={"name": "Secret Merger", "owner_id": rep.pk})
    (only,) = _inbox(rep)
    assert "Secret Merger" not in only.title + only.body


def test_turning_a_kind_off_stops_it(admin, api_as, account, rep):
    api = api_as(rep)
    answer = api.put("/api/v1/notifications/preferences", {"assignment": "off"}, content_type=JSON)
    assert answer.status_code == 200, answer.content
    assert answer.json()["assignment"] == "off"
    assert answer.json()["mention"] == "in_app"
    services.tasks.create(
        actor=admin,
        data={
            "subject": "Ignored",
            "related_type": "account",
            "related_id": account.pk,
            "assignee_id": rep.pk,
        },
    )
    assert _inbox(rep) == []
    bad = api.put("/api/v1/notifications/preferences", {"assignment": "pigeon"}, content_type=JSON)
    assert bad.status_code == 422


def test_immediate_email_goes_out_once_after_commit(
    admin, account, rep, django_capture_on_commit_callbacks
):
    notifications.set_preferences(rep, {"assignment": "email_immediate"})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.tasks.create(
            actor=admin,
            data={
                "subject": "Call Ada",
                "related_type": "account",
                "related_id": account.pk,
                "assignee_id": rep.pk,
            },
        )
    assert callbacks, "the mailer is woken after the commit"
    assert send_notification_emails.call() == 1
    (message,) = mail.outbox
    assert message.to == ["rita@example.com"]
    assert "Call Ada" in message.body
    assert send_notification_emails.call() == 0
    assert len(mail.outbox) == 1
    assert _inbox(rep)[0].emailed_at is not None


def test_daily_digest_is_scheduled_and_sends_each_notification_once(admin, account, rep):
    notifications.set_preferences(rep, {"assignment": "email_digest", "system": "email_digest"})
    with clock.frozen(START):
        scheduler.sync()
        notifications.notify(recipient=rep, kind="system", title="Welcome to Accord")
        services.tasks.create(
            actor=admin,
            data={
                "subject": "Renewal",
                "related_type": "account",
                "related_id": account.pk,
                "assignee_id": rep.pk,
            },
        )
        assert "notification-digest" in scheduler.tick()
        assert send_notification_digests.call() == 1
        (digest,) = mail.outbox
        assert "2 notifications" in digest.subject
        assert "Welcome to Accord" in digest.body
        assert "Renewal" in digest.body

        clock.advance(dt.timedelta(hours=2))
        notifications.notify(recipient=rep, kind="system", title="Second day")
        assert "notification-digest" not in scheduler.tick()
        clock.advance(dt.timedelta(hours=23))
        assert "notification-digest" in scheduler.tick()
        assert send_notification_digests.call() == 1
        assert len(mail.outbox) == 2
        assert "Second day" in mail.outbox[1].body
        assert "Renewal" not in mail.outbox[1].body


def test_digest_leaves_out_records_the_recipient_can_no_longer_see(admin, rep):
    notifications.set_preferences(rep, {"assignment": "email_digest"})
    account = parties.accounts.create(actor=admin, data={"name": "Gone Ltd", "owner_id": rep.pk})
    parties.accounts.delete(actor=admin, record_id=account.pk, expected_version=None)
    assert send_notification_digests.call() == 0
    assert mail.outbox == []


def test_notify_refuses_a_record_the_recipient_cannot_see(admin, rep):
    rep.role = _role("Tasks only", task="CRED")
    rep.save(update_fields=["role"])
    account = parties.accounts.create(actor=admin, data={"name": "Private"})
    found = notifications.notify(
        recipient=rep, kind="mention", title="You were mentioned", record=account
    )
    assert found is None
    assert _inbox(rep) == []


def test_inbox_api_lists_counts_and_marks_only_the_callers_own(api_as, rep, make_user):
    other = make_user()
    for n in range(3):
        notifications.notify(recipient=rep, kind="system", title=f"Note {n}")
    theirs = notifications.notify(recipient=other, kind="system", title="Not yours")
    assert theirs is not None
    api = api_as(rep)
    assert api.get("/api/v1/notifications/unread-count").json() == {"count": 3}
    page = api.get("/api/v1/notifications", {"limit": 2}).json()
    assert [n["title"] for n in page["items"]] == ["Note 2", "Note 1"]
    rest = api.get("/api/v1/notifications", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [n["title"] for n in rest["items"]] == ["Note 0"]
    assert rest["next_cursor"] is None
    first = page["items"][0]["id"]
    read = api.post(f"/api/v1/notifications/{first}/read")
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    unread = api.get("/api/v1/notifications", {"unread": "true"}).json()["items"]
    assert first not in {n["id"] for n in unread}
    assert len(unread) == 2
    assert api.post(f"/api/v1/notifications/{theirs.pk}/read").status_code == 404
    assert api.get(f"/api/v1/notifications/{theirs.pk}").status_code == 404
    assert api.post("/api/v1/notifications/read-all").json() == {"count": 2}
    assert api.get("/api/v1/notifications/unread-count").json() == {"count": 0}
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_the_dedupe_key_makes_a_repeat_a_no_op(rep):
    first = notifications.notify(recipient=rep, kind="sla_warning", title="x", dedupe_key="k1")
    again = notifications.notify(recipient=rep, kind="sla_warning", title="x", dedupe_key="k1")
    assert first is not None
    assert again is None
    assert len(_inbox(rep)) == 1


def test_inbox_page_shows_the_unread_count_and_marks_read(rep):
    notifications.notify(recipient=rep, kind="system", title="Hello from the inbox")
    client = signed_in(rep)
    html = assert_page(client.get("/inbox/"))
    assert "Hello from the inbox" in html
    assert "1 unread" in html
    (only,) = _inbox(rep)
    assert client.post(f"/inbox/{only.pk}/read").status_code == 302
    assert notifications.unread_count(rep) == 0
    html = assert_page(client.get("/inbox/?show=unread"))
    assert "No unread notifications." in html
    assert "Hello from the inbox" not in html


def test_preferences_page_saves_a_channel(rep):
    client = signed_in(rep)
    assert_page(client.get("/inbox/preferences/"))
    answer = client.post(
        "/inbox/preferences/",
        {
            "assignment": "email_digest",
            "mention": "in_app",
            "sla_warning": "off",
            "system": "in_app",
        },
    )
    assert answer.status_code == 302
    assert notifications.preferences(rep)["sla_warning"] == "off"
    bad = client.post("/inbox/preferences/", {"assignment": "pigeon"})
    assert_page(bad, 422)


def test_a_bulk_assignment_arrives_as_one_summary(admin, account, rep):
    rows = [
        {
            "subject": f"Follow up {n}",
            "related_type": "account",
            "related_id": account.pk,
            "assignee_id": rep.pk,
        }
        for n in range(notifications.BATCH_SUMMARY + 1)
    ]
    services.tasks.create_many(actor=admin, rows=rows)
    (only,) = _inbox(rep)
    assert only.title == f"{notifications.BATCH_SUMMARY + 1} task records assigned to you"


def test_a_few_assignments_each_in_one_write_are_checked_together(
    admin, rep, make_user, django_assert_max_num_queries
):
    """A write giving several people a few records each: one notification per record each
    recipient may see, in a number of queries that does not grow with the records."""
    other = make_user(username="otto")
    rep.role = _role("Contacts, no accounts", task="CRED", contact="R")
    rep.save(update_fields=["role"])
    hidden = parties.accounts.create(actor=admin, data={"name": "Hidden Co"})
    shown = parties.contacts.create(actor=admin, data={"last_name": "Shown"})

    def rows(count: int) -> list[dict[str, Any]]:
        return [
            {
                "subject": f"Call {n}",
                "related_type": "account" if n % 2 else "contact",
                "related_id": (hidden if n % 2 else shown).pk,
                "assignee_id": (rep if n < count else other).pk,
            }
            for n in range(2 * count)
        ]

    services.tasks.create_many(actor=admin, rows=rows(2))
    Notification.objects.all().delete()
    with django_assert_max_num_queries(60) as few:
        services.tasks.create_many(actor=admin, rows=rows(2))
    with django_assert_max_num_queries(len(few.captured_queries)):
        services.tasks.create_many(actor=admin, rows=rows(8))

    mine, theirs = _inbox(rep), _inbox(other)
    # The rep's role may not read accounts, so the tasks on the account stay unheard of.
    assert len(mine) == 1 + 4
    assert {n.object_id for n in mine} <= set(
        services.tasks.model.objects.filter(related_type="contact").values_list("pk", flat=True)
    )
    assert len(theirs) == 2 + 8
    assert all(n.title == "Task assigned to you" for n in mine + theirs)

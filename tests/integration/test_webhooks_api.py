"""``/api/v1/webhooks``: subscriptions managed by their owner and access managers, the secret
shown once and rotated with overlap, bad input refused naming the field with nothing saved, the
delivery log, redelivery and replay requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tests.identity.access_factories import ALL, error_fields, make_role, with_role

from accord.core import clock
from accord.core.models import OutboxEvent
from accord.integration import sequencer
from accord.integration.models import (
    DeliveryStatus,
    Destination,
    WebhookDelivery,
    WebhookReplay,
    WebhookSubscription,
)
from accord.parties import services as parties

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PROBLEM = "application/problem+json"
URL = "https://hooks.example.com/accord"


def _subscribe(client, **data: Any) -> Any:
    return client.post(
        "/api/v1/webhooks", {"url": URL, "event_types": ["accord.contact.*"], **data}
    )


def _state() -> dict[str, list[dict[str, Any]]]:
    return {
        "subscriptions": list(WebhookSubscription.objects.order_by("pk").values()),
        "destinations": list(Destination.objects.order_by("pk").values()),
    }


def _number() -> None:
    assert sequencer.hold("test", seconds=60)
    while sequencer.number("test", batch=1000):
        pass


def test_a_subscription_is_created_with_its_secret_shown_once(make_user, api_as):
    owner = make_user()
    client = api_as(owner)

    created = _subscribe(client, description="BI loader", fields=["title"])

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert created["Location"].endswith(f"/api/v1/webhooks/{body['id']}")
    assert created["ETag"] == '"1"'
    assert (body["url"], body["event_types"], body["fields"]) == (
        URL,
        ["accord.contact.*"],
        ["title"],
    )
    assert body["owner_id"] == str(owner.pk)
    assert body["enabled"] is True
    read = client.get(f"/api/v1/webhooks/{body['id']}")
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert body["secret"] not in read.content.decode()
    stored = WebhookSubscription.objects.get(pk=body["id"])
    assert stored.secret == body["secret"]
    assert stored.destination.kind == "webhook"


def test_a_new_subscription_starts_after_the_events_numbered_so_far(admin, admin_api):
    parties.contacts.create(actor=admin, data={"last_name": "Before"})
    _number()

    body = _subscribe(admin_api).json()

    assert body["position"] == sequencer.current().last_sequence > 0


def test_department_defaults_to_the_owners(make_user, api_as):
    from accord.identity.models import Department

    sales = Department.objects.create(name="Sales")
    owner = make_user(department=sales)

    body = _subscribe(api_as(owner)).json()

    assert body["department_id"] == str(sales.pk)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/"}, "url"),
        ({"url": "https://hooks.example.com:99999/"}, "url"),
        ({"url": "http://127.0.0.1:8080/hook"}, "url"),
        ({"url": "http://10.0.0.1/hook"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "http://[::1]/hook"}, "url"),
        ({"url": "http://[::ffff:127.0.0.1]/hook"}, "url"),
        ({"url": "http://localhost/hook"}, "url"),
        ({"url": "http://printer.local/hook"}, "url"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["contact.updated"]}, "event_types"),
        ({"event_types": ["accord.unicorn.created"]}, "event_types"),
        ({"event_types": ["accord.contact.exploded"]}, "event_types"),
        ({"event_types": ["accord.*"]}, "event_types"),
        ({"fields": ["no_such_field"]}, "fields"),
        ({"fields": ["custom_fields.nope"]}, "fields"),
        ({"fields": ["Title; DROP"]}, "fields"),
        ({"department_id": "0190f1a0-0000-7000-8000-000000000000"}, "department_id"),
        ({"colour": "red"}, "colour"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_saves_nothing(admin_api, data, field):
    before = _state()

    response = _subscribe(admin_api, **data)

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == PROBLEM
    assert field in error_fields(response)
    assert _state() == before


def test_every_bad_field_is_reported_at_once(admin_api):
    response = admin_api.post(
        "/api/v1/webhooks",
        {"url": "http://10.0.0.1/", "event_types": ["accord.unicorn.created"]},
    )

    assert response.status_code == 422
    assert set(error_fields(response)) == {"url", "event_types"}


def test_private_targets_are_accepted_when_the_administrator_allows_them(admin_api, monkeypatch):
    monkeypatch.setenv("ACCORD_WEBHOOK_ALLOW_PRIVATE", "10.0.0.0/8")

    allowed = _subscribe(admin_api, url="http://10.0.0.1/hook")
    still_refused = _subscribe(admin_api, url="http://127.0.0.1/hook")

    assert allowed.status_code == 201
    assert still_refused.status_code == 422


def test_other_people_cannot_see_or_change_a_subscription(make_user, api_as):
    owner, other = make_user(), make_user()
    created = _subscribe(api_as(owner)).json()
    path = f"/api/v1/webhooks/{created['id']}"
    intruder = api_as(other)

    assert intruder.get(path).status_code == 404
    assert intruder.patch(path, {"description": "mine"}, if_match='"1"').status_code == 404
    assert intruder.delete(path, if_match='"1"').status_code == 404
    assert intruder.post(f"{path}/rotate-secret", {}).status_code == 404
    assert intruder.get(f"{path}/deliveries").status_code == 404
    assert intruder.get("/api/v1/webhooks").json()["items"] == []
    assert WebhookSubscription.objects.get(pk=created["id"]).description == ""


def test_access_managers_see_and_manage_everyones_subscriptions(make_user, api_as):
    owner = make_user()
    manager = with_role(make_user(), make_role(name="Admins", manages_access=True))
    created = _subscribe(api_as(owner)).json()
    client = api_as(manager)

    listed = client.get("/api/v1/webhooks").json()["items"]
    changed = client.patch(
        f"/api/v1/webhooks/{created['id']}", {"description": "audited"}, if_match='"1"'
    )

    assert [item["id"] for item in listed] == [created["id"]]
    assert changed.status_code == 200
    assert changed.json()["description"] == "audited"


def test_only_access_managers_give_a_subscription_to_someone_else(make_user, api_as):
    owner, colleague = make_user(), make_user()
    manager = with_role(make_user(), make_role(name="Admins", manages_access=True))

    refused = _subscribe(api_as(owner), owner_id=str(colleague.pk))
    given = _subscribe(api_as(manager), owner_id=str(colleague.pk))

    assert refused.status_code == 403
    assert "owner_id" in error_fields(refused)
    assert given.status_code == 201
    assert given.json()["owner_id"] == str(colleague.pk)
    assert WebhookSubscription.objects.count() == 1


def test_the_owner_must_be_allowed_to_export_the_types(make_user, api_as):
    role = make_role(
        name="No export", permissions={"contact": {**ALL, "export": False}, "account": ALL}
    )
    owner = with_role(make_user(), role)

    refused = _subscribe(api_as(owner))
    accepted = _subscribe(api_as(owner), event_types=["accord.account.created"])

    assert refused.status_code == 403
    assert "event_types" in error_fields(refused)
    assert accepted.status_code == 201


def test_changes_need_the_current_etag(admin_api):
    created = _subscribe(admin_api).json()
    path = f"/api/v1/webhooks/{created['id']}"

    missing = admin_api.patch(path, {"description": "x"})
    changed = admin_api.patch(
        path, {"event_types": ["accord.account.*"], "fields": ["name"]}, if_match='"1"'
    )
    stale = admin_api.patch(path, {"description": "y"}, if_match='"1"')

    assert missing.status_code == 428
    assert changed.status_code == 200, changed.content
    assert changed["ETag"] == '"2"'
    assert (changed.json()["event_types"], changed.json()["fields"]) == (
        ["accord.account.*"],
        ["name"],
    )
    assert stale.status_code == 412
    assert WebhookSubscription.objects.get(pk=created["id"]).description == ""


def test_a_patch_with_bad_input_changes_nothing(admin_api):
    created = _subscribe(admin_api).json()
    path = f"/api/v1/webhooks/{created['id']}"
    before = _state()

    response = admin_api.patch(
        path, {"description": "new", "event_types": ["accord.nothing.created"]}, if_match='"1"'
    )

    assert response.status_code == 422
    assert error_fields(response) == ["event_types"]
    assert _state() == before


def test_enabling_again_clears_what_disabled_it(admin_api):
    created = _subscribe(admin_api).json()
    path = f"/api/v1/webhooks/{created['id']}"
    subscription = WebhookSubscription.objects.get(pk=created["id"])
    subscription.enabled, subscription.disabled_reason = False, "every delivery failed"
    subscription.save()
    Destination.objects.filter(pk=subscription.destination_id).update(
        active=False, failing_since=clock.now(), last_error="the endpoint answered 500"
    )

    response = admin_api.patch(path, {"enabled": True}, if_match='"1"')

    assert response.status_code == 200
    body = response.json()
    assert (body["enabled"], body["disabled_reason"], body["failing_since"]) == (True, "", None)
    assert Destination.objects.get(pk=subscription.destination_id).active


def test_pausing_stops_holding_back_event_retention(admin_api):
    created = _subscribe(admin_api).json()

    response = admin_api.patch(
        f"/api/v1/webhooks/{created['id']}", {"enabled": False}, if_match='"1"'
    )

    assert response.status_code == 200
    assert response.json()["disabled_at"] is not None
    subscription = WebhookSubscription.objects.get(pk=created["id"])
    assert not Destination.objects.get(pk=subscription.destination_id).active


def test_delete_removes_the_subscription_its_position_and_its_log(admin, admin_api):
    created = _subscribe(admin_api).json()
    subscription = WebhookSubscription.objects.get(pk=created["id"])
    WebhookDelivery.objects.create(
        subscription=subscription, event_id=created["id"], event_type="accord.contact.created",
        sequence=1, body="{}",
    )  # fmt: skip

    response = admin_api.delete(f"/api/v1/webhooks/{created['id']}", if_match='"1"')

    assert response.status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert not Destination.objects.filter(kind="webhook").exists()
    assert not WebhookDelivery.objects.exists()


def test_rotating_the_secret_keeps_the_old_one_for_the_overlap(admin_api):
    created = _subscribe(admin_api).json()
    path = f"/api/v1/webhooks/{created['id']}/rotate-secret"

    rotated = admin_api.post(path, {"overlap_hours": 6})
    immediate = admin_api.post(path, {"overlap_hours": 0})
    too_long = admin_api.post(path, {"overlap_hours": 10_000})

    assert rotated.status_code == 200, rotated.content
    first = rotated.json()
    assert first["secret"].startswith("whsec_")
    assert first["secret"] != created["secret"]
    assert first["previous_secret_expires_at"] is not None
    assert immediate.json()["previous_secret_expires_at"] is None
    assert too_long.status_code == 422
    stored = WebhookSubscription.objects.get(pk=created["id"])
    assert (stored.secret, stored.previous_secret) == (immediate.json()["secret"], "")


def test_rotation_overlap_defaults_to_the_setting(admin_api, monkeypatch):
    monkeypatch.setenv("ACCORD_WEBHOOK_SECRET_OVERLAP_HOURS", "48")
    created = _subscribe(admin_api).json()

    with clock.frozen(dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)):
        rotated = admin_api.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", {}).json()

    assert rotated["previous_secret_expires_at"].startswith("2026-05-03T09:00")
    stored = WebhookSubscription.objects.get(pk=created["id"])
    assert stored.previous_secret == created["secret"]


def _delivery(subscription_id: str, **values: Any) -> WebhookDelivery:
    base = {
        "event_id": "0190f1a0-0000-7000-8000-00000000000a",
        "event_type": "accord.contact.updated",
        "sequence": 7,
        "status": DeliveryStatus.FAILED,
        "body": '{"id": "0190f1a0-0000-7000-8000-00000000000a"}',
        "attempts": 3,
        "response_status": 500,
        "latency_ms": 12.5,
        "response_excerpt": "boom",
        "error": "the endpoint answered 500",
    }
    return WebhookDelivery.objects.create(subscription_id=subscription_id, **{**base, **values})


def test_the_delivery_log_lists_newest_first_and_filters_by_status(admin_api):
    created = _subscribe(admin_api).json()
    older = _delivery(created["id"])
    newer = _delivery(created["id"], status=DeliveryStatus.DELIVERED, response_status=200)
    path = f"/api/v1/webhooks/{created['id']}/deliveries"

    everything = admin_api.get(path).json()["items"]
    failed = admin_api.get(path, {"status": "failed"}).json()["items"]
    bad = admin_api.get(path, {"status": "lost"})
    detail = admin_api.get(f"{path}/{older.pk}").json()

    assert [d["id"] for d in everything] == [str(newer.pk), str(older.pk)]
    assert [d["id"] for d in failed] == [str(older.pk)]
    assert (everything[1]["latency_ms"], everything[1]["response_excerpt"]) == (12.5, "boom")
    assert bad.status_code == 422
    assert detail["payload"] == {"id": "0190f1a0-0000-7000-8000-00000000000a"}


def test_redeliver_queues_the_same_payload_and_event_id_again(admin_api):
    created = _subscribe(admin_api).json()
    original = _delivery(created["id"])
    skipped = _delivery(created["id"], status=DeliveryStatus.SKIPPED, body="")
    path = f"/api/v1/webhooks/{created['id']}/deliveries"

    response = admin_api.post(f"{path}/{original.pk}/redeliver")
    refused = admin_api.post(f"{path}/{skipped.pk}/redeliver")
    unknown = admin_api.post(f"{path}/0190f1a0-0000-7000-8000-000000000000/redeliver")

    assert response.status_code == 202, response.content
    again = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert (str(again.event_id), again.body, again.trigger) == (
        str(original.event_id),
        original.body,
        "redelivery",
    )
    assert (again.status, again.attempts) == ("pending", 0)
    assert again.next_attempt_at is not None
    assert refused.status_code == 409
    assert unknown.status_code == 404


def test_replay_queues_a_range_and_reports_its_progress(admin, admin_api):
    created = _subscribe(admin_api).json()
    parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
    _number()
    now = clock.now()
    path = f"/api/v1/webhooks/{created['id']}"

    response = admin_api.post(
        f"{path}/replay",
        {"from": (now - dt.timedelta(hours=1)).isoformat(), "to": now.isoformat()},
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) >= {"id", "from", "to", "finished", "queued"}
    replay = WebhookReplay.objects.get(pk=body["id"])
    assert replay.through == OutboxEvent.objects.get().sequence
    progress = admin_api.get(response["Location"].removeprefix("http://testserver"))
    assert progress.status_code == 200
    assert progress.json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"}, "to"),
        ({"from": "yesterday", "to": "2026-05-01T00:00:00Z"}, "from"),
        ({"to": "2026-05-01T00:00:00Z"}, "from"),
        ({"from": "2026-05-01T00:00:00Z", "to": "2026-05-02T00:00:00Z", "x": 1}, "x"),
    ],
)
def test_a_bad_replay_range_is_refused(admin_api, data, field):
    created = _subscribe(admin_api).json()

    response = admin_api.post(f"/api/v1/webhooks/{created['id']}/replay", data)

    assert response.status_code == 422, response.content
    assert any(field in f for f in error_fields(response))
    assert not WebhookReplay.objects.exists()


def test_replay_from_before_the_retention_horizon_is_refused(admin, admin_api):
    created = _subscribe(admin_api).json()
    parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
    _number()
    sequencer.state()
    from accord.integration.models import Sequencer

    Sequencer.objects.update(purged_through=1)
    kept_since = OutboxEvent.objects.get().created_at

    response = admin_api.post(
        f"/api/v1/webhooks/{created['id']}/replay",
        {"from": (kept_since - dt.timedelta(days=5)).isoformat(), "to": clock.now().isoformat()},
    )

    assert response.status_code == 422
    assert error_fields(response) == ["from"]


def test_tokens_need_the_webhooks_scope(admin, api_as):
    reader = api_as(admin, scopes=["webhooks:read"])
    events_only = api_as(admin, scopes=["events:read"])

    assert reader.get("/api/v1/webhooks").status_code == 200
    assert _subscribe(reader).status_code == 403
    assert events_only.get("/api/v1/webhooks").status_code == 403

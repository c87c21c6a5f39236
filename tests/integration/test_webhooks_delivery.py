"""Webhook delivery: events reach a receiver signed after Standard Webhooks (verified with the
``standardwebhooks`` library), as the owner may see them; failures are retried with backoff and
an endpoint that fails for the whole retry period is disabled and its owner told; the SSRF
guard refuses internal targets (also behind a redirect, which is never followed).

The engine runs in the test's thread (``Engine.drain``); only the receiver has threads of its
own, so these tests need no ``transactional_db``. Receivers listen on 127.0.0.1, which the
tests allow explicitly (``ACCORD_WEBHOOK_ALLOW_PRIVATE``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connections
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from tests.identity.access_factories import ALL, make_role, with_role
from tests.integration.receiver import Received, Receiver, Reply, receiver

from accord.core import clock
from accord.core.models import OutboxEvent
from accord.identity import visibility
from accord.identity.models import Access, ObjectPermission, SharingDefault
from accord.integration import sequencer
from accord.integration.models import (
    DeliveryStatus,
    Destination,
    WebhookDelivery,
    WebhookSubscription,
)
from accord.integration.webhooks import config, guard, services
from accord.integration.webhooks.config import Allowed, WebhookSettings
from accord.integration.webhooks.dispatch import Job
from accord.integration.webhooks.engine import Engine, backoff
from accord.integration.webhooks.lanes import Lanes
from accord.parties import services as parties

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

LOOPBACK = Allowed(networks=(ipaddress.ip_network("127.0.0.1/32"),))


def settings(**overrides: Any) -> WebhookSettings:
    base: dict[str, Any] = {
        "threads": 2,
        "per_endpoint": 4,
        "batch": 100,
        "connect_timeout": 1.0,
        "read_timeout": 0.5,
        "claim_seconds": 60.0,
        "allowed": LOOPBACK,
    }
    return WebhookSettings(**{**base, **overrides})


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCORD_WEBHOOK_ALLOW_PRIVATE", "127.0.0.1/32")


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


def subscribe(owner: Any, url: str, *, types: list[str] | None = None, **data: Any):
    subscription, secret = services.create(
        actor=owner, data={"url": url, "event_types": types or ["accord.contact.*"], **data}
    )
    return subscription, secret


def number() -> None:
    assert sequencer.hold("test", seconds=3600)
    while sequencer.number("test", batch=1000):
        pass


def deliver(engine: Engine | None = None) -> Engine:
    number()
    engine = engine or Engine(settings())
    engine.drain()
    return engine


def events_of(hook: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in hook.received()]


def verify(secret: str, request: Received) -> dict[str, Any]:
    return Webhook(secret).verify(request.body, request.headers)


# -- delivering --------------------------------------------------------------------------------


def test_events_arrive_signed_with_their_id_and_sequence(admin, hook, allow_loopback):
    _, secret = subscribe(admin, hook.url)
    contact = parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
    parties.contacts.update(
        actor=admin, record_id=contact.pk, data={"title": "CTO"}, expected_version=None
    )

    deliver()

    requests = hook.received()
    events = [verify(secret, r) for r in requests]
    stored = list(OutboxEvent.objects.order_by("sequence"))
    assert [e["id"] for e in events] == [str(e.event_id) for e in stored]
    assert [r.headers["webhook-id"] for r in requests] == [str(e.event_id) for e in stored]
    assert [e["sequence"] for e in events] == [e.sequence for e in stored]
    assert events[1]["type"] == "accord.contact.updated"
    assert events[1]["data"]["changed"]["title"] == ["", "CTO"]
    assert all(r.headers["content-type"] == "application/json" for r in requests)
    log = list(WebhookDelivery.objects.order_by("sequence"))
    assert [d.status for d in log] == [DeliveryStatus.DELIVERED] * 2
    assert all(d.response_status == 200 and d.response_excerpt == "ok" for d in log)
    assert all(d.latency_ms is not None and d.attempts == 1 for d in log)


def test_a_tampered_body_fails_verification(admin, hook, allow_loopback):
    _, secret = subscribe(admin, hook.url)
    parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})

    deliver()

    [request] = hook.received()
    forged = Received(request.path, request.headers, request.body.replace(b"Lovelace", b"Mallory"))
    with pytest.raises(WebhookVerificationError):
        verify(secret, forged)


def test_only_the_subscribed_types_are_delivered(admin, hook, allow_loopback, make_account):
    subscribe(admin, hook.url, types=["accord.account.created"])
    account = make_account(name="Acme")
    parties.accounts.update(
        actor=admin, record_id=account.pk, data={"name": "Acme Ltd"}, expected_version=None
    )
    parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})

    deliver()

    assert [e["type"] for e in events_of(hook)] == ["accord.account.created"]


def test_the_field_filter_passes_only_updates_that_change_those_fields(admin, hook, allow_loopback):
    subscribe(admin, hook.url, fields=["title"])
    contact = parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
    parties.contacts.update(
        actor=admin, record_id=contact.pk, data={"first_name": "Ada"}, expected_version=None
    )
    parties.contacts.update(
        actor=admin, record_id=contact.pk, data={"title": "CTO"}, expected_version=None
    )

    deliver()

    received = events_of(hook)
    assert [e["type"] for e in received] == ["accord.contact.created", "accord.contact.updated"]
    assert received[1]["data"]["changed"] == {"title": ["", "CTO"]}
    assert WebhookDelivery.objects.count() == 2


def test_events_the_owner_may_not_see_are_skipped_not_sent(make_user, hook, allow_loopback):
    SharingDefault.objects.update_or_create(
        object_type="contact", defaults={"access": Access.PRIVATE}
    )
    owner, other = make_user(), make_user()
    subscribe(owner, hook.url)
    parties.contacts.create(actor=other, data={"last_name": "Hidden"})
    mine = parties.contacts.create(actor=owner, data={"last_name": "Mine"})

    deliver()

    assert [e["subject"] for e in events_of(hook)] == [f"contact/{mine.pk}"]
    skipped = WebhookDelivery.objects.get(status=DeliveryStatus.SKIPPED)
    assert (skipped.body, skipped.attempts) == ("", 0)
    assert "may not see" in skipped.error


def test_hidden_fields_leave_the_payload(make_user, admin, hook, allow_loopback):
    role = make_role(name="Agent", permissions={"contact": ALL}, hidden=[("contact", "title")])
    agent = with_role(make_user(), role)
    subscribe(agent, hook.url, fields=["title", "first_name"])
    contact = parties.contacts.create(actor=admin, data={"last_name": "Lovelace", "title": "CTO"})
    parties.contacts.update(
        actor=admin, record_id=contact.pk, data={"title": "CEO"}, expected_version=None
    )
    parties.contacts.update(
        actor=admin,
        record_id=contact.pk,
        data={"title": "Chair", "first_name": "Ada"},
        expected_version=None,
    )

    deliver()

    created, updated = events_of(hook)
    assert "title" not in created["data"]["record"]
    assert "title" not in created["data"]["changed"]
    # The update that changed only the hidden field triggered nothing.
    assert updated["data"]["changed"] == {"first_name": ["", "Ada"]}
    assert "title" not in updated["data"]["record"]


def test_events_of_types_the_owner_may_no_longer_export_are_skipped(
    make_user, hook, allow_loopback
):
    role = make_role(name="Exporter", permissions={"contact": ALL})
    owner = with_role(make_user(), role)
    subscribe(owner, hook.url)
    ObjectPermission.objects.filter(role=role).update(can_export=False)
    visibility.access_model_changed()  # as every write to the access model does
    parties.contacts.create(actor=owner, data={"last_name": "Lovelace"})

    deliver()

    assert hook.received() == []
    assert "may not export" in WebhookDelivery.objects.get().error


# -- failing and retrying ----------------------------------------------------------------------


def failing_for(count: int):
    calls = {"n": 0}
    lock = threading.Lock()

    def answer(request: Received) -> Reply:
        with lock:
            calls["n"] += 1
            if calls["n"] <= count:
                return Reply(status=500, body=b"database down")
        return Reply()

    return answer


def test_a_failed_delivery_is_retried_after_a_backoff(admin, allow_loopback):
    start = clock.now()
    with receiver(failing_for(1)) as hook, clock.frozen(start):
        subscribe(admin, hook.url)
        parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
        engine = deliver(Engine(settings(retry_first=30.0)))
        pending = WebhookDelivery.objects.get()

        clock.advance(dt.timedelta(seconds=5))
        engine.drain()
        still_waiting = len(hook.received())
        clock.advance(dt.timedelta(seconds=60))
        engine.drain()

    assert (pending.status, pending.attempts, pending.response_status) == ("pending", 1, 500)
    assert pending.response_excerpt == "database down"
    assert start + dt.timedelta(seconds=22) <= pending.next_attempt_at
    assert pending.next_attempt_at <= start + dt.timedelta(seconds=38)
    assert still_waiting == 1
    done = WebhookDelivery.objects.get()
    assert (done.status, done.attempts) == ("delivered", 2)
    assert [a["status"] for a in done.attempt_log] == [500, 200]
    assert len({r.headers["webhook-id"] for r in hook.received()}) == 1
    assert Destination.objects.get(kind="webhook").failing_since is None


def test_backoff_doubles_up_to_the_cap_with_jitter():
    rules = settings(retry_first=10.0, retry_max=100.0)

    waits = [backoff(rules, n).total_seconds() for n in (1, 2, 3, 4, 10)]

    assert 7.5 <= waits[0] <= 12.5
    assert 15 <= waits[1] <= 25
    assert 30 <= waits[2] <= 50
    assert 60 <= waits[3] <= 100
    assert 75 <= waits[4] <= 125


def test_the_default_schedule_spans_about_three_days():
    rules = config.webhooks()
    total, attempts = dt.timedelta(0), 0
    while total < rules.retry_for:
        attempts += 1
        total += dt.timedelta(seconds=min(rules.retry_first * 2 ** (attempts - 1), rules.retry_max))

    assert rules.retry_for == dt.timedelta(hours=72)
    assert 15 <= attempts <= 40


def test_new_events_to_a_failing_endpoint_wait_for_the_retries(admin, allow_loopback):
    with receiver(lambda r: Reply(status=503)) as hook:
        subscribe(admin, hook.url)
        parties.contacts.create(actor=admin, data={"last_name": "First"})
        engine = deliver()
        parties.contacts.create(actor=admin, data={"last_name": "Second"})
        deliver(engine)

    assert len(hook.received()) == 1
    second = WebhookDelivery.objects.order_by("sequence").last()
    assert (second.status, second.attempts) == ("pending", 0)
    assert second.next_attempt_at > second.created_at


def test_an_endpoint_failing_for_the_whole_retry_period_is_disabled_and_its_owner_told(
    make_user, allow_loopback, django_capture_on_commit_callbacks
):
    owner = make_user()
    owner.email = "owner@example.com"
    owner.save()
    rules = settings(retry_first=3600.0, retry_max=6 * 3600.0)
    start = clock.now()
    with receiver(lambda r: Reply(status=500)) as hook, clock.frozen(start):
        subscription, _ = subscribe(owner, hook.url)
        parties.contacts.create(actor=owner, data={"last_name": "Lovelace"})
        engine = deliver(Engine(rules))
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(40):
                clock.advance(dt.timedelta(hours=7))
                engine.drain()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == len(hook.received()) > 5
    # The drain runs every 7 hours, so an attempt due just inside the retry period runs up to
    # one step later; nothing is scheduled after the period ends.
    last_attempt = dt.datetime.fromisoformat(delivery.attempt_log[-1]["at"])
    assert last_attempt <= delivery.created_at + rules.retry_for + dt.timedelta(hours=7)
    subscription.refresh_from_db()
    assert not subscription.enabled
    assert "every delivery failed" in subscription.disabled_reason
    assert not Destination.objects.get(pk=subscription.destination_id).active
    [message] = mail.outbox
    assert message.to == ["owner@example.com"]
    assert subscription.url in message.body


def test_an_endpoint_that_succeeds_in_between_is_not_disabled(admin, allow_loopback):
    def answer(request: Received) -> Reply:
        poison = json.loads(request.body)["data"]["record"].get("last_name") == "Poison"
        return Reply(status=500 if poison else 200)

    rules = settings(retry_first=3600.0, retry_max=6 * 3600.0)
    with receiver(answer) as hook, clock.frozen(clock.now()):
        subscription, _ = subscribe(admin, hook.url)
        parties.contacts.create(actor=admin, data={"last_name": "Poison"})
        engine = deliver(Engine(rules))
        for n in range(20):
            clock.advance(dt.timedelta(hours=7))
            parties.contacts.create(actor=admin, data={"last_name": f"Good {n}"})
            deliver(engine)

    assert WebhookDelivery.objects.get(status=DeliveryStatus.FAILED).event_type.endswith("created")
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 20
    subscription.refresh_from_db()
    assert subscription.enabled
    assert mail.outbox == []


def test_a_deactivated_owners_subscription_is_disabled(make_user, hook, allow_loopback, admin):
    owner = make_user()
    subscription, _ = subscribe(owner, hook.url)
    owner.is_active = False
    owner.save()
    parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})

    deliver()

    subscription.refresh_from_db()
    assert not subscription.enabled
    assert "deactivated" in subscription.disabled_reason
    assert hook.received() == []


def test_a_slow_endpoint_times_out_and_is_retried(admin, allow_loopback):
    with receiver(lambda r: Reply(delay=1.5)) as hook:
        subscribe(admin, hook.url)
        parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
        deliver(Engine(settings(read_timeout=0.3)))

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_status) == ("pending", None)
    assert "timed out" in delivery.error
    assert len(hook.received()) == 1


def test_a_large_response_is_cut_at_the_cap(admin, allow_loopback):
    big = b"x" * (2 * 1024 * 1024)
    with receiver(lambda r: Reply(body=big)) as hook:
        subscribe(admin, hook.url)
        parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
        deliver(Engine(settings(max_response_bytes=16 * 1024)))

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.response_excerpt == "x" * 1000


# -- secrets -----------------------------------------------------------------------------------


def test_during_a_rotation_both_secrets_sign(admin, hook, allow_loopback):
    subscription, old = subscribe(admin, hook.url)
    _, new = services.rotate_secret(actor=admin, subscription_id=subscription.pk, overlap_hours=1)
    parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
    engine = deliver()
    services.rotate_secret(actor=admin, subscription_id=subscription.pk, overlap_hours=0)
    current = WebhookSubscription.objects.get(pk=subscription.pk).secret
    parties.contacts.create(actor=admin, data={"last_name": "Babbage"})
    deliver(engine)

    during, after = hook.received()
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verify(old, during) == verify(new, during)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verify(current, after)
    with pytest.raises(WebhookVerificationError):
        verify(new, after)


def test_the_previous_secret_stops_signing_when_its_overlap_ends(admin, hook, allow_loopback):
    with clock.frozen(clock.now()):
        subscription, old = subscribe(admin, hook.url)
        _, new = services.rotate_secret(
            actor=admin, subscription_id=subscription.pk, overlap_hours=1
        )
        clock.advance(dt.timedelta(minutes=61))
        parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
        deliver()

    # The attempt's timestamp is an hour ahead of the real clock, which the library's verify
    # refuses; its signing says what each secret would have signed.
    [request] = hook.received()
    at = dt.datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), dt.UTC)
    by = {
        name: Webhook(secret).sign(request.headers["webhook-id"], at, request.body.decode())
        for name, secret in (("old", old), ("new", new))
    }
    assert request.headers["webhook-signature"] == by["new"]


# -- redelivery and replay ---------------------------------------------------------------------


def test_a_redelivery_sends_the_same_event_again(admin, hook, allow_loopback):
    subscription, secret = subscribe(admin, hook.url)
    parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
    engine = deliver()
    first = WebhookDelivery.objects.get()

    services.redeliver(actor=admin, subscription_id=subscription.pk, delivery_id=first.pk)
    engine.drain()

    once, again = hook.received()
    assert verify(secret, once) == verify(secret, again)
    assert once.headers["webhook-id"] == again.headers["webhook-id"] == str(first.event_id)
    assert WebhookDelivery.objects.filter(trigger="redelivery", status="delivered").count() == 1


def test_a_replay_sends_the_events_of_the_range_again(admin, hook, allow_loopback):
    day = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
    subscription, _ = subscribe(admin, hook.url)
    with clock.frozen(day):
        parties.contacts.create(actor=admin, data={"last_name": "Before"})
    with clock.frozen(day + dt.timedelta(hours=2)):
        parties.contacts.create(actor=admin, data={"last_name": "Inside"})
    with clock.frozen(day + dt.timedelta(hours=4)):
        parties.contacts.create(actor=admin, data={"last_name": "After"})
    engine = deliver()
    assert len(hook.received()) == 3

    replay = services.replay(
        actor=admin,
        subscription_id=subscription.pk,
        start=day + dt.timedelta(hours=1),
        end=day + dt.timedelta(hours=3),
    )
    engine.drain()

    names = [e["data"]["record"]["last_name"] for e in events_of(hook)]
    assert names == ["Before", "Inside", "After", "Inside"]
    replay.refresh_from_db()
    assert (replay.queued, replay.finished_at is not None) == (1, True)
    assert WebhookDelivery.objects.filter(trigger="replay").count() == 1


# -- the SSRF guard ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest/"],
)
def test_internal_targets_are_refused_when_connecting(admin, hook, monkeypatch, url):
    # Allowed when it was saved (say the setting changed since): the guard checks every time.
    monkeypatch.setenv("ACCORD_WEBHOOK_ALLOW_PRIVATE", "true")
    port = hook.url.split(":")[2].split("/")[0]
    subscribe(admin, url.format(port=port))
    parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})

    deliver(Engine(settings(allowed=Allowed(), connect_timeout=0.5)))

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.error.startswith("refused to connect")
    assert hook.received() == []


def test_a_host_name_is_checked_by_the_addresses_it_resolves_to(admin, hook, monkeypatch):
    monkeypatch.setenv("ACCORD_WEBHOOK_ALLOW_PRIVATE", "true")
    subscribe(admin, hook.url.replace("127.0.0.1", "localhost"))
    parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})

    deliver(Engine(settings(allowed=Allowed())))

    assert "loopback" in WebhookDelivery.objects.get().error
    assert hook.received() == []


def test_redirects_are_never_followed(admin, allow_loopback):
    with receiver() as inside:
        moved = Reply(status=307, headers={"Location": inside.url})
        with receiver(lambda r: moved) as outside:
            subscribe(admin, outside.url)
            parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
            deliver()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_status) == ("pending", 307)
    assert "redirects are not followed" in delivery.error
    assert len(outside.received()) == 1
    assert inside.received() == []


def test_a_redirect_to_the_metadata_endpoint_is_not_followed(admin, allow_loopback):
    moved = Reply(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with receiver(lambda r: moved) as hook:
        subscribe(admin, hook.url)
        parties.contacts.create(actor=admin, data={"last_name": "Lovelace"})
        deliver()

    delivery = WebhookDelivery.objects.get()
    assert "169.254.169.254" in delivery.error
    assert delivery.status == DeliveryStatus.PENDING


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),  # noqa: S104 - an address under test, not a binding
        ("224.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:10.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
    ],
)
def test_the_guard_refuses_every_non_public_address(address, refused):
    assert (guard.forbidden(ipaddress.ip_address(address), Allowed()) is not None) is refused


def test_the_allow_list_opens_only_the_networks_it_names(monkeypatch):
    monkeypatch.setenv("ACCORD_WEBHOOK_ALLOW_PRIVATE", "10.20.0.0/16, 192.168.1.7")
    allowed = config.allowed()

    assert guard.forbidden(ipaddress.ip_address("10.20.3.4"), allowed) is None
    assert guard.forbidden(ipaddress.ip_address("192.168.1.7"), allowed) is None
    assert guard.forbidden(ipaddress.ip_address("10.21.0.1"), allowed) is not None
    assert guard.forbidden(ipaddress.ip_address("127.0.0.1"), allowed) is not None


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ACCORD_WEBHOOK_THREADS", "4")
    monkeypatch.setenv("ACCORD_WEBHOOK_RETRY_FIRST_MS", "250")
    monkeypatch.setenv("ACCORD_WEBHOOK_RETRY_HOURS", "24")
    monkeypatch.setenv("ACCORD_WEBHOOK_ALLOW_PRIVATE", "true")

    found = config.webhooks()

    assert (found.threads, found.retry_first) == (4, 0.25)
    assert found.retry_for == dt.timedelta(hours=24)
    assert found.allowed.everything


@pytest.mark.parametrize(
    ("name", "value"),
    [("ACCORD_WEBHOOK_ALLOW_PRIVATE", "10.0.0.0/33"), ("ACCORD_WEBHOOK_THREADS", "0")],
)
def test_malformed_settings_are_refused(monkeypatch, name, value):
    from accord.config import ConfigError

    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError, match=name):
        config.check()


# -- the lanes ---------------------------------------------------------------------------------


def _job(subscription: Any, n: int) -> Job:
    return Job(
        delivery_id=n, subscription_id=subscription, event_id=str(n), body="{}",
        created_at=clock.now(), claimed_until=clock.now(),
    )  # fmt: skip


def test_lanes_take_turns_and_cap_what_is_in_flight_per_endpoint():
    lanes = Lanes(per_endpoint=2, cap=10)
    lanes.put([_job("slow", n) for n in range(5)] + [_job("fast", n) for n in range(5, 7)])

    taken = [lanes.take(timeout=0) for _ in range(5)]

    assert [j.subscription_id if j else None for j in taken] == [
        "slow", "fast", "slow", "fast", None,
    ]  # fmt: skip
    lanes.done("slow")
    assert lanes.take(timeout=0).subscription_id == "slow"
    assert lanes.room("slow") == 10 - 2 - 2  # two waiting, two in flight


# -- the workers as they run -------------------------------------------------------------------


def test_the_running_workers_deliver_and_stop_cleanly(transactional_db, admin, allow_loopback):
    """Sender threads, recorder and dispatcher together (``Engine.run``, as in ``accord relay``),
    on connections of their own."""
    with receiver(failing_for(3)) as hook:
        subscribe(admin, hook.url)
        for n in range(20):
            parties.contacts.create(actor=admin, data={"last_name": f"Person {n}"})
        number()
        engine = Engine(settings(retry_first=0.05, retry_max=0.2))
        stop = threading.Event()
        worker = threading.Thread(target=lambda: (engine.run(stop), connections.close_all()))
        worker.start()
        try:
            deadline = time.monotonic() + 30
            delivered = WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED)
            while delivered.count() < 20 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            worker.join(30)

    assert not worker.is_alive()
    assert delivered.count() == 20
    assert {json.loads(r.body)["id"] for r in hook.received()} == {
        str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)
    }
    assert not WebhookDelivery.objects.filter(claimed_until__isnull=False).exists()

"""Lead conversion: one transaction turns a qualified lead into an account, a contact and maybe a
deal, carries every captured value across unchanged, moves activities and history, and leaves
the lead converted and read-only; a refused conversion writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.activities.models import Note
from accord.core import clock
from accord.core.errors import Conflict, InvalidInput, PermissionDenied, PreconditionFailed
from accord.core.models import HistoryEntry, OutboxEvent
from accord.parties.models import Account, Contact, CustomField
from accord.sales.models import Deal, Lead
from accord.sales.services import convert_lead, leads
from tests.sales.conftest import events_since, last_event_id

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def qualified(make_lead, **data):
    values = {
        "email": "ada@analytical.example",
        "phone": "+442079460018",
        "title": "Countess",
        "website": "https://analytical.example",
        "status": "qualified",
    }
    return make_lead(**{**values, **data})


def test_conversion_creates_account_contact_and_deal_and_links_them(admin, board, make_lead):
    lead = qualified(make_lead, score=80)
    before = last_event_id()
    with clock.frozen(T0):
        result = convert_lead(
            actor=admin,
            lead_id=lead.pk,
            expected_version=1,
            create_deal=True,
            deal_name="Engines",
            deal_amount="1500.00",
            deal_currency="GBP",
            source="api",
        )
    account, contact, deal = result.account, result.contact, result.deal
    assert (account.name, account.domain) == ("Analytical Ltd", "analytical.example")
    assert (contact.first_name, contact.last_name, contact.title) == ("Ada", "Lovelace", "Countess")
    assert [e.email for e in contact.email_rows.all()] == ["ada@analytical.example"]
    assert [p.number for p in contact.phone_rows.all()] == ["+442079460018"]
    assert contact.account == account
    assert deal is not None
    assert (deal.name, deal.amount, deal.currency) == ("Engines", Decimal("1500.00"), "GBP")
    assert (deal.account, list(deal.contacts.all()), deal.stage) == (account, [contact], board.open)
    assert {r.owner_id for r in (account, contact, deal)} == {lead.owner_id}

    lead = Lead.objects.get(pk=lead.pk)
    assert lead.status == Lead.Status.CONVERTED
    assert (lead.converted_account, lead.converted_contact, lead.converted_deal) == (
        account,
        contact,
        deal,
    )
    assert lead.converted_at == T0
    assert lead.version == 2
    types = [(e.type, e.object_id) for e in events_since(before)]
    assert types == [
        ("accord.account.created", account.pk),
        ("accord.contact.created", contact.pk),
        ("accord.deal.created", deal.pk),
        ("accord.lead.converted", lead.pk),
    ]
    converted = events_since(before)[-1]
    assert converted.envelope["data"]["changed"]["status"] == ["qualified", "converted"]
    assert converted.envelope["data"]["changed"]["converted_contact_id"] == [None, str(contact.pk)]
    assert HistoryEntry.objects.filter(object_id=lead.pk, verb="converted").count() == 1


def test_conversion_links_an_existing_account_without_creating_one(admin, make_lead, account):
    lead = qualified(make_lead, company="")
    accounts_before = Account.objects.count()
    result = convert_lead(
        actor=admin, lead_id=lead.pk, expected_version=1, account_id=account.pk, source="api"
    )
    assert result.account == account
    assert result.contact.account == account
    assert result.deal is None
    assert Account.objects.count() == accounts_before


def test_lead_without_company_needs_an_account(admin, make_lead, sales_state):
    lead = qualified(make_lead, company="")
    snapshot = sales_state()
    with pytest.raises(InvalidInput) as caught:
        convert_lead(actor=admin, lead_id=lead.pk, expected_version=1, source="api")
    assert caught.value.errors[0].field == "account_id"
    assert sales_state() == snapshot


def test_captured_values_go_to_matching_custom_fields_and_all_stay_on_the_lead(
    admin, board, make_lead, make_custom_field
):
    make_custom_field("contact", "shoe_size", "number")
    make_custom_field("account", "segment", "choice", choices=["smb", "enterprise"])
    make_custom_field("deal", "budget", "text")
    make_custom_field("contact", "budget", "text")
    captured = {"shoe_size": 44, "segment": "smb", "budget": "50k", "heard_of_us": "fair"}
    lead = qualified(make_lead, captured=captured)

    result = convert_lead(
        actor=admin, lead_id=lead.pk, expected_version=1, create_deal=True, source="api"
    )

    assert result.contact.custom_fields == {"shoe_size": 44, "budget": "50k"}
    assert result.account.custom_fields == {"segment": "smb"}
    assert result.deal is not None
    assert result.deal.custom_fields == {"budget": "50k"}
    assert Lead.objects.get(pk=lead.pk).captured == captured
    assert result.carried == {
        "shoe_size": {"value": 44, "to": ["contact"]},
        "segment": {"value": "smb", "to": ["account"]},
        "budget": {"value": "50k", "to": ["contact", "deal"]},
        "heard_of_us": {"value": "fair", "to": []},
    }


def test_existing_account_only_receives_values_it_lacks(admin, make_lead, make_custom_field):
    from accord.parties.services import accounts

    make_custom_field("account", "segment", "text")
    make_custom_field("account", "region", "text")
    account = accounts.create(
        actor=admin, data={"name": "Existing", "custom_fields": {"segment": "enterprise"}}
    )
    lead = qualified(make_lead, captured={"segment": "smb", "region": "north"})
    result = convert_lead(
        actor=admin, lead_id=lead.pk, expected_version=1, account_id=account.pk, source="api"
    )
    assert Account.objects.get(pk=account.pk).custom_fields == {
        "segment": "enterprise",
        "region": "north",
    }
    assert result.carried["segment"]["to"] == []
    assert result.carried["region"]["to"] == ["account"]


# Keys that are custom fields (one per type, so every value fits) or not, with random values.
TEXT_KEYS = ("cf_text_a", "cf_text_b")
NUMBER_KEYS = ("cf_number",)
BOOL_KEYS = ("cf_bool",)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(min_value=-(2**53), max_value=2**53),
    st.text(max_size=40).filter(lambda s: "\x00" not in s),
)
captured_dicts = st.fixed_dictionaries(
    {},
    optional={
        **{
            k: st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s) for k in TEXT_KEYS
        },
        **{k: st.integers(min_value=-(10**9), max_value=10**9) for k in NUMBER_KEYS},
        **{k: st.booleans() for k in BOOL_KEYS},
    },
).flatmap(
    lambda known: st.dictionaries(
        st.text(min_size=1, max_size=50).filter(
            lambda s: "\x00" not in s and not s.startswith("cf_")
        ),
        scalar,
        max_size=8,
    ).map(lambda extra: {**extra, **known})
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(captured=captured_dicts)
def test_conversion_keeps_every_captured_value(
    admin, board, make_lead, make_custom_field, captured
):
    if not CustomField.objects.filter(key="cf_bool").exists():  # once for all examples
        for key in TEXT_KEYS:
            make_custom_field("contact", key, "text")
        make_custom_field("account", "cf_number", "number")
        make_custom_field("deal", "cf_bool", "bool")
        make_custom_field("contact", "cf_bool", "bool")
    lead = qualified(make_lead, captured=captured)
    assert lead.captured == captured

    result = convert_lead(
        actor=admin, lead_id=lead.pk, expected_version=1, create_deal=True, source="api"
    )

    stored = Lead.objects.get(pk=lead.pk).captured
    assert stored == captured
    assert set(result.carried) == set(captured), "every captured value is listed"
    records = {"account": result.account, "contact": result.contact, "deal": result.deal}
    for key, value in captured.items():
        assert result.carried[key]["value"] == value
        for object_type in result.carried[key]["to"]:
            fresh = type(records[object_type]).objects.get(pk=records[object_type].pk)
            assert fresh.custom_fields[key] == value
    expected = {
        "contact": {k: v for k, v in captured.items() if k in (*TEXT_KEYS, *BOOL_KEYS)},
        "account": {k: v for k, v in captured.items() if k in NUMBER_KEYS},
        "deal": {k: v for k, v in captured.items() if k in BOOL_KEYS},
    }
    for object_type, values in expected.items():
        fresh = type(records[object_type]).objects.get(pk=records[object_type].pk)
        assert fresh.custom_fields == values


def test_captured_value_a_custom_field_rejects_stops_the_conversion(
    admin, make_lead, make_custom_field, sales_state
):
    make_custom_field("contact", "seats", "number")
    lead = qualified(make_lead, captured={"seats": "a dozen"})
    snapshot = sales_state()
    with pytest.raises(InvalidInput) as caught:
        convert_lead(actor=admin, lead_id=lead.pk, expected_version=1, source="api")
    assert caught.value.errors[0].field == "contact.custom_fields.seats"
    assert sales_state() == snapshot


def test_conversion_moves_activities_and_copies_history_to_the_contact(admin, make_lead):
    with clock.frozen(T0):
        lead = make_lead()
    note = Note.objects.create(owner=admin, related_type="lead", related_id=lead.pk, body="Met")
    leads.update(actor=admin, record_id=lead.pk, data={"status": "qualified"}, expected_version=1)

    result = convert_lead(actor=admin, lead_id=lead.pk, expected_version=2, source="api")

    note.refresh_from_db()
    assert (note.related_type, note.related_id) == ("contact", result.contact.pk)
    copied = list(
        HistoryEntry.objects.filter(object_type="contact", object_id=result.contact.pk)
        .exclude(verb="created")
        .order_by("at", "version")
    )
    originals = list(
        HistoryEntry.objects.filter(object_type="lead", object_id=lead.pk)
        .exclude(verb="converted")
        .order_by("at", "version")
    )
    assert [e.verb for e in copied] == ["lead_created", "lead_updated"]
    assert [(e.at, e.actor_id, e.source, e.changes, e.version) for e in copied] == [
        (e.at, e.actor_id, e.source, e.changes, e.version) for e in originals
    ]
    assert copied[0].at == T0
    assert copied[1].changes == {"status": ["new", "qualified"]}


@pytest.mark.parametrize("status", ["new", "working", "unqualified"])
def test_unqualified_lead_is_refused_and_nothing_is_written(admin, make_lead, sales_state, status):
    lead = qualified(make_lead, status=status)
    Note.objects.create(owner=admin, related_type="lead", related_id=lead.pk, body="Hi")
    snapshot = sales_state()
    with pytest.raises(Conflict) as caught:
        convert_lead(
            actor=admin, lead_id=lead.pk, expected_version=1, create_deal=True, source="api"
        )
    assert "qualified" in caught.value.detail
    assert sales_state() == snapshot
    assert Note.objects.get(related_id=lead.pk).related_type == "lead"


def test_converted_lead_cannot_be_converted_again(admin, make_lead, sales_state):
    lead = qualified(make_lead)
    convert_lead(actor=admin, lead_id=lead.pk, expected_version=1, source="api")
    snapshot = sales_state()
    with pytest.raises(Conflict) as caught:
        convert_lead(actor=admin, lead_id=lead.pk, expected_version=None, source="api")
    assert "already converted" in caught.value.detail
    assert sales_state() == snapshot


def test_failing_deal_rolls_back_account_and_contact(admin, board, make_lead, sales_state):
    lead = qualified(make_lead)
    snapshot = sales_state()
    with pytest.raises(InvalidInput) as caught:
        convert_lead(
            actor=admin,
            lead_id=lead.pk,
            expected_version=1,
            create_deal=True,
            deal_currency="XYZ",
            source="api",
        )
    assert [e.field for e in caught.value.errors] == ["deal_currency"]
    assert sales_state() == snapshot


def test_stale_version_and_deal_details_without_a_deal_are_refused(admin, make_lead):
    lead = qualified(make_lead)
    with pytest.raises(PreconditionFailed):
        convert_lead(actor=admin, lead_id=lead.pk, expected_version=7, source="api")
    with pytest.raises(InvalidInput) as caught:
        convert_lead(
            actor=admin, lead_id=lead.pk, expected_version=1, deal_amount="5", source="api"
        )
    assert [e.field for e in caught.value.errors] == ["deal_amount"]


def test_only_someone_who_may_edit_the_lead_converts_it(make_user, make_lead):
    owner, other = make_user(), make_user()
    lead = qualified(make_lead, actor=owner)
    with pytest.raises(PermissionDenied):
        convert_lead(actor=other, lead_id=lead.pk, expected_version=1, source="api")


# -- API -----------------------------------------------------------------------------------------


def test_api_convert_needs_if_match_and_answers_what_the_lead_became(
    admin_api, board, make_lead, make_custom_field
):
    make_custom_field("contact", "budget", "text")
    lead = qualified(make_lead, captured={"budget": "10k", "source_page": "/pricing"})
    url = f"/api/v1/leads/{lead.pk}/convert"
    assert admin_api.post(url, {"create_deal": True}).status_code == 428
    assert admin_api.post(url, {"create_deal": True}, if_match='"9"').status_code == 412
    response = admin_api.post(url, {"create_deal": True, "deal_amount": "900"}, if_match='"1"')
    assert response.status_code == 200, response.json()
    body = response.json()
    assert response.headers["ETag"] == '"2"'
    assert body["lead"]["status"] == "converted"
    assert body["lead"]["converted_contact_id"] == body["contact_id"]
    assert Contact.objects.get(pk=body["contact_id"]).custom_fields == {"budget": "10k"}
    assert Deal.objects.get(pk=body["deal_id"]).amount == Decimal("900.00")
    assert body["carried"] == {
        "budget": {"value": "10k", "to": ["contact"]},
        "source_page": {"value": "/pricing", "to": []},
    }
    again = admin_api.post(url, {}, if_match='"2"')
    assert again.status_code == 409
    assert again.headers["Content-Type"] == "application/problem+json"


def test_api_convert_refuses_unqualified_lead_and_bad_input(admin_api, make_lead, account):
    lead = make_lead()
    url = f"/api/v1/leads/{lead.pk}/convert"
    outbox = OutboxEvent.objects.count()
    refused = admin_api.post(url, {}, if_match='"1"')
    assert refused.status_code == 409
    assert "qualified" in refused.json()["detail"]
    assert OutboxEvent.objects.count() == outbox
    bad = admin_api.post(url, {"create_deal": "yes", "extra": 1}, if_match='"1"')
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"create_deal", "extra"}
    missing = admin_api.post(
        url, {"account_id": "0190a1a1-0000-7000-8000-000000000000"}, if_match="*"
    )
    assert missing.status_code == 409  # qualification is checked before the account
    assert (
        admin_api.post(f"/api/v1/leads/{account.pk}/convert", {}, if_match="*").status_code == 404
    )

"""Web-to-lead: configured forms, the public submission endpoint (field mapping, honeypot, rate
limit counted in the database), and the embeddable snippet for administrators."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from accord.core import clock, scheduler
from accord.core.errors import InvalidInput, PermissionDenied
from accord.core.models import HistoryEntry
from accord.sales.models import Lead, WebForm, WebFormSubmission
from accord.sales.webforms import purge_submissions, snippet, web_forms
from tests.sales.conftest import assert_one_write, last_event_id

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
URL = "/api/v1/web-forms/contact-us/submissions"
PERSON = {"given": "Grace", "family": "Hopper", "mail": "Grace@Navy.example", "org": "Navy"}


@pytest.fixture
def public() -> Client:
    """A browser on someone's web site: no token, no session."""
    return Client(REMOTE_ADDR="203.0.113.7")


def test_form_post_creates_a_lead_owned_by_the_form_owner(make_user, make_web_form, public):
    seller = make_user()
    make_web_form(lead_owner_id=seller.pk, source="event")
    before = last_event_id()
    response = public.post(URL, {**PERSON, "budget": "50k", "unmapped": "ignored"})
    assert response.status_code == 201, response.content
    assert response.json() == {"status": "received"}
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email, lead.company) == (
        "Grace",
        "Hopper",
        "grace@navy.example",
        "Navy",
    )
    assert lead.captured == {"budget": "50k"}
    assert (lead.owner, lead.created_by, lead.source, lead.status) == (
        seller,
        seller,
        "event",
        "new",
    )
    assert_one_write(before, lead, "created")
    assert HistoryEntry.objects.get(object_id=lead.pk).source == "api"


def test_json_submission_keeps_captured_values_as_sent(make_web_form, public):
    make_web_form()
    response = public.post(
        URL, {"family": "Hopper", "budget": 50000}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Lead.objects.get().captured == {"budget": 50000}
    assert Lead.objects.get().source == "web_form"


def test_browser_is_redirected_when_the_form_has_a_redirect_url(make_web_form, public):
    make_web_form(redirect_url="https://www.example.com/thanks")
    response = public.post(URL, PERSON)
    assert response.status_code == 303
    assert response["Location"] == "https://www.example.com/thanks"
    assert Lead.objects.count() == 1


def test_filled_honeypot_gets_the_same_answer_and_creates_nothing(make_web_form, public):
    make_web_form()
    person = public.post(URL, PERSON)
    bot = public.post(URL, {**PERSON, "website_url": "http://spam.example"})
    assert (bot.status_code, bot.json()) == (person.status_code, person.json())
    assert Lead.objects.count() == 1


def test_invalid_value_is_422_naming_the_form_field(make_web_form, public, sales_state):
    make_web_form()
    response = public.post(URL, {**PERSON, "mail": "not-an-address"})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["mail"]
    nameless = public.post(URL, {"org": "Navy"})
    assert nameless.status_code == 422
    assert Lead.objects.count() == 0


def test_unknown_or_inactive_form_is_404(make_web_form, public):
    assert public.post("/api/v1/web-forms/nope/submissions", PERSON).status_code == 404
    make_web_form(active=False)
    response = public.post(URL, PERSON)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_unsupported_body_is_refused(make_web_form, public):
    make_web_form()
    assert public.post(URL, "x", content_type="text/plain").status_code == 415
    broken = public.post(URL, "{", content_type="application/json")
    assert broken.status_code == 400
    assert public.post(URL, [1], content_type="application/json").status_code == 422


def test_rate_limit_answers_429_with_retry_after(make_web_form, public):
    make_web_form(rate_limit=3)
    with clock.frozen(T0):
        for _ in range(3):
            assert public.post(URL, PERSON).status_code == 201
        clock.advance(dt.timedelta(minutes=20))
        refused = public.post(URL, PERSON)
        assert refused.status_code == 429
        assert refused["Content-Type"] == "application/problem+json"
        assert refused["Retry-After"] == str(40 * 60)
        assert refused.json()["status"] == 429
        # Another address has its own allowance.
        assert Client(REMOTE_ADDR="198.51.100.1").post(URL, PERSON).status_code == 201
        clock.advance(dt.timedelta(minutes=40, seconds=1))
        assert public.post(URL, PERSON).status_code == 201
    assert Lead.objects.count() == 5


def test_rate_limit_counts_submissions_other_processes_stored(make_web_form, public):
    """The count lives in the database, so submissions another server process accepted (rows it
    wrote) use up the same allowance."""
    form = make_web_form(rate_limit=2)
    with clock.frozen(T0):
        WebFormSubmission.objects.bulk_create(
            WebFormSubmission(form=form, ip="203.0.113.7", at=T0 - dt.timedelta(minutes=m))
            for m in (5, 50)
        )
        response = public.post(URL, PERSON)
    assert response.status_code == 429
    assert response["Retry-After"] == str(10 * 60)
    assert Lead.objects.count() == 0


def test_honeypot_and_invalid_submissions_count_towards_the_limit(make_web_form, public):
    make_web_form(rate_limit=2)
    public.post(URL, {**PERSON, "website_url": "spam"})
    public.post(URL, {**PERSON, "mail": "bad"})
    assert public.post(URL, PERSON).status_code == 429


def test_purge_job_forgets_submissions_older_than_the_window(make_web_form, public):
    form = make_web_form()
    with clock.frozen(T0):
        WebFormSubmission.objects.bulk_create(
            WebFormSubmission(form=form, ip="203.0.113.7", at=T0 - dt.timedelta(minutes=m))
            for m in (10, 61, 600)
        )
        assert purge_submissions() == 2
    assert WebFormSubmission.objects.count() == 1
    job = scheduler.registered()["web-form-submission-purge"]
    assert (job.task_path, job.interval) == (
        "accord.sales.tasks.purge_web_form_submissions",
        dt.timedelta(hours=1),
    )


# -- configuration -------------------------------------------------------------------------------


def test_web_form_config_writes_one_event_and_only_superusers_may(admin, make_user):
    before = last_event_id()
    form = web_forms.create(
        actor=admin, data={"name": "Demo", "slug": "demo", "field_map": {"e": "email"}}
    )
    assert (form.lead_owner, form.honeypot, form.rate_limit) == (admin, "website_url", 20)
    assert_one_write(before, form, "created")
    with pytest.raises(PermissionDenied):
        web_forms.create(
            actor=make_user(), data={"name": "X", "slug": "x", "field_map": {"e": "email"}}
        )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"slug": "Not A Slug"}, "slug"),
        ({"field_map": {}}, "field_map"),
        ({"field_map": {"e": "status"}}, "field_map.e"),
        ({"field_map": {"e": "captured."}}, "field_map.e"),
        ({"field_map": {"a": "email", "b": "email"}}, "field_map.b"),
        ({"field_map": {"website_url": "website"}}, "field_map.website_url"),
        ({"field_map": {"bad name": "email"}}, "field_map"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"source": "converted"}, "source"),
        ({"lead_owner_id": "0190a1a1-0000-7000-8000-000000000000"}, "lead_owner_id"),
    ],
)
def test_invalid_web_form_names_the_field(admin, data, field):
    base = {"name": "F", "slug": "f", "field_map": {"e": "email"}}
    with pytest.raises(InvalidInput) as caught:
        web_forms.create(actor=admin, data={**base, **data})
    assert field in [e.field for e in caught.value.errors]


def test_slug_is_unique_among_live_forms(admin, make_web_form):
    form = make_web_form()
    with pytest.raises(InvalidInput):
        make_web_form()
    web_forms.delete(actor=admin, record_id=form.pk, expected_version=1)
    assert make_web_form().slug == "contact-us"


def test_snippet_is_for_superusers_only_and_posts_to_the_public_endpoint(
    admin_api, api_as, make_user, make_web_form
):
    form = make_web_form()
    url = f"/api/v1/web-forms/{form.pk}/snippet"
    assert api_as(make_user()).get(url).status_code == 403
    response = admin_api.get(url)
    assert response.status_code == 200
    html = response.json()["html"]
    assert html.startswith(
        '<form method="post" action="https://testserver/api/v1/web-forms/contact-us/submissions"'
    )
    for name in ("given", "family", "mail", "org", "budget"):
        assert f'name="{name}"' in html
    assert 'name="mail" type="email"' in html
    assert 'name="website_url" type="text" tabindex="-1"' in html
    assert 'aria-hidden="true"' in html


def test_snippet_escapes_what_it_embeds():
    """Names are validated on the way in; escaping still guards a row written around the
    service (Django admin, a migration)."""
    form = WebForm(slug="f", field_map={'x"><script>alert(1)</script>': "email"}, honeypot="hp")
    html = snippet(form, action="https://crm.example/submit?a=1&b=2")
    assert "<script>" not in html
    assert 'name="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'action="https://crm.example/submit?a=1&amp;b=2"' in html


def test_admin_change_page_shows_the_snippet_read_only(admin, make_web_form):
    form = make_web_form()
    browser = Client()
    browser.force_login(admin)
    page = browser.get(f"/admin/sales/webform/{form.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Embeddable HTML" in text
    assert "<textarea readonly" in text
    assert "&lt;form method=&quot;post&quot;" in text


def test_openapi_documents_the_public_submission_endpoint(admin_api):
    schema = admin_api.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/web-forms/{slug}/submissions"]["post"]
    assert "security" not in operation or operation["security"] == []
    assert set(operation["requestBody"]["content"]) == {
        "application/x-www-form-urlencoded",
        "application/json",
    }
    assert {"201", "404", "422", "429"} <= set(operation["responses"])
    assert "/api/v1/leads/{record_id}/convert" in schema["paths"]

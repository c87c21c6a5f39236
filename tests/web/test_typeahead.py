"""The global search box's type-ahead: suggestions grouped by type with links to the record
pages, through the same visibility and field security as the search page."""

from __future__ import annotations

import re

import pytest

from accord.identity.models import Access, FieldPermission, ObjectPermission, SharingDefault
from tests.web.fixtures import assert_page, make_role, signed_in

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def suggest(client, query):
    return assert_page(client.get("/search", {"q": query, "suggest": "1"}))


def option_labels(html):
    return re.findall(r'role="option"[^>]*>([^<]*)</div>', html)


def test_suggestions_are_grouped_by_type_and_link_to_record_pages(
    staff_client, make_account, make_contact
):
    account = make_account(name="Globex Corporation")
    contact = make_contact(first_name="Gloria", last_name="Globe")
    html = suggest(staff_client, "glo")
    assert 'role="listbox"' in html
    assert html.index('aria-label="Accounts"') < html.index('aria-label="Contacts"')
    assert f'data-href="/records/account/{account.pk}/"' in html
    assert f'data-href="/records/contact/{contact.pk}/"' in html
    assert "Globex Corporation" in option_labels(html)
    assert "Gloria Globe" in option_labels(html)
    assert 'data-href="/search?q=glo"' in html  # "See all results"
    assert 'data-count="2"' in html


def test_suggestions_show_at_most_five_per_type(staff_client, make_account):
    for n in range(7):
        make_account(name=f"Initech branch {n}")
    html = suggest(staff_client, "initech")
    assert len([x for x in option_labels(html) if x.startswith("Initech")]) == 5
    # Newest first, as on the search page.
    assert "Initech branch 6" in option_labels(html)
    assert "Initech branch 0" not in option_labels(html)


def test_a_query_shorter_than_two_characters_suggests_nothing(staff_client, make_account):
    make_account(name="Globex")
    html = suggest(staff_client, "g")
    assert 'role="option"' not in html
    assert 'data-count="0"' in html


def test_bad_input_is_a_message_not_an_error_page(staff_client):
    html = suggest(staff_client, " ".join(["word"] * 9))
    assert "at most 8 words" in html
    assert 'role="option"' not in html


def test_a_rep_is_not_offered_other_peoples_private_records(make_user, make_account, make_contact):
    SharingDefault.objects.create(object_type="contact", access=Access.PRIVATE)
    rep, other = make_user(username="rita"), make_user(username="otto")
    make_contact(first_name="Wanda", last_name="Mine", owner=rep)
    make_contact(first_name="Wanda", last_name="Theirs", owner=other)
    html = suggest(signed_in(rep), "wanda")
    assert option_labels(html)[:1] == ["Wanda Mine"]
    assert "Theirs" not in html


def test_types_the_role_may_not_read_are_not_suggested(staff, make_account, make_contact):
    make_account(name="Umbrella Holdings")
    make_contact(first_name="Umbrella", last_name="Person")
    staff.role = make_role("Contacts only")
    staff.save()
    ObjectPermission.objects.create(role=staff.role, object_type="contact", can_read=True)
    html = suggest(signed_in(staff), "umbrella")
    assert "Umbrella Holdings" not in html
    assert "Umbrella Person" in option_labels(html)


def test_fields_hidden_from_the_role_are_neither_matched_nor_shown(staff, make_contact):
    make_contact(first_name="Ada", last_name="Lovelace")
    staff.role = make_role("Marketing")
    staff.save()
    ObjectPermission.objects.create(role=staff.role, object_type="contact", can_read=True)
    FieldPermission.objects.create(
        role=staff.role, object_type="contact", field="last_name", access="hidden"
    )
    client = signed_in(staff)
    html = suggest(client, "ada")
    assert option_labels(html)[:1] == ["Ada"]
    assert "Lovelace" not in html
    assert 'role="option"' in html
    assert 'data-count="0"' in suggest(client, "lovelace")


@pytest.mark.parametrize("query", ["555 01", "5550123", "0123", "+1 212 555", "(212) 555-01"])
def test_part_of_a_phone_number_finds_the_contact(staff_client, make_contact, query):
    make_contact(first_name="Phoebe", last_name="Phone", phones=["+1 212 555 0123"])
    assert "Phoebe Phone" in option_labels(suggest(staff_client, query))
    assert "Phoebe Phone" in assert_page(staff_client.get("/search", {"q": query}))


def test_digits_that_skip_part_of_the_number_do_not_match(staff_client, make_contact):
    # Formatting is ignored, but the digits must be one unbroken run of the stored number.
    make_contact(first_name="Phoebe", last_name="Phone", phones=["+1 212 555 0123"])
    assert "Phoebe Phone" not in option_labels(suggest(staff_client, "+1 555 0123"))


def test_without_javascript_the_box_submits_to_the_full_search_page(staff_client, make_account):
    make_account(name="Globex Corporation")
    home = assert_page(staff_client.get("/"))
    assert 'action="/search" method="get"' in home
    assert 'id="global-search" name="q"' in home
    assert 'data-suggest-url="/search"' in home
    assert 'aria-keyshortcuts="/"' in home
    # Combobox roles are added by the script, so the plain box is a valid searchbox without it.
    assert 'role="combobox"' not in home
    page = assert_page(staff_client.get("/search", {"q": "globex"}))
    assert "<h1>Search</h1>" in page
    assert "Globex Corporation" in page


def test_suggestions_cost_a_bounded_number_of_queries(
    staff_client, make_account, make_contact, django_assert_max_num_queries
):
    for n in range(6):
        make_account(name=f"Hooli unit {n}")
        make_contact(first_name="Hooli", last_name=f"Person {n}", phones=[f"+1 212 555 01{n}0"])
    staff_client.get("/search", {"q": "hooli", "suggest": "1"})  # warm the session and caches
    with django_assert_max_num_queries(20):
        staff_client.get("/search", {"q": "hooli", "suggest": "1"})

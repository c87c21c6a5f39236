"""The Settings pages for custom fields and tags: what admins can do there, the inline
messages for bad input, and that nobody else opens them."""

from __future__ import annotations

import pytest

from accord.core.models import HistoryEntry, OutboxEvent
from accord.parties.models import Contact, CustomField, Tag
from tests.web.fixtures import assert_page, signed_in

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def admin_client(admin):
    return signed_in(admin)


def add_field(client, **data):
    form = {"record_type": "contact", "key": "shoe_size", "label": "Shoe size", "type": "number"}
    return client.post("/settings/custom-fields/", {**form, **data})


def test_the_sections_are_listed_in_settings_for_a_superuser(admin_client):
    page = assert_page(admin_client.get("/settings/"))
    assert ">Custom fields</a>" in page
    assert ">Tags</a>" in page


def test_a_new_custom_field_shows_on_the_edit_page_and_as_a_list_filter(admin_client, make_contact):
    contact = make_contact(first_name="Ada")
    response = add_field(admin_client, label="Shoe size", help_text="EU sizes")
    assert response.status_code == 302
    field = CustomField.objects.get(key="shoe_size")
    assert field.record_type == "contact"
    assert field.type == "number"
    assert HistoryEntry.objects.filter(object_id=field.pk).exists()
    assert OutboxEvent.objects.filter(type="accord.custom_field.created").exists()
    listing = assert_page(admin_client.get("/settings/custom-fields/"))
    assert "Shoe size" in listing
    assert "<code>shoe_size</code>" in listing
    edit = assert_page(admin_client.get(f"/records/contact/{contact.pk}/edit"))
    assert 'name="cf.shoe_size"' in edit
    assert "EU sizes" in edit
    filtered = admin_client.get("/records/contact/", {"cf.shoe_size": "42"})
    assert filtered.status_code == 200
    assert "Ada" not in assert_page(filtered)


def test_a_choice_field_takes_its_choices_one_per_line(admin_client):
    response = add_field(
        admin_client, key="tier", label="Tier", type="choice", choices="Gold\nSilver\n\nGold"
    )
    assert response.status_code == 302
    assert CustomField.objects.get(key="tier").choices == ["Gold", "Silver"]


def test_bad_input_is_shown_next_to_the_field_and_nothing_is_written(admin_client):
    bad_key = add_field(admin_client, key="Shoe Size")
    page = assert_page(bad_key, 422)
    assert "lower-case letters, digits and _" in page
    no_choices = assert_page(add_field(admin_client, key="tier", type="choice"), 422)
    assert "a choice field needs at least one choice" in no_choices
    assert not CustomField.objects.exists()
    assert add_field(admin_client).status_code == 302
    duplicate = assert_page(add_field(admin_client), 409)
    assert 'id="id_key"' in duplicate
    assert CustomField.objects.count() == 1


def test_editing_a_field_changes_its_label_and_help_but_not_its_key(admin_client):
    add_field(admin_client)
    field = CustomField.objects.get()
    url = f"/settings/custom-fields/{field.pk}/"
    page = assert_page(admin_client.get(url))
    assert 'name="key"' not in page
    response = admin_client.post(
        url, {"label": "Shoe size (EU)", "help_text": "36 to 48", "version": field.version}
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.help_text, field.key) == ("Shoe size (EU)", "36 to 48", "shoe_size")
    empty = assert_page(admin_client.post(url, {"label": "", "version": field.version}), 422)
    assert "This field is required." in empty


def test_deleting_a_field_removes_it_from_the_list(admin_client):
    add_field(admin_client)
    field = CustomField.objects.get()
    response = admin_client.post(
        f"/settings/custom-fields/{field.pk}/delete", {"version": field.version}
    )
    assert response.status_code == 302
    assert not CustomField.objects.exists()
    assert "No custom fields yet." in assert_page(admin_client.get("/settings/custom-fields/"))


def test_tags_are_listed_with_how_many_records_carry_them(admin_client, make_tag, make_contact):
    make_tag(name="VIP")
    make_tag(name="Unused")
    make_contact(first_name="Ada", tags=["VIP"])
    make_contact(first_name="Grace", tags=["VIP"])
    page = assert_page(admin_client.get("/settings/tags/"))
    row = page[page.index(">VIP</a>") :].split("</tr>")[0]
    assert row.count("<td>2</td>") == 1
    assert row.count("<td>0</td>") == 1


def test_tags_are_created_renamed_and_deleted(admin_client, make_contact):
    assert admin_client.post("/settings/tags/", {"name": "Fair 2026"}).status_code == 302
    tag = Tag.objects.get(name="Fair 2026")
    contact = make_contact(first_name="Ada", tags=["Fair 2026"])
    renamed = admin_client.post(
        f"/settings/tags/{tag.pk}/", {"name": "Trade fair 2026", "version": tag.version}
    )
    assert renamed.status_code == 302
    assert [t.name for t in Contact.objects.get(pk=contact.pk).tags.all()] == ["Trade fair 2026"]
    assert OutboxEvent.objects.filter(type="accord.tag.updated").exists()
    deleted = admin_client.post(f"/settings/tags/{tag.pk}/delete", {"version": tag.version + 1})
    assert deleted.status_code == 302
    assert not Contact.objects.get(pk=contact.pk).tags.exists()
    listing = assert_page(admin_client.get("/settings/tags/"))
    assert "Deleted the tag “Trade fair 2026”." in listing
    assert ">Trade fair 2026</a>" not in listing


def test_tag_bad_input_is_inline(admin_client, make_tag):
    make_tag(name="VIP")
    taken = assert_page(admin_client.post("/settings/tags/", {"name": "VIP"}), 409)
    assert 'id="id_name"' in taken
    colour = assert_page(admin_client.post("/settings/tags/", {"name": "New", "color": "red"}), 422)
    assert "must be a hex colour" in colour
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]


def test_access_managers_manage_tags_but_not_custom_fields(manager_client):
    assert_page(manager_client.get("/settings/tags/"))
    assert_page(manager_client.get("/settings/custom-fields/"), 403)
    settings_page = assert_page(manager_client.get("/settings/"))
    assert ">Tags</a>" in settings_page
    assert ">Custom fields</a>" not in settings_page


def test_everyone_else_is_refused(staff_client, make_tag):
    tag = make_tag(name="VIP")
    for url in ("/settings/custom-fields/", "/settings/tags/", f"/settings/tags/{tag.pk}/"):
        assert_page(staff_client.get(url), 403)
    assert staff_client.post("/settings/tags/", {"name": "Sneaky"}).status_code == 403
    assert staff_client.post(f"/settings/tags/{tag.pk}/delete").status_code == 403
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]

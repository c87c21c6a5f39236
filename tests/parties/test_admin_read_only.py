"""Django admin shows the shared record but never changes it behind the services' back."""

from __future__ import annotations

from django.test import Client

from accord.parties import services


def test_admin_cannot_edit_a_contact_outside_the_service(admin):
    contact = services.contacts.create(actor=admin, data={"last_name": "Kept"})
    client = Client()
    client.force_login(admin)
    url = f"/admin/parties/contact/{contact.pk}/change/"
    assert client.get(url).status_code == 200
    client.post(url, {"last_name": "Changed"})
    contact.refresh_from_db()
    assert contact.last_name == "Kept"
    assert client.get("/admin/parties/contact/add/").status_code == 403

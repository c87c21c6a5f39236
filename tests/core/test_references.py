"""The reference registry answers what depends on a field before an admin removes it."""

from __future__ import annotations

import pytest

from accord.core import registry
from accord.core.errors import Conflict
from accord.parties import services


@pytest.fixture
def saved_view_uses_region(admin):
    def provider(object_type: str, target: str) -> list[registry.Reference]:
        if (object_type, target) == ("contact", "region"):
            return [registry.Reference("web", "saved view", "EMEA leads", "contact", "region")]
        return []

    registry.register_references("test", provider)
    yield
    registry._providers.pop("test")


def test_referenced_custom_field_cannot_be_deleted(admin, saved_view_uses_region):
    field = services.custom_fields.create(
        actor=admin,
        data={"record_type": "contact", "key": "region", "label": "Region", "type": "text"},
    )
    with pytest.raises(Conflict, match="EMEA leads"):
        services.custom_fields.delete(actor=admin, record_id=field.pk, expected_version=1)
    field.refresh_from_db()
    assert field.deleted_at is None


def test_references_endpoint_lists_dependants_for_admins_only(
    admin_api, make_user, api_as, saved_view_uses_region
):
    params = {"object_type": "contact", "target": "region"}
    response = admin_api.get("/api/v1/references", params)
    assert response.status_code == 200
    assert response.json()[0]["label"] == "EMEA leads"
    assert api_as(make_user()).get("/api/v1/references", params).status_code == 403

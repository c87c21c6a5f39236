"""Lists and single records are written straight from the payloads (core.api.PlainPage): every
item must be exactly what ninja would answer through the output schema, and what reading the
record on its own answers."""

from __future__ import annotations

import json

import pytest
from ninja.responses import NinjaJSONEncoder
from typer.testing import CliRunner

from accord.cli import app
from accord.core.api import RESOURCES, PlainPage
from accord.core.schemas import maskable

COLLECTIONS = (
    "accounts",
    "contacts",
    "tags",
    "tasks",
    "notes",
    "calls",
    "meetings",
    "email-logs",
    "products",
    "leads",
    "deals",
    "pipelines",
    "cases",
    "queues",
    "campaigns",
)


@pytest.fixture
def demo_data(admin):
    result = CliRunner().invoke(app, ["demo", "--size", "tiny"])
    assert result.exit_code == 0, result.output


def test_every_list_item_is_what_its_own_read_answers(admin_api, demo_data):
    for collection in COLLECTIONS:
        listed = admin_api.get(f"/api/v1/{collection}", {"limit": 5})
        assert listed.status_code == 200, (collection, listed.content)
        assert listed["Content-Type"] == "application/json; charset=utf-8"
        items = listed.json()["items"]
        assert items, collection
        for item in items:
            alone = admin_api.get(f"/api/v1/{collection}/{item['id']}")
            assert alone.status_code == 200, (collection, alone.content)
            assert alone["ETag"]
            assert item == alone.json(), collection


def test_every_answer_is_what_the_output_schema_gives(admin, demo_data):
    """What ninja would write: the payload validated into the output schema and dumped with
    the fields that are set, by its JSON encoder."""
    checked = 0
    for resource in RESOURCES.values():
        schema = maskable(resource.out)
        for record in resource.service.model.objects.all()[:3]:
            shown = resource.show(admin, record)
            validated = schema.model_validate(shown).model_dump(exclude_unset=True)
            expected = json.loads(json.dumps(validated, cls=NinjaJSONEncoder))
            plain = PlainPage.of(schema)
            if plain is None:
                continue
            assert json.loads(plain.one(shown, {}).content) == expected, resource.name
            checked += 1
    assert checked > 20


def test_a_query_on_remembered_rows_still_asks_through_the_relation(admin, make_tag):
    from accord.core import records
    from accord.parties import services

    vip, other = make_tag(name="VIP"), make_tag(name="Partner")
    ann = services.contacts.create(actor=admin, data={"last_name": "Ann", "tags": ["VIP"]})
    services.contacts.create(actor=admin, data={"last_name": "Bob", "tags": ["Partner"]})
    # The create left its tags in the record's cache without reading them back.
    assert "tags" in ann._prefetched_objects_cache
    assert [t.name for t in ann.tags.all()] == ["VIP"]
    assert list(ann.tags.filter(name="Partner")) == []
    assert list(ann.tags.values_list("name", flat=True)) == ["VIP"]
    records.prefetch([ann], "tags")
    assert list(ann.tags.exclude(pk=vip.pk)) == []
    assert other.pk not in {t.pk for t in ann.tags.all()}

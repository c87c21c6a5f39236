"""Pipelines and stages: exactly one default pipeline, ordered stages, configuration rights."""

from __future__ import annotations

import pytest

from accord.core.errors import Conflict, InvalidInput, PermissionDenied
from accord.sales.models import Pipeline, Stage
from accord.sales.services import pipelines, stages
from tests.sales.conftest import assert_one_write, events_since, last_event_id


def test_first_pipeline_becomes_the_default(admin):
    before = last_event_id()
    pipeline = pipelines.create(actor=admin, data={"name": "Sales"})
    assert pipeline.is_default
    assert_one_write(before, pipeline, "created")


def test_new_default_demotes_the_old_one_with_its_own_event(admin, board):
    before = last_event_id()
    renewals = pipelines.create(actor=admin, data={"name": "Renewals", "is_default": True})
    old = Pipeline.objects.get(pk=board.pipeline.pk)
    assert renewals.is_default
    assert not old.is_default
    assert list(Pipeline.objects.filter(is_default=True)) == [renewals]
    assert [(e.type, e.object_id) for e in events_since(before)] == [
        ("accord.pipeline.updated", old.pk),
        ("accord.pipeline.created", renewals.pk),
    ]
    assert events_since(before)[0].envelope["data"]["changed"] == {"is_default": [True, False]}


def test_making_a_pipeline_default_by_update_swaps_the_default(admin, board, other_board):
    pipelines.update(
        actor=admin,
        record_id=other_board.pipeline.pk,
        data={"is_default": True},
        expected_version=1,
    )
    assert list(Pipeline.objects.filter(is_default=True)) == [
        Pipeline.objects.get(pk=other_board.pipeline.pk)
    ]


def test_the_default_cannot_be_unset_or_deleted(admin, board):
    with pytest.raises(InvalidInput) as caught:
        pipelines.update(
            actor=admin, record_id=board.pipeline.pk, data={"is_default": False}, expected_version=1
        )
    assert caught.value.errors[0].field == "is_default"
    with pytest.raises(Conflict):
        pipelines.delete(actor=admin, record_id=board.pipeline.pk, expected_version=None)


def test_pipeline_with_deals_cannot_be_deleted(admin, other_board, make_deal):
    make_deal(stage_id=other_board.open.pk)
    with pytest.raises(Conflict):
        pipelines.delete(actor=admin, record_id=other_board.pipeline.pk, expected_version=None)


def test_only_superusers_configure_pipelines_and_stages(make_user, board):
    seller = make_user()
    with pytest.raises(PermissionDenied):
        pipelines.create(actor=seller, data={"name": "Mine"})
    with pytest.raises(PermissionDenied):
        stages.update(
            actor=seller, record_id=board.open.pk, data={"name": "X"}, expected_version=None
        )


def test_stages_are_ordered_and_positions_unique_per_pipeline(admin, board, other_board):
    assert [s.position for s in (board.open, board.proposal, board.won, board.lost)] == [0, 1, 2, 3]
    assert (board.won.probability, board.lost.probability) == (100, 0)
    with pytest.raises(InvalidInput) as caught:
        stages.create(
            actor=admin, data={"pipeline_id": board.pipeline.pk, "name": "Dup", "position": 1}
        )
    assert caught.value.errors[0].field == "position"
    # The same position in another pipeline is fine.
    assert other_board.proposal.position == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Both", "is_won": True, "is_lost": True}, "is_lost"),
        ({"name": "P", "probability": 101}, "probability"),
        ({"name": "P", "probability": -1}, "probability"),
        ({"name": ""}, "name"),
        ({"name": "P", "is_won": "yes"}, "is_won"),
    ],
)
def test_invalid_stage_names_the_field(admin, board, data, field):
    with pytest.raises(InvalidInput) as caught:
        stages.create(actor=admin, data={"pipeline_id": board.pipeline.pk, **data})
    assert field in [e.field for e in caught.value.errors]


def test_stage_cannot_move_to_another_pipeline(admin, board, other_board):
    with pytest.raises(InvalidInput) as caught:
        stages.update(
            actor=admin,
            record_id=board.open.pk,
            data={"pipeline_id": other_board.pipeline.pk},
            expected_version=1,
        )
    assert caught.value.errors[0].field == "pipeline_id"


def test_stage_with_deals_cannot_be_deleted_nor_change_outcome(admin, board, make_deal):
    make_deal(stage_id=board.proposal.pk)
    with pytest.raises(Conflict):
        stages.delete(actor=admin, record_id=board.proposal.pk, expected_version=None)
    with pytest.raises(InvalidInput):
        stages.update(
            actor=admin, record_id=board.proposal.pk, data={"is_won": True}, expected_version=1
        )


def test_deleted_stage_frees_its_position_and_restore_refuses_a_taken_one(admin, board):
    stages.delete(actor=admin, record_id=board.lost.pk, expected_version=1)
    stages.create(
        actor=admin, data={"pipeline_id": board.pipeline.pk, "name": "Lost", "position": 3}
    )
    with pytest.raises(Conflict):
        stages.restore(actor=admin, record_id=board.lost.pk)
    assert Stage.all_objects.get(pk=board.lost.pk).deleted_at is not None


# -- API -----------------------------------------------------------------------------------------


def test_api_pipeline_and_stage_crud(admin_api):
    pipeline = admin_api.post("/api/v1/pipelines", {"name": "Partners"})
    assert pipeline.status_code == 201, pipeline.json()
    assert pipeline.json()["is_default"] is True
    pid = pipeline.json()["id"]
    for name in ("Intro", "Pilot", "Won"):
        created = admin_api.post(
            "/api/v1/stages", {"pipeline_id": pid, "name": name, "is_won": name == "Won"}
        )
        assert created.status_code == 201, created.json()
    listed = admin_api.get("/api/v1/stages", {"pipeline_id": pid}).json()["items"]
    assert [(s["name"], s["position"], s["probability"]) for s in listed] == [
        ("Intro", 0, 0),
        ("Pilot", 1, 0),
        ("Won", 2, 100),
    ]
    stage_url = f"/api/v1/stages/{listed[1]['id']}"
    changed = admin_api.patch(stage_url, {"probability": 40}, if_match='"1"')
    assert changed.status_code == 200
    assert changed.json()["probability"] == 40


def test_api_seller_may_read_but_not_configure_pipelines(make_user, api_as, board):
    seller = api_as(make_user())
    assert seller.get(f"/api/v1/pipelines/{board.pipeline.pk}").status_code == 200
    assert seller.post("/api/v1/pipelines", {"name": "Mine"}).status_code == 403
    response = seller.patch(f"/api/v1/stages/{board.open.pk}", {"name": "X"}, if_match="*")
    assert response.status_code == 403


def test_api_stage_input_is_strict(admin_api, board):
    response = admin_api.post(
        "/api/v1/stages",
        {"pipeline_id": str(board.pipeline.pk), "name": "P", "probability": "50", "color": "red"},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} >= {"probability", "color"}

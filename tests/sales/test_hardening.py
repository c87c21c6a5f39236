"""Inputs schemathesis found that must answer 4xx, never 500."""

from __future__ import annotations

from accord.sales import services
from accord.sales.models import Stage


def test_stage_position_overflow_is_a_422(admin, admin_api):
    pipeline = services.pipelines.create(actor=admin, data={"name": "Full"})
    services.stages.create(
        actor=admin, data={"name": "Last", "pipeline_id": pipeline.pk, "position": 32767}
    )
    before = Stage.objects.count()
    response = admin_api.post("/api/v1/stages", {"name": "More", "pipeline_id": str(pipeline.pk)})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "position"
    assert Stage.objects.count() == before


def test_multipart_without_boundary_is_a_400(client, db):
    response = client.post(
        "/api/v1/web-forms/any/submissions", data="x=1", content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"

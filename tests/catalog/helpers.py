"""Assertions the catalog, service and marketing tests share."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from accord.core.models import HistoryEntry, OutboxEvent

PROBLEM = "application/problem+json"
UNKNOWN_ID = "0190a000-0000-7000-8000-000000000000"


def error_fields(response: Any) -> list[str]:
    """The fields a 422 problem names (asserting it is one)."""
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == PROBLEM
    return [e["field"] for e in response.json()["errors"]]


def snapshot(*models: type[Model]) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``models``, field history and the outbox: equal snapshots, nothing written."""
    state = {}
    for model in (*models, HistoryEntry, OutboxEvent):
        manager = getattr(model, "all_objects", model._default_manager)
        state[model._meta.label] = list(manager.order_by("pk").values())
    return state


def events_of(record_id: Any) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(object_id=record_id).order_by("id"))


def history_of(record_id: Any) -> list[HistoryEntry]:
    return list(HistoryEntry.objects.filter(object_id=record_id).order_by("version", "at"))

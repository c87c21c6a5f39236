"""What sales adds to the staff web app: the deal pipeline board in the Sales workspace and the
Settings pages for pipelines and stages. Plain declarations that ``accord.web`` reads at
start-up (see ``accord.web.pages``); sales does not import web, which sits above it."""

from __future__ import annotations

from django.urls import path

from accord.identity.visibility import permitted
from accord.sales import views
from accord.sales.checks import superuser

urlpatterns = [
    path("sales/board/", views.board, name="board"),
    path("sales/board/move", views.board_move, name="board-move"),
    path("settings/pipelines/", views.pipelines, name="pipelines"),
    path("settings/pipelines/<uuid:pipeline_id>/", views.pipeline, name="pipeline"),
    path(
        "settings/pipelines/<uuid:pipeline_id>/stages/new",
        views.stage_create,
        name="stage-create",
    ),
    path("settings/pipelines/stages/<uuid:stage_id>/", views.stage, name="stage"),
    path(
        "settings/pipelines/stages/<uuid:stage_id>/up",
        views.stage_move,
        {"offset": -1},
        name="stage-up",
    ),
    path(
        "settings/pipelines/stages/<uuid:stage_id>/down",
        views.stage_move,
        {"offset": 1},
        name="stage-down",
    ),
    path(
        "settings/pipelines/stages/<uuid:stage_id>/delete", views.stage_delete, name="stage-delete"
    ),
]


def reads_deals(user: object) -> bool:
    return permitted(user, "deal", "read")


PAGES = [
    {
        "workspace": "sales",
        "label": "Deal board",
        "url": "sales:board",
        "order": 45,
        "description": "Deals by pipeline stage; drag a card, or use its form, to move it.",
        "allowed": reads_deals,
    },
]

SETTINGS = [
    {
        "group": "Sales",
        "label": "Pipelines and stages",
        "url": "sales:pipelines",
        "order": 100,
        "description": "The sales processes deals move through, their stages and probabilities.",
        "allowed": superuser,
    },
]

"""The pages of sales: the deal pipeline board, and the Settings pages for pipelines and stages.

Every read goes through ``board`` (visibility filter) and every write through the sales
services, which check permission and record history and an event; a service's refusal is shown
on the page, never a server error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from accord.core.errors import AccordError, InvalidInput, NotFound, PreconditionFailed
from accord.core.ids import parse_id
from accord.core.models import Source
from accord.identity.views.common import FORM_ERRORS, settings_page_for, show_errors
from accord.sales import board as boards
from accord.sales import queries, services
from accord.sales.checks import superuser
from accord.sales.models import Pipeline, Stage

View = TypeVar("View", bound=Callable[..., HttpResponse])

# -- the board ---------------------------------------------------------------------------------


def _board_context(
    request: HttpRequest, wanted_pipeline: Any, filters: boards.Filters
) -> dict[str, Any]:
    pipelines = boards.pipelines_for(request.user)
    pipeline = boards.pick_pipeline(pipelines, wanted_pipeline)
    board = boards.read_board(request.user, pipeline, filters) if pipeline else None
    kept = dict(filters.query())
    if pipeline is not None:
        kept["pipeline"] = str(pipeline.pk)
    stages = [c.stage for c in board.columns] if board else []
    return {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "board": board,
        # Every card of a column shows the same move form but for its deal: the parts they
        # share are rendered once here (a full board has hundreds of cards).
        "columns": [(c, _stage_options(stages, c.stage)) for c in board.columns] if board else [],
        "filters": filters,
        # Hidden fields of every card's move form: the move returns to the same board.
        "kept_inputs": format_html_join(
            "", '<input type="hidden" name="{}" value="{}">', sorted(kept.items())
        ),
        "move_url": reverse("sales:board-move"),
        "list_query": _list_query(filters, request.user),
        "owners": boards.owner_choices(),
        "teams": boards.team_choices(),
        "may_configure": superuser(request.user),
    }


def _stage_options(stages: list[Stage], current: Stage) -> str:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((s.pk, mark_safe(" selected") if s.pk == current.pk else "", s.name) for s in stages),
    )


def _list_query(filters: boards.Filters, user: Any) -> str:
    """The deals list's filters matching the board's (the list has no team filter)."""
    values = {
        "owner_id": str(user.pk) if filters.owner == "me" else filters.owner,
        "expected_close_after": filters.close_after.isoformat() if filters.close_after else "",
        "expected_close_before": filters.close_before.isoformat() if filters.close_before else "",
    }
    return urlencode({k: v for k, v in values.items() if v})


@require_http_methods(["GET"])
def board(request: HttpRequest) -> HttpResponse:
    """The deals of one pipeline as columns of stages, narrowed by owner, team and close
    date. A plain GET form: it works without JavaScript."""
    filters = boards.read_filters(request.GET)
    context = _board_context(request, request.GET.get("pipeline"), filters)
    return render(request, "sales/board.html", context)


def _move_error(exc: AccordError) -> str:
    if isinstance(exc, PreconditionFailed):
        return (
            "Someone changed this deal since the board was loaded, so it was not moved. "
            "The board now shows its current stage; move it again if you still want to."
        )
    if isinstance(exc, InvalidInput) and exc.errors:
        return "The deal was not moved: " + "; ".join(e.message for e in exc.errors) + "."
    return f"The deal was not moved: {exc.detail}"


def _move(request: HttpRequest) -> tuple[str, bool, Any]:
    """Move the posted deal to the posted stage through the deals service; answers the
    message to show, whether it is an error, and the moved deal's id."""
    deal_id = parse_id(request.POST.get("deal", ""))
    raw_version = request.POST.get("version", "")
    if deal_id is None or not raw_version.isdigit():
        return "The deal was not moved: the form was incomplete; reload the board.", True, None
    try:
        deal = services.deals.update(
            actor=request.user,
            record_id=deal_id,
            data={"stage_id": request.POST.get("stage", "")},
            expected_version=int(raw_version),
            source=Source.WEB,
        )
    except (*FORM_ERRORS, NotFound, PreconditionFailed) as exc:
        return _move_error(exc), True, deal_id
    return f"Moved {deal.name} to {deal.stage.name}.", False, deal.pk


@require_POST
def board_move(request: HttpRequest) -> HttpResponse:
    """Change a deal's stage from the board: a card dropped on a column (htmx, answered with
    the board again so every column's count and totals are current) or a card's "Move to
    stage" form without JavaScript (answered by a redirect back to the same board).

    A refused move answers htmx with 200 too: htmx swaps only successful answers, and the
    redrawn board (showing where the deal really is) with the message is what the person needs.
    """
    message, failed, moved = _move(request)
    filters = boards.read_filters(request.POST)
    wanted = request.POST.get("pipeline")
    htmx = getattr(request, "htmx", None)
    if htmx:
        context = _board_context(request, wanted, filters)
        context.update(announcement=message, announcement_failed=failed, moved=moved)
        response = render(request, "sales/board.html#board", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    (messages.error if failed else messages.success)(request, message)
    query = dict(filters.query())
    if wanted:
        query["pipeline"] = wanted
    target = reverse("sales:board")
    if query:
        target += "?" + urlencode(sorted(query.items()))
    if moved is not None:
        target += f"#deal-{moved}"
    return redirect(target)


# -- settings: pipelines and stages ------------------------------------------------------------


#: Only who may change pipelines and stages (the services allow superusers) opens these pages.
admin_page = settings_page_for(superuser)


class PipelineForm(forms.Form):
    name = forms.CharField(max_length=100)
    is_default = forms.BooleanField(
        required=False,
        label="Default pipeline",
        help_text="New deals start in the default pipeline when none is named.",
    )


OUTCOMES = [("open", "Open"), ("won", "Won: closes the deal"), ("lost", "Lost: closes the deal")]


class StageForm(forms.Form):
    name = forms.CharField(max_length=100)
    probability = forms.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        label="Probability (%)",
        help_text="The chance of closing a deal takes when it enters this stage. "
        "Empty: 100 for a won stage, else 0.",
    )
    outcome = forms.ChoiceField(choices=OUTCOMES, initial="open")

    @staticmethod
    def initial_for(stage: Stage) -> dict[str, Any]:
        outcome = "won" if stage.is_won else "lost" if stage.is_lost else "open"
        return {"name": stage.name, "probability": stage.probability, "outcome": outcome}

    def data_for_service(self) -> dict[str, Any]:
        values = self.cleaned_data
        data = {
            "name": values["name"],
            "is_won": values["outcome"] == "won",
            "is_lost": values["outcome"] == "lost",
        }
        if values["probability"] is not None:
            data["probability"] = values["probability"]
        return data


#: Service field names the stage form shows under another name.
STAGE_ALIASES = {"is_won": "outcome", "is_lost": "outcome"}


@admin_page
@require_http_methods(["GET", "POST"])
def pipelines(request: HttpRequest) -> HttpResponse:
    """The pipelines, and a form to add one."""
    form = PipelineForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = {"name": form.cleaned_data["name"]}
        if form.cleaned_data["is_default"]:
            data["is_default"] = True
        try:
            made = services.pipelines.create(actor=request.user, data=data, source=Source.WEB)
        except FORM_ERRORS as exc:
            status = show_errors(form, exc)
        else:
            messages.success(request, f"Added the pipeline {made.name}; now give it stages.")
            return redirect("sales:pipeline", pipeline_id=made.pk)
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "sales/settings/pipelines.html",
        {"pipelines": boards.pipelines_for(request.user), "form": form},
        status=status,
    )


def _pipeline_page(
    request: HttpRequest,
    pipeline: Pipeline,
    *,
    form: PipelineForm | None = None,
    stage_form: StageForm | None = None,
    stage_errors: dict[Any, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    initial = {"name": pipeline.name, "is_default": pipeline.is_default}
    return render(
        request,
        "sales/settings/pipeline.html",
        {
            "pipeline": pipeline,
            "form": form or PipelineForm(initial=initial),
            "stage_form": stage_form or StageForm(prefix="stage"),
            # Each stage with the refusal of the last action on it, shown in its row.
            "stages": [
                (s, (stage_errors or {}).get(s.pk))
                for s in boards.stages_of(request.user, pipeline)
            ],
        },
        status=status,
    )


@admin_page
@require_http_methods(["GET", "POST"])
def pipeline(request: HttpRequest, pipeline_id: Any) -> HttpResponse:
    """One pipeline: rename it or make it the default, and its stages in order."""
    found = queries.get_pipeline(request.user, pipeline_id)
    if request.method == "GET":
        return _pipeline_page(request, found)
    form = PipelineForm(request.POST)
    if not form.is_valid():
        return _pipeline_page(request, found, form=form, status=422)
    try:
        services.pipelines.update(
            actor=request.user,
            record_id=found.pk,
            data=form.cleaned_data,
            expected_version=None,
            source=Source.WEB,
        )
    except FORM_ERRORS as exc:
        status = show_errors(form, exc)
        return _pipeline_page(request, found, form=form, status=status)
    messages.success(request, "Saved the pipeline.")
    return redirect("sales:pipeline", pipeline_id=found.pk)


@admin_page
@require_POST
def stage_create(request: HttpRequest, pipeline_id: Any) -> HttpResponse:
    """Add a stage at the end of the pipeline."""
    found = queries.get_pipeline(request.user, pipeline_id)
    form = StageForm(request.POST, prefix="stage")
    if not form.is_valid():
        return _pipeline_page(request, found, stage_form=form, status=422)
    try:
        made = services.stages.create(
            actor=request.user,
            data={"pipeline_id": found.pk, **form.data_for_service()},
            source=Source.WEB,
        )
    except FORM_ERRORS as exc:
        status = show_errors(form, exc, aliases=STAGE_ALIASES)
        return _pipeline_page(request, found, stage_form=form, status=status)
    messages.success(request, f"Added the stage {made.name}.")
    return redirect("sales:pipeline", pipeline_id=found.pk)


@admin_page
@require_http_methods(["GET", "POST"])
def stage(request: HttpRequest, stage_id: Any) -> HttpResponse:
    """Rename a stage, set its probability and whether it is won or lost."""
    found = queries.get_stage(request.user, stage_id)
    form = StageForm(request.POST or None, initial=StageForm.initial_for(found))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.stages.update(
                actor=request.user,
                record_id=found.pk,
                data=form.data_for_service(),
                expected_version=None,
                source=Source.WEB,
            )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc, aliases=STAGE_ALIASES)
        else:
            messages.success(request, f"Saved the stage {form.cleaned_data['name']}.")
            return redirect("sales:pipeline", pipeline_id=found.pipeline_id)
    elif request.method == "POST":
        status = 422
    return render(
        request, "sales/settings/stage.html", {"stage": found, "form": form}, status=status
    )


def _stage_action(request: HttpRequest, stage_id: Any, act: Callable[[Stage], str]) -> HttpResponse:
    """Run ``act`` on the stage; its refusal is shown in the stage's row of the pipeline page."""
    found = queries.get_stage(request.user, stage_id)
    try:
        done = act(found)
    except FORM_ERRORS as exc:
        return _pipeline_page(
            request, found.pipeline, stage_errors={found.pk: exc.detail}, status=exc.status
        )
    messages.success(request, done)
    return redirect("sales:pipeline", pipeline_id=found.pipeline_id)


@admin_page
@require_POST
def stage_move(request: HttpRequest, stage_id: Any, offset: int) -> HttpResponse:
    """Swap the stage with the one before (``offset`` -1) or after (+1) it."""

    def act(found: Stage) -> str:
        services.stages.move(
            actor=request.user, record_id=found.pk, offset=offset, source=Source.WEB
        )
        return f"Moved {found.name} {'up' if offset < 0 else 'down'}."

    return _stage_action(request, stage_id, act)


@admin_page
@require_POST
def stage_delete(request: HttpRequest, stage_id: Any) -> HttpResponse:
    """Delete a stage; the service refuses while deals are in it."""

    def act(found: Stage) -> str:
        services.stages.delete(
            actor=request.user, record_id=found.pk, expected_version=None, source=Source.WEB
        )
        return f"Deleted the stage {found.name}."

    return _stage_action(request, stage_id, act)

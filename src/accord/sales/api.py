"""REST endpoints of sales (mounted by accord.api): leads and their conversion, pipelines,
stages, deals, and web forms with their public submission endpoint."""

import ipaddress
import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja.errors import HttpError
from ninja.responses import Status

from accord.core import registry
from accord.core.api import ITEM_ERRORS, Resource, actor, crud_router, etag, expected_version
from accord.core.errors import PermissionDenied
from accord.core.models import Source
from accord.core.schemas import Problem
from accord.sales import checks, queries, schemas, services, webforms
from accord.sales.models import Lead

leads = crud_router(
    Resource(
        name="lead",
        service=services.leads,
        read=queries.get_lead,
        browse=queries.list_leads,
        out=schemas.LeadOut,
        create_in=schemas.LeadIn,
        patch_in=schemas.LeadPatch,
        filters=schemas.LeadFilters,
        tags=["leads"],
    )
)


@leads.post(
    "/{record_id}/convert",
    response={200: schemas.ConversionOut, **ITEM_ERRORS},
    summary="Convert a qualified lead into an account, a contact and optionally a deal",
    description="Send `If-Match` with the lead's ETag. Links `account_id` instead of creating "
    "an account from the lead's company. Every captured value stays on the lead and is listed "
    "in `carried` with the records it was copied to (captured keys that are custom fields of "
    "the account, contact or deal). The lead's activities move to the contact and its history "
    "is copied there. 409 when the lead is not qualified or already converted.",
    operation_id="convert_lead",
    exclude_unset=True,
)
def convert_lead(
    request: HttpRequest, record_id: str, body: schemas.LeadConvertIn, response: HttpResponse
) -> Any:
    version = expected_version(request)
    queries.get_lead(actor(request), record_id)  # 404 before 422 for leads the caller cannot see
    result = services.convert_lead(
        actor=actor(request),
        lead_id=record_id,
        expected_version=version,
        source=Source.API,
        **body.model_dump(),
    )
    response["ETag"] = etag(result.lead)
    policy = registry.field_policy(actor(request), Lead.object_type)
    answer = {
        "lead": policy.mask(services.leads.payload(result.lead)),
        "account_id": result.account.pk,
        "contact_id": result.contact.pk,
        "deal_id": result.deal.pk if result.deal is not None else None,
    }
    if "captured" not in policy.hidden:
        answer["carried"] = result.carried
    return answer


pipelines = crud_router(
    Resource(
        name="pipeline",
        service=services.pipelines,
        read=queries.get_pipeline,
        browse=queries.list_pipelines,
        out=schemas.PipelineOut,
        create_in=schemas.PipelineIn,
        patch_in=schemas.PipelinePatch,
        filters=schemas.PipelineFilters,
        tags=["pipelines"],
    )
)

stages = crud_router(
    Resource(
        name="stage",
        service=services.stages,
        read=queries.get_stage,
        browse=queries.list_stages,
        out=schemas.StageOut,
        create_in=schemas.StageIn,
        patch_in=schemas.StagePatch,
        filters=schemas.StageFilters,
        tags=["pipelines"],
    )
)

deals = crud_router(
    Resource(
        name="deal",
        service=services.deals,
        read=queries.get_deal,
        browse=queries.list_deals,
        out=schemas.DealOut,
        create_in=schemas.DealIn,
        patch_in=schemas.DealPatch,
        filters=schemas.DealFilters,
        tags=["deals"],
    )
)

web_forms = crud_router(
    Resource(
        name="web_form",
        service=webforms.web_forms,
        read=queries.get_web_form,
        browse=queries.list_web_forms,
        out=schemas.WebFormOut,
        create_in=schemas.WebFormIn,
        patch_in=schemas.WebFormPatch,
        filters=schemas.WebFormFilters,
        tags=["web forms"],
    )
)


@web_forms.get(
    "/{record_id}/snippet",
    response={200: schemas.SnippetOut, **ITEM_ERRORS},
    summary="The HTML form to embed in a web page (administrators only)",
    operation_id="get_web_form_snippet",
)
def web_form_snippet(request: HttpRequest, record_id: str) -> Any:
    user = actor(request)
    form = queries.get_web_form(user, record_id)
    if not checks.superuser(user):
        raise PermissionDenied("Only administrators see web form snippets")
    return {"html": webforms.snippet(form, action=webforms.action_url(form, request.get_host()))}


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SUBMISSION_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {"type": "object", "additionalProperties": {"type": "string"}}
        },
        "application/json": {"schema": {"type": "object", "additionalProperties": True}},
    },
}


def _client_ip(request: HttpRequest) -> str:
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return "0.0.0.0"  # noqa: S104 - an address to count by, never one to bind to


def _submitted_values(request: HttpRequest) -> dict[str, Any]:
    if request.content_type in _FORM_TYPES:
        try:
            return request.POST.dict()
        except MultiPartParserError:
            raise HttpError(
                400, "The form body is malformed (a multipart body needs its boundary)"
            ) from None
    if request.content_type == "application/json":
        try:
            values = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "The body is not valid JSON") from None
        if not isinstance(values, dict):
            raise HttpError(422, "The body must be a JSON object of form fields")
        return values
    raise HttpError(415, "Send application/x-www-form-urlencoded, multipart/form-data or JSON")


@web_forms.post(
    "/{slug}/submissions",
    auth=None,
    response={
        201: schemas.SubmissionOut,
        303: None,
        400: Problem,
        404: Problem,
        415: Problem,
        422: Problem,
        429: Problem,
    },
    summary="Submit a web form (public, no token): creates a lead",
    description="Accepts the fields of the form's `field_map` as form data or JSON; other "
    "fields are ignored. A browser posting form data is redirected (303) to the form's "
    "`redirect_url` when it has one. Each IP address may submit `rate_limit` times per hour "
    "(429 with `Retry-After`). Invalid values answer 422 naming the form field.",
    operation_id="submit_web_form",
    url_name="submit_web_form",
    openapi_extra={"requestBody": _SUBMISSION_BODY},
)
def submit_web_form(request: HttpRequest, slug: str) -> Any:
    values = _submitted_values(request)
    result = webforms.submit(slug=slug, ip=_client_ip(request), values=values)
    if result.redirect_url and request.content_type in _FORM_TYPES:
        redirect = HttpResponse(status=303)
        redirect["Location"] = result.redirect_url
        return redirect
    return Status(201, {"status": "received"})


#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES: list[tuple[str, Any, str]] = [
    ("/leads", leads, "leads"),
    ("/pipelines", pipelines, "pipelines"),
    ("/stages", stages, "stages"),
    ("/deals", deals, "deals"),
    ("/web-forms", web_forms, "web-forms"),
]

"""The one NinjaAPI at /api/v1/: authentication, problem+json errors, and each domain's routers."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from accord.activities import api as activities_api
from accord.catalog import api as catalog_api
from accord.core import registry
from accord.core.errors import AccordError, PermissionDenied, PreconditionFailed
from accord.core.models import record_types
from accord.core.schemas import Problem
from accord.identity import api as identity_api
from accord.identity import auth, mfa, ratelimit, tokens
from accord.identity.models import ApiToken
from accord.identity.visibility import permitted
from accord.integration import api as integration_api
from accord.marketing import api as marketing_api
from accord.parties import api as parties_api
from accord.sales import api as sales_api
from accord.service import api as service_api

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"


class ScopeDenied(Exception):
    def __init__(self, collection: str, action: str) -> None:
        super().__init__(f"This token lacks the scope {collection}:{action}")


class ObjectDenied(Exception):
    """The caller's role may not read this object type at all."""


def _action(request: HttpRequest) -> str:
    return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"


def _object_type(collection: str) -> str | None:
    """``email-logs`` → ``email_log``: the record type a collection serves, if it is one."""
    object_type = collection.replace("-", "_").removesuffix("s")
    return object_type if object_type in record_types() else None


def check_object_read(request: HttpRequest, collection: str, user: Any) -> None:
    """403 for reads of a type the caller's role may not read. Writes are checked by the
    services (create, edit and delete permissions), whoever calls them."""
    object_type = _object_type(collection)
    if object_type and _action(request) == "read" and not permitted(user, object_type, "read"):
        raise ObjectDenied(f"Your role may not read {collection}")


class TokenAuth(HttpBearer):
    """``Authorization: Bearer acc_…``; the token's scopes must cover the collection."""

    def __init__(self, collection: str) -> None:
        super().__init__()
        self.collection = collection

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = tokens.verify(token, request=request)
        if found is None:
            return None
        ratelimit.check_api_request(request, user=found.user, token=found)
        action = _action(request)
        if not tokens.allows(found, self.collection, action):
            raise ScopeDenied(self.collection, action)
        request.auth_user = found.user  # type: ignore[attr-defined]
        check_object_read(request, self.collection, found.user)
        return found


class BrowserSession(SessionAuth):
    """A staff member signed in through ``/auth/login`` (CSRF-checked). A session whose
    second factor is not settled serves only the ``auth`` endpoints (enrolment, sign-out)."""

    def __init__(self, collection: str) -> None:
        super().__init__()
        self.collection = collection

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None:
            request.auth_user = user  # type: ignore[attr-defined]
            ratelimit.check_api_request(request, user=user, token=None)
            if self.collection != "auth":
                reason = mfa.session_block(request, user)
                if reason is not None:
                    raise auth.SecondFactorMissing(reason)
            check_object_read(request, self.collection, user)
        return user


def auth_for(collection: str) -> list[Any]:
    return [TokenAuth(collection), BrowserSession(collection)]


#: Each domain's api module lists its routers in ROUTES; adding a domain is adding it here.
DOMAIN_APIS = [
    identity_api,
    parties_api,
    activities_api,
    catalog_api,
    sales_api,
    service_api,
    marketing_api,
    integration_api,
]


class AccordAPI(NinjaAPI):
    """Documents error answers with the media type they really have: problem+json."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation and "400" not in responses:
                    # A body that cannot be parsed (bad JSON, a multipart without boundary).
                    responses["400"] = {
                        "description": "Malformed request body",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                        },
                    }
                if operation.get("operationId") != "accord_api_health" and "429" not in responses:
                    # Authenticated calls count against the caller's rate limits; sign-in,
                    # password reset and public forms against their own.
                    responses["429"] = {
                        "description": "Too many requests: wait Retry-After seconds",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                        },
                    }
                for status, answer in responses.items():
                    content = answer.get("content", {})
                    if str(status).startswith(("4", "5")) and "application/json" in content:
                        content[PROBLEM] = content.pop("application/json")
        return schema


api = AccordAPI(
    title="Accord API",
    version="1",
    description="The shared customer record. Errors are RFC 9457 problem+json.",
    urls_namespace="api-v1",
)


def problem(
    request: HttpRequest,
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> HttpResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "errors": errors or [],
        **extra,
    }
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM
    return response


@api.exception_handler(AccordError)
def on_accord_error(request: HttpRequest, exc: AccordError) -> HttpResponse:
    extra: dict[str, Any] = {}
    if isinstance(exc, PreconditionFailed) and exc.current_version is not None:
        extra["current_version"] = exc.current_version
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    response = problem(request, exc.status, exc.title, exc.detail, errors, **extra)
    for name, value in exc.headers().items():
        response[name] = value
    return response


def _field(loc: Any) -> str:
    """A pydantic location as services name fields: ``emails[0]``, ``billing_address.city``."""
    name = ""
    for part in loc:
        if part in ("body", "query", "path", "header", "filters"):
            continue
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg"))} for e in exc.errors]
    names = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return problem(request, 422, "Invalid input", f"Invalid value for: {names}", errors)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(
        request, 401, "Unauthorized", "Send a valid API token: Authorization: Bearer <token>"
    )
    response["WWW-Authenticate"] = 'Bearer realm="accord"'
    return response


@api.exception_handler(ScopeDenied)
def on_scope_denied(request: HttpRequest, exc: ScopeDenied) -> HttpResponse:
    return problem(request, 403, "Forbidden", str(exc))


@api.exception_handler(ObjectDenied)
def on_object_denied(request: HttpRequest, exc: ObjectDenied) -> HttpResponse:
    return problem(request, 403, "Forbidden", str(exc))


@api.exception_handler(AuthorizationError)
def on_forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return problem(request, 403, "Forbidden", str(exc) or "Forbidden")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    title = "Malformed request" if exc.status_code == 400 else "Error"
    return problem(request, exc.status_code, title, str(exc))


@api.exception_handler(MultiPartParserError)
def on_malformed_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return problem(request, 400, "Malformed request", f"The multipart body is malformed: {exc}")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(request, 404, "Not found", "No such resource")


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return problem(request, 500, "Internal error", "An unexpected error occurred; it was logged")


@api.get("/health", auth=None, response={200: dict[str, str]}, tags=["operations"])
def health(request: HttpRequest) -> dict[str, str]:
    """Liveness: answers without a token when the process can serve requests."""
    return {"status": "ok"}


class ReferenceOut(Schema):
    domain: str
    kind: str
    label: str
    object_type: str
    target: str


@api.get(
    "/references",
    response={200: list[ReferenceOut], 401: Problem, 403: Problem, 422: Problem},
    tags=["operations"],
    auth=auth_for("references"),
)
def references(request: HttpRequest, object_type: str, target: str) -> Any:
    """What depends on a field, stage, picklist value or product, before an admin changes it.

    ``target`` is a field key, ``stage:<id>``, ``value:<field>=<value>`` or ``product:<id>``.
    """
    if not request.auth_user.is_superuser:  # type: ignore[attr-defined]
        raise PermissionDenied("Only administrators may inspect dependencies")
    return [ref.__dict__ for ref in registry.references_to(object_type, target)]


for module in DOMAIN_APIS:
    for prefix, router, collection in module.ROUTES:
        api.add_router(prefix, router, auth=auth_for(collection))

for prefix, router in identity_api.PUBLIC_ROUTES:
    api.add_router(prefix, router, auth=None)

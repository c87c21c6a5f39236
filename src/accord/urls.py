"""Top-level URL wiring: the API, Django admin, the staff web app at ``/`` (with the pages each
domain declares), and the error pages: problem+json under /api/, web pages elsewhere."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found, server_error

from accord.api import api
from accord.web import urls as web_urls

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", include(web_urls)),
    *web_urls.domain_urlpatterns,
]


def _problem(request: HttpRequest, status: int, title: str, detail: str) -> HttpResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "errors": [],
    }
    return JsonResponse(body, status=status, content_type="application/problem+json")


def handler404(request: HttpRequest, exception: Any) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _problem(request, 404, "Not found", "No such resource")
    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _problem(request, 500, "Internal error", "An unexpected error occurred")
    return server_error(request)

"""API answers are always JSON: errors raised outside the API's own handlers (405 from routing,
403 from CSRF, Django's 404/500) are turned into RFC 9457 problems under /api/."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse

PROBLEM = "application/problem+json"


class ApiProblemMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or "json" in response.get("Content-Type", "")
        ):
            return response
        status = response.status_code
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        detail = title
        if status == 405 and response.has_header("Allow"):
            detail = f"Allowed methods: {response['Allow']}"
        body = {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.path,
            "errors": [],
        }
        response.content = json.dumps(body).encode()
        response["Content-Type"] = PROBLEM
        return response

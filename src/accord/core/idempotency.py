"""``Idempotency-Key`` on API POSTs: a retried request gets the first answer, not a second write.

The key is scoped to the caller (a digest of their credentials), bound to the request (method,
path and body digest: reusing a key for another request is a 422), and honoured for 24 hours.
A request still in progress under the same key answers 409 so two retries cannot both write.
Answers of 5xx are not kept, so a retry after a server error runs again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_tasks import task

from accord.core import clock
from accord.core.models import IdempotentRequest

RETENTION = dt.timedelta(hours=24)
#: Answers under these paths carry secrets (recovery codes, new passwords) that must never be
#: stored for replay; their endpoints are safe to repeat or refuse a repeat themselves.
NOT_KEPT = ("/api/v1/auth/",)
HEADER = "Idempotency-Key"
MAX_KEY = 255
KEPT_HEADERS = ("Content-Type", "ETag", "Location")


def _principal(request: HttpRequest) -> str | None:
    credentials = request.headers.get("Authorization") or (
        "session:" + request.COOKIES["sessionid"] if "sessionid" in request.COOKIES else None
    )
    if not credentials:
        return None
    return hashlib.sha256(credentials.encode()).hexdigest()


def _problem(request: HttpRequest, status: int, title: str, detail: str) -> HttpResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "errors": [{"field": HEADER, "message": detail}] if status == 422 else [],
    }
    return JsonResponse(body, status=status, content_type="application/problem+json")


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if request.path.startswith(NOT_KEPT):
            return self.get_response(request)
        principal = _principal(request)
        if principal is None:
            return self.get_response(request)  # unauthenticated: the API answers 401 itself
        if not key or len(key) > MAX_KEY:
            return _problem(request, 422, "Invalid input", f"must be 1 to {MAX_KEY} characters")
        digest = hashlib.sha256(request.body).hexdigest()
        IdempotentRequest.objects.filter(
            principal=principal, key=key, created_at__lt=clock.now() - RETENTION
        ).delete()
        try:
            with transaction.atomic():
                entry = IdempotentRequest.objects.create(
                    principal=principal,
                    key=key,
                    method=request.method,
                    path=request.path,
                    request_hash=digest,
                )
        except IntegrityError:
            return self._replay(request, principal, key, digest)
        response = self.get_response(request)
        if response.status_code >= 500 or getattr(response, "streaming", False):
            entry.delete()
            return response
        entry.status_code = response.status_code
        entry.response_body = response.content.decode("utf-8", errors="replace")
        entry.response_headers = {h: response[h] for h in KEPT_HEADERS if h in response}
        entry.save(update_fields=["status_code", "response_body", "response_headers"])
        return response

    def _replay(self, request: HttpRequest, principal: str, key: str, digest: str) -> HttpResponse:
        entry = IdempotentRequest.objects.filter(principal=principal, key=key).first()
        if entry is None:  # expired and removed between the insert and this read
            return _problem(request, 409, "Conflict", "Retry the request")
        if entry.path != request.path or entry.request_hash != digest:
            return _problem(
                request, 422, "Invalid input", "This key was already used for a different request"
            )
        if entry.status_code is None:
            return _problem(
                request, 409, "Conflict", "A request with this key is still in progress"
            )
        response = HttpResponse(entry.response_body, status=entry.status_code)
        for name, value in entry.response_headers.items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response


@task()
def purge_idempotency_keys() -> int:
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=clock.now() - RETENTION).delete()
    return deleted

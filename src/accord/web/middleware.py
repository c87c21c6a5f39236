"""Request handling the staff pages share: sign-in (with the second factor) required, and the
Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accord.identity import auth, mfa

#: Paths with their own authentication (tokens, the API's session check) or none at all.
OWN_AUTH_PREFIXES = ("/api/", "/static/")


class PagesRequireLogin(LoginRequiredMiddleware):
    """Every page needs a signed-in user, unless its view is marked ``login_not_required``
    (the sign-in page itself); others are sent to ``/login?next=<page>``. The API answers for
    itself (401 problem+json), so it is left alone; Django admin marks its own views.

    A session whose second factor is not settled (``mfa.session_block``) serves only the views
    marked ``second_factor_exempt``: someone whose role requires MFA and who has not enrolled
    is sent to enrol; a session that needs a code it never gave is signed out."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponseBase | None:
        if request.path.startswith(OWN_AUTH_PREFIXES):
            return None
        response: HttpResponseBase | None = super().process_view(
            request, view_func, view_args, view_kwargs
        )
        if response is not None or getattr(view_func, "second_factor_exempt", False):
            return response
        user: Any = request.user
        if not user.is_authenticated or mfa.session_block(request, user) is None:
            return None
        here = urlencode({"next": request.get_full_path()})
        if mfa.enrolment_required(user):
            return redirect(f"{reverse('web:mfa-setup')}?{here}")
        auth.sign_out(request)
        return redirect(f"{settings.LOGIN_URL}?{here}")


class ContentSecurityPolicy:
    """Sets ``settings.CONTENT_SECURITY_POLICY`` on every answer outside the API.

    The policy allows scripts and styles only from our own origin (no ``unsafe-inline``): the
    pages carry no inline script, style element or event handler attribute, so text injected into
    a page cannot run. Interactive API docs under /api/ bring their own script and styles."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/") and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response

"""What every Settings page shares: who may open it, how service errors reach the form, and
keyset paging links."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import PermissionDenied as PageDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from accord.core.errors import AccordError, Conflict, InvalidInput, NotFound, PermissionDenied
from accord.identity import visibility

View = TypeVar("View", bound=Callable[..., HttpResponse])

#: Rows per page of the long lists (users, security log).
PAGE_SIZE = 50


def settings_page_for(allowed: Callable[[Any], bool]) -> Callable[[View], View]:
    """A Settings page opened only to whom ``allowed`` admits (others get the 403 page); an
    unknown id is the 404 page, a refusal from a service the 403 page; nothing of it is cached
    (it may show a generated password). Every domain's Settings pages use it."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(request.user):
                raise PageDenied
            try:
                response = view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None
            except PermissionDenied as exc:
                raise PageDenied(exc.detail) from None
            add_never_cache_headers(response)
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


#: Identity's own Settings pages: for access managers.
settings_page = settings_page_for(visibility.manages_access)


def show_errors(
    form: forms.Form,
    exc: AccordError,
    *,
    aliases: Mapping[str, str] | None = None,
    conflict_field: str | None = None,
    rows: str | None = None,
) -> int:
    """Put a service's errors on ``form``: each next to the field it names (``aliases`` maps a
    service's field to the form's), the rest above the form; errors about the list ``rows``
    are left to the rows editor (``views.rows``). Returns the status to answer."""
    if isinstance(exc, InvalidInput) and exc.errors:
        for error in exc.errors:
            if rows and (error.field == rows or error.field.startswith(f"{rows}[")):
                continue
            name = (aliases or {}).get(error.field, error.field)
            if name in form.fields:
                form.add_error(name, error.message)
            else:
                form.add_error(None, f"{error.field}: {error.message}")
    elif isinstance(exc, Conflict) and conflict_field in form.fields:
        form.add_error(conflict_field, exc.detail)
    else:
        form.add_error(None, exc.detail)
    return exc.status


def page_links(request: HttpRequest, next_cursor: str | None) -> dict[str, str | None]:
    """Links to the next page (``next_cursor``) and back to the first, keeping the filters."""
    params = request.GET.copy()
    params.pop("cursor", None)
    first = f"?{params.urlencode()}" if request.GET.get("cursor") else None
    following = None
    if next_cursor:
        params["cursor"] = next_cursor
        following = f"?{params.urlencode()}"
    return {"first_page": first, "next_page": following}


#: Service errors a form shows (a 404 or a server error is a page of its own).
FORM_ERRORS = (InvalidInput, Conflict, PermissionDenied)

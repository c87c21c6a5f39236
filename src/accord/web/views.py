"""The shell's own pages: home, workspaces, the Settings area's front page, search, and
signing in and out (with the second-factor step and MFA enrolment)."""

from __future__ import annotations

import functools
import math
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accord.core import pagination
from accord.core import search as core_search
from accord.core.errors import AccordError, InvalidInput, TooManyRequests
from accord.core.models import record_types
from accord.identity import auth, mfa, passwords
from accord.identity.models import MfaDevice
from accord.identity.visibility import hidden_fields, visible
from accord.web import dashboards, records
from accord.web.pages import site

#: Records shown per object type on the search page.
SEARCH_GROUP_SIZE = 10
#: Records per object type in the search box's suggestions, and the shortest query they answer.
SUGGEST_GROUP_SIZE = 5
SUGGEST_MIN_CHARS = 2
NEWEST_FIRST = pagination.Sort(field="id", descending=True)
#: The session key holding an MFA setup until the person confirms it with a code.
SETUP_KEY = "accord_mfa_setup"


def second_factor_exempt(view: Any) -> Any:
    """Mark a view that a session still settling its second factor may use (enrolment, sign
    out); every other page sends such a session to settle it first."""
    view.second_factor_exempt = True
    return view


def home(request: HttpRequest) -> HttpResponse:
    """The dashboard cards of the user's department (every card for people of no department)."""
    return render(
        request,
        "web/home.html",
        _with_cards(request, dashboards.home_workspaces(request.user)),
    )


def workspace(request: HttpRequest, key: str) -> HttpResponse:
    """A workspace's dashboard cards above its menu of pages."""
    found = site.workspaces[key]
    return render(
        request,
        "web/workspace.html",
        {
            "workspace": found,
            "pages": site.pages_for(request.user, key),
            **_with_cards(request, [key]),
        },
    )


def _with_cards(request: HttpRequest, workspaces: list[str]) -> dict[str, Any]:
    cards = dashboards.cards(request.user, workspaces)
    # plotly.js (4 MB, 1.4 MB gzipped) is loaded only by pages that draw a chart.
    charted = any("figure" in c.get("data", {}) for c in cards)
    version = f"?v={dashboards.PLOTLY_VERSION}"
    return {
        "cards": cards,
        "plotly_js": f"{reverse('web:plotly-js')}{version}" if charted else "",
        "plotly_css": f"{reverse('web:plotly-css')}{version}" if charted else "",
        "plotly_style_ids": dashboards.plotly_style_ids() if charted else [],
    }


def settings_index(request: HttpRequest) -> HttpResponse:
    if not site.settings_for(request.user):
        raise PermissionDenied
    return render(request, "web/settings.html")


def search(request: HttpRequest) -> HttpResponse:
    """Records of every searchable type matching the query, grouped by type, each group
    filtered by what the user may see (and never matched on a field hidden from them).

    With ``suggest=1`` (the search box's type-ahead, see accord.js) the answer is only the
    suggestion list: the newest few records per type and a link to all results, through the
    same :func:`_search_groups`, so suggestions cannot show more than the full page."""
    query = request.GET.get("q", "").strip()
    if request.GET.get("suggest"):
        return _suggestions(request, query)
    groups: list[dict[str, Any]] = []
    error = ""
    if query:
        try:
            groups = _search_groups(request.user, query)
        except InvalidInput as exc:
            error = _problem(exc)
    return render(
        request,
        "web/search.html",
        {"search_query": query, "groups": groups, "error": error},
        status=422 if error else 200,
    )


def _suggestions(request: HttpRequest, query: str) -> HttpResponse:
    """The type-ahead's list. Bad input is a message in the list, with a 200, so the script
    shows it like any answer; a query too short to narrow anything answers an empty list."""
    groups: list[dict[str, Any]] = []
    error = ""
    if len(query) >= SUGGEST_MIN_CHARS:
        try:
            groups = _search_groups(request.user, query, size=SUGGEST_GROUP_SIZE)
        except InvalidInput as exc:
            error = _problem(exc)
    response = render(
        request,
        "web/search_suggest.html",
        {
            "search_query": query,
            "groups": groups,
            "error": error,
            "count": sum(len(g["records"]) for g in groups),
            "short": len(query) < SUGGEST_MIN_CHARS,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _problem(exc: InvalidInput) -> str:
    return "; ".join(e.message for e in exc.errors) or exc.detail


def _search_groups(user: Any, query: str, *, size: int = SEARCH_GROUP_SIZE) -> list[dict[str, Any]]:
    """Per searchable type the user may read, the newest ``size`` matches (labels and links to
    their record pages) and whether there are more. Each type costs one keyset page of the
    search index (core.search.page), never a query per row."""
    groups = []
    pages = _record_pages()
    for object_type, model in _searchable_types():
        queryset = visible(user, model.objects.all())
        if queryset.query.is_empty():  # the role may not read this type at all
            continue
        hidden = hidden_fields(user, object_type)
        rows, more = core_search.page(
            queryset,
            object_type,
            query,
            hidden=hidden,
            sort=NEWEST_FIRST,
            cursor=None,
            limit=size,
        )
        if rows:
            page_name = pages.get(object_type)
            groups.append(
                {
                    "object_type": object_type,
                    "label": str(model._meta.verbose_name_plural).capitalize(),
                    "records": [
                        {
                            "label": _label(r, hidden),
                            "url": reverse("records:detail", args=[page_name, r.pk])
                            if page_name
                            else "",
                        }
                        for r in rows
                    ],
                    "more": more is not None,
                }
            )
    return groups


@functools.cache
def _record_pages() -> dict[str, str]:
    """The record page (``records:detail``'s type name) of each object type that has one."""
    return {rt.object_type: rt.name for rt in records.TYPES.values()}


def _searchable_types() -> list[tuple[str, Any]]:
    """The types the search index holds, in the order of the record pages' menus (accounts,
    contacts, leads, deals, …), then the rest by name."""
    order = {name: i for i, name in enumerate(_record_pages())}
    found = [(t, m) for t, m in record_types().items() if core_search.searchable(t) is not None]
    return sorted(found, key=lambda pair: (order.get(pair[0], len(order)), pair[0]))


def _label(record: Any, hidden: frozenset[str]) -> str:
    """What a result is called, from fields the user may see (``str(record)`` could show a
    hidden one): its name, else the person's names, else its SKU, else its id."""
    if hasattr(record, "name") and "name" not in hidden:
        return str(record.name)
    names = [
        str(getattr(record, f))
        for f in ("first_name", "last_name")
        if getattr(record, f, "") and f not in hidden
    ]
    if names:
        return " ".join(names)
    if getattr(record, "sku", "") and "sku" not in hidden:
        return str(record.sku)
    return f"{record._meta.verbose_name} {record.pk}"


# -- signing in and out ------------------------------------------------------------------------


class PageForm(forms.Form):
    """A form of the shell: labels without Django's trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignInForm(PageForm):
    username = forms.CharField(
        label="Username",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(PageForm):
    code = forms.CharField(
        label="Code",
        max_length=40,
        help_text="The six-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: the page that sent the person here, if it is ours."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("web:home")


def _to(url_name: str, request: HttpRequest) -> HttpResponseRedirect:
    """A redirect to ``url_name`` that carries the page to go to afterwards."""
    return redirect(f"{reverse(url_name)}?{urlencode({'next': _next_url(request)})}")


def _wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _locked(request: HttpRequest, template: str, form: forms.Form, exc: TooManyRequests) -> Any:
    form.add_error(
        None,
        f"Too many failed attempts. Sign-in is locked for now: try again in "
        f"{_wait(exc.retry_after)}.",
    )
    response = render(request, template, {"form": form, "next": _next_url(request)}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _after_sign_in(request: HttpRequest) -> HttpResponseRedirect:
    user: Any = request.user
    if mfa.enrolment_required(user):
        return _to("web:mfa-setup", request)
    return redirect(_next_url(request))


@login_not_required
@second_factor_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """The password step. The same message answers an unknown name, a wrong password and a
    deactivated account; repeated failures lock the name (429 with the wait)."""
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = auth.sign_in(
                request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except TooManyRequests as exc:
            return _locked(request, "web/login.html", form, exc)
        except AccordError as exc:
            form.add_error(None, exc.detail)
        else:
            if outcome == auth.MFA_REQUIRED:
                return _to("web:login-verify", request)
            return _after_sign_in(request)
    return render(request, "web/login.html", {"form": form, "next": _next_url(request)})


@login_not_required
@second_factor_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second step for people with MFA: a code of their app, or a recovery code."""
    if auth.PENDING_KEY not in request.session:
        return _to("web:login", request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            auth.complete_second_factor(request, code=form.cleaned_data["code"])
        except TooManyRequests as exc:
            return _locked(request, "web/login_verify.html", form, exc)
        except AccordError as exc:
            if auth.PENDING_KEY not in request.session:  # the five minutes ran out
                messages.error(request, exc.detail)
                return _to("web:login", request)
            form.add_error("code", exc.detail)
        else:
            return redirect(_next_url(request))
    return render(request, "web/login_verify.html", {"form": form, "next": _next_url(request)})


@second_factor_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code (or type the key), confirm with a code,
    and see the recovery codes once."""
    user: Any = request.user
    if mfa.is_enrolled(user):
        messages.info(request, "Multi-factor authentication is already on for your account.")
        return redirect(_next_url(request))
    setup = _pending_setup(request, user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and setup is not None and form.is_valid():
        try:
            codes = mfa.confirm(user, form.cleaned_data["code"], request=request)
        except TooManyRequests as exc:
            form.add_error(None, f"Too many wrong codes: try again in {_wait(exc.retry_after)}.")
        except AccordError as exc:
            if exc.errors:
                form.add_error("code", f"This code {exc.errors[0].message}.")
            else:
                form.add_error(None, exc.detail)
        else:
            request.session.pop(SETUP_KEY, None)
            return render(
                request, "web/mfa_codes.html", {"codes": codes, "next": _next_url(request)}
            )
    if setup is None:
        started = mfa.start_setup(user)
        setup = {"secret": started.secret, "qr_svg": started.qr_svg}
        request.session[SETUP_KEY] = setup
        form = CodeForm()
    return render(
        request,
        "web/mfa_setup.html",
        {"form": form, "setup": setup, "required": mfa.required(user), "next": _next_url(request)},
    )


def _pending_setup(request: HttpRequest, user: Any) -> dict[str, str] | None:
    """The setup this session started and has not confirmed yet, so a reload or a mistyped
    code does not make the person scan a new key."""
    setup = request.session.get(SETUP_KEY)
    if not isinstance(setup, dict):
        return None
    pending = MfaDevice.objects.filter(
        user=user, confirmed_at__isnull=True, secret=setup.get("secret")
    )
    return setup if pending.exists() else None


class ForgotPasswordForm(PageForm):
    email = forms.CharField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ResetPasswordForm(PageForm):
    uid = forms.CharField(max_length=64, widget=forms.HiddenInput)
    token = forms.CharField(max_length=128, widget=forms.HiddenInput)
    new_password = forms.CharField(
        label="New password",
        max_length=1024,
        strip=False,
        help_text="At least 12 characters; a passphrase of a few words is easy to remember.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
    )


@login_not_required
@second_factor_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link. The answer is the same whether or not the address is known."""
    form = ForgotPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            passwords.request_reset(request, email=form.cleaned_data["email"])
        except TooManyRequests as exc:
            return _locked(request, "web/forgot_password.html", form, exc)
        return render(request, "web/forgot_password.html", {"sent": True})
    return render(request, "web/forgot_password.html", {"form": form})


@login_not_required
@second_factor_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest) -> HttpResponse:
    """Choose a new password with the link of a reset mail (``?uid=…&token=…``)."""
    initial = {"uid": request.GET.get("uid", ""), "token": request.GET.get("token", "")}
    form = ResetPasswordForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            passwords.confirm_reset(
                request,
                uid=form.cleaned_data["uid"],
                token=form.cleaned_data["token"],
                new_password=form.cleaned_data["new_password"],
            )
        except InvalidInput as exc:
            status = 422
            for error in exc.errors:
                if error.field in ("new_password", "password"):
                    form.add_error("new_password", error.message)
                else:  # the link itself: invalid, used or expired
                    form.add_error(None, f"{error.message[:1].upper()}{error.message[1:]}.")
        else:
            messages.success(request, "Your password is changed: sign in with it.")
            return redirect("web:login")
    elif request.method == "POST":
        status = 422
    return render(request, "web/reset_password.html", {"form": form}, status=status)


@login_not_required
@second_factor_exempt
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth.sign_out(request)
    return redirect("web:login")

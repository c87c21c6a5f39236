"""Settings pages for people: users, departments and teams."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from accord.core.pagination import ListParams
from accord.identity import forms, queries, services
from accord.identity.models import Department, Team
from accord.identity.views.common import (
    FORM_ERRORS,
    PAGE_SIZE,
    page_links,
    settings_page,
    show_errors,
)

# -- users -----------------------------------------------------------------------------------


@settings_page
@require_http_methods(["GET"])
def users(request: HttpRequest) -> HttpResponse:
    """Everyone who signs in, filtered by department, role or status, a page at a time. With
    htmx, changing a filter swaps only the table (the ``user-rows`` partial)."""
    department = request.GET.get("department") or None
    role = request.GET.get("role") or None
    status = request.GET.get("status", "active")
    active = {"active": True, "inactive": False}.get(status)
    params = ListParams(cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE)
    rows, next_cursor = queries.list_users(
        request.user, params, department_id=department, role_id=role, is_active=active
    )
    context = {
        "users": rows,
        "departments": forms.department_choices(),
        "roles": forms.role_choices(),
        "filters": {"department": department or "", "role": role or "", "status": status},
        **page_links(request, next_cursor),
    }
    template = "identity/users.html"
    htmx = getattr(request, "htmx", None)
    # A history restore (the back button after the cache forgot the page) wants the whole page.
    if htmx and not htmx.history_restore_request:
        template += "#user-rows"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@settings_page
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    form = forms.UserForm(request.POST or None, creating=True)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user, password = services.add_user(
                actor=request.user, data=form.data_for_service(), request=request
            )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc, conflict_field="username")
        else:
            return render(
                request,
                "identity/user_password.html",
                {"subject": user, "password": password, "created": True},
            )
    elif request.method == "POST":
        status = 422
    return render(request, "identity/user_form.html", {"form": form}, status=status)


@settings_page
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, user_id: Any) -> HttpResponse:
    subject = queries.get_user(request.user, user_id)
    form = forms.UserForm(
        request.POST or None, creating=False, initial=forms.UserForm.initial_for(subject)
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.change_user(
                actor=request.user,
                user_id=subject.pk,
                data=form.data_for_service(),
                request=request,
            )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc)
        else:
            messages.success(request, f"Saved {subject.username}.")
            return redirect("identity:user", user_id=subject.pk)
    elif request.method == "POST":
        status = 422
    return render(
        request, "identity/user_form.html", {"form": form, "subject": subject}, status=status
    )


@settings_page
@require_POST
def user_active(request: HttpRequest, user_id: Any, active: bool) -> HttpResponse:
    change = services.reactivate_user if active else services.deactivate_user
    try:
        subject = change(actor=request.user, user_id=user_id, request=request)
    except FORM_ERRORS as exc:
        messages.error(request, exc.detail)
    else:
        verb = "reactivated" if active else "deactivated; their sessions and tokens stopped working"
        messages.success(request, f"{subject.username} {verb}.")
    return redirect("identity:user", user_id=user_id)


@settings_page
@require_POST
def user_reset_password(request: HttpRequest, user_id: Any) -> HttpResponse:
    try:
        subject, password = services.reset_password(
            actor=request.user, user_id=user_id, request=request
        )
    except FORM_ERRORS as exc:
        messages.error(request, exc.detail)
        return redirect("identity:user", user_id=user_id)
    return render(
        request,
        "identity/user_password.html",
        {"subject": subject, "password": password, "created": False},
    )


# -- departments -----------------------------------------------------------------------------


def _all_departments(request: HttpRequest) -> list[Department]:
    rows, _ = queries.list_departments(request.user, ListParams(limit=200))
    return rows


@settings_page
@require_http_methods(["GET", "POST"])
def departments(request: HttpRequest) -> HttpResponse:
    """The departments, and a form to add one."""
    form = forms.DepartmentForm(request.POST or None, initial={"kind": Department.Kind.OTHER})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            made = services.create_department(
                actor=request.user, data=form.cleaned_data, request=request
            )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc, conflict_field="name")
        else:
            messages.success(request, f"Added the department {made.name}.")
            return redirect("identity:departments")
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "identity/departments.html",
        {"departments": _all_departments(request), "form": form},
        status=status,
    )


@settings_page
@require_http_methods(["GET", "POST"])
def department_edit(request: HttpRequest, department_id: Any) -> HttpResponse:
    department = queries.get_department(request.user, department_id)
    form = forms.DepartmentForm(
        request.POST or None, initial={"name": department.name, "kind": department.kind}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.change_department(
                actor=request.user,
                department_id=department.pk,
                data=form.cleaned_data,
                request=request,
            )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc, conflict_field="name")
        else:
            messages.success(request, "Saved the department.")
            return redirect("identity:departments")
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "identity/department_form.html",
        {"department": department, "form": form},
        status=status,
    )


@settings_page
@require_POST
def department_delete(request: HttpRequest, department_id: Any) -> HttpResponse:
    try:
        services.delete_department(actor=request.user, department_id=department_id, request=request)
    except FORM_ERRORS as exc:
        messages.error(request, exc.detail)
        return redirect("identity:department", department_id=department_id)
    messages.success(request, "Deleted the department.")
    return redirect("identity:departments")


# -- teams -----------------------------------------------------------------------------------


@settings_page
@require_http_methods(["GET"])
def teams(request: HttpRequest) -> HttpResponse:
    rows, _ = queries.list_teams(request.user, ListParams(limit=200))
    return render(request, "identity/teams.html", {"teams": rows})


def _team_form_page(request: HttpRequest, team: Team | None) -> HttpResponse:
    initial = forms.TeamForm.initial_for(team) if team else None
    form = forms.TeamForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            if team is None:
                team = services.create_team(
                    actor=request.user, data=form.data_for_service(), request=request
                )
            else:
                services.change_team(
                    actor=request.user,
                    team_id=team.pk,
                    data=form.data_for_service(),
                    request=request,
                )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc, conflict_field="name")
        else:
            messages.success(request, f"Saved the team {team.name}.")
            return redirect("identity:teams")
    elif request.method == "POST":
        status = 422
    return render(request, "identity/team_form.html", {"team": team, "form": form}, status=status)


@settings_page
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    return _team_form_page(request, None)


@settings_page
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, team_id: Any) -> HttpResponse:
    return _team_form_page(request, queries.get_team(request.user, team_id))


@settings_page
@require_POST
def team_delete(request: HttpRequest, team_id: Any) -> HttpResponse:
    try:
        services.delete_team(actor=request.user, team_id=team_id, request=request)
    except FORM_ERRORS as exc:
        messages.error(request, exc.detail)
        return redirect("identity:team", team_id=team_id)
    messages.success(request, "Deleted the team.")
    return redirect("identity:teams")

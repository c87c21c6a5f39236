"""Settings pages for roles: the hierarchy, and each role's object permissions and field
security."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accord.core.errors import FieldError, InvalidInput
from accord.core.models import record_types
from accord.core.pagination import ListParams
from accord.identity import forms, queries, services, visibility
from accord.identity.models import FieldAccess
from accord.identity.views.common import FORM_ERRORS, settings_page, show_errors

#: The choices of a field's access on the field security page ("" = no rule: visible).
FIELD_ACCESS = [
    ("", "Visible"),
    (FieldAccess.READ_ONLY, "Read-only"),
    (FieldAccess.HIDDEN, "Hidden"),
]


def _tree(request: HttpRequest) -> list[dict[str, Any]]:
    """The roles as nested ``{"role", "children"}`` nodes, siblings by name."""
    rows, _ = queries.list_roles(request.user, ListParams(sort="path", limit=200))
    nodes: dict[Any, dict[str, Any]] = {r.pk: {"role": r, "children": []} for r in rows}
    top: list[dict[str, Any]] = []
    for role in rows:
        parent = nodes.get(role.parent_id)
        (parent["children"] if parent else top).append(nodes[role.pk])
    for node in [*nodes.values(), {"children": top}]:
        node["children"].sort(key=lambda n: n["role"].name.casefold())
    return top


@settings_page
@require_http_methods(["GET", "POST"])
def roles(request: HttpRequest) -> HttpResponse:
    """The role hierarchy as a tree, and a form to add a role."""
    form = forms.RoleForm(request.POST or None, prefix="new")
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            role = services.create_role(
                actor=request.user, data=form.data_for_service(), request=request
            )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc, conflict_field="name")
        else:
            messages.success(
                request,
                f"Added the role {role.name}. It may use no object type until you set its "
                "permissions.",
            )
            return redirect("identity:role-permissions", role_id=role.pk)
    elif request.method == "POST":
        status = 422
    return render(
        request, "identity/roles.html", {"tree": _tree(request), "form": form}, status=status
    )


@settings_page
@require_http_methods(["GET", "POST"])
def role_edit(request: HttpRequest, role_id: Any) -> HttpResponse:
    """Rename, describe, flag or move a role; moving it under itself or a role below it is
    refused next to "Reports to"."""
    role = queries.get_role(request.user, role_id)
    form = forms.RoleForm(request.POST or None, initial=forms.RoleForm.initial_for(role))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.change_role(
                actor=request.user, role_id=role.pk, data=form.data_for_service(), request=request
            )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc, conflict_field="name")
        else:
            messages.success(request, f"Saved the role {form.cleaned_data['name']}.")
            return redirect("identity:roles")
    elif request.method == "POST":
        status = 422
    return render(request, "identity/role_form.html", {"role": role, "form": form}, status=status)


@settings_page
@require_POST
def role_delete(request: HttpRequest, role_id: Any) -> HttpResponse:
    try:
        services.delete_role(actor=request.user, role_id=role_id, request=request)
    except FORM_ERRORS as exc:
        messages.error(request, exc.detail)
        return redirect("identity:role", role_id=role_id)
    messages.success(request, "Deleted the role.")
    return redirect("identity:roles")


# -- object permissions ----------------------------------------------------------------------


def _matrix_rows(posted: dict[str, frozenset[str]], errors: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "object_type": object_type,
            "label": object_type.replace("_", " "),
            "actions": [(a, a in posted.get(object_type, ())) for a in visibility.ACTIONS],
            "error": errors.get(object_type, ""),
        }
        for object_type in sorted(record_types())
    ]


@settings_page
@require_http_methods(["GET", "POST"])
def role_permissions(request: HttpRequest, role_id: Any) -> HttpResponse:
    """The role's permission matrix: each object type by create / read / edit / delete / export.
    Saving replaces the whole matrix; an unticked row means the role may not use the type."""
    role, matrix = queries.object_permissions(request.user, role_id)
    errors: dict[str, str] = {}
    problem = ""
    status = 200
    if request.method == "POST":
        submitted = {
            object_type: {a: f"perm.{object_type}.{a}" in request.POST for a in visibility.ACTIONS}
            for object_type in sorted(record_types())
        }
        try:
            services.set_object_permissions(
                actor=request.user, role_id=role.pk, permissions=submitted, request=request
            )
        except FORM_ERRORS as exc:
            status = exc.status
            problem = exc.detail
            for error in exc.errors:
                errors[error.field.removeprefix("permissions.")] = error.message
        else:
            messages.success(request, f"Saved the permissions of {role.name}.")
            return redirect("identity:role-permissions", role_id=role.pk)
        matrix = {t: frozenset(a for a, on in acts.items() if on) for t, acts in submitted.items()}
    return render(
        request,
        "identity/role_permissions.html",
        {
            "role": role,
            "actions": visibility.ACTIONS,
            "rows": _matrix_rows(matrix, errors),
            "problem": problem,
        },
        status=status,
    )


# -- field security --------------------------------------------------------------------------


def _fields_of(object_type: str) -> list[str]:
    """The fields field security can address on ``object_type``: its payload keys and its
    custom fields (``custom_fields.<key>``; parties sits above identity, so by app label)."""
    custom_field = apps.get_model("parties", "CustomField")
    custom = custom_field.objects.filter(record_type=object_type).values_list("key", flat=True)
    keys = set(services.record_fields(object_type)) - services.IDENTIFYING_FIELDS
    return sorted(keys) + sorted(f"custom_fields.{key}" for key in custom)


@settings_page
@require_http_methods(["GET", "POST"])
def role_fields(request: HttpRequest, role_id: Any) -> HttpResponse:
    """Field security of one role for one object type at a time: each field visible,
    read-only or hidden. Saving keeps the role's rules for the other object types."""
    role, stored = queries.field_permissions(request.user, role_id)
    types = sorted(record_types())
    object_type = request.POST.get("object_type") or request.GET.get("object_type") or types[0]
    if object_type not in types:
        raise Http404
    fields = _fields_of(object_type)
    current = {fp.field: fp.access for fp in stored if fp.object_type == object_type}
    errors: dict[str, str] = {}
    problem = ""
    status = 200
    if request.method == "POST":
        chosen = {f: request.POST.get(f"access.{f}", "") for f in fields}
        others = [
            {"object_type": fp.object_type, "field": fp.field, "access": fp.access}
            for fp in stored
            if fp.object_type != object_type
        ]
        mine = [
            {"object_type": object_type, "field": f, "access": a} for f, a in chosen.items() if a
        ]
        try:
            services.set_field_permissions(
                actor=request.user, role_id=role.pk, fields=others + mine, request=request
            )
        except FORM_ERRORS as exc:
            status = exc.status
            problem = exc.detail
            errors = _field_errors(exc, others, mine)
        else:
            messages.success(request, f"Saved the field security of {role.name}.")
            return redirect(f"{request.path}?object_type={object_type}")
        current = {f: a for f, a in chosen.items() if a}
    rows = [{"field": f, "access": current.get(f, ""), "error": errors.get(f, "")} for f in fields]
    return render(
        request,
        "identity/role_fields.html",
        {
            "role": role,
            "object_types": types,
            "object_type": object_type,
            "rows": rows,
            "choices": FIELD_ACCESS,
            "problem": problem,
        },
        status=status,
    )


def _field_errors(
    exc: Exception, others: list[dict[str, str]], mine: list[dict[str, str]]
) -> dict[str, str]:
    """The service names rows by their place in the list it got (``fields[3].field``); map
    them back to this page's fields."""
    errors: dict[str, str] = {}
    if not isinstance(exc, InvalidInput):
        return errors
    sent = others + mine
    for error in exc.errors:
        index = _index_of(error)
        if index is not None and len(others) <= index < len(sent):
            errors[sent[index]["field"]] = error.message
    return errors


def _index_of(error: FieldError) -> int | None:
    head = error.field.split("]", 1)[0]
    number = head.removeprefix("fields[")
    return int(number) if number.isdigit() else None

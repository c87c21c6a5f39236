"""Settings pages for sharing: territories, the org-wide sharing defaults and sharing rules."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accord.core.models import record_types
from accord.core.pagination import ListParams
from accord.identity import forms, queries, services
from accord.identity.models import SharingRule, Territory
from accord.identity.views import rows as row_editor
from accord.identity.views.common import FORM_ERRORS, settings_page, show_errors

# -- territories -----------------------------------------------------------------------------

RULE_KEYS = (
    "country",
    "region",
    "postcode_from",
    "postcode_to",
    "industry",
    "employees_min",
    "employees_max",
)
_WHOLE_NUMBERS = ("employees_min", "employees_max")


def _territory_rule(values: dict[str, str]) -> dict[str, Any]:
    """A row of the rules editor as a territory rule: the filled-in conditions, sizes as whole
    numbers when they are (else as typed, for the service to refuse)."""
    rule: dict[str, Any] = {}
    for key, text in values.items():
        if text:
            is_number = key in _WHOLE_NUMBERS and text.lstrip("-").isdigit()
            rule[key] = int(text) if is_number else text
    return rule


def _rule_row(rule: dict[str, Any]) -> row_editor.Row:
    return row_editor.Row({k: str(rule.get(k, "")) for k in RULE_KEYS})


@settings_page
@require_http_methods(["GET"])
def territories(request: HttpRequest) -> HttpResponse:
    found, _ = queries.list_territories(request.user, ListParams(limit=200))
    return render(request, "identity/territories.html", {"territories": found})


def _territory_page(request: HttpRequest, territory: Territory | None) -> HttpResponse:
    initial = forms.TerritoryForm.initial_for(territory) if territory else None
    form = forms.TerritoryForm(request.POST or None, initial=initial)
    if request.method == "POST":
        shown = row_editor.posted_rows(request.POST, "rules", RULE_KEYS)
    else:
        shown = [_rule_row(r) for r in (territory.rules if territory else [])]
    rules_errors: list[str] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        data = {
            **form.cleaned_data,
            "rules": row_editor.send(shown, _territory_rule),
        }
        try:
            if territory is None:
                territory = services.create_territory(
                    actor=request.user, data=data, request=request
                )
            else:
                services.change_territory(
                    actor=request.user, territory_id=territory.pk, data=data, request=request
                )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc, conflict_field="name", rows="rules")
            rules_errors = row_editor.attach_errors(shown, exc, "rules")
        else:
            messages.success(request, f"Saved the territory {territory.name}.")
            return redirect("identity:territories")
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "identity/territory_form.html",
        {
            "territory": territory,
            "form": form,
            "rows": row_editor.with_spare(shown, RULE_KEYS),
            "rules_errors": rules_errors,
        },
        status=status,
    )


@settings_page
@require_http_methods(["GET", "POST"])
def territory_create(request: HttpRequest) -> HttpResponse:
    return _territory_page(request, None)


@settings_page
@require_http_methods(["GET", "POST"])
def territory_edit(request: HttpRequest, territory_id: Any) -> HttpResponse:
    return _territory_page(request, queries.get_territory(request.user, territory_id))


@settings_page
@require_POST
def territory_delete(request: HttpRequest, territory_id: Any) -> HttpResponse:
    try:
        services.delete_territory(actor=request.user, territory_id=territory_id, request=request)
    except FORM_ERRORS as exc:
        messages.error(request, exc.detail)
        return redirect("identity:territory", territory_id=territory_id)
    messages.success(request, "Deleted the territory.")
    return redirect("identity:territories")


# -- sharing defaults and the list of rules --------------------------------------------------


def _default_forms(request: HttpRequest) -> list[tuple[Any, forms.SharingDefaultForm]]:
    data = request.POST if request.method == "POST" else None
    return [
        (
            row,
            forms.SharingDefaultForm(
                data,
                prefix=row.object_type,
                initial={"access": row.access, "department_level": row.department_level},
            ),
        )
        for row in queries.sharing_defaults(request.user)
    ]


@settings_page
@require_http_methods(["GET", "POST"])
def sharing(request: HttpRequest) -> HttpResponse:
    """The org-wide default of each object type (one form for all), and the sharing rules.
    Saving changes the defaults that differ, all or none."""
    defaults = _default_forms(request)
    status = 200
    if request.method == "POST":
        if all(form.is_valid() for _, form in defaults):
            changed = [(row, form) for row, form in defaults if form.has_changed()]
            failing = None
            try:
                # One transaction for the whole table: a refused row leaves every row as it was.
                with transaction.atomic():
                    for row, form in changed:
                        failing = form
                        services.set_sharing_default(
                            actor=request.user,
                            object_type=row.object_type,
                            data=form.cleaned_data,
                            request=request,
                        )
            except FORM_ERRORS as exc:
                assert failing is not None
                status = show_errors(failing, exc)
            else:
                messages.success(request, "Saved the sharing defaults.")
                return redirect("identity:sharing")
        else:
            status = 422
    rules, _ = queries.list_sharing_rules(request.user, ListParams(limit=200))
    return render(
        request,
        "identity/sharing.html",
        {"defaults": defaults, "rules": [_rule_summary(r) for r in rules]},
        status=status,
    )


def _grantee_name(rule: SharingRule) -> str:
    model = forms.GRANTEE_MODELS.get(rule.grantee_type)
    row = model._default_manager.filter(pk=rule.grantee_id).first() if model else None
    label = forms.GRANTEE_LABELS.get(rule.grantee_type, rule.grantee_type)
    return f"{label}: {row}" if row else f"{label}: (removed)"


def _criteria_text(criteria: list[dict[str, Any]]) -> str:
    words = {op: label for op, label in OPERATOR_LABELS}
    return " and ".join(
        f"{c['field']} {words.get(c.get('op', 'eq'), c.get('op'))} {_value_text(c.get('value'))}"
        for c in criteria
    )


def _rule_summary(rule: SharingRule) -> dict[str, Any]:
    return {
        "rule": rule,
        "criteria": _criteria_text(rule.criteria),
        "grantee": _grantee_name(rule),
    }


# -- sharing rules ---------------------------------------------------------------------------

OPERATOR_LABELS = [
    ("eq", "is"),
    ("ne", "is not"),
    ("in", "is one of"),
    ("gt", "is greater than"),
    ("gte", "is at least"),
    ("lt", "is less than"),
    ("lte", "is at most"),
    ("contains", "contains"),
    ("is_null", "is empty"),
]
CRITERION_KEYS = ("field", "op", "value")


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _criterion(values: dict[str, str]) -> dict[str, Any]:
    """A row of the criteria editor as a condition: ``in`` takes a comma-separated list and
    ``is_null`` true or false; other values go as typed, converted by the service."""
    op = values.get("op") or "eq"
    text = values.get("value", "")
    value: Any = text
    if op == "in":
        value = [part.strip() for part in text.split(",") if part.strip()]
    elif op == "is_null":
        value = {"true": True, "yes": True, "false": False, "no": False}.get(text.lower(), text)
    return {"field": values.get("field", ""), "op": op, "value": value}


def _criterion_row(condition: dict[str, Any]) -> row_editor.Row:
    return row_editor.Row(
        {
            "field": str(condition.get("field", "")),
            "op": str(condition.get("op", "eq")),
            "value": _value_text(condition.get("value")),
        }
    )


def criteria_fields(object_type: str) -> list[str]:
    """What a criterion of ``object_type`` may name: its columns (relations by ``<name>_id``)
    and its custom fields."""
    model = record_types().get(object_type)
    if model is None:
        return []
    names = []
    for column in model._meta.concrete_fields:
        if column.name == "custom_fields":
            continue
        names.append(column.attname if column.is_relation else column.name)
    custom_field = apps.get_model("parties", "CustomField")
    keys = custom_field.objects.filter(record_type=object_type).values_list("key", flat=True)
    return sorted(names) + sorted(f"custom_fields.{key}" for key in keys)


def _initial_rule(rule: SharingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "object_type": rule.object_type,
        "grantee": f"{rule.grantee_type}:{rule.grantee_id}",
        "level": rule.level,
        "active": rule.active,
    }


def _rule_page(request: HttpRequest, rule: SharingRule | None) -> HttpResponse:
    types = queries.owned_object_types()
    form = forms.SharingRuleForm(
        request.POST or None,
        object_types=types,
        initial=_initial_rule(rule) if rule else {"active": True},
    )
    if request.method == "POST":
        shown = row_editor.posted_rows(request.POST, "criteria", CRITERION_KEYS)
    else:
        shown = [_criterion_row(c) for c in (rule.criteria if rule else [])]
    criteria_errors: list[str] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        data = {**form.data_for_service(), "criteria": row_editor.send(shown, _criterion)}
        try:
            if rule is None:
                rule = services.create_sharing_rule(actor=request.user, data=data, request=request)
            else:
                services.change_sharing_rule(
                    actor=request.user, rule_id=rule.pk, data=data, request=request
                )
        except FORM_ERRORS as exc:
            aliases = {"grantee_type": "grantee", "grantee_id": "grantee"}
            status = show_errors(form, exc, aliases=aliases, rows="criteria")
            criteria_errors = row_editor.attach_errors(shown, exc, "criteria")
        else:
            messages.success(request, f"Saved the sharing rule {rule.name}.")
            return redirect("identity:sharing")
    elif request.method == "POST":
        status = 422
    object_type = form["object_type"].value() or types[0]
    return render(
        request,
        "identity/sharing_rule_form.html",
        {
            "rule": rule,
            "form": form,
            "rows": row_editor.with_spare(shown, CRITERION_KEYS),
            "criteria_errors": criteria_errors,
            "operators": OPERATOR_LABELS,
            "fields": criteria_fields(object_type),
        },
        status=status,
    )


@settings_page
@require_http_methods(["GET", "POST"])
def sharing_rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, None)


@settings_page
@require_http_methods(["GET", "POST"])
def sharing_rule_edit(request: HttpRequest, rule_id: Any) -> HttpResponse:
    return _rule_page(request, queries.get_sharing_rule(request.user, rule_id))


@settings_page
@require_http_methods(["GET"])
def sharing_rule_fields(request: HttpRequest) -> HttpResponse:
    """The field names the criteria editor suggests for an object type (htmx swaps them in
    when the rule's object type changes)."""
    object_type = request.GET.get("object_type", "")
    return render(
        request,
        "identity/sharing_rule_form.html#criteria-fields",
        {"fields": criteria_fields(object_type)},
    )


@settings_page
@require_POST
def sharing_rule_delete(request: HttpRequest, rule_id: Any) -> HttpResponse:
    try:
        services.delete_sharing_rule(actor=request.user, rule_id=rule_id, request=request)
    except FORM_ERRORS as exc:
        messages.error(request, exc.detail)
        return redirect("identity:sharing-rule", rule_id=rule_id)
    messages.success(request, "Deleted the sharing rule.")
    return redirect("identity:sharing")

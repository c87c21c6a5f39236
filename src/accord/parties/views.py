"""Settings pages of parties: custom field definitions and tags (see parties.pages). Every
write goes through parties.services, which checks permission, records history and events; a
service's errors come back next to the field they name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accord.core.errors import AccordError
from accord.core.models import Source, record_types
from accord.identity.views.common import FORM_ERRORS, settings_page_for, show_errors
from accord.identity.visibility import manages_access, visible
from accord.parties import queries, services
from accord.parties.models import CustomField, Tag

View = TypeVar("View", bound=Callable[..., HttpResponse])


def defines_fields(user: Any) -> bool:
    """Custom fields are configuration only superusers change (CustomFieldService)."""
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


def manages_tags(user: Any) -> bool:
    """The tag list is an admin page, like the people and access settings."""
    return manages_access(user)


admin_page = settings_page_for


class SettingsForm(forms.Form):
    """A settings form: labels without Django's trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _save(
    request: HttpRequest,
    form: forms.Form,
    write: Callable[[], Any],
    *,
    done: Callable[[Any], str],
    to: str,
    conflict_field: str | None = None,
) -> tuple[HttpResponse | None, int]:
    """Run ``write`` (one service call) for a posted, valid form: on success the redirect to
    ``to`` with the message ``done(result)``; otherwise no response and the status to render
    the form with, the service's errors placed next to the fields they name."""
    if request.method != "POST":
        return None, 200
    if not form.is_valid():
        return None, 422
    try:
        result = write()
    except FORM_ERRORS as exc:
        return None, show_errors(form, exc, conflict_field=conflict_field)
    messages.success(request, done(result))
    return redirect(to), 200


# -- custom fields ------------------------------------------------------------------------------


def _record_type_choices() -> list[tuple[str, str]]:
    names = sorted(t for t in record_types() if t != CustomField.object_type)
    return [(t, t.replace("_", " ").capitalize()) for t in names]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class CustomFieldEditForm(SettingsForm):
    """What may change once a field exists: never its record type, key or type."""

    label = forms.CharField(label="Label", max_length=100)
    help_text = forms.CharField(label="Help text", max_length=255, required=False)
    choices = forms.CharField(
        label="Choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Choice fields only: one choice per line.",
    )
    required = forms.BooleanField(
        label="Required",
        required=False,
        help_text="New records and records that clear it must give a value.",
    )
    position = forms.IntegerField(
        label="Position", min_value=0, max_value=32767, required=False, help_text="Lower first."
    )

    def data_for_service(self, *, kind: str) -> dict[str, Any]:
        data = {k: self.cleaned_data[k] for k in ("label", "help_text", "required")}
        if self.cleaned_data.get("position") is not None:
            data["position"] = self.cleaned_data["position"]
        choices = _lines(self.cleaned_data.get("choices") or "")
        # Only a choice field has choices: sending an empty list for the others would be noise.
        if kind == CustomField.Type.CHOICE or choices:
            data["choices"] = choices
        return data


class CustomFieldForm(CustomFieldEditForm):
    record_type = forms.ChoiceField(label="Record type", choices=())
    key = forms.CharField(
        label="Key",
        max_length=50,
        help_text="Lower-case letters, digits and _, starting with a letter. Cannot change later.",
    )
    type = forms.ChoiceField(label="Type", choices=CustomField.Type.choices)
    field_order = ["record_type", "key", "label", "type", "choices", "required", "help_text"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        record_type = self.fields["record_type"]
        assert isinstance(record_type, forms.ChoiceField)
        record_type.choices = _record_type_choices()
        self.order_fields(self.field_order)

    def data_for_service(self, *, kind: str = "") -> dict[str, Any]:
        data = super().data_for_service(kind=self.cleaned_data["type"])
        return {
            **data,
            "record_type": self.cleaned_data["record_type"],
            "key": self.cleaned_data["key"].strip(),
            "type": self.cleaned_data["type"],
        }


@admin_page(defines_fields)
@require_http_methods(["GET", "POST"])
def custom_fields(request: HttpRequest) -> HttpResponse:
    """Every record type's custom fields, and the form that adds one."""
    form = CustomFieldForm(request.POST or None, initial={"record_type": "contact"})
    saved, status = _save(
        request,
        form,
        lambda: services.custom_fields.create(
            actor=request.user, data=form.data_for_service(), source=Source.WEB
        ),
        done=lambda field: f"Added the field “{field.label}” to {field.record_type}.",
        to="parties:custom-fields",
        conflict_field="key",
    )
    if saved is not None:
        return saved
    definitions = visible(request.user, CustomField.objects.order_by("record_type", "position"))
    return render(
        request,
        "parties/custom_fields.html",
        {"form": form, "fields": list(definitions)},
        status=status,
    )


@admin_page(defines_fields)
@require_http_methods(["GET", "POST"])
def custom_field_edit(request: HttpRequest, field_id: Any) -> HttpResponse:
    field = queries.get_custom_field(request.user, field_id)
    initial = {
        "label": field.label,
        "help_text": field.help_text,
        "choices": "\n".join(map(str, field.choices)),
        "required": field.required,
        "position": field.position,
    }
    form = CustomFieldEditForm(request.POST or None, initial=initial)
    saved, status = _save(
        request,
        form,
        lambda: services.custom_fields.update(
            actor=request.user,
            record_id=field.pk,
            data=form.data_for_service(kind=field.type),
            expected_version=_version(request, field),
            source=Source.WEB,
        ),
        done=lambda changed: f"Saved the field “{changed.label}”.",
        to="parties:custom-fields",
    )
    if saved is not None:
        return saved
    return render(
        request, "parties/custom_field_form.html", {"form": form, "field": field}, status=status
    )


@admin_page(defines_fields)
@require_POST
def custom_field_delete(request: HttpRequest, field_id: Any) -> HttpResponse:
    """Remove the definition (values stay in the records' JSON); refused while a rule, saved
    view or webhook filter still uses the field."""
    field = queries.get_custom_field(request.user, field_id)
    return _delete(
        request,
        services.custom_fields,
        field,
        done=f"Deleted the field “{field.label}”.",
        back=reverse("parties:custom-field", args=[field.pk]),
        listing="parties:custom-fields",
    )


def _delete(
    request: HttpRequest, service: Any, record: Any, *, done: str, back: str, listing: str
) -> HttpResponse:
    """Delete ``record`` through ``service`` and go back to the list; a refusal (still in use,
    changed meanwhile) is said on the record's own page."""
    try:
        service.delete(
            actor=request.user,
            record_id=record.pk,
            expected_version=_version(request, record),
            source=Source.WEB,
        )
    except AccordError as exc:
        messages.error(request, exc.detail)
        return redirect(back)
    messages.success(request, done)
    return redirect(listing)


def _version(request: HttpRequest, record: Any) -> int:
    """The version the form was read at, so a save over someone else's change is refused."""
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return int(record.version)


# -- tags ---------------------------------------------------------------------------------------


class TagForm(SettingsForm):
    name = forms.CharField(label="Name", max_length=50)
    color = forms.CharField(
        label="Colour",
        max_length=7,
        required=False,
        help_text="Optional, as a hex colour like #1a7f37.",
    )


class TagRenameForm(SettingsForm):
    name = forms.CharField(label="New name", max_length=50)


def _tags_in_use(user: Any) -> list[Tag]:
    """The tags with how many accounts and contacts (in the recycle bin or not) carry each:
    one query, counted in the database."""
    found = visible(user, Tag.objects.order_by("name")).annotate(
        account_count=Count("accounts", filter=Q(accounts__deleted_at__isnull=True), distinct=True),
        contact_count=Count("contacts", filter=Q(contacts__deleted_at__isnull=True), distinct=True),
    )
    return list(found)


@admin_page(manages_tags)
@require_http_methods(["GET", "POST"])
def tags(request: HttpRequest) -> HttpResponse:
    """Every tag with its usage, and the form that adds one."""
    form = TagForm(request.POST or None)
    saved, status = _save(
        request,
        form,
        lambda: services.tags.create(
            actor=request.user,
            data={k: v for k, v in form.cleaned_data.items() if v},
            source=Source.WEB,
        ),
        done=lambda tag: f"Added the tag “{tag.name}”.",
        to="parties:tags",
        conflict_field="name",
    )
    if saved is not None:
        return saved
    return render(
        request,
        "parties/tags.html",
        {"form": form, "tags": _tags_in_use(request.user)},
        status=status,
    )


@admin_page(manages_tags)
@require_http_methods(["GET", "POST"])
def tag_edit(request: HttpRequest, tag_id: Any) -> HttpResponse:
    """Rename a tag: every record carrying it shows the new name."""
    tag = queries.get_tag(request.user, tag_id)
    form = TagRenameForm(request.POST or None, initial={"name": tag.name})
    old = tag.name
    saved, status = _save(
        request,
        form,
        lambda: services.tags.update(
            actor=request.user,
            record_id=tag.pk,
            data={"name": form.cleaned_data["name"]},
            expected_version=_version(request, tag),
            source=Source.WEB,
        ),
        done=lambda renamed: f"Renamed “{old}” to “{renamed.name}”.",
        to="parties:tags",
        conflict_field="name",
    )
    if saved is not None:
        return saved
    return render(request, "parties/tag_form.html", {"form": form, "tag": tag}, status=status)


@admin_page(manages_tags)
@require_POST
def tag_delete(request: HttpRequest, tag_id: Any) -> HttpResponse:
    tag = queries.get_tag(request.user, tag_id)
    return _delete(
        request,
        services.tags,
        tag,
        done=f"Deleted the tag “{tag.name}”.",
        back=reverse("parties:tag", args=[tag.pk]),
        listing="parties:tags",
    )

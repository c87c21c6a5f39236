"""How forms look in the staff app: every control with its label, help text and errors, tied
together with ``aria-describedby`` so a screen reader reads the error with the field."""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    form_template_name = "web/forms/div.html"
    field_template_name = "web/forms/field.html"

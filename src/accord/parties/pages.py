"""What parties adds to the staff web app: the Settings pages for custom fields and tags.
Plain declarations that ``accord.web`` reads at start-up (see ``accord.web.pages``); parties
does not import web, which sits above it."""

from __future__ import annotations

from django.urls import path

from accord.parties import views

urlpatterns = [
    path("settings/custom-fields/", views.custom_fields, name="custom-fields"),
    path("settings/custom-fields/<uuid:field_id>/", views.custom_field_edit, name="custom-field"),
    path(
        "settings/custom-fields/<uuid:field_id>/delete",
        views.custom_field_delete,
        name="custom-field-delete",
    ),
    path("settings/tags/", views.tags, name="tags"),
    path("settings/tags/<uuid:tag_id>/", views.tag_edit, name="tag"),
    path("settings/tags/<uuid:tag_id>/delete", views.tag_delete, name="tag-delete"),
]

SETTINGS = [
    {
        "group": "Data",
        "label": "Custom fields",
        "url": "parties:custom-fields",
        "order": 40,
        "description": "Fields of your own on accounts, contacts, deals and every other record.",
        "allowed": views.defines_fields,
    },
    {
        "group": "Data",
        "label": "Tags",
        "url": "parties:tags",
        "order": 41,
        "description": "The labels records carry: add, rename and delete them.",
        "allowed": views.manages_tags,
    },
]

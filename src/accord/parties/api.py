"""REST endpoints for accounts, contacts and tags (mounted by accord.api)."""

from __future__ import annotations

from accord.core.api import Resource, crud_router
from accord.parties import queries, schemas, services

accounts = crud_router(
    Resource(
        name="account",
        service=services.accounts,
        read=queries.get_account,
        browse=queries.list_accounts,
        out=schemas.AccountOut,
        create_in=schemas.AccountIn,
        patch_in=schemas.AccountPatch,
        filters=schemas.AccountFilters,
        tags=["accounts"],
    )
)

contacts = crud_router(
    Resource(
        name="contact",
        service=services.contacts,
        read=queries.get_contact,
        browse=queries.list_contacts,
        out=schemas.ContactOut,
        create_in=schemas.ContactIn,
        patch_in=schemas.ContactPatch,
        filters=schemas.ContactFilters,
        tags=["contacts"],
    )
)

tags = crud_router(
    Resource(
        name="tag",
        service=services.tags,
        read=queries.get_tag,
        browse=queries.list_tags,
        out=schemas.TagOut,
        create_in=schemas.TagIn,
        patch_in=schemas.TagPatch,
        filters=schemas.TagFilters,
        tags=["tags"],
    )
)

custom_fields = crud_router(
    Resource(
        name="custom_field",
        service=services.custom_fields,
        read=queries.get_custom_field,
        browse=queries.list_custom_fields,
        out=schemas.CustomFieldOut,
        create_in=schemas.CustomFieldIn,
        patch_in=schemas.CustomFieldPatch,
        filters=schemas.CustomFieldFilters,
        tags=["custom fields"],
    )
)

#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES = [
    ("/accounts", accounts, "accounts"),
    ("/contacts", contacts, "contacts"),
    ("/tags", tags, "tags"),
    ("/custom-fields", custom_fields, "custom-fields"),
]

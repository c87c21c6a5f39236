"""How accounts, contacts and tags appear in events, field history and API responses.

One function per record type, so the API, the outbox and the timeline can never disagree.
"""

from __future__ import annotations

from accord.core.records import Payload, audit_fields, jsonable, related_rows
from accord.parties.models import ADDRESS_PARTS, Account, Contact, CustomField, Tag


def address(record: Account, prefix: str) -> dict[str, str]:
    return {part: getattr(record, f"{prefix}_{part}") for part in ADDRESS_PARTS}


def tag_names(record: Account | Contact) -> list[str]:
    return [tag.name for tag in related_rows(record, "tags")]


def tag_record(tag: Tag) -> Payload:
    return {"id": str(tag.pk), "name": tag.name, "color": tag.color, **audit_fields(tag)}


def custom_field_record(field: CustomField) -> Payload:
    return {
        "id": str(field.pk),
        "record_type": field.record_type,
        "key": field.key,
        "label": field.label,
        "type": field.type,
        "required": field.required,
        "choices": list(field.choices),
        "help_text": field.help_text,
        "position": field.position,
        **audit_fields(field),
    }


def account_record(account: Account) -> Payload:
    return {
        "id": str(account.pk),
        "name": account.name,
        "website": account.website,
        "domain": account.domain,
        "industry": account.industry,
        "tier": account.tier,
        "employee_count": account.employee_count,
        "annual_revenue": jsonable(account.annual_revenue),
        "billing_address": address(account, "billing"),
        "shipping_address": address(account, "shipping"),
        "parent_id": jsonable(account.parent_id),
        "owner_id": jsonable(account.owner_id),
        "external_id": account.external_id,
        "tags": tag_names(account),
        "custom_fields": account.custom_fields,
        **audit_fields(account),
    }


def contact_record(contact: Contact) -> Payload:
    return {
        "id": str(contact.pk),
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "emails": [row.email for row in related_rows(contact, "email_rows")],
        "phones": [row.number for row in related_rows(contact, "phone_rows")],
        "title": contact.title,
        "account_id": jsonable(contact.account_id),
        "owner_id": jsonable(contact.owner_id),
        "lifecycle_stage": contact.lifecycle_stage,
        "email_opt_in": contact.email_opt_in,
        "sms_opt_in": contact.sms_opt_in,
        "do_not_call": contact.do_not_call,
        "external_id": contact.external_id,
        "tags": tag_names(contact),
        "custom_fields": contact.custom_fields,
        **audit_fields(contact),
    }

"""How leads, pipelines, stages, deals and web forms appear in events, field history and the API.

One function per record type, so the API, the outbox and the timeline can never disagree.
"""

from __future__ import annotations

from accord.core.records import Payload, audit_fields, jsonable, related_rows
from accord.sales.models import Deal, Lead, Pipeline, Stage, WebForm


def lead_record(lead: Lead) -> Payload:
    return {
        "id": str(lead.pk),
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company": lead.company,
        "title": lead.title,
        "email": lead.email,
        "phone": lead.phone,
        "website": lead.website,
        "source": lead.source,
        "status": lead.status,
        "score": lead.score,
        "captured": dict(lead.captured),
        "owner_id": jsonable(lead.owner_id),
        "converted_at": jsonable(lead.converted_at),
        "converted_account_id": jsonable(lead.converted_account_id),
        "converted_contact_id": jsonable(lead.converted_contact_id),
        "converted_deal_id": jsonable(lead.converted_deal_id),
        "custom_fields": lead.custom_fields,
        **audit_fields(lead),
    }


def pipeline_record(pipeline: Pipeline) -> Payload:
    return {
        "id": str(pipeline.pk),
        "name": pipeline.name,
        "is_default": pipeline.is_default,
        "custom_fields": pipeline.custom_fields,
        **audit_fields(pipeline),
    }


def stage_record(stage: Stage) -> Payload:
    return {
        "id": str(stage.pk),
        "pipeline_id": jsonable(stage.pipeline_id),
        "name": stage.name,
        "position": stage.position,
        "probability": stage.probability,
        "is_won": stage.is_won,
        "is_lost": stage.is_lost,
        "custom_fields": stage.custom_fields,
        **audit_fields(stage),
    }


def deal_record(deal: Deal) -> Payload:
    return {
        "id": str(deal.pk),
        "name": deal.name,
        "account_id": jsonable(deal.account_id),
        "contact_ids": sorted(str(c.pk) for c in related_rows(deal, "contacts")),
        "amount": jsonable(deal.amount),
        "currency": deal.currency,
        "pipeline_id": jsonable(deal.pipeline_id),
        "stage_id": jsonable(deal.stage_id),
        "expected_close": jsonable(deal.expected_close),
        "probability": deal.probability,
        "closed_at": jsonable(deal.closed_at),
        "owner_id": jsonable(deal.owner_id),
        "custom_fields": deal.custom_fields,
        **audit_fields(deal),
    }


def web_form_record(form: WebForm) -> Payload:
    return {
        "id": str(form.pk),
        "name": form.name,
        "slug": form.slug,
        "active": form.active,
        "field_map": dict(form.field_map),
        "source": form.source,
        "lead_owner_id": jsonable(form.lead_owner_id),
        "redirect_url": form.redirect_url,
        "honeypot": form.honeypot,
        "rate_limit": form.rate_limit,
        "custom_fields": form.custom_fields,
        **audit_fields(form),
    }

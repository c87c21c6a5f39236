"""Web-to-lead: forms on the company's web site whose submissions become leads.

An administrator configures a :class:`~accord.sales.models.WebForm` (which form field feeds which
lead field) and pastes its HTML snippet into the site. Anyone may post to it, so a submission is
checked against the form's rate limit per IP address (counted in the database, so the limit holds
across processes) and its honeypot before a lead is written in the name of the form's lead owner.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accord.core import clock
from accord.core.errors import FieldError, InvalidInput, NotFound, TooManyRequests
from accord.core.models import Source
from accord.core.records import Payload
from accord.core.validation import MISSING, Cleaner
from accord.identity.records import VisibleRecordService
from accord.sales import events
from accord.sales.checks import (
    CAPTURED_KEY_MAX,
    active_user,
    captured_value_problem,
    check_flag,
    check_int,
    check_text,
    restore_or_conflict,
    superuser,
)
from accord.sales.models import Lead, LeadSource, WebForm, WebFormSubmission
from accord.sales.services import leads

#: The rate limit's window: ``rate_limit`` submissions per IP address per WINDOW.
WINDOW = dt.timedelta(hours=1)
MAX_RATE_LIMIT = 10_000
MAX_FIELDS = 50
DEFAULT_HONEYPOT = "website_url"

#: Lead fields a public form may fill; status, score and owner stay with the staff.
FORM_TARGETS = ("first_name", "last_name", "company", "title", "email", "phone", "website")
CAPTURED_PREFIX = "captured."

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_INPUT_TYPES = {"email": "email", "phone": "tel", "website": "url"}


class TooManySubmissions(TooManyRequests):
    """One IP address sent more submissions to a form than its rate limit allows."""


def _target_problem(target: Any) -> str | None:
    if not isinstance(target, str):
        return "must name a lead field"
    if target.startswith(CAPTURED_PREFIX):
        key = target.removeprefix(CAPTURED_PREFIX)
        if 1 <= len(key) <= CAPTURED_KEY_MAX and "\x00" not in key:
            return None
        return f"captured keys are 1 to {CAPTURED_KEY_MAX} characters"
    if target in FORM_TARGETS:
        return None
    return f"must be one of {', '.join(FORM_TARGETS)} or captured.<key>"


class WebFormService(VisibleRecordService[WebForm]):
    """Web forms are configuration: only administrators create and change them."""

    model = WebForm

    def may_create(self, actor: Any) -> bool:
        return superuser(actor)

    def may_edit(self, actor: Any, record: WebForm) -> bool:
        return superuser(actor)

    def defaults(self, actor: Any) -> dict[str, Any]:
        return {"lead_owner": actor}

    def payload(self, record: WebForm) -> Payload:
        return events.web_form_record(record)

    def clean(self, actor: Any, data: Mapping[str, Any], record: WebForm | None) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        check_text(cleaner, "name", 100, required=True)
        check_text(cleaner, "slug", 50, required=True)
        slug = cleaner.out.get("slug")
        if slug is not None:
            self._check_slug(cleaner, slug, record)
        check_flag(cleaner, "active")
        if "source" in data:
            cleaner.choice("source", LeadSource)
        cleaner.related("lead_owner_id", active_user, attr="lead_owner", what="user")
        check_text(cleaner, "redirect_url", 500)
        url = cleaner.out.get("redirect_url")
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                cleaner.error("redirect_url", "must be an http or https address")
        if record is None and "honeypot" not in data:
            cleaner.out["honeypot"] = DEFAULT_HONEYPOT
        else:
            check_text(cleaner, "honeypot", 100, required=True)
        honeypot = cleaner.out.get("honeypot")
        if honeypot is not None and not _FIELD_NAME.match(honeypot):
            cleaner.error("honeypot", "must be a form field name (letters, digits, _ . -)")
        check_int(cleaner, "rate_limit", 1, MAX_RATE_LIMIT)
        self._check_field_map(cleaner, record)
        return cleaner.done()

    @staticmethod
    def _check_slug(cleaner: Cleaner, slug: str, record: WebForm | None) -> None:
        if not _SLUG.match(slug):
            cleaner.error("slug", "lower-case letters and digits, separated by single hyphens")
            return
        others = WebForm.objects.filter(slug=slug)
        if record is not None:
            others = others.exclude(pk=record.pk)
        if others.exists():
            cleaner.error("slug", f"another web form already uses {slug!r}")

    @staticmethod
    def _check_field_map(cleaner: Cleaner, record: WebForm | None) -> None:
        value = cleaner.get("field_map", required=True)
        honeypot = cleaner.out.get("honeypot", record.honeypot if record else DEFAULT_HONEYPOT)
        if value is MISSING:
            if record is not None and honeypot in record.field_map:
                cleaner.error("honeypot", "a mapped form field cannot be the honeypot")
            return
        if not isinstance(value, Mapping) or not value:
            cleaner.error("field_map", "must map at least one form field to a lead field")
            return
        if len(value) > MAX_FIELDS:
            cleaner.error("field_map", f"at most {MAX_FIELDS} form fields")
            return
        seen: dict[str, str] = {}
        for name, target in value.items():
            key = f"field_map.{name}"
            if not isinstance(name, str) or not _FIELD_NAME.match(name):
                cleaner.error("field_map", f"{name!r} is not a form field name")
                continue
            if name == honeypot:
                cleaner.error(key, "the honeypot field cannot be mapped")
                continue
            problem = _target_problem(target)
            if problem:
                cleaner.error(key, problem)
                continue
            if target in seen:
                cleaner.error(key, f"{seen[target]!r} already fills {target}")
                continue
            seen[target] = name
        cleaner.out["field_map"] = dict(value)

    def restore(
        self,
        *,
        actor: Any,
        record_id: Any,
        expected_version: int | None = None,
        source: Source | str = Source.API,
    ) -> WebForm:
        return restore_or_conflict(
            lambda: super(WebFormService, self).restore(
                actor=actor, record_id=record_id, expected_version=expected_version, source=source
            ),
            "Another web form took this form's slug while it was deleted; change that one first",
        )


web_forms = WebFormService()


# -- submissions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """The answer to a submission. ``lead`` is None when the honeypot caught a bot, which gets
    the same answer as a person so that it learns nothing."""

    lead: Lead | None
    redirect_url: str


def live_form(slug: str) -> WebForm:
    """The active form at ``slug``; unknown, deleted and inactive forms all read 404."""
    form = WebForm.objects.select_related("lead_owner").filter(slug=slug, active=True).first()
    if form is None or not form.lead_owner.is_active:
        raise NotFound(f"No web form {slug!r} is accepting submissions")
    return form


def count_submission(form: WebForm, ip: str) -> None:
    """Record one submission from ``ip``, or raise TooManySubmissions when the form's limit
    for that address is used up within the window.

    The form row is locked while counting, so concurrent submissions from several processes
    are counted one after the other and cannot both take the last slot.
    """
    now = clock.now()
    with transaction.atomic():
        WebForm.objects.select_for_update().filter(pk=form.pk).first()
        recent = WebFormSubmission.objects.filter(form=form, ip=ip, at__gt=now - WINDOW)
        count = recent.count()
        if count >= form.rate_limit:
            # A slot frees up when the submission that used it leaves the window.
            freed = recent.order_by("at").values_list("at", flat=True)[count - form.rate_limit]
            wait = (freed + WINDOW - now).total_seconds()
            raise TooManySubmissions(
                f"At most {form.rate_limit} submissions per hour from one address",
                retry_after=max(1, math.ceil(wait)),
            )
        WebFormSubmission.objects.create(form=form, ip=ip, at=now)


def lead_data(form: WebForm, values: Mapping[str, Any]) -> dict[str, Any]:
    """The lead a submission describes; fields the form does not map are ignored. Errors name
    the form field."""
    data: dict[str, Any] = {}
    captured: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, target in form.field_map.items():
        value = values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if target.startswith(CAPTURED_PREFIX):
            problem = captured_value_problem(value)
            if problem:
                errors.append(FieldError(name, problem))
            else:
                captured[target.removeprefix(CAPTURED_PREFIX)] = value
        elif isinstance(value, str | int) and not isinstance(value, bool):
            data[target] = str(value)
        else:
            errors.append(FieldError(name, "must be text"))
    if errors:
        raise InvalidInput("Invalid form value(s)", errors)
    return {
        **data,
        "captured": captured,
        "source": form.source,
        "status": Lead.Status.NEW,
        "owner_id": form.lead_owner_id,
    }


def submit(*, slug: str, ip: str, values: Mapping[str, Any]) -> Submission:
    """Accept one public submission to the form at ``slug`` (see the module docstring)."""
    form = live_form(slug)
    count_submission(form, ip)
    honeypot = values.get(form.honeypot)
    if honeypot not in (None, "") and str(honeypot).strip():
        return Submission(lead=None, redirect_url=form.redirect_url)
    data = lead_data(form, values)
    try:
        lead = leads.create(actor=form.lead_owner, data=data, source=Source.API)
    except InvalidInput as exc:
        raise _named_after_form(form, exc) from None
    return Submission(lead=lead, redirect_url=form.redirect_url)


def _named_after_form(form: WebForm, exc: InvalidInput) -> InvalidInput:
    """The lead's errors named after the form fields that fed them, so the site can show each
    next to its input."""
    by_target = {target: name for name, target in form.field_map.items()}
    errors = [FieldError(by_target.get(e.field, e.field), e.message) for e in exc.errors]
    names = ", ".join(dict.fromkeys(e.field for e in errors))
    return InvalidInput(f"Invalid value for: {names}", errors)


def purge_submissions() -> int:
    """Delete submissions older than the window: they no longer count towards any limit."""
    deleted, _ = WebFormSubmission.objects.filter(at__lte=clock.now() - WINDOW).delete()
    return deleted


# -- the embeddable snippet -----------------------------------------------------------------------


def _label(name: str) -> str:
    return re.sub(r"[_.\-]+", " ", name).strip().capitalize() or name


def action_url(form: WebForm, host: str) -> str:
    """Where the form posts to: always https, since people type personal data into it."""
    return f"https://{host}{reverse('api-v1:submit_web_form', kwargs={'slug': form.slug})}"


def snippet(form: WebForm, *, action: str) -> str:
    """The HTML to paste into a web page: a plain POST form with an input per mapped field and
    the honeypot, which is kept off-screen (not ``type=hidden``: bots skip those)."""
    prefix = f"accord-{form.slug}"
    inputs = format_html_join(
        "\n",
        '  <p><label for="{0}-{1}">{2}</label>\n    <input id="{0}-{1}" name="{1}" type="{3}"></p>',
        (
            (prefix, name, _label(name), _INPUT_TYPES.get(target, "text"))
            for name, target in form.field_map.items()
        ),
    )
    return format_html(
        '<form method="post" action="{}" accept-charset="utf-8">\n'
        "{}\n"
        '  <div style="position:absolute;left:-10000px" aria-hidden="true">\n'
        '    <input name="{}" type="text" tabindex="-1" autocomplete="off" value="">\n'
        "  </div>\n"
        '  <p><button type="submit">Send</button></p>\n'
        "</form>\n",
        action,
        inputs,
        form.honeypot,
    )

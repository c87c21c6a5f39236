"""Service's pages: the case queue agents work from, and the Settings pages for queues,
business calendars and SLA policies.

The case queue lists open cases the agent may see, the most urgent SLA target first, with the
time left on it computed here (so it reads without JavaScript; ``service/queue.js`` counts it
down live, htmx refreshes the table). Its actions are plain POST forms that go through the case
service and come back to the same queue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied as PageDenied
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from accord.core import clock
from accord.core.errors import NotFound
from accord.core.models import Record, Source
from accord.core.services import RecordService
from accord.core.validation import batch_lookups
from accord.identity.models import User
from accord.identity.views.common import FORM_ERRORS, settings_page_for, show_errors
from accord.identity.visibility import hidden_fields, permitted
from accord.parties.queries import accounts_visible_to
from accord.service import forms, queries
from accord.service.models import BusinessCalendar, Case, Queue, SlaPolicy
from accord.service.services import cases, queues, sla_clock, sla_state
from accord.service.sla import Clock
from accord.service.sla_config import calendars, hours_for, is_admin, sla_policies

#: Rows the queue shows; the full case list (with filters and paging) has the rest.
QUEUE_LIMIT = 100
#: People the "Assign to" pickers offer (the agent's department first, then anyone).
ASSIGNEES = 50
OPEN = (Case.Status.NEW, Case.Status.OPEN, Case.Status.PENDING)
MINE, UNQUEUED = "mine", "unqueued"


def may_work_cases(user: Any) -> bool:
    return permitted(user, "case", "read")


# -- time left ----------------------------------------------------------------------------------


def duration_text(seconds: float) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``7 min``: the same words queue.js writes."""
    minutes = int(abs(seconds) // 60)
    if minutes == 0:
        return "under 1 min"
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


@dataclass(frozen=True)
class TimeLeft:
    """The running target of a case as the queue shows it."""

    target: str
    due_at: dt.datetime
    warn_at: dt.datetime
    state: str  # "ok", "warning" or "breached"
    text: str


_TARGET_LABELS = {"first_response": "First response", "resolution": "Resolution"}


def time_left(clock_: Clock | None, now: dt.datetime) -> TimeLeft | None:
    if clock_ is None or not clock_.running:
        return None
    target = min(clock_.running, key=lambda t: t.due_at)
    warn_at = clock_.warning_at(target)
    left = (target.due_at - now).total_seconds()
    if left <= 0:
        state, text = "breached", f"Overdue by {duration_text(left)}"
    else:
        state = "warning" if now >= warn_at else "ok"
        text = f"{duration_text(left)} left"
    return TimeLeft(_TARGET_LABELS[target.name], target.due_at, warn_at, state, text)


# -- the case queue -----------------------------------------------------------------------------


def _queue_choices(user: Any) -> list[tuple[str, str]]:
    mine = [(MINE, "My cases"), (UNQUEUED, "Not in a queue"), ("", "All queues")]
    return mine + [
        (str(q.pk), q.name)
        for q in queries.queues_visible_to(user).filter(active=True).order_by("name")
    ]


def _queue_cases(user: Any, chosen: str) -> QuerySet[Case]:
    qs = queries.cases_visible_to(user).filter(status__in=OPEN)
    if chosen == MINE:
        qs = qs.filter(owner=user)
    elif chosen == UNQUEUED:
        qs = qs.filter(queue__isnull=True)
    elif chosen:
        qs = qs.filter(queue_id=chosen)
    return qs.select_related("owner", "queue", "sla_policy").order_by(
        F("sla_due_at").asc(nulls_last=True), "opened_at", "pk"
    )


def _assignees(user: Any) -> list[User]:
    """Whom the pickers offer: active colleagues of the agent's department (everyone active
    when the agent has none), a bounded list since every row repeats it."""
    people = User.objects.filter(is_active=True).order_by("username")
    if getattr(user, "department_id", None):
        people = people.filter(department_id=user.department_id)
    return list(people[:ASSIGNEES])


def _rows(user: Any, found: list[Case], now: dt.datetime) -> list[dict[str, Any]]:
    hidden = hidden_fields(user, Case.object_type)
    people = _assignees(user)
    # Only the accounts the agent may see are named; the others read "—".
    account_ids = {c.account_id for c in found if c.account_id}
    names = dict(accounts_visible_to(user).filter(pk__in=account_ids).values_list("pk", "name"))
    # Every row repeats the same pickers: each option is rendered once, then joined per row.
    assignees = _Options([(p.pk, p.get_full_name() or p.username) for p in people])
    statuses = _Options(Case.Status.choices)
    rows = []
    with batch_lookups():  # one read per calendar, not per row
        for case in found:
            row = _row(case, names, hidden, now)
            # The current owner is always offered, so the picker shows who has the case.
            extra = [] if case.owner in people else [case.owner]
            row["assignee_options"] = format_html_join(
                "",
                '<option value="{}" selected>{}</option>',
                ((o.pk, o.get_full_name() or o.username) for o in extra),
            ) + assignees.html(case.owner_id)
            # "New" is only shown while the case is new: nobody moves a case back to it.
            row["status_options"] = statuses.html(
                case.status, skip=() if case.status == Case.Status.NEW else (Case.Status.NEW,)
            )
            rows.append(row)
    return rows


class _Options:
    """The ``<option>`` elements of a picker, rendered once, joined per row with the row's
    value selected."""

    def __init__(self, choices: list[tuple[Any, str]]) -> None:
        self.values = [value for value, _ in choices]
        self.plain = [format_html('<option value="{}">{}</option>', v, lb) for v, lb in choices]
        self.chosen = [
            format_html('<option value="{}" selected>{}</option>', v, lb) for v, lb in choices
        ]

    def html(self, selected: Any, *, skip: tuple[Any, ...] = ()) -> str:
        return mark_safe(  # noqa: S308 - joined from format_html parts
            "".join(
                (self.chosen if value == selected else self.plain)[n]
                for n, value in enumerate(self.values)
                if value not in skip
            )
        )


def _row(case: Case, names: dict[Any, str], hidden: Any, now: dt.datetime) -> dict[str, Any]:
    calendar_id = case.queue.calendar_id if case.queue is not None else None
    clock_ = sla_clock(sla_state(case), case.sla_policy, hours_for(calendar_id))
    shows_account = case.account_id is not None and "account_id" not in hidden
    return {
        "case": case,
        "account": names.get(case.account_id) if shows_account else None,
        "priority": "" if "priority" in hidden else case.get_priority_display(),
        "age": duration_text((now - case.opened_at).total_seconds()),
        "left": time_left(clock_, now),
    }


def _chosen_queue(request: HttpRequest) -> str:
    chosen = request.GET.get("queue", MINE)
    if chosen in (MINE, UNQUEUED, ""):
        return chosen
    try:
        return str(queries.get_queue(request.user, chosen).pk)
    except NotFound:
        raise Http404 from None


@require_http_methods(["GET"])
def case_queue(request: HttpRequest) -> HttpResponse:
    """Open cases of the chosen queue ("My cases" by default), the most urgent first. With
    htmx (the periodic refresh), only the table is sent."""
    if not may_work_cases(request.user):
        raise PageDenied
    chosen = _chosen_queue(request)
    now = clock.now()
    found = list(_queue_cases(request.user, chosen)[: QUEUE_LIMIT + 1])
    context = {
        "rows": _rows(request.user, found[:QUEUE_LIMIT], now),
        "more": len(found) > QUEUE_LIMIT,
        "limit": QUEUE_LIMIT,
        "chosen": chosen,
        "choices": _queue_choices(request.user),
        "now": now,
        "refresh_url": f"{request.path}?{urlencode({'queue': chosen})}",
    }
    template = "service/case_queue.html"
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        template += "#queue-table"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    add_never_cache_headers(response)
    return response


def _back(request: HttpRequest) -> HttpResponse:
    # Only the queue filter travels back, never a URL the form sent (no open redirect).
    chosen = request.POST.get("queue", MINE)
    return redirect(f"{reverse('service:case-queue')}?{urlencode({'queue': chosen})}")


def _change_case(request: HttpRequest, case_id: Any, data: dict[str, Any], done: str) -> None:
    try:
        case = cases.update(
            actor=request.user,
            record_id=case_id,
            data=data,
            expected_version=None,
            source=Source.WEB,
        )
    except NotFound:
        raise Http404 from None
    except FORM_ERRORS as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"{case.reference} {done}.")


@require_POST
def claim_case(request: HttpRequest, case_id: Any) -> HttpResponse:
    _change_case(request, case_id, {"owner_id": str(request.user.pk)}, "is yours now")
    return _back(request)


@require_POST
def assign_case(request: HttpRequest, case_id: Any) -> HttpResponse:
    owner = request.POST.get("owner_id", "")
    if not owner:
        messages.error(request, "Choose the person to assign the case to.")
    else:
        _change_case(request, case_id, {"owner_id": owner}, "was reassigned")
    return _back(request)


@require_POST
def set_case_status(request: HttpRequest, case_id: Any) -> HttpResponse:
    status = request.POST.get("status", "")
    _change_case(request, case_id, {"status": status}, f"is {status or 'unchanged'}")
    return _back(request)


# -- Settings: queues, calendars, SLA policies ---------------------------------------------------


#: Service's configuration: only administrators change it (the services check too).
admin_page = settings_page_for(is_admin)


@dataclass(frozen=True)
class Kind:
    """One kind of configuration the Settings pages edit the same way."""

    label: str
    service: RecordService[Any]
    form: type[forms.ServiceForm]
    template: str
    list_url: str
    edit_url: str
    aliases: dict[str, str] | None = None


QUEUES = Kind(
    "queue", queues, forms.QueueForm, "service/queue_form.html", "service:queues", "service:queue"
)
CALENDARS = Kind(
    "business calendar",
    calendars,
    forms.CalendarForm,
    "service/calendar_form.html",
    "service:calendars",
    "service:calendar",
)
POLICIES = Kind(
    "SLA policy",
    sla_policies,
    forms.SlaPolicyForm,
    "service/sla_policy_form.html",
    "service:sla-policies",
    "service:sla-policy",
)


def _edit(request: HttpRequest, kind: Kind, record: Record | None) -> HttpResponse:
    """Create (``record`` None) or change a configuration record through its service; errors
    are shown on the form, next to the field they name."""
    initial = kind.form.initial_for(record) if record is not None else None  # type: ignore[attr-defined]
    form = kind.form(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.data_for_service()  # type: ignore[attr-defined]
        try:
            if record is None:
                saved = kind.service.create(actor=request.user, data=data, source=Source.WEB)
            else:
                saved = kind.service.update(
                    actor=request.user,
                    record_id=record.pk,
                    data=data,
                    expected_version=None,
                    source=Source.WEB,
                )
        except FORM_ERRORS as exc:
            status = show_errors(form, exc, aliases=kind.aliases, conflict_field="name")
        else:
            messages.success(request, f"Saved the {kind.label} {saved}.")
            return redirect(kind.list_url)
    elif request.method == "POST":
        status = 422
    context = {"form": form, "record": record, "kind": kind}
    return render(request, kind.template, context, status=status)


@admin_page
@require_http_methods(["GET"])
def queue_list(request: HttpRequest) -> HttpResponse:
    found = Queue.objects.select_related("calendar").order_by("name")
    return render(request, "service/queues.html", {"queues": found})


@admin_page
@require_http_methods(["GET", "POST"])
def queue_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, QUEUES, None)


@admin_page
@require_http_methods(["GET", "POST"])
def queue_edit(request: HttpRequest, queue_id: Any) -> HttpResponse:
    return _edit(request, QUEUES, queries.get_queue(request.user, queue_id))


@admin_page
@require_http_methods(["GET"])
def calendar_list(request: HttpRequest) -> HttpResponse:
    found = BusinessCalendar.objects.prefetch_related("holidays").order_by("name")
    return render(request, "service/calendars.html", {"calendars": found})


@admin_page
@require_http_methods(["GET", "POST"])
def calendar_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, CALENDARS, None)


@admin_page
@require_http_methods(["GET", "POST"])
def calendar_edit(request: HttpRequest, calendar_id: Any) -> HttpResponse:
    found = BusinessCalendar.objects.filter(pk=calendar_id).first()
    if found is None:
        raise Http404
    return _edit(request, CALENDARS, found)


@admin_page
@require_http_methods(["GET"])
def sla_policy_list(request: HttpRequest) -> HttpResponse:
    found = SlaPolicy.objects.select_related("queue").order_by("-active", "order", "name")
    return render(request, "service/sla_policies.html", {"policies": found})


@admin_page
@require_http_methods(["GET", "POST"])
def sla_policy_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, POLICIES, None)


@admin_page
@require_http_methods(["GET", "POST"])
def sla_policy_edit(request: HttpRequest, policy_id: Any) -> HttpResponse:
    found = SlaPolicy.objects.filter(pk=policy_id).first()
    if found is None:
        raise Http404
    return _edit(request, POLICIES, found)

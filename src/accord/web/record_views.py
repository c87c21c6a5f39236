"""The record page of every declared type (header, sections, related lists, timeline, quick
actions), its edit page with the conflict screen, moving to the recycle bin, and the recycle
bin with restore."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accord.activities import queries as activity_queries
from accord.activities import services as activity_services
from accord.core import clock, pagination
from accord.core.errors import AccordError, InvalidInput, PreconditionFailed
from accord.core.models import Source
from accord.core.services import RECYCLE_BIN_RETENTION
from accord.identity.visibility import permitted, visible
from accord.parties import attachments
from accord.parties.models import Attachment
from accord.web import recordkit, records
from accord.web.recordkit import Names, record_page
from accord.web.records import RecordType

#: Rows of each related list and entries of the timeline shown on a record page.
RELATED_ROWS = 10
TIMELINE_ENTRIES = 20
#: Rows of the recycle bin per record type.
BIN_ROWS = 50

#: Quick actions: the activity service, and the fields its form asks for.
QUICK_ACTIONS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "note": (activity_services.notes, ("body",)),
    "call": (activity_services.calls, ("subject", "direction", "notes")),
    "task": (activity_services.tasks, ("subject", "due_at")),
}
#: The quick action that sends the record to another department (not a plain create).
HANDOFF = "department"


def _fields(
    rt: RecordType, payload: dict[str, Any], names: Names, read_only: frozenset[str]
) -> list[dict[str, Any]]:
    sections = []
    for section in rt.section_list():
        shown = [
            {
                "name": f,
                "label": recordkit.label(f),
                **names.cell(f, payload[f]),
                "read_only": f in read_only,
            }
            for f in section.fields
            if f in payload  # a hidden field is absent from the masked payload
        ]
        if shown:
            sections.append({"label": section.label, "fields": shown})
    return sections


@record_page
def detail(request: HttpRequest, rt: RecordType, record_id: Any) -> HttpResponse:
    return _detail(request, rt, record_id)


def _detail(
    request: HttpRequest,
    rt: RecordType,
    record_id: Any,
    *,
    attach_error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    record = rt.resource.read(user, str(record_id))
    policy = rt.resource.policy(user)
    payload = policy.mask(rt.resource.service.payload(record))
    columns = [*payload, *(f"{r.filter}" for r in rt.related)]
    names = Names(user, [payload], columns)
    custom = [
        {"label": c.label, "text": recordkit.show(recordkit.value_of(payload, f"cf.{c.key}"))}
        for c in recordkit.custom_fields(rt, policy.hidden)
    ]
    entries, _ = activity_queries.timeline(user, rt.object_type, record.pk, limit=TIMELINE_ENTRIES)
    return render(
        request,
        "web/records/detail.html",
        {
            "rt": rt,
            "record": record,
            "title": recordkit.title(rt, payload),
            "key_fields": [
                {"label": recordkit.label(f), **names.cell(f, payload[f])}
                for f in rt.key_fields
                if f in payload
            ],
            "sections": _fields(rt, payload, names, policy.read_only),
            "custom": custom,
            "related": [_related(user, rt, r, record.pk) for r in rt.related],
            "timeline": [_entry(e) for e in entries],
            "quick_actions": rt.quick_actions,
            "handoff": activity_services.handoff_recipients() if rt.quick_actions else [],
            "may_edit": permitted(user, rt.object_type, "edit")
            and rt.resource.service.may_edit(user, record),
            "may_delete": permitted(user, rt.object_type, "delete")
            and rt.resource.service.may_delete(user, record),
            "may_attach": rt.quick_actions
            and permitted(user, Attachment.object_type, "create")
            and rt.resource.service.may_edit(user, record),
            "attach_error": attach_error,
        },
        status=status,
    )


def _related(user: Any, parent: RecordType, related: records.Related, pk: Any) -> dict[str, Any]:
    rt = records.get(related.type)
    found: dict[str, Any] = {"label": related.label or (rt.plural if rt else related.type)}
    if rt is None or not rt.allowed(user):
        found["denied"] = True
        return found
    rows, more = rt.resource.browse(
        user, pagination.ListParams(limit=RELATED_ROWS), **{related.filter: str(pk)}
    )
    service = rt.resource.service
    found["rows"] = [
        {"url": reverse("records:detail", args=[rt.name, r.pk]), "title": recordkit.title(rt, p)}
        for r in rows
        for p in [rt.resource.policy(user).mask(service.payload(r))]
    ]
    found["more"] = f"{reverse(f'records:{rt.name}-list')}?{related.filter}={pk}" if more else None
    if permitted(user, rt.object_type, "create") and related.filter in rt.editable:
        found["new"] = f"{reverse('records:create', args=[rt.name])}?{related.filter}={pk}"
        found["new_label"] = f"New {rt.label.lower()}"
    return found


def _entry(entry: Any) -> dict[str, Any]:
    if entry.change is not None:
        changes = [
            {
                "field": recordkit.label(k),
                "old": recordkit.show(v[0]) if isinstance(v, list | tuple) else "",
                "new": recordkit.show(v[1]) if isinstance(v, list | tuple) else recordkit.show(v),
            }
            for k, v in (entry.change.get("changes") or {}).items()
        ]
        return {
            "at": entry.at,
            "kind": "change",
            "summary": f"{entry.change['verb'].capitalize()} by "
            f"{entry.change.get('actor_name') or 'the system'}",
            "changes": changes,
        }
    activity = entry.activity or {}
    return {
        "at": entry.at,
        "kind": entry.kind,
        "summary": f"{entry.kind.replace('_', ' ').capitalize()}: {activity.get('summary', '')}",
        "changes": [],
    }


@require_http_methods(["GET", "POST"])
@record_page
def edit(request: HttpRequest, rt: RecordType, record_id: Any) -> HttpResponse:
    """Edit the record's fields. The form carries the version it was read at; a save over a
    newer version shows the conflict screen (both versions) instead of overwriting."""
    user = request.user
    recordkit.require(user, rt, "edit")
    record = rt.resource.read(user, str(record_id))
    policy = rt.resource.policy(user)
    current = policy.mask(rt.resource.service.payload(record))
    controls = _controls(rt, current, policy)
    editable = list(controls)
    submitted = {f: request.POST.get(f, "") for f in editable} if request.method == "POST" else {}
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    status = 200
    if request.method == "POST":
        # Only what the person changed is sent: re-applying after a conflict must not put
        # back the fields someone else changed and this person did not touch.
        original = {f: request.POST.get(f"original-{f}", "") for f in editable}
        changed = {f: v for f, v in submitted.items() if v.strip() != original[f].strip()}
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = record.version
        try:
            data = recordkit.parse(rt, changed, custom=recordkit.custom_fields(rt, policy.hidden))
            if data:
                rt.resource.service.update(
                    actor=user,
                    record_id=record.pk,
                    data=data,
                    expected_version=version,
                    source=Source.WEB,
                )
        except PreconditionFailed:
            return _conflict(request, rt, record, current, changed)
        except InvalidInput as exc:
            status = exc.status
            _inline_errors(exc, editable, errors, general)
        except AccordError as exc:
            status = exc.status
            general.append(exc.detail)
        else:
            messages.success(request, f"{rt.label} saved.")
            return redirect("records:detail", rt.name, record.pk)
    fields = [
        {
            **control,
            "value": submitted.get(name, control["current"]),
            "original": request.POST.get(f"original-{name}", control["current"])
            if request.method == "POST"
            else control["current"],
            "errors": errors.get(name, []),
        }
        for name, control in controls.items()
    ]
    shown_version = request.POST.get("version") if request.method == "POST" else record.version
    return render(
        request,
        "web/records/edit.html",
        {
            "rt": rt,
            "record": record,
            "title": recordkit.title(rt, current),
            "heading": f"Edit {rt.label.lower()}: {recordkit.title(rt, current)}",
            "action": reverse("records:edit", args=[rt.name, record.pk]),
            "cancel": reverse("records:detail", args=[rt.name, record.pk]),
            "fields": fields,
            "version": shown_version,
            "general": general,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@record_page
def create(request: HttpRequest, rt: RecordType) -> HttpResponse:
    """A new record from the one-line fields its create schema shares with the edit page
    (a query string may preset them: an account's related list links here with its id);
    errors are shown inline and nothing is saved until the service accepts it all."""
    user = request.user
    recordkit.require(user, rt, "create")
    policy = rt.resource.policy(user)
    wanted = set(rt.resource.create_in.model_fields)
    preset = {f: "" for f in rt.editable if f in wanted and f not in policy.hidden}
    controls = {n: c for n, c in _controls(rt, preset, policy).items() if not n.startswith("cf.")}
    source = request.POST if request.method == "POST" else request.GET
    submitted = {f: source.get(f, "") for f in controls}
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            data = _create_data(rt, {f: v for f, v in submitted.items() if v.strip()})
            record = rt.resource.service.create(actor=user, data=data, source=Source.WEB)
        except InvalidInput as exc:
            status = exc.status
            _inline_errors(exc, list(controls), errors, general)
        except AccordError as exc:
            status = exc.status
            general.append(exc.detail)
        else:
            messages.success(request, f"{rt.label} created.")
            return redirect("records:detail", rt.name, record.pk)
    fields = [
        {**c, "value": submitted[n], "original": "", "errors": errors.get(n, [])}
        for n, c in controls.items()
    ]
    return render(
        request,
        "web/records/edit.html",
        {
            "rt": rt,
            "title": f"New {rt.label.lower()}",
            "heading": f"New {rt.label.lower()}",
            "action": reverse("records:create", args=[rt.name]),
            "cancel": reverse(f"records:{rt.name}-list"),
            "fields": fields,
            "general": general,
        },
        status=status,
    )


def _create_data(rt: RecordType, raw: dict[str, str]) -> dict[str, Any]:
    """Form text as the create schema takes it (as the API's create would): a required field
    left empty is an error of that field."""
    return recordkit.validated(rt.resource.create_in, recordkit.parse(rt, raw))


def _inline_errors(
    exc: InvalidInput, editable: list[str], errors: dict[str, list[str]], general: list[str]
) -> None:
    """Each error next to its form control (``cf.<key>`` for a custom field), the others
    above the form."""
    for error in exc.errors:
        name = error.field.split("[")[0]
        name = f"cf.{name[14:]}" if name.startswith("custom_fields.") else name
        name = name if name in editable else name.split(".")[0]
        if name in editable:
            errors.setdefault(name, []).append(error.message)
        else:
            general.append(f"{recordkit.label(error.field)}: {error.message}")
    if not exc.errors:
        general.append(exc.detail)


def _controls(rt: RecordType, current: dict[str, Any], policy: Any) -> dict[str, dict[str, Any]]:
    """The form controls of the edit page: the patch schema's one-line fields, then the custom
    fields, leaving out what field-level security hides or makes read-only."""
    found: dict[str, dict[str, Any]] = {}
    for name, kind in rt.editable.items():
        if name in current and name not in policy.read_only:
            found[name] = {
                "name": name,
                "label": recordkit.label(name),
                "current": recordkit.text(current.get(name)),
                "choices": rt.choices.get(name, ()),
                "boolean": kind is bool,
                "help": "",
            }
    values = current.get("custom_fields") or {}
    for definition in recordkit.custom_fields(rt, policy.hidden):
        if f"custom_fields.{definition.key}" in policy.read_only:
            continue
        found[f"cf.{definition.key}"] = {
            "name": f"cf.{definition.key}",
            "label": definition.label,
            "current": recordkit.text(values.get(definition.key)),
            "choices": tuple(map(str, definition.choices)) if definition.type == "choice" else (),
            "boolean": definition.type == "bool",
            "help": definition.help_text,
        }
    return found


def _conflict(
    request: HttpRequest,
    rt: RecordType,
    record: Any,
    current: dict[str, Any],
    changed: dict[str, str],
) -> HttpResponse:
    """Both versions side by side: re-apply posts the person's changes against the current
    version (a deliberate overwrite of just those fields); discard goes back to the record."""
    rows = [
        {
            "name": f,
            "label": recordkit.label(f),
            "theirs": recordkit.text(current.get(f)),
            "mine": value,
            "differs": recordkit.text(current.get(f)).strip() != value.strip(),
        }
        for f, value in changed.items()
    ]
    return render(
        request,
        "web/records/conflict.html",
        {
            "rt": rt,
            "record": record,
            "title": recordkit.title(rt, current),
            "rows": rows,
            "current": [
                {"label": recordkit.label(f), "text": recordkit.show(v)}
                for f, v in current.items()
                if f in rt.editable
            ],
        },
        status=409,
    )


@require_POST
@record_page
def delete(request: HttpRequest, rt: RecordType, record_id: Any) -> HttpResponse:
    recordkit.require(request.user, rt, "delete")
    record = rt.resource.read(request.user, str(record_id))
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = record.version
    try:
        rt.resource.service.delete(
            actor=request.user, record_id=record.pk, expected_version=version, source=Source.WEB
        )
    except PreconditionFailed:
        messages.error(request, f"The {rt.label.lower()} changed since you opened it: check it.")
        return redirect("records:detail", rt.name, record.pk)
    messages.success(request, f"{rt.label} moved to the recycle bin.")
    return redirect(f"records:{rt.name}-list")


@require_POST
@record_page
def quick_action(request: HttpRequest, rt: RecordType, record_id: Any) -> HttpResponse:
    """Log a call, add a note or create a task about the record, then back to its page."""
    record = rt.resource.read(request.user, str(record_id))
    kind = request.POST.get("kind", "")
    if kind == HANDOFF and rt.quick_actions:
        return _send_to_department(request, rt, record)
    if kind not in QUICK_ACTIONS or not rt.quick_actions:
        messages.error(request, "Choose what to add.")
        return redirect("records:detail", rt.name, record.pk)
    service, fields = QUICK_ACTIONS[kind]
    data: dict[str, Any] = {"related_type": rt.object_type, "related_id": record.pk}
    for name in fields:
        value = request.POST.get(name, "").strip()
        if value:
            data[name] = value
    try:
        service.create(actor=request.user, data=data, source=Source.WEB)
    except AccordError as exc:
        messages.error(request, _problem(exc))
    else:
        messages.success(request, f"{kind.capitalize()} added.")
    return redirect("records:detail", rt.name, record.pk)


def _problem(exc: AccordError) -> str:
    detail = "; ".join(f"{recordkit.label(e.field)} {e.message}" for e in exc.errors)
    return detail or exc.detail


def _send_to_department(request: HttpRequest, rt: RecordType, record: Any) -> HttpResponse:
    """The "send to another department" quick action: a task for someone there, who is
    notified (activities.services.send_to_department)."""
    try:
        task = activity_services.send_to_department(
            actor=request.user,
            record=record,
            department_id=request.POST.get("department_id", ""),
            assignee_id=request.POST.get("assignee_id", "") or None,
            message=request.POST.get("message", ""),
            source=Source.WEB,
        )
    except AccordError as exc:
        messages.error(request, _problem(exc))
    else:
        messages.success(request, f"Sent to {task.assignee} as a task.")
    return redirect("records:detail", rt.name, record.pk)


@require_POST
@record_page
def attach(request: HttpRequest, rt: RecordType, record_id: Any) -> HttpResponse:
    """Attach a file to the record (its type judged from its content by parties.attachments);
    a refused file is said next to the file control and nothing is stored."""
    user = request.user
    record = rt.resource.read(user, str(record_id))
    upload = request.FILES.get("file")
    limit = attachments.max_size()
    try:
        if upload is None:
            raise InvalidInput.field("file", "choose a file to attach")
        content = upload.read(limit + 1)
        if len(content) > limit:
            raise InvalidInput.field("file", f"is larger than {limit // (1024 * 1024)} MB")
        attachments.attachments.attach(
            actor=user,
            object_type=rt.object_type,
            record_id=record.pk,
            filename=upload.name or "",
            content=content,
            source=Source.WEB,
        )
    except AccordError as exc:
        detail = "; ".join(e.message for e in exc.errors) or exc.detail
        return _detail(
            request, rt, record.pk, attach_error=f"The file {detail}.", status=exc.status
        )
    messages.success(request, f"Attached {upload.name}.")
    return redirect("records:detail", rt.name, record.pk)


def recycle_bin(request: HttpRequest) -> HttpResponse:
    """Records the user deleted or may see in the bin, newest first, per type; records leave
    the bin after RECYCLE_BIN_RETENTION."""
    since = clock.now() - RECYCLE_BIN_RETENTION
    request.accord_workspace = "back_office"  # type: ignore[attr-defined]
    groups = []
    for rt in records.TYPES.values():
        if not rt.allowed(request.user):
            continue
        model = rt.resource.service.model
        queryset = model.all_objects.filter(deleted_at__gte=since).order_by("-deleted_at")
        found = list(visible(request.user, queryset)[:BIN_ROWS])
        if not found:
            continue
        policy = rt.resource.policy(request.user)
        groups.append(
            {
                "rt": rt,
                "rows": [
                    {
                        "id": r.pk,
                        "title": recordkit.title(rt, policy.mask(rt.resource.service.payload(r))),
                        "deleted_at": r.deleted_at,
                        "purged_on": (r.deleted_at + RECYCLE_BIN_RETENTION).date(),
                    }
                    for r in found
                ],
            }
        )
    response = render(request, "web/records/recycle_bin.html", {"groups": groups})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@record_page
def restore(request: HttpRequest, rt: RecordType, record_id: Any) -> HttpResponse:
    record = rt.resource.service.restore(actor=request.user, record_id=record_id, source=Source.WEB)
    messages.success(request, f"{rt.label} restored.")
    return redirect("records:detail", rt.name, record.pk)

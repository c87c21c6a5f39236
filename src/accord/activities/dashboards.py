"""The dashboard cards of activities: the tasks a person has to do soon, and what happened
lately on the records they can see. Plain declarations that ``accord.web`` reads at start-up
(see ``accord.web.pages``, ``CARDS``); activities does not import web, it names the record
pages by their URL names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import Left
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accord.activities.models import Activity, Call, Meeting, Note, Task
from accord.core import clock
from accord.identity.visibility import permitted, visible

#: Tasks listed on the card; the counts cover them all.
TASKS_SHOWN = 8
#: Entries of the recent activity card.
RECENT_SHOWN = 10
#: A task still to be done.
OPEN_TASK_STATUSES = (Task.Status.OPEN, Task.Status.IN_PROGRESS)
#: What the recent activity card shows, with the field that names each entry.
RECENT_KINDS: tuple[tuple[type[Activity], str], ...] = (
    (Task, "subject"),
    (Note, "body"),
    (Call, "subject"),
    (Meeting, "subject"),
)


def record_url(object_type: str, pk: Any) -> str:
    return reverse("records:detail", kwargs={"type_name": object_type, "record_id": pk})


def list_url(object_type: str, **filters: Any) -> str:
    """The list page of ``object_type`` filtered as the list's filter form would."""
    url = reverse(f"records:{object_type}-list")
    return f"{url}?{urlencode({k: str(v) for k, v in filters.items()})}" if filters else url


def tasks_due(user: Any) -> dict[str, Any]:
    """Open tasks assigned to ``user`` that are overdue or due within seven days: one aggregate
    for the three counts and one read for the first few, both on the task_assignee index
    (assignee, status, due_at)."""
    now = clock.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = today + dt.timedelta(days=1)
    week_end = today + dt.timedelta(days=7)
    mine = visible(
        user,
        Task.objects.filter(assignee=user, status__in=OPEN_TASK_STATUSES, due_at__lt=week_end),
    )
    counts = mine.aggregate(
        overdue=Count("pk", filter=Q(due_at__lt=now)),
        today=Count("pk", filter=Q(due_at__gte=now, due_at__lt=tomorrow)),
        week=Count("pk", filter=Q(due_at__gte=tomorrow)),
    )
    tasks = mine.order_by("due_at", "pk").only("pk", "subject", "due_at", "status", "priority")
    base = {"assignee_id": user.pk, "due_before": week_end.isoformat()}
    return {
        "counts": [
            {"label": "Overdue", "count": counts["overdue"], "urgent": True},
            {"label": "Due today", "count": counts["today"]},
            {"label": "Later this week", "count": counts["week"]},
        ],
        "tasks": [
            {
                "subject": task.subject,
                "due_at": task.due_at,
                "overdue": task.due_at is not None and task.due_at < now,
                "status": task.get_status_display(),
                "url": record_url("task", task.pk),
            }
            for task in tasks[:TASKS_SHOWN]
        ],
        "more": sum(counts.values()) > TASKS_SHOWN,
        "links": [
            {"label": "Open", "url": list_url("task", status=Task.Status.OPEN, **base)},
            {
                "label": "In progress",
                "url": list_url("task", status=Task.Status.IN_PROGRESS, **base),
            },
        ],
    }


#: Newest rows of one kind read per round, and the rounds at most: the card looks through the
#: latest changes of each kind for ones the user may see, not through all of history.
RECENT_CHUNK = 100
RECENT_ROUNDS = 10


def _recent_of_kind(user: Any, model: type[Activity], name_field: str) -> list[dict[str, Any]]:
    """The newest few rows of one kind that ``user`` may see.

    Filtering the whole table by visibility and then taking ten makes PostgreSQL build the set
    of every parent record the user sees (all 100,000 leads of a rep whose department shares
    them) before it reads a row. Instead the newest rows are read in chunks from the
    (updated_at, id) index, and only each chunk goes through :func:`visible`, where the parent
    check is a primary-key probe per row."""
    found: list[dict[str, Any]] = []
    newest = model.objects.order_by("-updated_at", "-pk")
    for _ in range(RECENT_ROUNDS):
        chunk = list(newest.values_list("updated_at", "pk")[:RECENT_CHUNK])
        if not chunk:
            break
        # The chunk again as a subquery, not as a list of ids: with a list PostgreSQL still
        # hashes every visible parent; with the subquery it probes the chunk's parents.
        ids = newest.values("pk")[:RECENT_CHUNK]
        found += (
            visible(user, model.objects.filter(pk__in=ids))
            .annotate(title=Left(name_field, 80))
            .values("pk", "title", "related_type", "related_id", "updated_at")
        )
        if len(found) >= RECENT_SHOWN or len(chunk) < RECENT_CHUNK:
            break
        last_at, last_pk = chunk[-1]
        newest = newest.filter(Q(updated_at__lt=last_at) | Q(updated_at=last_at, pk__lt=last_pk))
    for row in found:
        row["kind"] = model.object_type
    return found


def recent_activity(user: Any) -> dict[str, Any]:
    """The latest tasks, notes, calls and meetings ``user`` may see, newest change first."""
    found = [
        row
        for model, field in RECENT_KINDS
        if permitted(user, model.object_type, "read")
        for row in _recent_of_kind(user, model, field)
    ]
    rows = sorted(found, key=lambda row: (row["updated_at"], row["pk"]), reverse=True)
    return {
        "entries": [
            {
                "kind": row["kind"].replace("_", " ").capitalize(),
                "title": row["title"] or f"{row['kind'].capitalize()} without a subject",
                "updated_at": row["updated_at"],
                # A task has a page of its own; the others are read on their record's page.
                "url": record_url("task", row["pk"])
                if row["kind"] == Task.object_type
                else record_url(row["related_type"], row["related_id"]),
                "about": row["related_type"].replace("_", " "),
            }
            for row in rows[:RECENT_SHOWN]
        ]
    }


def _reads(object_type: str) -> Any:
    return lambda user: permitted(user, object_type, "read")


CARDS = [
    {
        "key": "tasks-due",
        "label": "My tasks due",
        "workspaces": ("sales", "marketing", "service", "back_office"),
        "data": tasks_due,
        "template": "web/cards/tasks_due.html",
        "order": 10,
        "description": "Your open tasks: overdue, due today and in the next seven days.",
        "allowed": _reads(Task.object_type),
    },
    {
        "key": "recent-activity",
        "label": "Recent activity",
        "workspaces": ("sales", "marketing", "service", "back_office"),
        "data": recent_activity,
        "template": "web/cards/recent_activity.html",
        "order": 90,
        "description": "The latest tasks, notes, calls and meetings on records you can see.",
    },
]

"""REST endpoints of activities and record timelines (mounted by accord.api)."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from accord.activities import notifications as inbox
from accord.activities import queries, schemas, services
from accord.core.api import Resource, actor, crud_router
from accord.core.errors import NotFound
from accord.core.schemas import Page, Problem

tasks = crud_router(
    Resource(
        name="task",
        service=services.tasks,
        read=queries.get_task,
        browse=queries.list_tasks,
        out=schemas.TaskOut,
        create_in=schemas.TaskIn,
        patch_in=schemas.TaskPatch,
        filters=schemas.TaskFilters,
        tags=["tasks"],
    )
)

notes = crud_router(
    Resource(
        name="note",
        service=services.notes,
        read=queries.get_note,
        browse=queries.list_notes,
        out=schemas.NoteOut,
        create_in=schemas.NoteIn,
        patch_in=schemas.NotePatch,
        filters=schemas.ActivityFilters,
        tags=["notes"],
    )
)

calls = crud_router(
    Resource(
        name="call",
        service=services.calls,
        read=queries.get_call,
        browse=queries.list_calls,
        out=schemas.CallOut,
        create_in=schemas.CallIn,
        patch_in=schemas.CallPatch,
        filters=schemas.ActivityFilters,
        tags=["calls"],
    )
)

meetings = crud_router(
    Resource(
        name="meeting",
        service=services.meetings,
        read=queries.get_meeting,
        browse=queries.list_meetings,
        out=schemas.MeetingOut,
        create_in=schemas.MeetingIn,
        patch_in=schemas.MeetingPatch,
        filters=schemas.ActivityFilters,
        tags=["meetings"],
    )
)

email_logs = crud_router(
    Resource(
        name="email_log",
        service=services.email_logs,
        read=queries.get_email_log,
        browse=queries.list_email_logs,
        out=schemas.EmailLogOut,
        create_in=schemas.EmailLogIn,
        patch_in=schemas.EmailLogPatch,
        filters=schemas.ActivityFilters,
        tags=["email logs"],
    )
)

# Mounted at the API root, so that every record collection gets its timeline; the literal
# last segment keeps it clear of the collections' own /{collection}/{id} item routes.
timeline = Router(tags=["timeline"])


@timeline.get(
    "/{collection}/{record_id}/timeline",
    response={
        200: Page[schemas.TimelineEntryOut],
        400: Problem,
        401: Problem,
        403: Problem,
        404: Problem,
        422: Problem,
    },
    summary="A record's timeline",
    description=(
        "The record's field changes (with who made them and from where) and the activities "
        "about it, newest first. `collection` is the record's collection, e.g. `contacts`. "
        "Fields your role may not see are left out, and so are changes of only such fields."
    ),
    operation_id="get_timeline",
)
def get_timeline(
    request: HttpRequest, collection: str, record_id: str, filters: Query[schemas.TimelineQuery]
) -> Any:
    object_type = queries.object_type_of_collection(collection)
    if object_type is None:
        raise NotFound(f"No collection {collection!r}")
    entries, next_cursor = queries.timeline(
        actor(request), object_type, record_id, cursor=filters.cursor, limit=filters.limit
    )
    return {"items": entries, "next_cursor": next_cursor}


# Its own router, so that reading field history takes its own token scope ("history").
history = Router(tags=["history"])


@history.get(
    "/{collection}/{record_id}/history",
    response={
        200: Page[schemas.FieldChangeOut],
        400: Problem,
        401: Problem,
        403: Problem,
        404: Problem,
        422: Problem,
    },
    summary="A record's field history",
    description=(
        "Who changed which field of the record, when, from where, and from what to what, "
        "newest first. `collection` is the record's collection, e.g. `accounts`. Fields your "
        "role may not see are left out (and entries that changed only those); filtering by "
        "such a field is a 403."
    ),
    operation_id="get_history",
)
def get_history(
    request: HttpRequest, collection: str, record_id: str, filters: Query[schemas.HistoryQuery]
) -> Any:
    object_type = queries.object_type_of_collection(collection)
    if object_type is None:
        raise NotFound(f"No collection {collection!r}")
    entries, next_cursor = queries.history(
        actor(request),
        object_type,
        record_id,
        field=filters.field,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return {"items": entries, "next_cursor": next_cursor}


# -- the notification inbox: always the caller's own -------------------------------------------

notifications = Router(tags=["notifications"])

INBOX_ERRORS: dict[int, Any] = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    422: Problem,
}


@notifications.get(
    "",
    response={200: Page[schemas.NotificationOut], **INBOX_ERRORS},
    summary="Your notifications",
    description="Newest first; `unread=true` for the unread ones only.",
    operation_id="list_notifications",
)
def list_notifications(request: HttpRequest, query: Query[schemas.NotificationQuery]) -> Any:
    rows, next_cursor = inbox.list_inbox(
        actor(request), unread=query.unread, cursor=query.cursor, limit=query.limit
    )
    return {"items": rows, "next_cursor": next_cursor}


@notifications.get(
    "/unread-count",
    response={200: schemas.CountOut, **INBOX_ERRORS},
    summary="How many of your notifications are unread",
    operation_id="count_unread_notifications",
)
def count_unread(request: HttpRequest) -> Any:
    return {"count": inbox.unread_count(actor(request))}


@notifications.post(
    "/read-all",
    response={200: schemas.CountOut, **INBOX_ERRORS},
    summary="Mark all your notifications read",
    description="Answers how many were unread.",
    operation_id="mark_all_notifications_read",
)
def mark_all_read(request: HttpRequest) -> Any:
    return {"count": inbox.mark_all_read(actor(request))}


@notifications.get(
    "/preferences",
    response={200: schemas.NotificationPreferencesOut, **INBOX_ERRORS},
    summary="How you get each kind of notification",
    description="Per kind: `in_app`, `email_immediate`, `email_digest` (daily) or `off`.",
    operation_id="get_notification_preferences",
)
def get_preferences(request: HttpRequest) -> Any:
    return inbox.preferences(actor(request))


@notifications.put(
    "/preferences",
    response={200: schemas.NotificationPreferencesOut, **INBOX_ERRORS},
    summary="Choose how you get each kind of notification",
    description="Kinds you leave out keep their channel.",
    operation_id="set_notification_preferences",
)
def set_preferences(request: HttpRequest, body: schemas.NotificationPreferencesIn) -> Any:
    return inbox.set_preferences(actor(request), body.model_dump(exclude_none=True))


@notifications.get(
    "/{notification_id}",
    response={200: schemas.NotificationOut, **INBOX_ERRORS},
    summary="Read one of your notifications",
    operation_id="get_notification",
)
def get_notification(request: HttpRequest, notification_id: str) -> Any:
    return inbox.get(actor(request), notification_id)


@notifications.post(
    "/{notification_id}/read",
    response={200: schemas.NotificationOut, **INBOX_ERRORS},
    summary="Mark one of your notifications read",
    operation_id="mark_notification_read",
)
def mark_read(request: HttpRequest, notification_id: str) -> Any:
    return inbox.mark_read(actor(request), notification_id)


#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES: list[tuple[str, Any, str]] = [
    ("/tasks", tasks, "tasks"),
    ("/notes", notes, "notes"),
    ("/calls", calls, "calls"),
    ("/meetings", meetings, "meetings"),
    ("/email-logs", email_logs, "email-logs"),
    ("", timeline, "timeline"),
    ("", history, "history"),
    ("/notifications", notifications, "notifications"),
]

"""REST endpoints of activities and record timelines (mounted by accord.api)."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

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
        "about it, newest first. `collection` is the record's collection, e.g. `contacts`."
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


#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES: list[tuple[str, Any, str]] = [
    ("/tasks", tasks, "tasks"),
    ("/notes", notes, "notes"),
    ("/calls", calls, "calls"),
    ("/meetings", meetings, "meetings"),
    ("/email-logs", email_logs, "email-logs"),
    ("", timeline, "timeline"),
]

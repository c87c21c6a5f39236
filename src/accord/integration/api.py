"""REST endpoints of the event backbone (mounted by accord.api): the events feed and its status,
and the offline sync feed."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from accord.core.api import RESOURCES, actor
from accord.core.bulk import collection_deferred
from accord.core.errors import PermissionDenied
from accord.core.schemas import Problem
from accord.identity import tokens
from accord.identity.models import ApiToken
from accord.identity.visibility import manages_access
from accord.integration import queries, schemas, sync
from accord.integration.webhooks.api import webhooks as webhook_router

events = Router(tags=["events"])


@events.get(
    "",
    response={
        200: schemas.EventsPageOut,
        400: Problem,
        401: Problem,
        403: Problem,
        410: Problem,
        422: Problem,
    },
    summary="Events after a sequence",
    description=(
        "Every committed change as a CloudEvents envelope, in `sequence` order, never skipping "
        "one: those about records you may see now, without the fields you may not see. Keep "
        "`next_cursor` and pass it as `after`. A cursor older than the retention "
        "(ACCORD_EVENT_RETENTION_HOURS) answers 410: resynchronise fully, then continue."
    ),
    operation_id="list_events",
)
def list_events(request: HttpRequest, filters: Query[schemas.EventsQuery]) -> Any:
    page = queries.events_page(
        actor(request),
        after=queries.parse_after(filters.after),
        types=queries.parse_types(filters.types),
        limit=filters.limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}


@events.get(
    "/status",
    response={200: schemas.EventsStatusOut, 401: Problem, 403: Problem},
    summary="The event backbone's status",
    description=(
        "Backlog waiting for a sequence number, the sequencer lease, and each destination's "
        "position and lag. For administrators."
    ),
    operation_id="get_events_status",
)
def events_status(request: HttpRequest) -> Any:
    if not manages_access(actor(request)):
        raise PermissionDenied("Only administrators may see the event backbone's status")
    return asdict(queries.status())


#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES: list[tuple[str, Any, str]] = [("/events", events, "events")]


# -- offline sync (integration/sync.py) --------------------------------------------------------

sync_router = Router(tags=["sync"])


def _token(request: HttpRequest) -> ApiToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def _collection(object_type: str) -> str:
    """``email_log`` → ``email-logs``: the token scope collection of an object type."""
    return object_type.replace("_", "-") + "s"


def _writers(request: HttpRequest, action: str) -> dict[str, Any]:
    """The object types the feed serves that the caller's token may ``action``."""
    token = _token(request)
    return {
        res.service.model.object_type: res
        for res in RESOURCES.values()
        if tokens.allows(token, _collection(res.service.model.object_type), action)
    }


def _json_default(value: Any) -> Any:
    """What orjson cannot write itself (a decimal in a custom field, say), as Django would."""
    return DjangoJSONEncoder().default(value)


SYNC_ERRORS = {400: Problem, 401: Problem, 403: Problem, 409: Problem, 410: Problem, 422: Problem}


@sync_router.get(
    "",
    response={200: schemas.SyncPageOut, **SYNC_ERRORS},
    summary="Pull the changes for an offline replica",
    description=(
        "Without a cursor: a new replica and everything you may see. With the `next_cursor` "
        "of your last pull: the records you may see that changed or newly became visible, "
        "and tombstones for records you hold that were deleted or that you may no longer see "
        "(whatever the reason). Keep pulling while `has_more`. Store each page with its "
        "cursor before asking for the next: presenting the cursor confirms the page. 410: "
        "resynchronise fully (pull without a cursor)."
    ),
    operation_id="pull_sync",
)
def pull_sync(request: HttpRequest, filters: Query[schemas.SyncQuery]) -> Any:
    writers = _writers(request, "read")
    # A page of thousands of records makes about a million objects, nearly all freed once
    # its text is written. With the collector held off until then, it never walks them; left
    # on, its passes over them took as long as the rest of the page (``collection_deferred``).
    with collection_deferred():
        page = sync.pull(
            actor(request),
            cursor=filters.cursor or None,
            types=sync.parse_types(filters.types, writers),
            limit=filters.limit,
            writers=writers,
        )
        # Written straight from the payloads (JSON-ready already) by orjson, in a sixth of
        # the standard library's time for a page of thousands.
        body = {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}
        text = orjson.dumps(body, default=_json_default)
        del body, page
    return HttpResponse(text, content_type="application/json; charset=utf-8")


@sync_router.post(
    "",
    response={200: schemas.SyncPushOut, **SYNC_ERRORS},
    summary="Push offline edits",
    description=(
        "Each edit goes through the record's service with its `base_version` as the expected "
        "version. Each is applied or not on its own (`all_or_none` to apply all or none) and "
        "gets a result: `applied`, `conflict` (the record changed since `base_version`: "
        "nothing written, `server` holds its current state and `mine` your edit) or "
        "`rejected` with the status and errors the same write would get alone."
    ),
    operation_id="push_sync",
)
def push_sync(request: HttpRequest, body: schemas.SyncPushIn) -> Any:
    token = _token(request)
    outcomes = sync.push(
        actor(request),
        [sync.Edit(**edit.model_dump()) for edit in body.changes],
        all_or_none=body.all_or_none,
        writers={res.service.model.object_type: res for res in RESOURCES.values()},
        may_write=lambda object_type: tokens.allows(token, _collection(object_type), "write"),
    )
    return {
        "applied": sum(o.status == "applied" for o in outcomes),
        "conflicts": sum(o.status == "conflict" for o in outcomes),
        "rejected": sum(o.status not in ("applied", "conflict") for o in outcomes),
        "results": [asdict(o) for o in outcomes],
    }


ROUTES.append(("/sync", sync_router, "sync"))


# -- webhooks (integration/webhooks/) ----------------------------------------------------------

ROUTES.append(("/webhooks", webhook_router, "webhooks"))

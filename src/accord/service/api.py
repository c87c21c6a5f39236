"""REST endpoints of service (mounted by accord.api)."""

from __future__ import annotations

from typing import Any

from accord.core.api import Resource, crud_router
from accord.service import queries, schemas, services

cases = crud_router(
    Resource(
        name="case",
        service=services.cases,
        read=queries.get_case,
        browse=queries.list_cases,
        out=schemas.CaseOut,
        create_in=schemas.CaseIn,
        patch_in=schemas.CasePatch,
        filters=schemas.CaseFilters,
        tags=["cases"],
    )
)

queues = crud_router(
    Resource(
        name="queue",
        service=services.queues,
        read=queries.get_queue,
        browse=queries.list_queues,
        out=schemas.QueueOut,
        create_in=schemas.QueueIn,
        patch_in=schemas.QueuePatch,
        filters=schemas.QueueFilters,
        tags=["queues"],
    )
)

#: (path prefix, router, token scope collection) for accord.api to mount.
ROUTES: list[tuple[str, Any, str]] = [
    ("/cases", cases, "cases"),
    ("/queues", queues, "queues"),
]

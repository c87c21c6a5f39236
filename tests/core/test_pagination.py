"""Keyset pagination through the API: over every sort a collection offers, in both directions,
pages serve each row exactly once and in order, stay stable while rows are inserted between
page fetches, and refuse a cursor made for another sort.

The sorts come from the collections' own sort tables, so a sort added later is covered here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from accord.core import clock
from accord.core.models import Record
from accord.parties import queries, services
from accord.parties.models import Account, Contact, Tag

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

T0 = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC)

# Eleven rows with repeated names and timestamps, so ties must be broken by id.
LAST_NAMES = ["Mb", "Ma", "Mc", "Ma", "Md", "Mb", "Me", "Ma", "Mf", "Mg", "Mc"]
FIRST_NAMES = ["Nx", "Ny", "Nx", "Nz", "Ny", "Nx", "Nw", "Nz", "Ny", "Nx", "Nw"]


@dataclass(frozen=True)
class Listing:
    name: str
    path: str
    model: type[Record]
    sorts: dict[str, str]
    default: str
    #: ``(index, last, first)`` → the data of one new row.
    data: Callable[[int, str, str], dict[str, Any]]
    service: Any
    #: Whether two rows may share a name (tags may not).
    ties: bool = True

    def __str__(self) -> str:
        return self.name


LISTINGS = [
    Listing(
        name="accounts",
        path="/api/v1/accounts",
        model=Account,
        sorts=queries.ACCOUNT_SORTS,
        default="id",
        data=lambda i, last, first: {"name": last, "industry": first},
        service=services.accounts,
    ),
    Listing(
        name="contacts",
        path="/api/v1/contacts",
        model=Contact,
        sorts=queries.CONTACT_SORTS,
        default="id",
        data=lambda i, last, first: {"last_name": last, "first_name": first},
        service=services.contacts,
    ),
    Listing(
        name="tags",
        path="/api/v1/tags",
        model=Tag,
        sorts=queries.TAG_SORTS,
        default="name",
        data=lambda i, last, first: {"name": f"{last}{i:03d}"},
        service=services.tags,
        ties=False,
    ),
]

SIGNED_SORTS = [
    pytest.param(listing, f"{sign}{sort}", id=f"{listing}-{sign}{sort}")
    for listing in LISTINGS
    for sort in listing.sorts
    for sign in ("", "-")
]


def _seed(listing: Listing, admin: Any) -> list[Record]:
    """Eleven rows created in groups of three per minute; every fourth changed an hour later."""
    rows: list[Record] = []
    for start in range(0, len(LAST_NAMES), 3):
        with clock.frozen(T0 + dt.timedelta(minutes=start)):
            batch = [
                listing.data(i, LAST_NAMES[i], FIRST_NAMES[i])
                for i in range(start, min(start + 3, len(LAST_NAMES)))
            ]
            rows.extend(listing.service.create_many(actor=admin, rows=batch))
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        for row in rows[::4]:
            change = {"color": "#000000"} if listing.model is Tag else {"external_id": "changed"}
            listing.service.update(actor=admin, record_id=row.pk, data=change, expected_version=1)
    return rows


def _positions(listing: Listing, sort: str, ids: list[str]) -> list[tuple[Any, Any]]:
    """Each row's ``(sort key, id)``: what keyset pagination orders by."""
    column = listing.sorts[sort.lstrip("-")]
    rows = listing.model.all_objects.in_bulk(ids)
    return [(getattr(rows[pk], column), rows[pk].pk) for pk in map(uuid.UUID, ids)]


def _ahead(position: tuple[Any, Any], of: tuple[Any, Any], sort: str) -> bool:
    return position < of if sort.startswith("-") else position > of


def _expected_order(listing: Listing, sort: str) -> list[str]:
    ids = [str(pk) for pk in listing.model.objects.values_list("pk", flat=True)]
    ordered = sorted(zip(_positions(listing, sort, ids), ids, strict=True))
    if sort.startswith("-"):
        ordered.reverse()
    return [record_id for _, record_id in ordered]


def _pages(
    api: Any, listing: Listing, sort: str | None, limit: int, between: Callable[[str], None]
) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        query: dict[str, Any] = {"limit": limit}
        if sort is not None:
            query["sort"] = sort
        if cursor is not None:
            query["cursor"] = cursor
        response = api.get(listing.path, query)
        assert response.status_code == 200, response.content
        page = response.json()
        assert 1 <= len(page["items"]) <= limit or (not seen and not page["items"])
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        between(seen[-1])
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
def test_keyset_pages_serve_every_row_once_in_order_for_every_sort(listing, admin, admin_api):
    _seed(listing, admin)

    for sort in [f"{sign}{key}" for key in listing.sorts for sign in ("", "-")]:
        expected = _expected_order(listing, sort)
        for limit in (3, 200):
            served = _pages(admin_api, listing, sort, limit, lambda _: None)
            assert served == expected, f"sort={sort} limit={limit}"


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
def test_list_without_sort_uses_the_default_order(listing, admin, admin_api):
    _seed(listing, admin)
    served = _pages(admin_api, listing, None, 4, lambda _: None)
    assert served == _expected_order(listing, listing.default)


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
def test_last_full_page_has_no_next_cursor(listing, admin, admin_api):
    listing.service.create_many(actor=admin, rows=[listing.data(i, f"M{i}", "N") for i in range(4)])

    first = admin_api.get(listing.path, {"limit": 2}).json()
    second = admin_api.get(listing.path, {"limit": 2, "cursor": first["next_cursor"]}).json()

    assert len(first["items"]) == len(second["items"]) == 2
    assert second["next_cursor"] is None


@pytest.mark.parametrize(("listing", "sort"), SIGNED_SORTS)
def test_pages_stay_stable_while_rows_are_inserted_between_fetches(listing, sort, admin, admin_api):
    originals = {str(r.pk) for r in _seed(listing, admin)}
    #: Each inserted row and the cursor position at the moment it was inserted.
    inserted: list[tuple[str, tuple[Any, Any]]] = []
    counter = iter(range(100, 1000))

    def insert_around(last_served: str) -> None:
        if len(inserted) >= 9:
            return  # rows inserted ahead of an ascending id would otherwise never end the list
        (cursor_at,) = _positions(listing, sort, [last_served])
        cursor_row = listing.model.all_objects.get(pk=last_served)
        candidates = [
            # Sorts before every seeded row: by name and by time.
            (T0 - dt.timedelta(days=1), "Aa", "Aa"),
            # Sorts after every seeded row.
            (T0 + dt.timedelta(days=1), "Zz", "Zz"),
        ]
        if listing.ties:
            # The same name and time as the last row served: only the id decides.
            column = listing.sorts[sort.lstrip("-")]
            at = cursor_at[0] if column.endswith("_at") else cursor_row.created_at
            last = getattr(cursor_row, "last_name", getattr(cursor_row, "name", ""))
            first = getattr(cursor_row, "first_name", getattr(cursor_row, "industry", ""))
            candidates.append((at, last, first))
        for at, last, first in candidates:
            with clock.frozen(at):
                record = listing.service.create(
                    actor=admin, data=listing.data(next(counter), last, first)
                )
            inserted.append((str(record.pk), cursor_at))

    served = _pages(admin_api, listing, sort, 3, insert_around)

    assert len(served) == len(set(served)), "a row was served twice"
    assert originals <= set(served), "a row that existed from the start was skipped"
    inserted_ids = [record_id for record_id, _ in inserted]
    should_appear = {
        record_id
        for (record_id, cursor_at), position in zip(
            inserted, _positions(listing, sort, inserted_ids), strict=True
        )
        if _ahead(position, cursor_at, sort)
    }
    assert set(served) == originals | should_appear
    positions = _positions(listing, sort, served)
    assert positions == sorted(positions, reverse=sort.startswith("-"))
    # The scenario really put rows on both sides of the cursor (ids only grow).
    if sort.lstrip("-") != "id":
        assert should_appear
        assert set(inserted_ids) - should_appear


@pytest.mark.parametrize(
    ("listing", "made_for", "used_with"),
    [
        (LISTINGS[0], "name", "-name"),
        (LISTINGS[0], "name", "id"),
        (LISTINGS[0], "updated_at", "created_at"),
        (LISTINGS[0], "-id", "id"),
        (LISTINGS[1], "last_name", "first_name"),
        (LISTINGS[1], "-updated_at", "updated_at"),
        (LISTINGS[2], "name", "id"),
    ],
    ids=lambda value: str(value),
)
def test_cursor_made_for_one_sort_is_refused_for_another(
    listing, made_for, used_with, admin, admin_api
):
    listing.service.create_many(
        actor=admin, rows=[listing.data(i, f"M{i}", f"N{i}") for i in range(3)]
    )
    cursor = admin_api.get(listing.path, {"sort": made_for, "limit": 1}).json()["next_cursor"]
    assert cursor

    response = admin_api.get(listing.path, {"sort": used_with, "cursor": cursor, "limit": 1})

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["cursor"]
    # The cursor still works for the sort it was made for.
    assert admin_api.get(listing.path, {"sort": made_for, "cursor": cursor}).status_code == 200

"""search.page reads matches in id order in growing windows, or asks an index for the rest:
whichever way it takes, a page holds exactly the matches that search.matching finds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accord.core import pagination, search
from accord.parties import services
from accord.parties.models import Contact

#: The defaults (reading in order finds everything in a small table); a window of three
#: entries whose rest comes from the indexes, short terms read in order to the window's end
#: first; the same, with short terms going to the full-text index at once.
READS = {
    "in-order": {},
    "index": {"PROBE": 1, "WINDOW": 3, "PREFIX_COST": 0},
    "index-short-rare": {"PROBE": 1, "WINDOW": 3, "PREFIX_COST": 10**9},
}
QUERIES = ["mi", "mill", "millerson", "zq", "o'", "5550", "ann mi", "x.example", "al"]


@pytest.fixture
def contacts(admin):
    rows = []
    for i in range(8):
        rows.append(
            {"first_name": "Ann", "last_name": f"Miller {i}", "phones": [f"+1415555{i:04}"]}
        )
        rows.append({"first_name": "Al", "last_name": "Millerson", "emails": [f"al{i}@x.example"]})
    rows += [{"first_name": "Otto", "last_name": "O'Neil", "emails": ["otto@mail.example"]}] * 8
    return services.contacts.create_many(actor=admin, rows=rows)


def all_pages(query, *, descending, limit=2):
    sort = pagination.Sort(field="id", descending=descending)
    found, cursor = [], None
    while True:
        rows, cursor = search.page(
            Contact.objects.all(),
            "contact",
            query,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
        found += [r.pk for r in rows]
        if cursor is None:
            return found


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("descending", [False, True])
def test_every_way_of_reading_matches_gives_the_pages_that_matching_finds(
    contacts, monkeypatch, read, descending
):
    for name, value in READS[read].items():
        monkeypatch.setattr(search, name, value)
    for query in QUERIES:
        matched = search.matching(Contact.objects.all(), "contact", query)
        expected = sorted(matched.values_list("pk", flat=True), reverse=descending)
        assert all_pages(query, descending=descending) == expected, query
    assert len(all_pages("mill", descending=descending)) == 16


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's reading plan")
def test_a_type_read_to_its_end_asks_no_index(contacts):
    with CaptureQueriesContext(connection) as queries:
        rows, _ = search.page(
            Contact.objects.all(),
            "contact",
            "nobody",
            sort=pagination.Sort(field="id", descending=True),
            cursor=None,
            limit=5,
        )
    assert rows == []
    searches = [q["sql"] for q in queries.captured_queries if "core_searchentry" in q["sql"]]
    assert len(searches) == 1
    assert "MATERIALIZED" not in searches[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's reading plan")
def test_a_rare_term_takes_the_rest_from_the_index_after_one_probe(contacts, monkeypatch):
    # A probe of one entry per match wanted (nine) reads only Millers: nothing says that
    # "otto" is common, so the index answers the rest.
    monkeypatch.setattr(search, "PROBE", 1)
    monkeypatch.setattr(search, "MIN_PROBE", 1)
    with CaptureQueriesContext(connection) as queries:
        found = all_pages("otto", descending=False, limit=8)
    assert found == sorted(c.pk for c in contacts if c.first_name == "Otto")
    searches = [q["sql"] for q in queries.captured_queries if "core_searchentry" in q["sql"]]
    assert any("MATERIALIZED" in sql for sql in searches)

"""No table keeps an index that another one already gives: each index costs every insert and
update of its table. A foreign key that a composite index leads with takes
``db_index=False``. Tables Django makes itself (many-to-many links, its own auth tables) and
pattern-matching indexes (``…_like``, another operator class) are left as Django makes them."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

#: Indexes whose columns another full b-tree index of the table starts with.
_SHADOWED = """
WITH idx AS (
    SELECT i.indexrelid, i.indrelid, i.indkey::text AS cols, i.indisunique,
           i.indpred IS NULL AS whole, am.amname
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
)
SELECT a.indrelid::regclass::text, a.indexrelid::regclass::text, b.indexrelid::regclass::text
FROM idx a
JOIN idx b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
WHERE a.amname = 'btree' AND b.amname = 'btree' AND NOT a.indisunique
  AND a.whole AND b.whole AND b.cols LIKE a.cols || ' %'
"""


def _left_to_django() -> set[str]:
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.auto_created or model._meta.app_label in {"auth", "contenttypes"}:
            tables.add(model._meta.db_table)
    return tables


def test_no_index_repeats_the_start_of_another(db):
    if connection.vendor != "postgresql":
        pytest.skip("read from PostgreSQL's catalog")
    with connection.cursor() as cursor:
        cursor.execute(_SHADOWED)
        shadowed = [
            (table, index, by)
            for table, index, by in cursor.fetchall()
            if table not in _left_to_django() and not index.endswith("_like")
        ]
    assert shadowed == []

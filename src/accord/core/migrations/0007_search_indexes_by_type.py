"""On PostgreSQL, the search indexes lead with the entry's object type (btree_gin), so a search
of one type reads only that type's candidates: "jon" in deals no longer rechecks the 80,000
contacts and leads whose text holds it (ADR 0010).

The new indexes are built with CREATE INDEX CONCURRENTLY (about a minute at a million
contacts, while the old ones keep serving), then the old ones are dropped; so this migration
runs outside a transaction. SQLite's FTS5 table is unchanged.
"""

from django.db import migrations

UP = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS search_entry_type_trgm "
    "ON core_searchentry USING gin (object_type, body gin_trgm_ops)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS search_entry_type_words "
    "ON core_searchentry USING gin (object_type, to_tsvector('simple', body))",
    "DROP INDEX CONCURRENTLY IF EXISTS search_entry_trgm",
    "DROP INDEX CONCURRENTLY IF EXISTS search_entry_words",
]
DOWN = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS search_entry_trgm "
    "ON core_searchentry USING gin (body gin_trgm_ops)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS search_entry_words "
    "ON core_searchentry USING gin (to_tsvector('simple', body))",
    "DROP INDEX CONCURRENTLY IF EXISTS search_entry_type_trgm",
    "DROP INDEX CONCURRENTLY IF EXISTS search_entry_type_words",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("core", "0006_search_fields"),
    ]

    operations = [
        migrations.RunPython(_run(UP), _run(DOWN)),
    ]

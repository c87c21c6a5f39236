"""On PostgreSQL, every statement that inserts outbox rows NOTIFYs ``accord_outbox``.

PostgreSQL delivers a notification only when the inserting transaction commits (and folds
repeats within one transaction), which is exactly when the relay can number the new rows: the
relay LISTENs and wakes at once instead of polling. SQLite has no such thing; its relay polls.
"""

from django.db import migrations

CREATE = (
    """
CREATE OR REPLACE FUNCTION accord_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('accord_outbox', '');
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER accord_outbox_notify AFTER INSERT ON core_outboxevent
    FOR EACH STATEMENT EXECUTE FUNCTION accord_outbox_notify()
""",
)

DROP = (
    "DROP TRIGGER IF EXISTS accord_outbox_notify ON core_outboxevent",
    "DROP FUNCTION IF EXISTS accord_outbox_notify()",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("integration", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]

"""Search entries keep their text per field, so a search can leave out hidden fields (ADR 0003),
and an index in (object_type, record_id) order serves pages of matches in id order.

Entries written before this migration have empty ``fields``: they still match for callers who
see every field, and match nothing for callers with hidden searchable fields until ``accord
reindex`` rewrites them.

On SQLite the column is added with ``ALTER TABLE ADD COLUMN``: Django's own AddField would
rebuild the table, which drops the triggers that keep the FTS5 index in step with it.
"""

from django.db import migrations, models

FIELD = models.JSONField(default=dict)


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "ALTER TABLE core_searchentry ADD COLUMN fields text NOT NULL DEFAULT '{}' "
            "CHECK (JSON_VALID(fields))"
        )
        return
    field = FIELD.clone()
    field.set_attributes_from_name("fields")
    schema_editor.add_field(apps.get_model("core", "SearchEntry"), field)


def drop_column(apps, schema_editor):
    schema_editor.execute("ALTER TABLE core_searchentry DROP COLUMN fields")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_idempotency"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(model_name="searchentry", name="fields", field=FIELD),
            ],
            database_operations=[migrations.RunPython(add_column, drop_column)],
        ),
        migrations.AddIndex(
            model_name="searchentry",
            index=models.Index(fields=["object_type", "record_id"], name="search_entry_order"),
        ),
    ]

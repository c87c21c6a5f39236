"""``rows.write`` stores what ``save()`` stores, column by column as the database holds it (on
SQLite ids and keys are hex text, times UTC text): lookups compare those forms."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection, models

from accord.core import rows
from accord.core.ids import new_id
from accord.parties.models import Account, Contact, ContactEmail


def _as_stored(model: type[models.Model], pk: Any) -> dict[str, Any]:
    """The row of ``pk`` as the database returns it, without Django's conversions; JSON as
    its values (the text may differ in spacing, see rows._json_dumper)."""
    quote = connection.ops.quote_name
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s",  # noqa: S608
            [meta.pk.get_db_prep_value(pk, connection)],
        )
        names = [d[0] for d in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
    for field in meta.concrete_fields:
        if isinstance(field, models.JSONField) and isinstance(row[field.column], str):
            row[field.column] = json.loads(row[field.column])
    return row


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def test_a_written_record_is_stored_as_save_stores_it(admin):
    account = Account.objects.create(
        name="Engines", created_by=admin, updated_by=admin, owner=admin
    )
    when = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)
    values = {
        "first_name": "Ada ' \" ünïcode",
        "last_name": "Lovelace",
        "account_id": account.pk,
        "owner_id": admin.pk,
        "created_by_id": admin.pk,
        "updated_by_id": admin.pk,
        "created_at": when,
        "updated_at": when.replace(microsecond=0),
        # Another offset takes Django's own way.
        "deleted_at": dt.datetime(2026, 3, 4, 7, 6, 7, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "version": 3,
        "email_opt_in": True,
        "custom_fields": {"since": when.isoformat(), "n": 1},
    }
    by_save = Contact(id=new_id(), **values)
    by_save.save()
    by_rows = Contact(id=new_id(), **values)
    rows.write(Contact, [by_rows])

    assert _without(_as_stored(Contact, by_rows.pk), "id") == _without(
        _as_stored(Contact, by_save.pk), "id"
    )
    # Looked up by the forms the ORM sends: id, and key to another row.
    assert Contact.all_objects.filter(
        pk=by_rows.pk, account=account, owner=admin, created_at=when, deleted_at__isnull=False
    ).exists()

    email_save = ContactEmail(contact=by_save, email="ada@example.com", position=0)
    email_save.save()
    email_rows = ContactEmail(contact=by_rows, email="ada@example.com", position=0)
    rows.write(ContactEmail, [email_rows])
    stored = ContactEmail.objects.get(contact=by_rows)
    assert _without(_as_stored(ContactEmail, stored.pk), "id", "contact_id") == _without(
        _as_stored(ContactEmail, email_save.pk), "id", "contact_id"
    )
    assert (
        _as_stored(ContactEmail, stored.pk)["contact_id"] == _as_stored(Contact, by_rows.pk)["id"]
    )

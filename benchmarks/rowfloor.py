"""The least Python a bulk-created contact costs, whatever the write path: ``python -m
benchmarks.rowfloor``.

Bulk upsert's target is 10,000 rows/s, so 100 µs a row for everything: HTTP, validation, the
database and the answer. This times, on 1,000 of the bulk benchmark's rows, the steps no write
path can skip, each written as plainly as it can be and without Django: validating the row
against a plain pydantic model, normalising its email address and phone number (the product's
own functions), making its three ids (record, history entry, event), and building its payload,
history changes and CloudEvents envelope and serialising the last two with orjson. Writing the
six rows a contact makes (contact, email, phone, search entry, history, outbox) and the
database's own work come on top. One figure per step, in µs a row (best of five), and their sum.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from typing import Any

import django
import orjson
import pydantic

from benchmarks.bulk import rows
from benchmarks.figures import Reporter

REPEAT = 5


class Row(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    first_name: str | None = None
    last_name: str | None = None
    emails: list[str] | None = None
    phones: list[str] | None = None
    title: str | None = None


def per_row(step: Callable[[list[dict[str, Any]]], object], batch: list[dict[str, Any]]) -> float:
    """µs a row of ``step`` over ``batch``, the best of ``REPEAT`` passes."""
    best = float("inf")
    for _ in range(REPEAT):
        started = time.perf_counter()
        step(batch)
        best = min(best, time.perf_counter() - started)
    return best * 1e6 / len(batch)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")
    django.setup()
    from accord.core.ids import new_id
    from accord.core.validation import normalize_email, normalize_phone

    batch = rows("floor", 0, title="Buyer")
    now = dt.datetime.now(dt.UTC).isoformat()
    owner = str(new_id())

    def events(batch: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
        out = []
        for row in batch:
            record_id = str(new_id())
            record = {
                "id": record_id,
                **row,
                "account_id": None,
                "owner_id": owner,
                "lifecycle_stage": "lead",
                "email_opt_in": False,
                "sms_opt_in": False,
                "do_not_call": False,
                "external_id": "",
                "tags": [],
                "custom_fields": {},
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "created_by_id": owner,
                "updated_by_id": owner,
                "deleted_at": None,
            }
            changed = {k: [None, v] for k, v in record.items() if v not in (None, "", [], {})}
            envelope = {
                "specversion": "1.0",
                "id": record_id,
                "source": "/accord/floor",
                "type": "accord.contact.created",
                "subject": f"contact/{record_id}",
                "time": now,
                "datacontenttype": "application/json",
                "recordversion": 1,
                "data": {"record": record, "changed": changed},
            }
            out.append((orjson.dumps(changed), orjson.dumps(envelope)))
        return out

    steps: dict[str, Callable[[list[dict[str, Any]]], object]] = {
        "validate": lambda b: [Row.model_validate(r).model_dump(exclude_unset=True) for r in b],
        "normalize_email": lambda b: [normalize_email(r["emails"][0]) for r in b],
        "normalize_phone": lambda b: [normalize_phone(r["phones"][0]) for r in b],
        "ids": lambda b: [(new_id(), new_id(), new_id()) for _ in b],
        "payload_history_event": events,
    }
    reporter = Reporter()
    total = 0.0
    for name, step in steps.items():
        cost = per_row(step, batch)
        total += cost
        reporter.emit(f"rowfloor.{name}_us", cost, "µs/row", n=len(batch) * REPEAT)
    reporter.emit("rowfloor.total_us", total, "µs/row", n=len(batch) * REPEAT)


if __name__ == "__main__":
    main()

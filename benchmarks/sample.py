"""Request paths for the read benchmarks, drawn from a loaded database.

Runs inside Accord's Django environment: :mod:`benchmarks.datasets` starts it as ``python -m
benchmarks.sample`` with the benchmark database's environment. It writes one file of request
paths per workload into ``--out`` and prints a one-line JSON summary.

- ``email``: ``?email=`` with random existing addresses.
- ``search_name``: ``?q=`` with the first 3 to 6 letters of random contacts' last names.
- ``search_phone``: ``?q=`` with the last 7 digits of random contacts' phone numbers.
- ``first_page``: the first page of 50 in last-name order.
- ``deep_page``: the page after the row at offset 499,999 in last-name order (the 10,000th
  page of 50), whose cursor is made here with ``pagination.encode_cursor`` from that row
  rather than by walking 10,000 pages; smaller databases use their last full page.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from urllib.parse import quote

PAGE = 50
DEEP_OFFSET = 499_999
SORT = "last_name"
CONTACTS = "/api/v1/contacts"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--user", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=2_000, help="paths per workload")
    parser.add_argument("--seed", type=int, default=20_260_101)
    args = parser.parse_args(argv)

    os.environ["DJANGO_SETTINGS_MODULE"] = "accord.settings"
    import django

    django.setup()
    from accord.core.pagination import encode_cursor, parse_sort
    from accord.identity.models import User
    from accord.identity.visibility import visible
    from accord.parties.models import Contact, ContactEmail, ContactPhone
    from accord.parties.queries import CONTACT_SORTS

    rng = random.Random(args.seed)
    user = User.objects.get(username=args.user)
    contacts = visible(user, Contact.objects.all())
    total = contacts.count()

    # ORDER BY random() reads every row once; a few seconds at a million contacts.
    emails = ContactEmail.objects.filter(contact__in=contacts).order_by("?")
    names = contacts.exclude(last_name="").order_by("?")
    phones = ContactPhone.objects.filter(contact__in=contacts).order_by("?")
    sort = parse_sort(SORT, CONTACT_SORTS)
    offset = max(0, min(DEEP_OFFSET, total - PAGE - 1))
    deep = contacts.order_by(sort.field, "pk").values_list(sort.field, "pk")[offset : offset + 1]
    first_page = f"{CONTACTS}?limit={PAGE}&sort={SORT}"
    workloads = {
        "email": [
            f"{CONTACTS}?email={quote(e)}"
            for e in emails.values_list("email", flat=True)[: args.count]
        ],
        "search_name": [
            f"{CONTACTS}?q={quote(name.lower()[: rng.randint(3, 6)])}"
            for name in names.values_list("last_name", flat=True)[: args.count]
        ],
        "search_phone": [
            f"{CONTACTS}?q={number.lstrip('+')[-7:]}"
            for number in phones.values_list("number", flat=True)[: args.count]
        ],
        "first_page": [first_page],
        "deep_page": [
            f"{first_page}&cursor={encode_cursor(sort, value, pk)}" for value, pk in deep
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name, paths in workloads.items():
        if not paths:
            raise SystemExit(f"no {name} paths: is the database loaded?")
        (args.out / f"{name}.txt").write_text("\n".join(paths) + "\n")
    summary = {"contacts": total, "deep_offset": offset, "sort": SORT}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""Demo tags, accounts and contacts (``accord demo``; see core.demo for the contract).

Rows are generated already in the form the services' ``clean`` produces (lower-case email
addresses, E.164 phone numbers, two-letter countries, resolved owners and tags) and written by
``core.bulkload`` in batches of 5,000: each batch is one transaction with its search entries,
history entries and ``created`` events (the services' own ``payload`` and ``search_document``),
so events flow while a large load runs. No model instance goes through ``Model.__init__`` and
PostgreSQL takes the rows by ``COPY``; tests check that ``clean`` accepts every demo row
unchanged and that each event carries what the services would have written.

Faker is slow per call (50-150 µs), so it fills small pools of names and addresses once and the
rows are composed from those pools with Faker's seeded random generator. Demo email addresses
use the reserved ``.example`` names, so no demo message can reach a real inbox.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass
from decimal import Decimal
from random import Random
from typing import Any, NamedTuple

from django.db import connection, connections
from django.db.models import Model
from faker import Faker

from accord.core import bulkload, clock
from accord.core.demo import Advance, DemoContext
from accord.core.ids import new_id
from accord.core.models import Source
from accord.core.services import RecordService
from accord.identity.demo import ascii_fold
from accord.parties.models import Contact, ContactEmail, ContactPhone, Tag
from accord.parties.services import accounts, contacts, tags

BATCH = 5_000
POOL = 400

TAGS: tuple[tuple[str, str], ...] = (
    ("VIP", "#b42318"),
    ("Key account", "#175cd3"),
    ("Partner", "#027a48"),
    ("Reference customer", "#6941c6"),
    ("At risk", "#dc6803"),
    ("Public sector", "#475467"),
    ("Trade fair 2026", "#0e9384"),
    ("Newsletter", "#c11574"),
)
ACCOUNT_TAGS = ("VIP", "Key account", "Partner", "Reference customer", "At risk", "Public sector")
CONTACT_TAGS = ("VIP", "Trade fair 2026", "Newsletter")

INDUSTRIES = (
    "Manufacturing",
    "Retail",
    "Wholesale",
    "Software",
    "Financial services",
    "Insurance",
    "Healthcare",
    "Pharmaceuticals",
    "Construction",
    "Logistics",
    "Energy",
    "Telecommunications",
    "Education",
    "Hospitality",
    "Media",
    "Public administration",
)
COMPANY_SUFFIXES = ("Inc", "LLC", "Group", "Ltd", "GmbH", "SA", "Partners", "Holdings", "and Sons")

#: Contacts' lifecycle stages and how common each is.
STAGES = (
    (Contact.LifecycleStage.SUBSCRIBER, 10),
    (Contact.LifecycleStage.LEAD, 30),
    (Contact.LifecycleStage.MARKETING_QUALIFIED, 12),
    (Contact.LifecycleStage.SALES_QUALIFIED, 8),
    (Contact.LifecycleStage.OPPORTUNITY, 8),
    (Contact.LifecycleStage.CUSTOMER, 25),
    (Contact.LifecycleStage.EVANGELIST, 3),
    (Contact.LifecycleStage.OTHER, 4),
)

#: Share of contacts that work at one of the demo accounts (the others are private people).
AT_AN_ACCOUNT = 0.85

#: Reserved ``.example`` names (RFC 2606) so that demo email never reaches a real inbox.
PERSONAL_DOMAINS = ("mail.example", "inbox.example", "post.example")


class Country(NamedTuple):
    code: str
    locale: str
    share: int
    #: Phone number prefixes (country code and area) and how many digits follow each.
    phones: tuple[tuple[str, int], ...]
    region: str


COUNTRIES = (
    Country(
        "US",
        "en_US",
        55,
        tuple((f"+1{area}", 7) for area in (202, 212, 312, 415, 512, 617, 713, 206, 303, 404)),
        "state_abbr",
    ),
    Country("GB", "en_GB", 12, (("+4420", 8), ("+44161", 7), ("+447700", 6)), "county"),
    Country("DE", "de_DE", 13, (("+4930", 8), ("+4989", 8), ("+49151", 8)), "state"),
    Country("FR", "fr_FR", 10, (("+331", 8), ("+336", 8)), "region"),
    Country("CA", "en_CA", 10, (("+1416", 7), ("+1604", 7), ("+1514", 7)), "province_abbr"),
)


class Address(NamedTuple):
    street: str
    city: str
    region: str
    postal_code: str
    country: str


@dataclass(frozen=True)
class Pools:
    """Names and addresses drawn from Faker once, per country."""

    first_names: dict[str, list[str]]
    last_names: dict[str, list[str]]
    addresses: dict[str, list[Address]]
    titles: list[str]

    @classmethod
    def build(cls, faker: Faker, size: int = POOL) -> Pools:
        seed = faker.random.randrange(2**32)
        first: dict[str, list[str]] = {}
        last: dict[str, list[str]] = {}
        addresses: dict[str, list[Address]] = {}
        for country in COUNTRIES:
            local = Faker(country.locale)
            local.seed_instance(seed)
            first[country.code] = [local.first_name() for _ in range(size)]
            last[country.code] = [local.last_name() for _ in range(size)]
            region = getattr(local, country.region)
            addresses[country.code] = [
                Address(
                    local.street_address(), local.city(), region(), local.postcode(), country.code
                )
                for _ in range(size)
            ]
        titles = list(dict.fromkeys(faker.job() for _ in range(size)))
        return cls(first, last, addresses, titles)


class AccountRef(NamedTuple):
    """What contacts need to know about the account they work at."""

    id: uuid.UUID
    domain: str
    owner_id: uuid.UUID
    country: str


class Generator:
    """Composes demo rows from the pools; every choice comes from the seeded ``rng``."""

    def __init__(self, ctx: DemoContext, pools: Pools, tag_by_name: dict[str, Tag]) -> None:
        self.rng: Random = ctx.faker.random
        self.pools = pools
        self.users: list[uuid.UUID] = list(ctx.ids.get("user") or [ctx.actor.pk])
        by_department = ctx.extra.get("users_by_department", {})
        self.sellers: list[uuid.UUID] = list(by_department.get("sales") or self.users)
        self.marketers: list[uuid.UUID] = list(by_department.get("marketing") or self.users)
        self.account_tags = [tag_by_name[n] for n in ACCOUNT_TAGS]
        self.contact_tags = [tag_by_name[n] for n in CONTACT_TAGS]
        self.domains: set[str] = set()
        self._countries = [c.code for c in COUNTRIES]
        self._country_weights = list(itertools.accumulate(c.share for c in COUNTRIES))
        self._phones = {c.code: c.phones for c in COUNTRIES}
        self._stages = [s for s, _ in STAGES]
        self._stage_weights = list(itertools.accumulate(w for _, w in STAGES))

    def country(self) -> str:
        return self.rng.choices(self._countries, cum_weights=self._country_weights)[0]

    def phone(self, country: str) -> str:
        prefix, digits = self.rng.choice(self._phones[country])
        # A leading 2-9 keeps North American exchanges valid (no 0 or 1 after the area code).
        first = str(self.rng.randint(2, 9))
        rest = str(self.rng.randrange(10 ** (digits - 1))).zfill(digits - 1)
        return f"{prefix}{first}{rest}"

    def company(self, country: str) -> str:
        names = self.pools.last_names[country]
        pick = self.rng.choice
        form = self.rng.random()
        if form < 0.5:
            return f"{pick(names)} {pick(COMPANY_SUFFIXES)}"
        if form < 0.8:
            return f"{pick(names)}-{pick(names)}"
        return f"{pick(names)}, {pick(names)} and {pick(names)}"

    def domain(self, name: str) -> str:
        slug = ascii_fold(name)[:40] or "company"
        domain, n = f"{slug}.example", 1
        while domain in self.domains:
            n += 1
            domain = f"{slug}{n}.example"
        self.domains.add(domain)
        return domain

    def account(self, parents: Sequence[uuid.UUID]) -> tuple[dict[str, Any], AccountRef]:
        rng = self.rng
        country = self.country()
        name = self.company(country)
        domain = self.domain(name)
        employees = min(int(rng.lognormvariate(3.5, 1.6)) + 1, 500_000)
        billing = rng.choice(self.pools.addresses[country])
        shipping = billing if rng.random() < 0.7 else rng.choice(self.pools.addresses[country])
        owner = rng.choice(self.sellers)
        row: dict[str, Any] = {
            # The id is given now so that contacts can point at the account in the same run.
            "id": new_id(),
            "name": name,
            "website": f"https://www.{domain}",
            "domain": domain,
            "industry": rng.choice(INDUSTRIES),
            "employee_count": employees,
            "annual_revenue": Decimal(employees * rng.randint(60, 400) * 1_000).quantize(
                Decimal("0.01")
            ),
            "owner_id": owner,
            "parent_id": rng.choice(parents) if parents and rng.random() < 0.08 else None,
            "tags": rng.sample(self.account_tags, rng.choice((1, 1, 2)))
            if rng.random() < 0.12
            else [],
            "custom_fields": {},
        }
        for prefix, address in (("billing", billing), ("shipping", shipping)):
            for part in Address._fields:
                row[f"{prefix}_{part}"] = getattr(address, part)
        return row, AccountRef(row["id"], domain, owner, country)

    def contact(self, account: AccountRef | None, taken: set[str]) -> dict[str, Any]:
        rng = self.rng
        country = account.country if account else self.country()
        first = rng.choice(self.pools.first_names[country])
        last = rng.choice(self.pools.last_names[country])
        local = f"{ascii_fold(first) or 'contact'}.{ascii_fold(last) or 'demo'}"
        personal = f"{local}{rng.randint(1, 9999)}@{rng.choice(PERSONAL_DOMAINS)}"
        if account is None:
            emails = [personal]
            owner = rng.choice(self.marketers)
        else:
            work, n = f"{local}@{account.domain}", 1
            while work in taken:
                n += 1
                work = f"{local}{n}@{account.domain}"
            taken.add(work)
            emails = [work, personal] if rng.random() < 0.3 else [work]
            owner = account.owner_id if rng.random() < 0.7 else rng.choice(self.users)
        phones = list(dict.fromkeys(self.phone(country) for _ in range(rng.choice((1, 1, 2)))))
        return {
            "first_name": first,
            "last_name": last,
            "title": rng.choice(self.pools.titles) if account else "",
            "emails": emails,
            "phones": phones,
            "lifecycle_stage": rng.choices(self._stages, cum_weights=self._stage_weights)[0],
            "email_opt_in": rng.random() < 0.4,
            "sms_opt_in": rng.random() < 0.1,
            "do_not_call": rng.random() < 0.05,
            "account_id": account.id if account else None,
            "owner_id": owner,
            "tags": [rng.choice(self.contact_tags)] if rng.random() < 0.1 else [],
            "custom_fields": {},
        }


def load(ctx: DemoContext) -> None:
    pools = Pools.build(ctx.faker)
    tag_by_name = _ensure_tags(ctx)
    generator = Generator(ctx, pools, tag_by_name)
    refs = _load_accounts(ctx, generator)
    _load_contacts(ctx, generator, refs)


def _ensure_tags(ctx: DemoContext) -> dict[str, Tag]:
    names = [name for name, _ in TAGS]
    existing = set(Tag.objects.filter(name__in=names).values_list("name", flat=True))
    missing = [{"name": n, "color": c} for n, c in TAGS if n not in existing]
    if missing:
        tags.create_many(actor=ctx.actor, rows=missing, source=Source.SYSTEM)
    return {t.name: t for t in Tag.objects.filter(name__in=names)}


def _load_accounts(ctx: DemoContext, generator: Generator) -> list[AccountRef]:
    total = ctx.size.accounts
    advance = ctx.progress("Accounts", total)
    # The first accounts are groups that later ones may belong to (parent accounts); they come
    # first, so no batch points at a parent written after it.
    groups = max(1, total // 50)
    refs: list[AccountRef] = []
    group_ids: list[uuid.UUID] = []

    def rows() -> Iterator[dict[str, Any]]:
        for index in range(total):
            row, ref = generator.account(group_ids)
            if index < groups:
                group_ids.append(ref.id)
            refs.append(ref)
            yield row

    write_batches(ctx, accounts, rows(), advance, first=-(-groups // BATCH))
    return refs


def _contacts_per_account(rng: Random, refs: list[AccountRef], total: int) -> list[int]:
    """How many contacts each account gets: a few big customers, many small ones."""
    if not refs:
        return []
    weights = [min(rng.paretovariate(1.2), 50.0) for _ in refs]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for index in rng.sample(range(len(refs)), max(0, min(total - sum(counts), len(refs)))):
        counts[index] += 1
    return counts


def _contact_rows(ctx: DemoContext, generator: Generator, refs: list[AccountRef]) -> Iterator[Any]:
    total = ctx.size.contacts
    at_accounts = round(total * AT_AN_ACCOUNT) if refs else 0
    for ref, count in zip(
        refs, _contacts_per_account(generator.rng, refs, at_accounts), strict=True
    ):
        taken: set[str] = set()
        for _ in range(count):
            yield generator.contact(ref, taken)
    for _ in range(total - at_accounts):
        yield generator.contact(None, set())


def _load_contacts(ctx: DemoContext, generator: Generator, refs: list[AccountRef]) -> None:
    advance = ctx.progress("Contacts", ctx.size.contacts)
    write_batches(ctx, contacts, _contact_rows(ctx, generator, refs), advance)


#: A load of at least this many batches is shared by worker processes on PostgreSQL.
PARALLEL_FROM = 4


def write_batches(
    ctx: DemoContext,
    service: RecordService[Any],
    rows: Iterable[dict[str, Any]],
    advance: Advance,
    *,
    first: int = 0,
) -> None:
    """Write generated rows (already in the form ``clean`` produces) in batches of BATCH, one
    transaction each with their related rows, search entries, history entries and events
    (core.bulkload), and record the new ids in ``ctx.ids``.

    On PostgreSQL, once a load reaches PARALLEL_FROM batches, worker processes write the
    batches while this one generates the rows: the load then keeps the database and every core
    busy. The ``first`` batches are committed before any other starts (rows that later ones
    point at, such as parent accounts). SQLite has a single writer, so there it always runs
    here.
    """
    ids = ctx.ids.setdefault(service.model.object_type, [])
    remaining = iter(rows)
    batches = iter(lambda: list(itertools.islice(remaining, BATCH)), [])

    def write_here(batch: list[dict[str, Any]]) -> None:
        created = _insert(service, ctx.actor, batch)
        ids.extend(created)
        advance(len(created))

    for batch in itertools.islice(batches, first):
        write_here(batch)
    workers = min(os.cpu_count() or 1, 4)
    ahead: list[list[dict[str, Any]]] = list(itertools.islice(batches, PARALLEL_FROM))
    if connection.vendor != "postgresql" or len(ahead) < PARALLEL_FROM or workers < 2:
        for batch in itertools.chain(ahead, batches):
            write_here(batch)
        return
    if connection.in_atomic_block:
        raise RuntimeError("a parallel demo load cannot run inside a transaction")
    # Forked workers must not share this process's connections, so none is open at the fork.
    for conn in connections.all(initialized_only=True):
        conn.close()
        if conn.vendor == "postgresql":
            conn.close_pool()  # type: ignore[attr-defined]
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_ignore_interrupts
    )
    pending: set[Future[list[uuid.UUID]]] = set()

    def collect(done: Iterable[Future[list[uuid.UUID]]]) -> None:
        for future in done:
            created = future.result()
            ids.extend(created)
            advance(len(created))

    try:
        for batch in itertools.chain(ahead, batches):
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)
            pending.add(pool.submit(_insert, service, ctx.actor, batch))
        collect(as_completed(pending))
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise
    pool.shutdown()


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _insert(service: RecordService[Any], actor: Any, batch: list[dict[str, Any]]) -> list[Any]:
    """Write one batch of generated rows as drafts (see core.bulkload); their ids."""
    model = service.model
    links: Any = getattr(model, "tags").through  # noqa: B009 - every demo record type has tags
    link_column = f"{model._meta.model_name}_id"
    at = clock.now()
    new: list[bulkload.Draft] = []
    related: dict[type[Model], list[bulkload.Draft]] = {
        links: [],
        ContactEmail: [],
        ContactPhone: [],
    }
    for row in batch:
        chosen = row.pop("tags")
        emails = row.pop("emails", None)
        phones = row.pop("phones", None)
        record = bulkload.draft(model, row, actor=actor, at=at)
        related[links] += (
            bulkload.Draft(id=None, tag_id=tag.pk, **{link_column: record.id}) for tag in chosen
        )
        # Tag's ordering; the database compares names by code point (C collation) as Python.
        record.tags = bulkload.Rows(sorted(chosen, key=_by_name))
        if emails is not None:
            record.email_rows = bulkload.Rows(
                bulkload.Draft(id=None, contact_id=record.id, email=value, position=i)
                for i, value in enumerate(emails)
            )
            related[ContactEmail] += record.email_rows
        if phones is not None:
            record.phone_rows = bulkload.Rows(
                bulkload.Draft(id=None, contact_id=record.id, number=value, position=i)
                for i, value in enumerate(phones)
            )
            related[ContactPhone] += record.phone_rows
        new.append(record)
    bulkload.insert(
        service,
        new,
        related=[(kind, made) for kind, made in related.items() if made],
        actor=actor,
        source=Source.SYSTEM,
    )
    return [r.id for r in new]


def _by_name(tag: Tag) -> str:
    return tag.name

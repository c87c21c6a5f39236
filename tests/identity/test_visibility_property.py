"""Every list, search, detail and write of accounts and contacts agrees with a plain reference
model of the sharing rules, for random companies.

Hypothesis draws an org chart (departments, a role tree with object permissions, teams,
territories and their members), org-wide defaults, criteria-based sharing rules for every kind of
grantee, manual shares and the records themselves. The reference ``can_see`` / ``can_edit``
below is written straight from the rules as the issue states them, in Python over the drawn
data; it never calls ``accord.identity.visibility``. Each person then pages through the lists
(two records a page), searches, reads every record (detail and timeline) and tries to change
each one, and every answer must be exactly what the reference allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.core.models import record_types
from accord.identity.models import (
    Department,
    Grantee,
    RecordShare,
    SharingDefault,
    SharingRule,
    Team,
    Territory,
    User,
)
from accord.identity.tokens import create_token
from accord.identity.visibility import seen_among
from accord.parties import services as parties
from tests.conftest import ApiClient
from tests.identity.company import grant, make_person, make_role

TYPES = ("account", "contact")
COLLECTION = {"account": "accounts", "contact": "contacts"}
WORDS = ("alpha", "bravo", "charlie")
INDUSTRIES = ("Retail", "Energy", "")
COUNTRIES = ("DE", "FR", "")
EMPLOYEES = (None, 5, 50, 500)
STAGES = ("lead", "customer", "evangelist")
ACCESS = ("private", "public_read", "public_read_write")
LEVELS = ("read", "read_write")


# -- what hypothesis draws: plain data, no database -----------------------------------------------


@dataclass(frozen=True)
class Person:
    role: int | None
    department: int | None
    superuser: bool


@dataclass(frozen=True)
class Account:
    owner: int
    word: str
    industry: str
    country: str
    employees: int | None


@dataclass(frozen=True)
class Contact:
    owner: int
    word: str
    account: int | None
    stage: str


@dataclass(frozen=True)
class Rule:
    object_type: str
    #: (field, op, value); ``("account", i)`` as a value names the i-th account.
    criteria: tuple[tuple[str, str, Any], ...]
    grantee_type: str
    grantee: int
    level: str


@dataclass(frozen=True)
class Share:
    object_type: str
    record: int
    user: int | None
    team: int | None
    level: str


@dataclass(frozen=True)
class TerritorySpec:
    rules: tuple[tuple[tuple[str, Any], ...], ...]
    level: str
    members: frozenset[int]


@dataclass
class Company:
    departments: int
    #: parent index per role (None: a top role); a role's parent comes before it.
    role_parents: list[int | None]
    #: object type → "" (no right), "R" or "RE", per role.
    role_rights: list[dict[str, str]]
    people: list[Person]
    teams: list[frozenset[int]]
    territories: list[TerritorySpec]
    #: object type → (access, department level), or absent: no row (public read).
    defaults: dict[str, tuple[str, str]]
    rules: list[Rule]
    accounts: list[Account]
    contacts: list[Contact]
    shares: list[Share] = field(default_factory=list)
    #: What everyone searches for (one of WORDS).
    search: str = WORDS[0]


CRITERIA = {
    "account": st.one_of(
        st.tuples(
            st.just("industry"), st.sampled_from(("eq", "ne")), st.sampled_from(INDUSTRIES[:2])
        ),
        st.tuples(st.just("industry"), st.just("in"), st.just(("Retail", "Energy"))),
        st.tuples(
            st.just("employee_count"), st.sampled_from(("gte", "lt")), st.sampled_from((10, 100))
        ),
        st.tuples(st.just("employee_count"), st.just("is_null"), st.booleans()),
        st.tuples(st.just("billing_country"), st.just("eq"), st.sampled_from(COUNTRIES[:2])),
    ),
    "contact": st.one_of(
        st.tuples(
            st.just("lifecycle_stage"), st.sampled_from(("eq", "ne")), st.sampled_from(STAGES)
        ),
        st.tuples(st.just("lifecycle_stage"), st.just("in"), st.just(STAGES[:2])),
    ),
}


@st.composite
def companies(draw: Any) -> Company:
    departments = draw(st.integers(1, 3))
    n_roles = draw(st.integers(0, 4))
    role_parents = [
        draw(st.none() | st.sampled_from(range(i))) if i else None for i in range(n_roles)
    ]
    rights = st.sampled_from(("", "R", "RE", "RE", "RE"))
    role_rights = [{t: draw(rights) for t in TYPES} for _ in range(n_roles)]
    n_people = draw(st.integers(2, 3))
    people = [
        Person(
            role=draw(st.none() | st.sampled_from(range(n_roles))) if n_roles else None,
            department=draw(st.none() | st.sampled_from(range(departments))),
            superuser=draw(st.sampled_from((False,) * 7 + (True,))),
        )
        for _ in range(n_people)
    ]
    someone = st.sampled_from(range(n_people))
    members = st.frozensets(someone, max_size=n_people)
    teams = draw(st.lists(members, max_size=2))
    territory_rule = st.dictionaries(
        st.sampled_from(("country", "industry", "employees_min", "employees_max")),
        st.none(),
        min_size=1,
        max_size=2,
    )
    territories = []
    for _ in range(draw(st.integers(0, 2))):
        rules = []
        for keys in draw(st.lists(territory_rule, min_size=1, max_size=2)):
            values = {
                "country": st.sampled_from(COUNTRIES[:2]),
                "industry": st.sampled_from(INDUSTRIES[:2]),
                "employees_min": st.sampled_from((10, 100)),
                "employees_max": st.sampled_from((10, 100)),
            }
            rules.append(tuple((k, draw(values[k])) for k in sorted(keys)))
        territories.append(
            TerritorySpec(tuple(rules), draw(st.sampled_from(LEVELS)), draw(members))
        )
    defaults = {}
    for t in TYPES:
        if draw(st.integers(0, 4)):  # else no row: the built-in default, public read
            defaults[t] = (draw(st.sampled_from(ACCESS)), draw(st.sampled_from(("", *LEVELS))))
    accounts = draw(
        st.lists(
            st.builds(
                Account,
                owner=someone,
                word=st.sampled_from(WORDS),
                industry=st.sampled_from(INDUSTRIES),
                country=st.sampled_from(COUNTRIES),
                employees=st.sampled_from(EMPLOYEES),
            ),
            min_size=1,
            max_size=3,
        )
    )
    contacts = draw(
        st.lists(
            st.builds(
                Contact,
                owner=someone,
                word=st.sampled_from(WORDS),
                account=st.none() | st.sampled_from(range(len(accounts))),
                stage=st.sampled_from(STAGES),
            ),
            min_size=1,
            max_size=4,
        )
    )
    groups = {
        Grantee.USER: n_people,
        Grantee.ROLE: n_roles,
        Grantee.ROLE_AND_BELOW: n_roles,
        Grantee.DEPARTMENT: departments,
        Grantee.TEAM: len(teams),
        Grantee.TERRITORY: len(territories),
    }
    kinds = [k for k, n in groups.items() if n]
    rules = []
    for _ in range(draw(st.integers(0, 3))):
        object_type = draw(st.sampled_from(TYPES))
        criteria = draw(st.lists(CRITERIA[object_type], min_size=1, max_size=2))
        if object_type == "contact" and draw(st.booleans()):
            criteria.append(
                ("account_id", "eq", ("account", draw(st.sampled_from(range(len(accounts))))))
            )
        kind = draw(st.sampled_from(kinds))
        rules.append(
            Rule(
                object_type=object_type,
                criteria=tuple(criteria),
                grantee_type=kind,
                grantee=draw(st.sampled_from(range(groups[kind]))),
                level=draw(st.sampled_from(LEVELS)),
            )
        )
    shares = []
    for _ in range(draw(st.integers(0, 3))):
        object_type = draw(st.sampled_from(TYPES))
        count = len(accounts) if object_type == "account" else len(contacts)
        to_team = bool(teams) and draw(st.booleans())
        shares.append(
            Share(
                object_type=object_type,
                record=draw(st.sampled_from(range(count))),
                user=None if to_team else draw(someone),
                team=draw(st.sampled_from(range(len(teams)))) if to_team else None,
                level=draw(st.sampled_from(LEVELS)),
            )
        )
    return Company(
        departments=departments,
        role_parents=role_parents,
        role_rights=role_rights,
        people=people,
        teams=teams,
        territories=territories,
        defaults=defaults,
        rules=rules,
        accounts=accounts,
        contacts=contacts,
        shares=shares,
        search=draw(st.sampled_from(WORDS)),
    )


# -- the reference: the sharing rules as the issue states them, over the drawn data ---------------


class Reference:
    def __init__(self, company: Company) -> None:
        self.c = company

    def record(self, object_type: str, index: int) -> Account | Contact:
        return (self.c.accounts if object_type == "account" else self.c.contacts)[index]

    def ancestors(self, role: int) -> set[int]:
        found = set()
        parent = self.c.role_parents[role]
        while parent is not None:
            found.add(parent)
            parent = self.c.role_parents[parent]
        return found

    def may(self, user: int, object_type: str, right: str) -> bool:
        person = self.c.people[user]
        if person.superuser or person.role is None:
            return True
        return right in self.c.role_rights[person.role][object_type]

    def is_grantee(self, user: int, kind: str, target: int) -> bool:
        person = self.c.people[user]
        if kind == Grantee.USER:
            return user == target
        if kind == Grantee.ROLE:
            return person.role == target
        if kind == Grantee.ROLE_AND_BELOW:
            return person.role is not None and (
                person.role == target or target in self.ancestors(person.role)
            )
        if kind == Grantee.DEPARTMENT:
            return person.department == target
        if kind == Grantee.TEAM:
            return user in self.c.teams[target]
        return user in self.c.territories[target].members

    def matches(self, object_type: str, index: int, criteria: Any) -> bool:
        record = self.record(object_type, index)
        for name, op, value in criteria:
            if isinstance(value, tuple) and value[0] == "account":
                value = value[1]
            actual = {
                "industry": getattr(record, "industry", None),
                "employee_count": getattr(record, "employees", None),
                "billing_country": getattr(record, "country", None),
                "lifecycle_stage": getattr(record, "stage", None),
                "account_id": getattr(record, "account", None),
            }[name]
            holds = {
                "eq": lambda a, v: a == v,
                "ne": lambda a, v: a != v,
                "in": lambda a, v: a in v,
                "gte": lambda a, v: a is not None and a >= v,
                "lt": lambda a, v: a is not None and a < v,
                "is_null": lambda a, v: (a is None) == v,
            }[op](actual, value)
            if not holds:
                return False
        return True

    def in_territory(self, territory: TerritorySpec, object_type: str, index: int) -> bool:
        if object_type == "contact":
            index_or_none = self.c.contacts[index].account
            if index_or_none is None:
                return False
            index = index_or_none
        account = self.c.accounts[index]
        for rule in territory.rules:
            conditions = dict(rule)
            if "country" in conditions and account.country.lower() != conditions["country"].lower():
                continue
            if (
                "industry" in conditions
                and account.industry.lower() != conditions["industry"].lower()
            ):
                continue
            if "employees_min" in conditions and (
                account.employees is None or account.employees < conditions["employees_min"]
            ):
                continue
            if "employees_max" in conditions and (
                account.employees is None or account.employees > conditions["employees_max"]
            ):
                continue
            return True
        return False

    def reaches(self, user: int, object_type: str, index: int, levels: tuple[str, ...]) -> bool:
        """Whether anything beyond the object permissions grants ``levels`` to ``user``."""
        c, record = self.c, self.record(object_type, index)
        person, owner = c.people[user], c.people[record.owner]
        if record.owner == user:
            return True
        access, department_level = c.defaults.get(object_type, ("public_read", ""))
        if access == "public_read_write" or (access == "public_read" and "read" in levels):
            return True
        # A manager sees what the people in the roles below theirs own.
        if (
            person.role is not None
            and owner.role is not None
            and person.role in self.ancestors(owner.role)
        ):
            return True
        if (
            department_level in levels
            and person.department is not None
            and person.department == owner.department
        ):
            return True
        for rule in c.rules:
            if (
                rule.object_type == object_type
                and rule.level in levels
                and self.is_grantee(user, rule.grantee_type, rule.grantee)
                and self.matches(object_type, index, rule.criteria)
            ):
                return True
        for territory in c.territories:
            if (
                territory.level in levels
                and user in territory.members
                and self.in_territory(territory, object_type, index)
            ):
                return True
        for share in c.shares:
            if share.object_type != object_type or share.record != index:
                continue
            mine = share.user == user or (share.team is not None and user in c.teams[share.team])
            if mine and share.level in levels:
                return True
        return False

    def can_see(self, user: int, object_type: str, index: int) -> bool:
        if self.c.people[user].superuser:
            return True
        return self.may(user, object_type, "R") and self.reaches(
            user, object_type, index, ("read", "read_write")
        )

    def can_edit(self, user: int, object_type: str, index: int) -> bool:
        if self.c.people[user].superuser:
            return True
        return (
            self.can_see(user, object_type, index)
            and self.may(user, object_type, "E")
            and self.reaches(user, object_type, index, ("read_write",))
        )


# -- the company in the database ------------------------------------------------------------------


@dataclass
class Built:
    clients: list[ApiClient]
    ids: dict[str, list[str]]
    people: list[Any]


def build(company: Company) -> Built:
    root = make_person("root", superuser=True)
    departments = [Department.objects.create(name=f"D{i}") for i in range(company.departments)]
    roles: list[Any] = []
    for i, parent in enumerate(company.role_parents):
        role = make_role(f"R{i}", roles[parent] if parent is not None else None)
        for object_type, rights in company.role_rights[i].items():
            if rights:
                grant(role, object_type, rights)
        roles.append(role)
    people = [
        make_person(
            f"u{i}",
            role=roles[p.role] if p.role is not None else None,
            department=departments[p.department] if p.department is not None else None,
            superuser=p.superuser,
        )
        for i, p in enumerate(company.people)
    ]
    teams = []
    for i, members in enumerate(company.teams):
        team = Team.objects.create(name=f"T{i}")
        team.members.set([people[m] for m in members])
        teams.append(team)
    territories = []
    for i, spec in enumerate(company.territories):
        territory = Territory.objects.create(
            name=f"Y{i}", rules=[dict(rule) for rule in spec.rules], level=spec.level
        )
        territory.members.set([people[m] for m in spec.members])
        territories.append(territory)
    for object_type, (access, department_level) in company.defaults.items():
        SharingDefault.objects.create(
            object_type=object_type, access=access, department_level=department_level
        )
    accounts = [
        parties.accounts.create(
            actor=root,
            data={
                "name": f"{a.word.title()} Corp",
                "industry": a.industry,
                "employee_count": a.employees,
                "billing_address": {"country": a.country},
                "owner_id": people[a.owner].pk,
            },
        )
        for a in company.accounts
    ]
    contacts = [
        parties.contacts.create(
            actor=root,
            data={
                "first_name": "Pat",
                "last_name": c.word.title(),
                "lifecycle_stage": c.stage,
                "account_id": accounts[c.account].pk if c.account is not None else None,
                "owner_id": people[c.owner].pk,
            },
        )
        for c in company.contacts
    ]
    groups = {
        Grantee.USER: people,
        Grantee.ROLE: roles,
        Grantee.ROLE_AND_BELOW: roles,
        Grantee.DEPARTMENT: departments,
        Grantee.TEAM: teams,
        Grantee.TERRITORY: territories,
    }
    for i, rule in enumerate(company.rules):
        criteria = [
            {
                "field": name,
                "op": op,
                "value": str(accounts[value[1]].pk)
                if isinstance(value, tuple) and value[0] == "account"
                else list(value)
                if isinstance(value, tuple)
                else value,
            }
            for name, op, value in rule.criteria
        ]
        SharingRule.objects.create(
            name=f"S{i}",
            object_type=rule.object_type,
            criteria=criteria,
            grantee_type=rule.grantee_type,
            grantee_id=groups[rule.grantee_type][rule.grantee].pk,
            level=rule.level,
        )
    records = {"account": accounts, "contact": contacts}
    for share in company.shares:
        RecordShare.objects.create(
            object_type=share.object_type,
            record_id=records[share.object_type][share.record].pk,
            user=people[share.user] if share.user is not None else None,
            team=teams[share.team] if share.team is not None else None,
            level=share.level,
        )
    clients = [ApiClient(create_token(user=p, expires_at=None)[1]) for p in people]
    ids = {t: [str(r.pk) for r in records[t]] for t in TYPES}
    return Built(clients=clients, ids=ids, people=people)


# -- the property ---------------------------------------------------------------------------------


def _all_pages(client: ApiClient, path: str, query: dict[str, Any]) -> tuple[int, list[str]]:
    ids: list[str] = []
    cursor = None
    while True:
        response = client.get(path, {**query, "limit": 2, **({"cursor": cursor} if cursor else {})})
        if response.status_code != 200:
            return response.status_code, ids
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return 200, ids


def check(company: Company) -> None:
    built = build(company)
    ref = Reference(company)
    for user, client in enumerate(built.clients):
        for object_type in TYPES:
            path = f"/api/v1/{COLLECTION[object_type]}"
            ids = built.ids[object_type]
            words = [
                r.word for r in (company.accounts if object_type == "account" else company.contacts)
            ]
            seen = {ids[i] for i in range(len(ids)) if ref.can_see(user, object_type, i)}
            readable = ref.may(user, object_type, "R")
            where = f"user {user} {object_type}s"

            status, listed = _all_pages(client, path, {})
            assert status == (200 if readable else 403), where
            # The batch check notifications use agrees with the reference too.
            model = record_types()[object_type]
            person = User.objects.get(pk=built.people[user].pk)
            batch = seen_among(person, list(model._base_manager.filter(pk__in=ids)))
            assert {str(pk) for pk in batch} == seen, f"{where}: seen_among"
            if readable:
                assert len(listed) == len(set(listed)), f"{where}: a record listed twice"
                assert set(listed) == seen, where
                word = company.search
                wanted = {ids[i] for i in range(len(ids)) if words[i] == word} & seen
                status, found = _all_pages(client, path, {"q": word})
                assert status == 200, where
                assert sorted(found) == sorted(wanted), f"{where} q={word}"

            for i, record_id in enumerate(ids):
                expected_read = 200 if ids[i] in seen else (404 if readable else 403)
                detail = client.get(f"{path}/{record_id}")
                assert detail.status_code == expected_read, f"{where} #{i} detail"
                timeline = client.get(f"{path}/{record_id}/timeline")
                assert timeline.status_code == (200 if ids[i] in seen else 404), (
                    f"{where} #{i} timeline"
                )
                if ref.can_edit(user, object_type, i):
                    expected_write = 200
                elif ids[i] in seen:
                    expected_write = 403
                else:
                    expected_write = 404
                body = {"title": "Patched"} if object_type == "contact" else {"external_id": "x"}
                with transaction.atomic():
                    written = client.patch(f"{path}/{record_id}", body, if_match="*")
                    transaction.set_rollback(True)
                assert written.status_code == expected_write, f"{where} #{i} write"


@settings(
    max_examples=min(settings().max_examples, 25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(company=companies())
def test_lists_searches_details_and_writes_follow_the_reference(db: None, company: Company) -> None:
    with transaction.atomic():
        try:
            check(company)
        finally:
            transaction.set_rollback(True)

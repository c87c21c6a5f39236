"""The one place that decides who sees and edits which record, and which of its fields.

Every read path filters through :func:`visible` (in SQL); every write checks :func:`can_edit`.
Access is the union of what these grant, never less than the first that applies:

1. superuser: everything;
2. object permissions of the user's role (no role: a standard user, who may do everything) gate
   each object type as a whole: without ``read`` nothing of that type is visible; activities
   are controlled by their parent record on top of their own sharing: who cannot see a contact
   sees none of its notes, calls and tasks;
3. for types with an owner: the org-wide default (public read / public read-write), the owner,
   the managers above the owner's role, the owner's department when the object's default says
   so, criteria-based sharing rules, territories (accounts and what hangs under them) and manual
   shares of one record with a user or a team.

Field-level security (:func:`hidden_fields`, :func:`read_only_fields`) hides or freezes fields
per role wherever values leave. :func:`explain` answers "why can this user see this record?"
from the same rules, so the explanation cannot drift from the filter.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection
from django.db.models import Exists, ForeignKey, Model, OuterRef, Q, QuerySet

from accord.core.errors import FieldError, InvalidInput, NotFound
from accord.core.ids import parse_id
from accord.core.registry import FieldPolicy
from accord.identity.models import (
    Access,
    AccessGeneration,
    FieldAccess,
    FieldPermission,
    Grantee,
    Level,
    ObjectPermission,
    RecordShare,
    Role,
    SharingDefault,
    SharingRule,
    Territory,
    User,
)

M = TypeVar("M", bound=Model)

#: Access for object types without a SharingDefault row.
DEFAULT_ACCESS = Access.PUBLIC_READ
ACTIONS = ("create", "read", "edit", "delete", "export")

#: Bumped by every write to the access model made in this process, so grants cached in it
#: (on a user object, or in :data:`_by_user`) are recomputed at once.
_generation = itertools.count()
_current = next(_generation)
#: Grants kept between requests, by user and the user's own columns that grants depend on;
#: each is valid while both this process's generation and the stored token are unchanged.
_by_user: OrderedDict[tuple[Any, ...], Grants] = OrderedDict()
_by_user_lock = threading.Lock()
_BY_USER_SIZE = 4096


def access_model_changed() -> None:
    """Called on every write to the access model (signals, identity services): grants cached
    in this process go stale now, and in every other process once the writing transaction
    commits, because it also replaces the stored token (:class:`AccessGeneration`).

    The token is random rather than a counter: a token written by a transaction that rolls
    back is never written again by a later one, so grants computed inside the rolled-back
    transaction can never look current."""
    forget_cached_grants()
    table = connection.ops.quote_name(AccessGeneration._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, value) VALUES (1, %s) "  # noqa: S608 - fixed SQL
            "ON CONFLICT (id) DO UPDATE SET value = excluded.value",
            [secrets.randbits(62) + 1],
        )


def forget_cached_grants() -> None:
    """Make the grants cached in this process stale (the stored token is unchanged)."""
    global _current
    _current = next(_generation)


def stored_token_sql() -> str:
    """A statement reading the stored token, for statements that read it as a subquery along
    with something else."""
    quote = connection.ops.quote_name
    table = quote(AccessGeneration._meta.db_table)
    return f"SELECT {quote('value')} FROM {table} WHERE {quote('id')} = 1"  # noqa: S608


def _stored_token() -> int:
    return AccessGeneration.objects.filter(pk=1).values_list("value", flat=True).first() or 0


def remember_stored_token(user: Any, value: int | None) -> None:
    """Keep the stored token a statement just read along with ``user`` (the API token lookup
    does), so that the user's first :func:`grants` of the request need not read it again."""
    user._accord_stored_token = value or 0


def access_state() -> str:
    """A fingerprint of everything besides the records themselves that decides who sees what:
    the access model's stored token (ADR 0009) and every user's role, department and flags
    (the owners' roles and departments decide who sees their records, and a user's row may
    change outside the identity services, say in Django admin). Two equal fingerprints mean
    that in between, visibility changed only through writes to records, each of which has an
    event: the sync feed's incremental pulls rely on it (ADR 0011)."""
    digest = hashlib.blake2b(str(_stored_token()).encode(), digest_size=16)
    users = User.objects.order_by("pk").values_list(
        "pk", "role_id", "department_id", "is_active", "is_superuser"
    )
    for row in users.iterator(chunk_size=2000):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def depends_on(model: type[Model]) -> frozenset[str] | None:
    """The object types whose records' changes can change who sees a record of ``model``
    besides its own changes: its account's (territories match on the account), or, for
    records controlled by their parent, any type's (None)."""
    if _has_parent(model):
        return None
    if _under_account(model):
        return frozenset({"account"})
    return frozenset()


def object_type_of(model: type[Model]) -> str:
    return str(getattr(model, "object_type", model._meta.model_name))


def _owned(model: type[Model]) -> bool:
    return any(f.name == "owner" for f in model._meta.get_fields())


def _under_account(model: type[Model]) -> bool:
    try:
        target = model._meta.get_field("account")
    except FieldDoesNotExist:
        return False
    return isinstance(target, ForeignKey) and object_type_of(target.related_model) == "account"  # type: ignore[arg-type]


@dataclass
class Grants:
    """What one user may do, loaded once per request (see :func:`grants`)."""

    user_id: Any
    superuser: bool
    role: Role | None
    department_id: Any
    team_ids: tuple[Any, ...]
    territories: list[Territory]
    #: object_type → allowed actions; None for a standard user (everything).
    permissions: dict[str, frozenset[str]] | None
    fields: dict[str, dict[str, str]]
    generation: int
    #: The stored token (:func:`_stored_token`) read before these grants were loaded.
    token: int
    _defaults: dict[str, SharingDefault | None] = field(default_factory=dict)
    _rules: dict[str, list[SharingRule]] = field(default_factory=dict)
    _shares: dict[str, bool] = field(default_factory=dict)

    def may(self, object_type: str, action: str) -> bool:
        if self.superuser or self.permissions is None:
            return True
        return action in self.permissions.get(object_type, frozenset())

    def default(self, object_type: str) -> SharingDefault | None:
        if object_type not in self._defaults:
            self._defaults[object_type] = SharingDefault.objects.filter(
                object_type=object_type
            ).first()
        return self._defaults[object_type]

    def access(self, object_type: str) -> str:
        row = self.default(object_type)
        return row.access if row else DEFAULT_ACCESS

    def rules(self, object_type: str) -> list[SharingRule]:
        """The active sharing rules of ``object_type`` whose grantee includes this user."""
        if object_type not in self._rules:
            rules = SharingRule.objects.filter(object_type=object_type, active=True)
            self._rules[object_type] = [
                r for r in rules if self.is_grantee(r.grantee_type, r.grantee_id)
            ]
        return self._rules[object_type]

    def is_grantee(self, kind: str, grantee_id: Any) -> bool:
        if kind == Grantee.USER:
            return bool(grantee_id == self.user_id)
        if kind == Grantee.ROLE:
            return self.role is not None and grantee_id == self.role.pk
        if kind == Grantee.ROLE_AND_BELOW:
            return self.role is not None and f"/{grantee_id}/" in self.role.path
        if kind == Grantee.DEPARTMENT:
            return bool(grantee_id == self.department_id)
        if kind == Grantee.TEAM:
            return grantee_id in self.team_ids
        if kind == Grantee.TERRITORY:
            return any(t.pk == grantee_id for t in self.territories)
        return False

    def has_shares(self, object_type: str) -> bool:
        if object_type not in self._shares:
            self._shares[object_type] = self._share_rows(object_type).exists()
        return self._shares[object_type]

    def _share_rows(self, object_type: str) -> QuerySet[RecordShare]:
        mine = Q(user_id=self.user_id)
        if self.team_ids:
            mine |= Q(team_id__in=self.team_ids)
        return RecordShare.objects.filter(mine, object_type=object_type)


def grants(user: Any) -> Grants:
    """The user's grants: cached on the user object for the request, and in this process
    between requests until the access model changes (one query reads the stored token)."""
    cached: Grants | None = getattr(user, "_accord_grants", None)
    if cached is not None and cached.generation == _current:
        return cached
    # A token read with the user serves once: grants that go stale later in the request
    # (the access model changed) must read it again.
    token = user.__dict__.pop("_accord_stored_token", None)
    generation = _current
    if token is None:
        token = _stored_token()
    key = (user.pk, user.role_id, user.department_id, bool(user.is_superuser))
    with _by_user_lock:
        found = _by_user.get(key)
    if found is None or found.generation != generation or found.token != token:
        found = _load(user, generation, token)
        with _by_user_lock:
            _by_user[key] = found
            _by_user.move_to_end(key)
            while len(_by_user) > _BY_USER_SIZE:
                _by_user.popitem(last=False)
    user._accord_grants = found
    return found


def _load(user: Any, generation: int, token: int) -> Grants:
    role = Role.objects.filter(pk=user.role_id).first() if user.role_id else None
    permissions: dict[str, frozenset[str]] | None = None
    fields: dict[str, dict[str, str]] = {}
    if role is not None and not user.is_superuser:
        permissions = {
            p.object_type: frozenset(a for a in ACTIONS if getattr(p, f"can_{a}"))
            for p in ObjectPermission.objects.filter(role=role)
        }
        for fp in FieldPermission.objects.filter(role=role):
            fields.setdefault(fp.object_type, {})[fp.field] = fp.access
    return Grants(
        user_id=user.pk,
        superuser=bool(user.is_superuser),
        role=role,
        department_id=user.department_id,
        team_ids=tuple(user.teams.values_list("pk", flat=True)),
        territories=list(Territory.objects.filter(members=user)),
        permissions=permissions,
        fields=fields,
        generation=generation,
        token=token,
    )


def _active(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_active", False)) and user.pk is not None


def manages_access(user: Any) -> bool:
    """Whether ``user`` administers the access model (superuser or a role that manages it)."""
    if not _active(user):
        return False
    g = grants(user)
    return g.superuser or (g.role is not None and g.role.manages_access)


def permitted(user: Any, object_type: str, action: str) -> bool:
    """Whether the user's role allows ``action`` (create/read/edit/delete/export) on the type."""
    return _active(user) and grants(user).may(object_type, action)


# -- record-level access ---------------------------------------------------------------------


def _levels(write: bool) -> list[str]:
    return [Level.READ_WRITE] if write else [Level.READ, Level.READ_WRITE]


def _access_q(g: Grants, model: type[Model], *, write: bool) -> Q | None:
    """The SQL condition for records of ``model`` that ``g`` reaches beyond the org-wide
    default; None when the default already opens every record."""
    object_type = object_type_of(model)
    default = g.access(object_type)
    if default == Access.PUBLIC_READ_WRITE or (default == Access.PUBLIC_READ and not write):
        return None
    q = Q(owner_id=g.user_id)
    if g.role is not None:
        below = User.objects.filter(
            role__path__startswith=g.role.path, role__depth__gt=g.role.depth
        )
        q |= Q(owner_id__in=below.values("pk"))
    row = g.default(object_type)
    if row is not None and row.department_level in _levels(write) and g.department_id:
        q |= Q(owner_id__in=User.objects.filter(department_id=g.department_id).values("pk"))
    for rule in g.rules(object_type):
        if rule.level in _levels(write):
            q |= criteria_q(model, rule.criteria)
    for territory in g.territories:
        if territory.level in _levels(write):
            if object_type == "account":
                q |= territory_q(territory.rules)
            elif _under_account(model):
                q |= territory_q(territory.rules, prefix="account__")
    if g.has_shares(object_type):
        shared = g._share_rows(object_type).filter(level__in=_levels(write))
        q |= Q(pk__in=shared.values("record_id"))
    return q


def _has_parent(model: type[Model]) -> bool:
    """Activities (and anything else naming its record by ``related_type`` / ``related_id``)
    are controlled by their parent: only who may see the record sees what hangs off it."""
    names = {f.name for f in model._meta.get_fields()}
    return {"related_type", "related_id"} <= names


def _parent_q(g: Grants) -> Q:
    """Rows whose parent record ``g`` may see: one term per parent type, nothing more than
    ``related_type IN (...)`` for the types ``g`` sees in full."""
    from accord.core.models import record_types

    open_types: list[str] = []
    q = Q(pk__in=[])
    for object_type, parent in record_types().items():
        if _has_parent(parent) or not g.may(object_type, "read"):
            continue
        access = _access_q(g, parent, write=False) if _owned(parent) else None
        if access is None:
            open_types.append(object_type)
        else:
            # EXISTS: the planner may probe each row's parent by primary key where few rows
            # are checked, or hash the parents the user sees where many are.
            seen = parent._base_manager.filter(access, pk=OuterRef("related_id"))
            q |= Q(Exists(seen), related_type=object_type)
    if open_types:
        q |= Q(related_type__in=open_types)
    return q


def visible(user: Any, queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset`` narrowed, in SQL, to the rows ``user`` may see."""
    if not _active(user):
        return queryset.none()
    g = grants(user)
    model = queryset.model
    if g.superuser:
        return queryset
    if not g.may(object_type_of(model), "read"):
        return queryset.none()
    if _has_parent(model):
        queryset = queryset.filter(_parent_q(g))
    if not _owned(model):
        return queryset
    q = _access_q(g, model, write=False)
    return queryset if q is None else queryset.filter(q)


def visible_one(user: Any, queryset: QuerySet[M], record_id: Any) -> M:
    """The record of ``queryset`` with ``record_id`` that ``user`` may see; NotFound when there
    is none, the same for a record that exists out of sight and for an id that is no UUID."""
    pk = parse_id(record_id)
    record = visible(user, queryset).filter(pk=pk).first() if pk else None
    if record is None:
        what = object_type_of(queryset.model).replace("_", " ")
        raise NotFound(f"No {what} with id {record_id}")
    return record


def _parent_visible(user: Any, record: Model) -> bool:
    from accord.core.models import record_types

    parent = record_types().get(str(getattr(record, "related_type", "")))
    if parent is None or _has_parent(parent):
        return False
    related_id: Any = getattr(record, "related_id", None)
    found = parent._base_manager.filter(pk=related_id).first()
    return found is not None and can_see(user, found)


def _reaches(user: Any, record: Model, *, write: bool) -> bool:
    g = grants(user)
    model = type(record)
    if g.superuser or not _owned(model) or getattr(record, "owner_id", None) == g.user_id:
        return True
    q = _access_q(g, model, write=write)
    return q is None or model._base_manager.filter(q, pk=record.pk).exists()


def can_see(user: Any, record: Model) -> bool:
    if not _active(user):
        return False
    g = grants(user)
    if not g.may(object_type_of(type(record)), "read"):
        return False
    if not g.superuser and _has_parent(type(record)) and not _parent_visible(user, record):
        return False
    return _reaches(user, record, write=False)


def seen_among(user: Any, records: Iterable[Model]) -> set[Any]:
    """The primary keys of the ``records`` that ``user`` may see, as :func:`can_see` decides
    one by one, with at most one query per type: a record the user owns (or of a type
    without owners), of a type controlled by no parent, needs none, as in ``_reaches``."""
    if not _active(user):
        return set()
    g = grants(user)
    shown: set[Any] = set()
    asked: dict[type[Model], list[Any]] = {}
    for record in records:
        model = type(record)
        if not g.may(object_type_of(model), "read"):
            continue
        if g.superuser or (
            not _has_parent(model)
            and (not _owned(model) or getattr(record, "owner_id", None) == g.user_id)
        ):
            shown.add(record.pk)
        else:
            asked.setdefault(model, []).append(record.pk)
    for model, pks in asked.items():
        seen = visible(user, model._base_manager.filter(pk__in=pks))
        shown.update(seen.values_list("pk", flat=True))
    return shown


def can_edit(user: Any, record: Model) -> bool:
    if not can_see(user, record) or not grants(user).may(object_type_of(type(record)), "edit"):
        return False
    return _reaches(user, record, write=True)


def can_delete(user: Any, record: Model) -> bool:
    return can_edit(user, record) and grants(user).may(object_type_of(type(record)), "delete")


# -- sharing rule criteria and territory rules -----------------------------------------------

OPERATORS = {
    "eq": "exact",
    "ne": "exact",
    "in": "in",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "contains": "icontains",
    "is_null": "isnull",
}


def _criterion_field(model: type[Model], name: str) -> Any:
    """The model field a criterion names: a column (``priority``) or a relation by its id
    (``product_id`` / ``product``). Custom fields are ``custom_fields.<key>``."""
    try:
        found = model._meta.get_field(name.removesuffix("_id"))
    except FieldDoesNotExist:
        return None
    if not getattr(found, "concrete", False) or found.many_to_many:
        return None
    return found


def check_criteria(object_type: str, criteria: Any) -> list[dict[str, Any]]:
    """Sharing-rule criteria validated against the object type's fields, values converted
    to the column's type. Raises InvalidInput naming each bad condition."""
    from accord.core.models import record_types

    model = record_types().get(object_type)
    if model is None:
        raise InvalidInput.field("object_type", f"{object_type!r} is not an object type")
    if not isinstance(criteria, list) or not criteria:
        raise InvalidInput.field("criteria", "must be a non-empty list of conditions")
    errors: list[FieldError] = []
    cleaned: list[dict[str, Any]] = []
    for index, condition in enumerate(criteria):
        where = f"criteria[{index}]"
        if not isinstance(condition, Mapping) or set(condition) - {"field", "op", "value"}:
            errors.append(FieldError(where, "must be an object with field, op and value"))
            continue
        name, op, value = condition.get("field"), condition.get("op", "eq"), condition.get("value")
        if op not in OPERATORS:
            errors.append(FieldError(f"{where}.op", f"must be one of {', '.join(OPERATORS)}"))
            continue
        if not isinstance(name, str) or not name:
            errors.append(FieldError(f"{where}.field", "is required"))
            continue
        if name.startswith("custom_fields."):
            if op not in ("eq", "ne", "is_null") or not name.removeprefix("custom_fields."):
                errors.append(FieldError(where, "custom fields support eq, ne and is_null"))
                continue
            cleaned.append({"field": name, "op": op, "value": value})
            continue
        column = _criterion_field(model, name)
        if column is None:
            errors.append(FieldError(f"{where}.field", f"{object_type} has no field {name!r}"))
            continue
        try:
            value = _convert(column, op, value)
        except (ValidationError, TypeError, ValueError):
            errors.append(FieldError(f"{where}.value", f"is not a valid value for {name}"))
            continue
        cleaned.append({"field": name, "op": op, "value": value})
    if errors:
        raise InvalidInput("The sharing rule's criteria are invalid", errors)
    return cleaned


def _convert(column: Any, op: str, value: Any) -> Any:
    if op == "is_null":
        if not isinstance(value, bool):
            raise TypeError
        return value
    target = column.target_field if column.is_relation else column
    if op == "in":
        if not isinstance(value, list) or not value:
            raise TypeError
        return [_json(target.to_python(v)) for v in value]
    if value is None or isinstance(value, (list, dict)):
        raise TypeError
    return _json(target.to_python(value))


def _json(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def criteria_q(model: type[Model], criteria: Iterable[Mapping[str, Any]], prefix: str = "") -> Q:
    """The conditions of a sharing rule, all of which must hold, as one Q."""
    q = Q()
    for condition in criteria:
        name, op, value = condition["field"], condition.get("op", "eq"), condition.get("value")
        if name.startswith("custom_fields."):
            path = f"{prefix}custom_fields__{name.removeprefix('custom_fields.')}"
            lookup = "isnull" if op == "is_null" else "exact"
        else:
            column = _criterion_field(model, name)
            if column is None:  # a field removed since the rule was saved matches nothing
                return Q(pk__in=[])
            attname = column.attname if column.is_relation else column.name
            path = f"{prefix}{attname}"
            lookup = OPERATORS[op]
        term = Q(**{f"{path}__{lookup}": value})
        q &= ~term if op == "ne" else term
    return q


TERRITORY_KEYS = {
    "country",
    "region",
    "postcode_from",
    "postcode_to",
    "industry",
    "employees_min",
    "employees_max",
}


def check_territory_rules(rules: Any) -> list[dict[str, Any]]:
    if not isinstance(rules, list):
        raise InvalidInput.field("rules", "must be a list of rules")
    errors: list[FieldError] = []
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(rule, Mapping) or not rule:
            errors.append(FieldError(where, "must be an object with at least one condition"))
            continue
        unknown = set(rule) - TERRITORY_KEYS
        if unknown:
            errors.append(FieldError(where, f"unknown keys: {', '.join(sorted(unknown))}"))
        for key in ("employees_min", "employees_max"):
            if key in rule and (not isinstance(rule[key], int) or isinstance(rule[key], bool)):
                errors.append(FieldError(f"{where}.{key}", "must be a whole number"))
        for key in TERRITORY_KEYS - {"employees_min", "employees_max"}:
            if key in rule and (not isinstance(rule[key], str) or not rule[key].strip()):
                errors.append(FieldError(f"{where}.{key}", "must be a non-empty text"))
    if errors:
        raise InvalidInput("The territory's rules are invalid", errors)
    return [dict(r) for r in rules]


def territory_q(rules: Iterable[Mapping[str, Any]], prefix: str = "") -> Q:
    """Accounts matching any of a territory's rules (with ``prefix``: records under them)."""
    q = Q(pk__in=[])
    for rule in rules:
        term = Q()
        if "country" in rule:
            term &= Q(**{f"{prefix}billing_country__iexact": rule["country"]})
        if "region" in rule:
            term &= Q(**{f"{prefix}billing_region__iexact": rule["region"]})
        if "postcode_from" in rule:
            term &= Q(**{f"{prefix}billing_postal_code__gte": rule["postcode_from"]})
        if "postcode_to" in rule:
            term &= Q(**{f"{prefix}billing_postal_code__lte": rule["postcode_to"]})
        if "industry" in rule:
            term &= Q(**{f"{prefix}industry__iexact": rule["industry"]})
        if "employees_min" in rule:
            term &= Q(**{f"{prefix}employee_count__gte": rule["employees_min"]})
        if "employees_max" in rule:
            term &= Q(**{f"{prefix}employee_count__lte": rule["employees_max"]})
        q |= term
    return q


# -- field-level security --------------------------------------------------------------------


def hidden_fields(user: Any, object_type: str) -> frozenset[str]:
    """Fields of ``object_type`` whose values never reach ``user``."""
    if not _active(user):
        return frozenset()
    rows = grants(user).fields.get(object_type, {})
    return frozenset(f for f, access in rows.items() if access == FieldAccess.HIDDEN)


def read_only_fields(user: Any, object_type: str) -> frozenset[str]:
    """Fields ``user`` may not set (hidden fields included)."""
    if not _active(user):
        return frozenset()
    return frozenset(grants(user).fields.get(object_type, {}))


def field_policy(user: Any, object_type: str) -> FieldPolicy:
    """Field-level security of ``object_type`` for ``user`` (registered with core.registry)."""
    return FieldPolicy(hidden_fields(user, object_type), read_only_fields(user, object_type))


# -- explain access --------------------------------------------------------------------------


@dataclass
class Explanation:
    can_see: bool
    can_edit: bool
    reasons: list[str]


def explain(user: Any, record: Model) -> Explanation:
    """Why ``user`` may (or may not) see and edit ``record``: every rule that grants access."""
    model = type(record)
    object_type = object_type_of(model)
    reasons: list[str] = []
    if not _active(user):
        return Explanation(False, False, ["the user is inactive"])
    g = grants(user)
    if g.superuser:
        return Explanation(True, True, ["superuser: sees and edits everything"])
    role = g.role.name if g.role else "no role (standard user)"
    if not g.may(object_type, "read"):
        return Explanation(False, False, [f"role {role} may not read {object_type} records"])
    allowed = sorted(a for a in ACTIONS if g.may(object_type, a))
    reasons.append(f"role {role} may {', '.join(allowed)} {object_type} records")
    if not _owned(model):
        return Explanation(True, g.may(object_type, "edit"), reasons)
    owner_id: Any = getattr(record, "owner_id", None)
    if owner_id == g.user_id:
        reasons.append("owns the record")
    access = g.access(object_type)
    if access != Access.PRIVATE:
        reasons.append(f"org-wide default for {object_type}: {Access(access).label}")
    if owner_id is not None and g.role is not None:
        owner_role = Role.objects.filter(members__pk=owner_id).first()
        if (
            owner_role
            and owner_role.path.startswith(g.role.path)
            and owner_role.depth > g.role.depth
        ):
            reasons.append(f"manages the owner's role {owner_role.name} through the hierarchy")
    row = g.default(object_type)
    same_department = User.objects.filter(pk=owner_id, department_id=g.department_id)
    if row and row.department_level and g.department_id and same_department.exists():
        reasons.append(f"same department as the owner ({row.department_level})")
    for rule in g.rules(object_type):
        if model._base_manager.filter(criteria_q(model, rule.criteria), pk=record.pk).exists():
            reasons.append(f"sharing rule {rule.name!r} ({rule.level})")
    for territory in g.territories:
        prefix = "" if object_type == "account" else "account__"
        if (object_type == "account" or _under_account(model)) and model._base_manager.filter(
            territory_q(territory.rules, prefix), pk=record.pk
        ).exists():
            reasons.append(f"territory {territory.name!r} ({territory.level})")
    for share in g._share_rows(object_type).filter(record_id=record.pk):
        whom = "the user" if share.user_id else "a team of the user"
        reasons.append(f"shared by hand with {whom} ({share.level})")
    see, edit = can_see(user, record), can_edit(user, record)
    if not see:
        reasons.append("nothing grants access to this record")
    elif not edit:
        reasons.append("nothing grants write access to this record")
    return Explanation(see, edit, reasons)

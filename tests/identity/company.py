"""A small company for the access tests: who works where, what each role may do, and one valid
request body per collection, so the authorization matrix, BOLA and mass-assignment tests speak
about the same people and send bodies the API accepts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyotp
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accord.api import api
from accord.core import clock
from accord.core.ids import new_id
from accord.identity.api import PUBLIC_ROUTES, ROUTES
from accord.identity.models import Department, MfaDevice, ObjectPermission, Role, User
from accord.identity.passwords import reset_tokens

PREFIX = "/api/v1"

ACTIVITIES = ("task", "note", "call", "meeting", "email_log")

#: Rights per role: C(reate) R(ead) E(dit) D(elete) X (export) per object type. A role has no
#: right on a type it does not name (ObjectPermission's rule).
PERMISSIONS: dict[str, dict[str, str]] = {
    "sales_manager": {
        **dict.fromkeys(("account", "contact", "lead", "deal", *ACTIVITIES), "CREDX"),
        **dict.fromkeys(("campaign", "case", "product", "pipeline", "stage"), "R"),
        **dict.fromkeys(("queue", "custom_field", "web_form"), "R"),
        "tag": "CR",
        "attachment": "CRED",
    },
    "sales_rep": {
        **dict.fromkeys(("account", "contact", "lead", "deal"), "CRE"),
        **dict.fromkeys(ACTIVITIES, "CRED"),
        **dict.fromkeys(("campaign", "case", "product", "pipeline", "stage"), "R"),
        **dict.fromkeys(("queue", "custom_field", "tag"), "R"),
        "attachment": "CRED",
    },
    "marketing": {
        "campaign": "CRED",
        **dict.fromkeys(("contact", "lead"), "CRE"),
        **dict.fromkeys(ACTIVITIES, "CR"),
        **dict.fromkeys(("account", "deal", "product", "custom_field", "web_form"), "R"),
        "tag": "CRE",
        "attachment": "CR",
    },
    "service_agent": {
        "case": "CRE",
        "contact": "RE",
        **dict.fromkeys(ACTIVITIES, "CRED"),
        **dict.fromkeys(("account", "product", "queue", "tag", "custom_field"), "R"),
        "attachment": "CRED",
    },
    "finance": {
        **dict.fromkeys(("account", "deal", "product", "pipeline", "stage"), "RX"),
        "attachment": "R",
    },
}

RIGHTS = {"C": "can_create", "R": "can_read", "E": "can_edit", "D": "can_delete", "X": "can_export"}


def grant(role: Role, object_type: str, rights: str) -> None:
    ObjectPermission.objects.update_or_create(
        role=role,
        object_type=object_type,
        defaults={name: letter in rights for letter, name in RIGHTS.items()},
    )


def make_role(name: str, parent: Role | None = None, **kw: Any) -> Role:
    """A role placed in the hierarchy (``path``/``depth`` as identity's services keep them)."""
    role = Role(name=name, parent=parent, **kw)
    role.path = f"{parent.path if parent else '/'}{role.pk}/"
    role.depth = parent.depth + 1 if parent else 0
    role.save()
    return role


def make_person(
    username: str,
    *,
    role: Role | None = None,
    department: Department | None = None,
    superuser: bool = False,
    password: str | None = None,
) -> User:
    """A user who signs in with tokens only (no password hash to pay for), or also with
    ``password`` (hash it cheaply: ``fast_password_hashing``) and mail at ``<name>@example.com``."""
    user = User(
        username=username,
        role=role,
        department=department,
        is_superuser=superuser,
        is_staff=superuser,
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
        user.email = f"{username}@example.com"
    user.save()
    return user


@dataclass
class Staff:
    """The people of the company by what they do; ``peer`` is a sales rep beside ``sales_rep``
    who owns the records the others try to reach."""

    people: dict[str, User]
    roles: dict[str, Role]
    departments: dict[str, Department]
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> User:
        return self.people[name]


def hire_staff(*, password: str | None = None) -> Staff:
    """The company; with ``password``, everyone signs in with it (see :func:`make_person`)."""
    departments = {
        kind: Department.objects.create(name=kind.title(), kind=kind)
        for kind in ("sales", "marketing", "service", "finance")
    }
    manager = make_role("Sales Manager")
    roles = {
        "sales_manager": manager,
        "sales_rep": make_role("Sales Rep", manager),
        "marketing": make_role("Marketing"),
        "service_agent": make_role("Service Agent"),
        "finance": make_role("Finance"),
        "read_only": make_role("Read Only"),
    }
    for role_name, rights in PERMISSIONS.items():
        for object_type, letters in rights.items():
            grant(roles[role_name], object_type, letters)
    from accord.core.models import record_types

    for object_type in record_types():
        grant(roles["read_only"], object_type, "R")
    sales, marketing, service = (departments[k] for k in ("sales", "marketing", "service"))
    hired = {
        "admin": ("admin", None, None),
        "sales_manager": ("sam", manager, sales),
        "sales_rep": ("rey", roles["sales_rep"], sales),
        "peer": ("pia", roles["sales_rep"], sales),
        "marketing": ("mia", roles["marketing"], marketing),
        "marketing_peer": ("max", roles["marketing"], marketing),
        "service_agent": ("sid", roles["service_agent"], service),
        "service_peer": ("sue", roles["service_agent"], service),
        "finance": ("fay", roles["finance"], departments["finance"]),
        "read_only": ("rod", roles["read_only"], None),
    }
    people = {
        kind: make_person(
            username,
            role=role,
            department=department,
            superuser=kind == "admin",
            password=password,
        )
        for kind, (username, role, department) in hired.items()
    }
    return Staff(people=people, roles=roles, departments=departments)


def built_once(django_db_blocker: Any, build: Callable[[], Any]) -> Iterator[Any]:
    """For a module-scoped fixture: ``build()``'s rows live in a transaction rolled back when
    the module ends. Each test runs in a savepoint inside it (pytest-django's ``db``), so a
    test's writes never reach the next one."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# -- the API as OpenAPI describes it ------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    #: Relative to /api/v1, with OpenAPI's placeholders: ``/accounts/{record_id}``.
    path: str
    operation_id: str
    request_schema: Mapping[str, Any] | None
    #: The JSON schema of the success answer (200 or 201), when it has one.
    response_schema: Mapping[str, Any] | None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def collection(self) -> str:
        return self.path.split("/")[1]


def _resolve(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return components[ref.rsplit("/", 1)[1]]
    return schema


def operations() -> list[Operation]:
    """Every operation of the API, as its OpenAPI schema lists them."""
    schema = api.get_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {})
            json_schema = body.get("application/json", {}).get("schema")
            answers = operation.get("responses", {})
            success = answers.get(200, answers.get(201, answers.get("200", answers.get("201"))))
            answer = (success or {}).get("content", {}).get("application/json", {}).get("schema")
            found.append(
                Operation(
                    method=method.upper(),
                    path=path.removeprefix(PREFIX),
                    operation_id=operation["operationId"],
                    request_schema=_resolve(json_schema, components) if json_schema else None,
                    response_schema=_resolve(answer, components) if answer else None,
                )
            )
    return found


def identity_prefixes() -> tuple[str, ...]:
    """Where the identity API's routers are mounted (sign-in, users, roles, sharing, …)."""
    return tuple(prefix for prefix, *_ in (*ROUTES, *PUBLIC_ROUTES) if prefix.strip("/"))


def is_identity_operation(op: Operation) -> bool:
    return any(op.path == p or op.path.startswith(f"{p.rstrip('/')}/") for p in identity_prefixes())


def record_collections() -> list[str]:
    """Collections that serve records one by one: they have ``/<collection>/{record_id}``."""
    return sorted(
        {
            op.collection
            for op in operations()
            if op.path == f"/{op.collection}/{{record_id}}" and not is_identity_operation(op)
        }
    )


# -- bodies the API accepts ---------------------------------------------------------------------

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def create_body(collection: str, refs: Mapping[str, Any], tag: str = "") -> dict[str, Any]:
    """A minimal valid create body. ``refs`` names what bodies point at: ``account`` (any
    record the caller sees, which activities hang off and deals belong to), ``pipeline``, and
    for the access model ``department``, ``role``, ``deal`` (a record to share by hand) and
    ``colleague`` (a user to share it with). ``tag`` makes unique values unique across calls."""
    about = {"related_type": "account", "related_id": str(refs.get("account"))}
    department = str(refs.get("department"))
    bodies: dict[str, dict[str, Any]] = {
        # deals: the types the sales manager and finance may read and export
        "webhooks": {
            "url": f"https://hooks.example.com/accord/{tag}".rstrip("/"),
            "event_types": ["accord.deal.*"],
        },
        "accounts": {"name": f"Matrix {tag}".strip()},
        "contacts": {"last_name": f"Matrix {tag}".strip()},
        "tags": {"name": f"matrix{tag}"},
        "custom-fields": {
            "record_type": "contact",
            "key": f"matrix{tag}",
            "label": "Matrix",
            "type": "text",
        },
        "tasks": {**about, "subject": "Call back"},
        "notes": {**about, "body": "Prefers email."},
        "calls": {**about, "direction": "outbound"},
        "meetings": {
            **about,
            "subject": "Kick-off",
            "starts_at": START.isoformat(),
            "ends_at": (START + dt.timedelta(hours=1)).isoformat(),
        },
        "email-logs": {**about, "direction": "outbound", "from_address": "ada@example.com"},
        "products": {"sku": f"MATRIX-{tag}", "name": "Matrix", "list_price": "10.00"},
        "leads": {"last_name": "Matrix", "company": "Matrix Ltd"},
        "pipelines": {"name": "Matrix"},
        "stages": {"pipeline_id": str(refs.get("pipeline")), "name": f"Matrix {tag}".strip()},
        "deals": {"name": "Matrix", "account_id": str(refs.get("account"))},
        "web-forms": {"name": "Matrix", "slug": f"matrix{tag}", "field_map": {"email": "email"}},
        "cases": {"subject": "Broken"},
        "queues": {"name": f"Matrix {tag}".strip()},
        "campaigns": {"name": "Matrix"},
        # the access model
        "departments": {"name": f"Matrix {tag}".strip(), "kind": "other"},
        "users": {
            "username": f"matrix{tag}",
            "email": f"matrix{tag}@example.com",
            "department_id": department,
            "role_id": str(refs.get("role")),
        },
        "roles": {"name": f"Matrix {tag}".strip(), "parent_id": str(refs.get("role"))},
        "teams": {"name": f"Matrix {tag}".strip(), "department_id": department},
        "territories": {"name": f"Matrix {tag}".strip(), "rules": [{"country": "FR"}]},
        "sharing-rules": {
            "name": f"Matrix {tag}".strip(),
            "object_type": "deal",
            "criteria": [{"field": "name", "op": "contains", "value": "matrix"}],
            "grantee_type": "department",
            "grantee_id": department,
            "level": "read",
        },
        "record-shares": {
            "object_type": "deal",
            "record_id": str(refs.get("deal")),
            "user_id": str(refs.get("colleague")),
            "level": "read",
        },
    }
    return bodies[collection]


#: A small change every PATCH of the collection accepts (never a field access depends on).
PATCH_BODIES: dict[str, dict[str, Any]] = {
    "accounts": {"external_id": "patched"},
    "contacts": {"title": "Patched"},
    "tags": {"color": "#123456"},
    "custom-fields": {"label": "Patched"},
    "tasks": {"subject": "Patched"},
    "notes": {"body": "Patched"},
    "calls": {"outcome": "Patched"},
    "meetings": {"location": "Patched"},
    "email-logs": {"subject": "Patched"},
    "products": {"name": "Patched"},
    "leads": {"title": "Patched"},
    "pipelines": {"name": "Patched"},
    "stages": {"name": "Patched"},
    "deals": {"name": "Patched"},
    "web-forms": {"name": "Patched"},
    "cases": {"description": "Patched"},
    "queues": {"description": "Patched"},
    "campaigns": {"description": "Patched"},
    "webhooks": {"description": "Patched"},
    # the access model
    "departments": {"name": "Patched"},
    "users": {"first_name": "Patched"},
    "roles": {"description": "Patched"},
    "teams": {"name": "Patched"},
    "territories": {"level": "read"},
    "sharing-rules": {"name": "Patched"},
}

#: The body of each PUT (they replace a whole setting), by path.
PUT_BODIES: dict[str, dict[str, Any]] = {
    "/roles/{role_id}/permissions": {
        "permissions": {"account": {"create": True, "read": True, "edit": True}}
    },
    "/roles/{role_id}/field-permissions": {
        "fields": [{"object_type": "account", "field": "annual_revenue", "access": "hidden"}]
    },
    "/sharing-defaults/{object_type}": {"access": "public_read", "department_level": "read"},
    "/notifications/preferences": {"assignment": "email_digest"},
}


# -- webhooks -----------------------------------------------------------------------------------


@dataclass
class Webhook:
    """A subscription with one delivered event in its log and one finished replay."""

    subscription: Any
    delivery: Any
    replay: Any

    @property
    def params(self) -> dict[str, str]:
        return {
            "webhook_id": str(self.subscription.pk),
            "delivery_id": str(self.delivery.pk),
            "replay_id": str(self.replay.pk),
        }


def make_webhook(owner: User, *, by: User) -> Webhook:
    """A subscription to deal events owned by ``owner`` (who must be allowed to export deals),
    made by ``by`` (an access manager, when ``owner`` is someone else), with a delivered
    delivery (which may be redelivered) and a finished replay (which leaves room for more)."""
    from accord.integration.models import WebhookDelivery, WebhookReplay
    from accord.integration.webhooks import services as webhooks

    subscription, _ = webhooks.create(
        actor=by,
        data={
            "url": "https://hooks.example.com/accord/owned",
            "event_types": ["accord.deal.*"],
            "owner_id": owner.pk,
        },
    )
    now = clock.now()
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=new_id(),
        event_type="accord.deal.updated",
        sequence=1,
        status="delivered",
        body='{"type": "accord.deal.updated"}',
        attempts=1,
        last_attempt_at=now,
        delivered_at=now,
        response_status=204,
    )
    replay = WebhookReplay.objects.create(
        subscription=subscription,
        start=now - dt.timedelta(days=1),
        end=now,
        after=0,
        through=0,
        requested_by=by,
        finished_at=now,
    )
    return Webhook(subscription=subscription, delivery=delivery, replay=replay)


def replay_body() -> dict[str, str]:
    """A replay of the last day (events are kept longer than that)."""
    now = clock.now()
    return {"from": (now - dt.timedelta(days=1)).isoformat(), "to": now.isoformat()}


# -- signing in ---------------------------------------------------------------------------------

#: The password of everyone hired with ``hire_staff(password=PASSWORD)``; long enough and
#: uncommon enough for the password rules, so changing from it to NEW_PASSWORD succeeds.
PASSWORD = "staple matrix horse battery 7"
NEW_PASSWORD = "a brand new matrix passphrase"
#: The authenticator secret of everyone enrolled with :func:`enrol_mfa` (base32, 160 bits).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol_mfa(user: User, *, confirmed: bool = True) -> None:
    """Give ``user`` an authenticator app with TOTP_SECRET: enrolled, or (``confirmed``
    False) set up and waiting for the first code."""
    MfaDevice.objects.update_or_create(
        user=user,
        defaults={
            "secret": TOTP_SECRET,
            "created_at": clock.now(),
            "confirmed_at": clock.now() if confirmed else None,
            "last_used_step": None,
        },
    )


def current_code() -> str:
    """The code the authenticator app of :func:`enrol_mfa` shows now."""
    return str(pyotp.TOTP(TOTP_SECRET).at(clock.now()))


def reset_link(user: User) -> dict[str, str]:
    """The ``uid`` and ``token`` of the password reset mail ``user`` would get now."""
    return {
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": reset_tokens.make_token(user),
    }


def auth_body(path: str, signer: User) -> dict[str, Any] | None:
    """A body of ``/auth/...`` that succeeds for its caller: the signed-in person's own
    password and a current code of their app (enrolled with :func:`enrol_mfa`), and for the
    public sign-in endpoints ``signer``'s name, address or reset link."""
    bodies: dict[str, Callable[[], dict[str, Any]]] = {
        "/auth/login": lambda: {"username": signer.username, "password": PASSWORD},
        "/auth/login/mfa": lambda: {"code": current_code()},
        "/auth/password-reset": lambda: {"email": signer.email},
        "/auth/password-reset/confirm": lambda: {
            **reset_link(signer),
            "new_password": NEW_PASSWORD,
        },
        "/auth/password": lambda: {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        "/auth/mfa/confirm": lambda: {"code": current_code()},
        "/auth/mfa/recovery-codes": lambda: {"code": current_code()},
        "/auth/mfa/disable": lambda: {"password": PASSWORD, "code": current_code()},
    }
    make = bodies.get(path)
    return make() if make else None

"""The authorization matrix: every operation of the API, called by each kind of person, against
records someone else owns. The expected outcome of every cell is written down below; an
operation the schema lists without a row fails the test, so nothing new slips through unjudged.

How the company is set up (see ``company.py`` for the object permissions of each role):

- org-wide defaults: accounts, deals, campaigns public read; contacts public read with the
  owner's department read-write; leads and cases private, cases with the owner's department
  read-write; campaigns with the owner's department read-write; activities public read;
- sharing rules: marketing-qualified contacts are read-write for the marketing department;
  leads and cases are readable by the read-only role;
- the records are owned by ``peer`` (a sales rep beside ``sales_rep``, under ``sales_manager``),
  except the case (another service agent) and the campaign (another marketer);
- ``admin`` is a superuser (the only one of the eight who manages access); ``anonymous``
  sends no token; everyone else calls with an API token of their own (scope ``*``);
- the access model: a department (Legal) and a role (Intern) that nobody belongs to, so they may
  be deleted; a team, a territory and an inactive sharing rule; the deal shared by hand with the
  read-only user; a deactivated user to reactivate. Identity's item operations address those,
  the user operations address ``peer``;
- everyone signs in with ``company.PASSWORD`` (hashed with ``fast_password_hashing``), so the
  cells of ``/auth/...`` send bodies that succeed where the caller is allowed: their own current
  password, and a current code of an authenticator app enrolled (or being set up) for them in the
  cell's savepoint.

The sign-in endpoints (``/auth/login``, ``/auth/login/mfa``, ``/auth/password-reset`` and its
``/confirm``) are public: they take no credentials and act for the person the body names (here
``signer``, a sales rep with a password and, for ``/login/mfa``, an authenticator app), so their
rows are alike in every column: sending a token, whoever's, changes nothing. Everything else
under ``/auth/`` acts on the caller, so it is 2xx for every signed-in person and 401 without a
token. Identity's directory (departments, users, roles, teams) is read by every signed-in
person; the rest of the access model and every write in it is for access managers: here only
``admin``; ``test_a_non_superuser_access_manager`` covers a role with ``manages_access``.
Sharing one record by hand is for its owner, its editors (the manager above the owner) and
access managers; a record one cannot see is a 404. Attachments follow the deal they are on
(reading it to read them, editing it to attach or remove; the attachment cells send no file, so
a caller who may attach gets the 422 for the missing file); the notification inbox is personal,
so a notification is a 404 for everyone but its recipient (``sales_rep``).

Webhook subscriptions are managed by their owner and by access managers; to anyone else they do
not exist (404), whatever their place in the role hierarchy. The one addressed here belongs to
``finance`` (made by ``admin`` for them), with a delivered event in its log and a finished
replay. Creating one needs the right to read and export the subscribed types (deals here: the
sales manager and finance may). Everyone lists their own. The sync feed serves every signed-in
person what they may see (``GET /sync``); a push (``POST /sync``) of an edit of the deal goes
through the deal's service exactly like ``PATCH /deals/{record_id}``.

Outcomes: ``2xx``, or the status code. Bulk upserts answer 200 with a result per row, so their
cell is ``2xx`` only when the row was written, else ``row403`` / ``row404`` / ``row422`` (the
row's error reads "may not …" / "unknown id" / anything else); a sync push likewise answers
200 with a result per edit: ``2xx`` when applied, else ``row`` and the edit's own code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.db import transaction
from django.test.utils import override_settings

from accord.activities import services as activities
from accord.activities.notifications import notify
from accord.catalog.services import products
from accord.core.models import record_types
from accord.identity.models import (
    Access,
    Department,
    Grantee,
    Level,
    RecordShare,
    SharingDefault,
    SharingRule,
    Team,
    Territory,
    User,
)
from accord.identity.tokens import create_token
from accord.marketing.services import campaigns
from accord.parties import attachments
from accord.parties import services as parties
from accord.sales import services as sales
from accord.sales.models import Deal
from accord.sales.webforms import web_forms
from accord.service import services as service
from tests.conftest import ApiClient
from tests.identity.company import (
    ACTIVITIES,
    PASSWORD,
    PATCH_BODIES,
    PUT_BODIES,
    Operation,
    Staff,
    auth_body,
    built_once,
    create_body,
    enrol_mfa,
    grant,
    hire_staff,
    is_identity_operation,
    make_person,
    make_role,
    make_webhook,
    operations,
    replay_body,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

#: The file attached to the deal: a PDF by its content.
PDF = b"%PDF-1.4\n%%EOF\n"

#: The columns of MATRIX, in order: admin, sales manager (mgr), sales rep (rep), marketing
#: (mkt), service agent (svc), finance (fin), read-only (ro), no token (anon).
ROLES = (
    "admin",
    "sales_manager",
    "sales_rep",
    "marketing",
    "service_agent",
    "finance",
    "read_only",
    "anonymous",
)

# fmt: off
MATRIX = """
operation                                 admin  mgr    rep    mkt    svc    fin    ro     anon
GET    /health                            2xx    2xx    2xx    2xx    2xx    2xx    2xx    2xx
GET    /references                        2xx    403    403    403    403    403    403    401
GET    /events                            2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
GET    /events/status                     2xx    403    403    403    403    403    403    401

POST   /auth/login                        2xx    2xx    2xx    2xx    2xx    2xx    2xx    2xx
POST   /auth/login/mfa                    2xx    2xx    2xx    2xx    2xx    2xx    2xx    2xx
POST   /auth/password-reset               2xx    2xx    2xx    2xx    2xx    2xx    2xx    2xx
POST   /auth/password-reset/confirm       2xx    2xx    2xx    2xx    2xx    2xx    2xx    2xx
GET    /auth/me                           2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /auth/logout                       2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /auth/password                     2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /auth/mfa/setup                    2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /auth/mfa/confirm                  2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /auth/mfa/recovery-codes           2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /auth/mfa/disable                  2xx    2xx    2xx    2xx    2xx    2xx    2xx    401

GET    /departments                       2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /departments                       2xx    403    403    403    403    403    403    401
GET    /departments/{department_id}       2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
PATCH  /departments/{department_id}       2xx    403    403    403    403    403    403    401
DELETE /departments/{department_id}       2xx    403    403    403    403    403    403    401

GET    /users                             2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /users                             2xx    403    403    403    403    403    403    401
GET    /users/{user_id}                   2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
PATCH  /users/{user_id}                   2xx    403    403    403    403    403    403    401
POST   /users/{user_id}/deactivate        2xx    403    403    403    403    403    403    401
POST   /users/{user_id}/reactivate        2xx    403    403    403    403    403    403    401
POST   /users/{user_id}/reset-password    2xx    403    403    403    403    403    403    401

GET    /roles                             2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /roles                             2xx    403    403    403    403    403    403    401
GET    /roles/{role_id}                   2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
PATCH  /roles/{role_id}                   2xx    403    403    403    403    403    403    401
DELETE /roles/{role_id}                   2xx    403    403    403    403    403    403    401
GET    /roles/{role_id}/permissions       2xx    403    403    403    403    403    403    401
PUT    /roles/{role_id}/permissions       2xx    403    403    403    403    403    403    401
GET    /roles/{role_id}/field-permissions 2xx    403    403    403    403    403    403    401
PUT    /roles/{role_id}/field-permissions 2xx    403    403    403    403    403    403    401

GET    /teams                             2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /teams                             2xx    403    403    403    403    403    403    401
GET    /teams/{team_id}                   2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
PATCH  /teams/{team_id}                   2xx    403    403    403    403    403    403    401
DELETE /teams/{team_id}                   2xx    403    403    403    403    403    403    401

GET    /territories                       2xx    403    403    403    403    403    403    401
POST   /territories                       2xx    403    403    403    403    403    403    401
GET    /territories/{territory_id}        2xx    403    403    403    403    403    403    401
PATCH  /territories/{territory_id}        2xx    403    403    403    403    403    403    401
DELETE /territories/{territory_id}        2xx    403    403    403    403    403    403    401

GET    /sharing-defaults                  2xx    403    403    403    403    403    403    401
PUT    /sharing-defaults/{object_type}    2xx    403    403    403    403    403    403    401

GET    /sharing-rules                     2xx    403    403    403    403    403    403    401
POST   /sharing-rules                     2xx    403    403    403    403    403    403    401
GET    /sharing-rules/{rule_id}           2xx    403    403    403    403    403    403    401
PATCH  /sharing-rules/{rule_id}           2xx    403    403    403    403    403    403    401
DELETE /sharing-rules/{rule_id}           2xx    403    403    403    403    403    403    401

GET    /record-shares                     2xx    2xx    403    403    404    403    403    401
POST   /record-shares                     2xx    2xx    403    403    404    403    403    401
DELETE /record-shares/{share_id}          2xx    2xx    403    403    404    403    403    401

GET    /security-events                   2xx    403    403    403    403    403    403    401
GET    /access/explain                    2xx    403    403    403    403    403    403    401

GET    /accounts                          2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /accounts                          2xx    2xx    2xx    403    403    403    403    401
POST   /accounts/bulk                     2xx    2xx    row403 row403 row403 row403 row403 401
GET    /accounts/{record_id}              2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
PATCH  /accounts/{record_id}              2xx    2xx    403    403    403    403    403    401
DELETE /accounts/{record_id}              2xx    2xx    403    403    403    403    403    401

GET    /contacts                          2xx    2xx    2xx    2xx    2xx    403    2xx    401
POST   /contacts                          2xx    2xx    2xx    2xx    403    403    403    401
POST   /contacts/bulk                     2xx    2xx    2xx    2xx    row403 row404 row403 401
GET    /contacts/{record_id}              2xx    2xx    2xx    2xx    2xx    403    2xx    401
PATCH  /contacts/{record_id}              2xx    2xx    2xx    2xx    403    404    403    401
DELETE /contacts/{record_id}              2xx    2xx    403    403    403    404    403    401

GET    /tags                              2xx    2xx    2xx    2xx    2xx    403    2xx    401
POST   /tags                              2xx    2xx    403    2xx    403    403    403    401
GET    /tags/{record_id}                  2xx    2xx    2xx    2xx    2xx    403    2xx    401
PATCH  /tags/{record_id}                  2xx    403    403    2xx    403    404    403    401
DELETE /tags/{record_id}                  2xx    403    403    403    403    404    403    401

GET    /custom-fields                     2xx    2xx    2xx    2xx    2xx    403    2xx    401
POST   /custom-fields                     2xx    403    403    403    403    403    403    401
GET    /custom-fields/{record_id}         2xx    2xx    2xx    2xx    2xx    403    2xx    401
PATCH  /custom-fields/{record_id}         2xx    403    403    403    403    404    403    401
DELETE /custom-fields/{record_id}         2xx    403    403    403    403    404    403    401

GET    /tasks                             2xx    2xx    2xx    2xx    2xx    403    2xx    401
POST   /tasks                             2xx    2xx    2xx    2xx    2xx    403    403    401
GET    /tasks/{record_id}                 2xx    2xx    2xx    2xx    2xx    403    2xx    401
PATCH  /tasks/{record_id}                 2xx    2xx    403    403    403    404    403    401
DELETE /tasks/{record_id}                 2xx    2xx    403    403    403    404    403    401

GET    /notes                             2xx    2xx    2xx    2xx    2xx    403    2xx    401
POST   /notes                             2xx    2xx    2xx    2xx    2xx    403    403    401
GET    /notes/{record_id}                 2xx    2xx    2xx    2xx    2xx    403    2xx    401
PATCH  /notes/{record_id}                 2xx    2xx    403    403    403    404    403    401
DELETE /notes/{record_id}                 2xx    2xx    403    403    403    404    403    401

GET    /calls                             2xx    2xx    2xx    2xx    2xx    403    2xx    401
POST   /calls                             2xx    2xx    2xx    2xx    2xx    403    403    401
GET    /calls/{record_id}                 2xx    2xx    2xx    2xx    2xx    403    2xx    401
PATCH  /calls/{record_id}                 2xx    2xx    403    403    403    404    403    401
DELETE /calls/{record_id}                 2xx    2xx    403    403    403    404    403    401

GET    /meetings                          2xx    2xx    2xx    2xx    2xx    403    2xx    401
POST   /meetings                          2xx    2xx    2xx    2xx    2xx    403    403    401
GET    /meetings/{record_id}              2xx    2xx    2xx    2xx    2xx    403    2xx    401
PATCH  /meetings/{record_id}              2xx    2xx    403    403    403    404    403    401
DELETE /meetings/{record_id}              2xx    2xx    403    403    403    404    403    401

GET    /email-logs                        2xx    2xx    2xx    2xx    2xx    403    2xx    401
POST   /email-logs                        2xx    2xx    2xx    2xx    2xx    403    403    401
GET    /email-logs/{record_id}            2xx    2xx    2xx    2xx    2xx    403    2xx    401
PATCH  /email-logs/{record_id}            2xx    2xx    403    403    403    404    403    401
DELETE /email-logs/{record_id}            2xx    2xx    403    403    403    404    403    401

GET    /{collection}/{record_id}/timeline 2xx    2xx    2xx    2xx    404    2xx    2xx    401
GET    /{collection}/{record_id}/history  2xx    2xx    2xx    2xx    404    2xx    2xx    401

GET    /{collection}/{record_id}/attachments  2xx  2xx  2xx  2xx  404  2xx  2xx  401
POST   /{collection}/{record_id}/attachments  422  422  403  403  404  403  403  401
GET    /attachments/{attachment_id}       2xx    2xx    2xx    2xx    404    2xx    2xx    401
GET    /attachments/{attachment_id}/content  2xx  2xx  2xx  2xx  404  2xx  2xx  401
DELETE /attachments/{attachment_id}       2xx    2xx    403    403    404    403    403    401

GET    /notifications                     2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
GET    /notifications/unread-count        2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /notifications/read-all            2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
GET    /notifications/preferences         2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
PUT    /notifications/preferences         2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
GET    /notifications/{notification_id}   404    404    2xx    404    404    404    404    401
POST   /notifications/{notification_id}/read  404  404  2xx  404  404  404  404  401

GET    /products                          2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /products                          2xx    403    403    403    403    403    403    401
GET    /products/{record_id}              2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
PATCH  /products/{record_id}              2xx    403    403    403    403    403    403    401
DELETE /products/{record_id}              2xx    403    403    403    403    403    403    401

GET    /leads                             2xx    2xx    2xx    2xx    403    403    2xx    401
POST   /leads                             2xx    2xx    2xx    2xx    403    403    403    401
GET    /leads/{record_id}                 2xx    2xx    404    404    403    403    2xx    401
PATCH  /leads/{record_id}                 2xx    2xx    404    404    404    404    403    401
DELETE /leads/{record_id}                 2xx    2xx    404    404    404    404    403    401
POST   /leads/{record_id}/convert         2xx    2xx    404    404    404    404    403    401

GET    /pipelines                         2xx    2xx    2xx    403    403    2xx    2xx    401
POST   /pipelines                         2xx    403    403    403    403    403    403    401
GET    /pipelines/{record_id}             2xx    2xx    2xx    403    403    2xx    2xx    401
PATCH  /pipelines/{record_id}             2xx    403    403    404    404    403    403    401
DELETE /pipelines/{record_id}             2xx    403    403    404    404    403    403    401

GET    /stages                            2xx    2xx    2xx    403    403    2xx    2xx    401
POST   /stages                            2xx    403    403    403    403    403    403    401
GET    /stages/{record_id}                2xx    2xx    2xx    403    403    2xx    2xx    401
PATCH  /stages/{record_id}                2xx    403    403    404    404    403    403    401
DELETE /stages/{record_id}                2xx    403    403    404    404    403    403    401

GET    /deals                             2xx    2xx    2xx    2xx    403    2xx    2xx    401
POST   /deals                             2xx    2xx    2xx    403    403    403    403    401
GET    /deals/{record_id}                 2xx    2xx    2xx    2xx    403    2xx    2xx    401
PATCH  /deals/{record_id}                 2xx    2xx    403    403    404    403    403    401
DELETE /deals/{record_id}                 2xx    2xx    403    403    404    403    403    401

GET    /web-forms                         2xx    2xx    403    2xx    403    403    2xx    401
POST   /web-forms                         2xx    403    403    403    403    403    403    401
GET    /web-forms/{record_id}             2xx    2xx    403    2xx    403    403    2xx    401
PATCH  /web-forms/{record_id}             2xx    403    404    403    404    404    403    401
DELETE /web-forms/{record_id}             2xx    403    404    403    404    404    403    401
GET    /web-forms/{record_id}/snippet     2xx    403    403    403    403    403    403    401
POST   /web-forms/{slug}/submissions      2xx    2xx    2xx    2xx    2xx    2xx    2xx    2xx

GET    /cases                             2xx    2xx    2xx    403    2xx    403    2xx    401
POST   /cases                             2xx    403    403    403    2xx    403    403    401
GET    /cases/{record_id}                 2xx    404    404    403    2xx    403    2xx    401
PATCH  /cases/{record_id}                 2xx    404    404    404    2xx    404    403    401
DELETE /cases/{record_id}                 2xx    404    404    404    403    404    403    401

GET    /queues                            2xx    2xx    2xx    403    2xx    403    2xx    401
POST   /queues                            2xx    403    403    403    403    403    403    401
GET    /queues/{record_id}                2xx    2xx    2xx    403    2xx    403    2xx    401
PATCH  /queues/{record_id}                2xx    403    403    404    403    404    403    401
DELETE /queues/{record_id}                2xx    403    403    404    403    404    403    401

GET    /campaigns                         2xx    2xx    2xx    2xx    403    403    2xx    401
POST   /campaigns                         2xx    403    403    2xx    403    403    403    401
GET    /campaigns/{record_id}             2xx    2xx    2xx    2xx    403    403    2xx    401
PATCH  /campaigns/{record_id}             2xx    403    403    2xx    404    404    403    401
DELETE /campaigns/{record_id}             2xx    403    403    2xx    404    404    403    401

GET    /webhooks                          2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /webhooks                          2xx    2xx    403    403    403    2xx    403    401
GET    /webhooks/{webhook_id}             2xx    404    404    404    404    2xx    404    401
PATCH  /webhooks/{webhook_id}             2xx    404    404    404    404    2xx    404    401
DELETE /webhooks/{webhook_id}             2xx    404    404    404    404    2xx    404    401
POST   /webhooks/{webhook_id}/rotate-secret  2xx  404  404   404    404    2xx    404    401
GET    /webhooks/{webhook_id}/deliveries  2xx    404    404    404    404    2xx    404    401
GET    /webhooks/{webhook_id}/deliveries/{delivery_id}  2xx  404  404  404  404  2xx  404  401
POST /webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver 2xx 404 404 404 404 2xx 404 401
POST   /webhooks/{webhook_id}/replay      2xx    404    404    404    404    2xx    404    401
GET    /webhooks/{webhook_id}/replays/{replay_id}  2xx  404  404  404  404  2xx  404  401

GET    /sync                              2xx    2xx    2xx    2xx    2xx    2xx    2xx    401
POST   /sync                              2xx    2xx    row403 row403 row404 row403 row403 401
"""
# fmt: on


def parse_matrix(text: str, columns: tuple[str, ...] = ROLES) -> dict[str, dict[str, str]]:
    lines = [line.split() for line in text.strip().splitlines() if line.strip()]
    header, rows = lines[0], lines[1:]
    assert len(header) == len(columns) + 1, "one column per role after the operation"
    table: dict[str, dict[str, str]] = {}
    for cells in rows:
        method, path, *outcomes = cells
        assert len(outcomes) == len(columns), f"{method} {path}: one outcome per role"
        key = f"{method} {path}"
        assert key not in table, f"{key} has two rows"
        table[key] = dict(zip(columns, outcomes, strict=True))
    return table


EXPECTED = parse_matrix(MATRIX)
OPERATIONS = sorted(operations(), key=lambda op: op.key)


def test_every_operation_of_the_api_has_a_row() -> None:
    keys = {op.key for op in OPERATIONS}
    missing = sorted(keys - set(EXPECTED))
    assert not missing, "operations without a row in MATRIX:\n" + "\n".join(missing)
    stale = sorted(set(EXPECTED) - keys)
    assert not stale, "rows for operations the API no longer has:\n" + "\n".join(stale)


# -- the company and its records, built once for the module ------------------------------------


@dataclass
class World:
    clients: dict[str, ApiClient]
    #: Who calls in each column (anonymous: nobody), and ``signer``, who signs in at the
    #: public ``/auth/`` endpoints.
    people: dict[str, User]
    #: collection → the id its item operations address.
    items: dict[str, str]
    #: The access model's path parameters (``{user_id}``, ``{role_id}``, …) → their value.
    params: dict[str, str]
    refs: dict[str, Any]
    slug: str


def _share(object_type: str, access: str, department_level: str = "") -> None:
    SharingDefault.objects.update_or_create(
        object_type=object_type,
        defaults={"access": access, "department_level": department_level},
    )


def _build_world() -> World:
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        staff = hire_staff(password=PASSWORD)
        return _build_records(staff)


def _build_records(staff: Staff) -> World:
    admin, peer = staff["admin"], staff["peer"]
    _share("account", Access.PUBLIC_READ)
    _share("contact", Access.PUBLIC_READ, Level.READ_WRITE)
    _share("deal", Access.PUBLIC_READ)
    _share("lead", Access.PRIVATE)
    _share("case", Access.PRIVATE, Level.READ_WRITE)
    _share("campaign", Access.PUBLIC_READ, Level.READ_WRITE)
    for object_type in ACTIVITIES:
        _share(object_type, Access.PUBLIC_READ)
    SharingRule.objects.create(
        name="Marketing works qualified contacts",
        object_type="contact",
        criteria=[{"field": "lifecycle_stage", "op": "eq", "value": "marketing_qualified"}],
        grantee_type=Grantee.DEPARTMENT,
        grantee_id=staff.departments["marketing"].pk,
        level=Level.READ_WRITE,
    )
    for object_type, criteria in (
        ("lead", [{"field": "score", "op": "gte", "value": 0}]),
        ("case", [{"field": "status", "op": "ne", "value": "closed"}]),
    ):
        SharingRule.objects.create(
            name=f"Auditors read {object_type}s",
            object_type=object_type,
            criteria=criteria,
            grantee_type=Grantee.ROLE,
            grantee_id=staff.roles["read_only"].pk,
            level=Level.READ,
        )

    owned = {"owner_id": peer.pk}
    account = parties.accounts.create(actor=admin, data={"name": "Peer Account", **owned})
    contact = parties.contacts.create(
        actor=admin,
        data={
            "last_name": "Peer",
            "emails": ["peer.contact@example.com"],
            "account_id": account.pk,
            "lifecycle_stage": "marketing_qualified",
            **owned,
        },
    )
    tag = parties.tags.create(actor=admin, data={"name": "vip"})
    field = parties.custom_fields.create(
        actor=admin,
        data={"record_type": "contact", "key": "shoe_size", "label": "Shoe size", "type": "text"},
    )
    default = sales.pipelines.create(actor=admin, data={"name": "New business"})
    sales.stages.create(actor=admin, data={"pipeline_id": default.pk, "name": "Qualify"})
    spare = sales.pipelines.create(actor=admin, data={"name": "Renewals"})
    spare_stage = sales.stages.create(actor=admin, data={"pipeline_id": spare.pk, "name": "Open"})
    deal = sales.deals.create(
        actor=admin, data={"name": "Peer deal", "account_id": account.pk, **owned}
    )
    lead = sales.leads.create(
        actor=admin,
        data={"last_name": "Lead", "company": "Lead Ltd", "status": "qualified", **owned},
    )
    form = web_forms.create(
        actor=admin,
        data={
            "name": "Contact us",
            "slug": "contact-us",
            "field_map": {"email": "email", "name": "last_name"},
        },
    )
    product = products.create(
        actor=admin, data={"sku": "P-1", "name": "Sensor", "list_price": "10.00"}
    )
    queue = service.queues.create(actor=admin, data={"name": "Support"})
    case = service.cases.create(
        actor=admin, data={"subject": "Broken", "owner_id": staff["service_peer"].pk}
    )
    campaign = campaigns.create(
        actor=admin, data={"name": "Spring", "owner_id": staff["marketing_peer"].pk}
    )
    about = {"related_type": "account", "related_id": account.pk, **owned}
    activity_ids = {
        collection: writer.create(actor=admin, data={**about, **body}).pk
        for collection, writer, body in (
            ("tasks", activities.tasks, {"subject": "Call back"}),
            ("notes", activities.notes, {"body": "Likes sensors"}),
            ("calls", activities.calls, {"direction": "outbound"}),
            ("meetings", activities.meetings, create_body("meetings", {"account": account.pk})),
            (
                "email-logs",
                activities.email_logs,
                create_body("email-logs", {"account": account.pk}),
            ),
        )
    }
    items = {
        "accounts": account.pk,
        "contacts": contact.pk,
        "tags": tag.pk,
        "custom-fields": field.pk,
        "products": product.pk,
        "leads": lead.pk,
        "pipelines": spare.pk,
        "stages": spare_stage.pk,
        "deals": deal.pk,
        "web-forms": form.pk,
        "cases": case.pk,
        "queues": queue.pk,
        "campaigns": campaign.pk,
        **activity_ids,
    }
    people, params = _build_access_model(staff, deal.pk)
    # A file on the deal (the record the per-record routes address), and a notification in
    # the sales rep's inbox: the inbox is personal, so everyone else's answer is a 404.
    attached = attachments.attachments.attach(
        actor=admin, object_type="deal", record_id=deal.pk, filename="terms.pdf", content=PDF
    )
    note = notify(recipient=staff["sales_rep"], kind="system", title="Welcome")
    assert note is not None
    params |= {"attachment_id": str(attached.pk), "notification_id": str(note.pk)}
    # A webhook subscription of finance's (not in the sales hierarchy: the sales manager is no
    # one's superior here), with a delivery and a replay in its log.
    params |= make_webhook(staff["finance"], by=admin).params
    clients = {
        name: ApiClient(create_token(user=people[name], expires_at=None)[1])
        for name in (*ROLES, *ACCESS_MANAGERS)
        if name != "anonymous"
    }
    clients["anonymous"] = ApiClient(None)
    return World(
        clients=clients,
        people=people,
        items={k: str(v) for k, v in items.items()},
        params=params,
        refs={
            "account": account.pk,
            "pipeline": default.pk,
            "department": staff.departments["sales"].pk,
            "role": staff.roles["sales_rep"].pk,
            "deal": deal.pk,
            "colleague": staff["finance"].pk,
        },
        slug=form.slug,
    )


#: Callers beyond the eight columns: access managers who are not superusers. ``access_admin``
#: may also read every object type (the demo's Access Admin); ``access_clerk`` may read none.
ACCESS_MANAGERS = ("access_admin", "access_clerk")


def _build_access_model(staff: Staff, deal_id: Any) -> tuple[dict[str, User], dict[str, str]]:
    """The rows identity's item operations address, and the callers: the eight columns, the
    access managers of ``test_a_non_superuser_access_manager`` and the ``signer``."""
    admin, sales = staff["admin"], staff.departments["sales"]
    legal = Department.objects.create(name="Legal", kind="other")  # empty: may go
    intern = make_role("Intern", staff.roles["sales_rep"])  # nobody has it: may go
    team = Team.objects.create(name="Key accounts", department=sales)
    team.members.set([staff["peer"]])
    territory = Territory.objects.create(name="DACH", rules=[{"country": "DE"}], level=Level.READ)
    rule = SharingRule.objects.create(
        name="Renewals to sales",
        object_type="deal",
        criteria=[{"field": "name", "op": "contains", "value": "renewal"}],
        grantee_type=Grantee.DEPARTMENT,
        grantee_id=sales.pk,
        level=Level.READ,
        active=False,
    )
    share = RecordShare.objects.create(
        object_type="deal",
        record_id=deal_id,
        user=staff["read_only"],
        level=Level.READ,
        created_by=admin,
    )
    former = make_person("fred", role=staff.roles["sales_rep"], department=sales, password=PASSWORD)
    former.is_active = False
    former.save(update_fields=["is_active"])
    it = Department.objects.create(name="IT", kind="it")
    reader = make_role("Access Admin", manages_access=True)
    for object_type in record_types():
        grant(reader, object_type, "R")
    clerk = make_role("Access Clerk", manages_access=True)
    people = {name: staff[name] for name in ROLES if name != "anonymous"}
    people |= {
        "access_admin": make_person("ada", role=reader, department=it, password=PASSWORD),
        "access_clerk": make_person("ida", role=clerk, department=it, password=PASSWORD),
        "signer": make_person(
            "lou", role=staff.roles["sales_rep"], department=sales, password=PASSWORD
        ),
        "former": former,
        "peer": staff["peer"],
    }
    params = {
        "department_id": legal.pk,
        "user_id": staff["peer"].pk,
        "former_id": former.pk,
        "role_id": intern.pk,
        "team_id": team.pk,
        "territory_id": territory.pk,
        "rule_id": rule.pk,
        "share_id": share.pk,
        "object_type": "deal",
        "deal_id": deal_id,
    }
    return people, {k: str(v) for k, v in params.items()}


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """Built once for the module (see company.built_once); each cell of a test runs in a
    savepoint of its own."""
    yield from built_once(django_db_blocker, _build_world)


# -- calling one cell ---------------------------------------------------------------------------

#: The collection whose record the per-record routes mounted at the root read (timeline,
#: field history: ``/{collection}/{record_id}/…``).
TIMELINE_OF = "deals"

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _query(world: World, op: Operation) -> dict[str, Any]:
    if op.key == "GET /references":
        return {"object_type": "contact", "target": "title"}
    record = {"object_type": "deal", "record_id": world.params["deal_id"]}
    if op.key == "GET /record-shares":
        return record
    if op.key == "GET /access/explain":
        return {"user_id": str(world.people["sales_rep"].pk), **record}
    return {}


def _request(
    world: World, op: Operation, params: dict[str, str] | None = None
) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
    """The path, body and query of a valid call of ``op``; ``params`` overrides the values
    of path parameters."""
    collection = TIMELINE_OF if op.path.startswith("/{collection}") else op.collection
    values = {
        "collection": collection,
        "record_id": world.items.get(collection, ""),
        "slug": world.slug,
        **world.params,
    }
    if op.path.endswith("/reactivate"):
        values["user_id"] = world.params["former_id"]
    values |= params or {}
    path = PLACEHOLDER.sub(lambda m: values[m.group(1)], op.path)
    body: dict[str, Any] | None = None
    if op.key == "POST /web-forms/{slug}/submissions":
        body = {"email": "visitor@example.com", "name": "Visitor"}
    elif op.collection == "auth":
        body = auth_body(op.path, world.people["signer"])
    elif op.path.endswith("/bulk"):
        body = {
            "match_on": "id",
            "records": [{"id": world.items[collection], **PATCH_BODIES[collection]}],
        }
    elif op.path.endswith("/convert"):
        body = {}
    elif op.key == "POST /sync":
        deal = Deal.objects.get(pk=world.items["deals"])
        edit = {"op": "update", "object_type": "deal", "id": str(deal.pk)}
        body = {
            "changes": [{**edit, "base_version": deal.version, "changes": PATCH_BODIES["deals"]}]
        }
    elif op.path.endswith("/rotate-secret"):
        body = {"overlap_hours": 1}
    elif op.path.endswith("/replay"):
        body = replay_body()
    elif op.path.endswith("/redeliver"):
        body = {}
    elif op.method == "POST" and op.path == f"/{collection}":
        body = create_body(collection, world.refs, tag="new")
    elif op.method == "PATCH":
        body = PATCH_BODIES[collection]
    elif op.method == "PUT":
        body = PUT_BODIES[op.path]
    if op.method in ("POST", "PUT") and op.request_schema is not None and body is None:
        raise AssertionError(f"{op.key}: teach _request a valid body for this operation")
    return f"/api/v1{path}", body, _query(world, op)


def _prepare(world: World, op: Operation, role: str, client: ApiClient) -> None:
    """Put the caller in the state where ``op`` can succeed, inside the cell's savepoint:
    an authenticator app being set up (to confirm) or enrolled (to disable or to get new
    recovery codes), or for the second sign-in step, the first step done by this client."""
    caller = world.people.get(role)
    if op.key == "POST /auth/mfa/confirm" and caller is not None:
        enrol_mfa(caller, confirmed=False)
    elif op.key in ("POST /auth/mfa/disable", "POST /auth/mfa/recovery-codes") and caller:
        enrol_mfa(caller)
    elif op.key == "POST /auth/login/mfa":
        signer = world.people["signer"]
        enrol_mfa(signer)
        step = client.post(
            "/api/v1/auth/login", {"username": signer.username, "password": PASSWORD}
        )
        assert step.status_code == 200, step.content
        assert step.json()["status"] == "mfa_required", step.content


def outcome(op: Operation, response: Any) -> str:
    status = response.status_code
    if status == 200 and op.path.endswith("/bulk"):
        (row,) = response.json()["results"]
        if row["status"] != "error":
            return "2xx"
        message = " ".join(e["message"] for e in row["errors"])
        if "unknown id" in message:
            return "row404"
        return "row403" if "may not" in message else "row422"
    if status == 200 and op.key == "POST /sync":
        (result,) = response.json()["results"]
        return "2xx" if result["status"] == "applied" else f"row{result['code']}"
    return "2xx" if 200 <= status < 300 else str(status)


def send(world: World, op: Operation, role: str, params: dict[str, str] | None = None) -> Any:
    """The answer to ``role``'s call of ``op``, made in a savepoint that is rolled back, so no
    cell sees another's writes (a deactivated user, a changed password, a deleted role)."""
    client = world.clients[role]
    with transaction.atomic():
        _prepare(world, op, role, client)
        path, body, query = _request(world, op, params)
        if op.method == "GET":
            response = client.get(path, query)
        elif op.method == "PUT":
            response = client.put(path, body, content_type="application/json")
        else:
            response = getattr(client, op.method.lower())(path, body, if_match="*")
        transaction.set_rollback(True)
    # A sign-in leaves a cookie of a session that the rollback removed: start the next cell
    # from the token alone.
    client.cookies = SimpleCookie()
    assert response.status_code < 500, (op.key, role, response.content)
    return response


def call(world: World, op: Operation, role: str, params: dict[str, str] | None = None) -> str:
    return outcome(op, send(world, op, role, params))


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.key)
def test_each_role_gets_the_expected_answer(world: World, db: None, op: Operation) -> None:
    actual = {role: call(world, op, role) for role in ROLES}
    _compare(op.key, EXPECTED[op.key], actual)


def _compare(key: str, expected: dict[str, str], actual: dict[str, str]) -> None:
    wrongful = {r: a for r, a in actual.items() if a == "2xx" and expected[r] != "2xx"}
    assert not wrongful, f"{key}: wrongful 2xx for {wrongful}"
    assert actual == expected, key


# -- access managers who are not superusers -----------------------------------------------------

#: The identity API for two people whose role manages access (``Role.manages_access``) without
#: being superusers: ``access_admin`` may also read every object type (the demo's Access Admin),
#: ``access_clerk`` none. Managing access gives no access to records: the clerk cannot see the
#: deal, so its manual shares and "explain access" about it are a 404, as for anyone who cannot
#: see it.
# fmt: off
ACCESS_MANAGER_MATRIX = """
operation                                 access_admin access_clerk
POST   /auth/login                        2xx          2xx
POST   /auth/login/mfa                    2xx          2xx
POST   /auth/password-reset               2xx          2xx
POST   /auth/password-reset/confirm       2xx          2xx
GET    /auth/me                           2xx          2xx
POST   /auth/logout                       2xx          2xx
POST   /auth/password                     2xx          2xx
POST   /auth/mfa/setup                    2xx          2xx
POST   /auth/mfa/confirm                  2xx          2xx
POST   /auth/mfa/recovery-codes           2xx          2xx
POST   /auth/mfa/disable                  2xx          2xx

GET    /departments                       2xx          2xx
POST   /departments                       2xx          2xx
GET    /departments/{department_id}       2xx          2xx
PATCH  /departments/{department_id}       2xx          2xx
DELETE /departments/{department_id}       2xx          2xx

GET    /users                             2xx          2xx
POST   /users                             2xx          2xx
GET    /users/{user_id}                   2xx          2xx
PATCH  /users/{user_id}                   2xx          2xx
POST   /users/{user_id}/deactivate        2xx          2xx
POST   /users/{user_id}/reactivate        2xx          2xx
POST   /users/{user_id}/reset-password    2xx          2xx

GET    /roles                             2xx          2xx
POST   /roles                             2xx          2xx
GET    /roles/{role_id}                   2xx          2xx
PATCH  /roles/{role_id}                   2xx          2xx
DELETE /roles/{role_id}                   2xx          2xx
GET    /roles/{role_id}/permissions       2xx          2xx
PUT    /roles/{role_id}/permissions       2xx          2xx
GET    /roles/{role_id}/field-permissions 2xx          2xx
PUT    /roles/{role_id}/field-permissions 2xx          2xx

GET    /teams                             2xx          2xx
POST   /teams                             2xx          2xx
GET    /teams/{team_id}                   2xx          2xx
PATCH  /teams/{team_id}                   2xx          2xx
DELETE /teams/{team_id}                   2xx          2xx

GET    /territories                       2xx          2xx
POST   /territories                       2xx          2xx
GET    /territories/{territory_id}        2xx          2xx
PATCH  /territories/{territory_id}        2xx          2xx
DELETE /territories/{territory_id}        2xx          2xx

GET    /sharing-defaults                  2xx          2xx
PUT    /sharing-defaults/{object_type}    2xx          2xx

GET    /sharing-rules                     2xx          2xx
POST   /sharing-rules                     2xx          2xx
GET    /sharing-rules/{rule_id}           2xx          2xx
PATCH  /sharing-rules/{rule_id}           2xx          2xx
DELETE /sharing-rules/{rule_id}           2xx          2xx

GET    /record-shares                     2xx          404
POST   /record-shares                     2xx          404
DELETE /record-shares/{share_id}          2xx          404

GET    /security-events                   2xx          2xx
GET    /access/explain                    2xx          404
"""
# fmt: on

EXPECTED_FOR_MANAGERS = parse_matrix(ACCESS_MANAGER_MATRIX, ACCESS_MANAGERS)
IDENTITY_OPERATIONS = [op for op in OPERATIONS if is_identity_operation(op)]


def test_every_identity_operation_has_an_access_manager_row() -> None:
    assert sorted(EXPECTED_FOR_MANAGERS) == sorted(op.key for op in IDENTITY_OPERATIONS)


@pytest.mark.parametrize("op", IDENTITY_OPERATIONS, ids=lambda op: op.key)
def test_a_non_superuser_access_manager(world: World, db: None, op: Operation) -> None:
    actual = {role: call(world, op, role) for role in ACCESS_MANAGERS}
    _compare(op.key, EXPECTED_FOR_MANAGERS[op.key], actual)


#: What access managers who are not superusers may not do: change, deactivate, reactivate or
#: reset the password of a superuser (they could then sign in as one), or deactivate
#: themselves (someone must be left to undo it). (operation, whose id, outcome)
ACCESS_MANAGER_LIMITS = (
    ("PATCH /users/{user_id}", "admin", "403"),
    ("POST /users/{user_id}/deactivate", "admin", "403"),
    ("POST /users/{user_id}/reactivate", "admin", "403"),
    ("POST /users/{user_id}/reset-password", "admin", "403"),
    ("POST /users/{user_id}/deactivate", "self", "409"),
)


@pytest.mark.parametrize(("key", "whom", "expected"), ACCESS_MANAGER_LIMITS)
def test_what_an_access_manager_may_not_do(
    world: World, db: None, key: str, whom: str, expected: str
) -> None:
    op = next(op for op in OPERATIONS if op.key == key)
    for role in ACCESS_MANAGERS:
        target = world.people[role if whom == "self" else whom]
        assert call(world, op, role, {"user_id": str(target.pk)}) == expected, (key, role)
    # A superuser may, as the matrix's admin column shows for others: here on a superuser.
    if whom == "admin" and key != "POST /users/{user_id}/deactivate":
        assert call(world, op, "admin", {"user_id": str(world.people["admin"].pk)}) == "2xx"


#: What only access managers see of a person in the directory.
ACCOUNT_DETAILS = {"email", "team_ids", "is_superuser", "last_login", "date_joined"}


def test_only_access_managers_see_account_details_in_the_directory(world: World, db: None) -> None:
    one = next(op for op in OPERATIONS if op.key == "GET /users/{user_id}")
    every = next(op for op in OPERATIONS if op.key == "GET /users")
    for role in (*ROLES, *ACCESS_MANAGERS):
        if role == "anonymous":
            continue
        entry = send(world, one, role).json()
        listed = send(world, every, role).json()["items"]
        assert entry["username"] == world.people["peer"].username
        assert listed, role
        shown = ACCOUNT_DETAILS if role == "admin" or role in ACCESS_MANAGERS else set()
        assert ACCOUNT_DETAILS & set(entry) == shown, role
        assert all(ACCOUNT_DETAILS & set(row) == shown for row in listed), role


# -- token scopes on /auth/ -----------------------------------------------------------------------

#: ``/auth/`` endpoints that act on the caller take a token with ``auth:read`` (GET) or
#: ``auth:write`` (the rest); a token scoped to other collections gets 403. The public ones
#: ignore tokens altogether.
AUTH_OPERATIONS = [op for op in OPERATIONS if op.collection == "auth"]
PUBLIC_AUTH = {
    "POST /auth/login",
    "POST /auth/login/mfa",
    "POST /auth/password-reset",
    "POST /auth/password-reset/confirm",
}


@pytest.mark.parametrize("scope", ["auth:read", "auth:write", "accounts:write"])
def test_token_scopes_on_auth(world: World, db: None, scope: str) -> None:
    person = world.people["sales_rep"]
    world.clients["scoped"] = ApiClient(
        create_token(user=person, scopes=[scope], expires_at=None)[1]
    )
    world.people["scoped"] = person
    try:
        actual = {op.key: call(world, op, "scoped") for op in AUTH_OPERATIONS}
    finally:
        del world.clients["scoped"], world.people["scoped"]
    expected = {
        op.key: "2xx"
        if op.key in PUBLIC_AUTH
        or scope == "auth:write"
        or (scope == "auth:read" and op.method == "GET")
        else "403"
        for op in AUTH_OPERATIONS
    }
    _compare(f"token with {scope}", expected, actual)


# -- webhooks: what creating one takes ----------------------------------------------------------


@pytest.mark.parametrize(("rights", "expected"), [("RX", "2xx"), ("X", "403"), ("R", "403")])
def test_a_webhook_needs_read_and_export_on_its_types(
    world: World, db: None, rights: str, expected: str
) -> None:
    """Its events go out as the owner may see them: exporting a type one may not read (or
    reading one without the right to export it) gives no subscription."""
    role = make_role(f"Deal exporter {rights}")
    grant(role, "deal", rights)
    person = make_person(f"exporter{rights.lower()}", role=role)
    client = ApiClient(create_token(user=person, expires_at=None)[1])
    op = next(op for op in OPERATIONS if op.key == "POST /webhooks")
    _, body, _ = _request(world, op)
    assert outcome(op, client.post("/api/v1/webhooks", body)) == expected

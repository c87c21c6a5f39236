"""API shapes of the access model that business admins manage. Bounds match the columns."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StrictBool, StringConstraints

from accord.core.api import ListQuery
from accord.core.schemas import CleanInput, InputSchema, Text100, partial

Name100 = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Name150 = Annotated[str, StringConstraints(max_length=150)]
Text40 = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Text500 = Annotated[str, StringConstraints(max_length=500)]
Username = Annotated[str, StringConstraints(min_length=1, max_length=150)]
Email = Annotated[str, StringConstraints(max_length=254)]
Ids = Annotated[list[uuid.UUID], Field(max_length=1000)]
DepartmentKind = Literal["sales", "marketing", "service", "finance", "it", "other"]
LevelName = Literal["read", "read_write"]
GranteeType = Literal["user", "role", "role_and_below", "department", "team", "territory"]


# -- departments -----------------------------------------------------------------------------


class DepartmentIn(InputSchema):
    name: Name100
    kind: DepartmentKind = "other"


DepartmentPatch = partial(DepartmentIn, "DepartmentPatch")


class DepartmentOut(Schema):
    id: uuid.UUID
    name: str
    kind: str
    member_count: int
    created_at: dt.datetime


# -- users -----------------------------------------------------------------------------------


class UserIn(InputSchema):
    username: Username = Field(description="Letters, digits and @.+-_; cannot change later")
    email: Email = ""
    first_name: Name150 = ""
    last_name: Name150 = ""
    department_id: uuid.UUID | None = None
    role_id: uuid.UUID | None = Field(None, description="None: a standard user, who may do all")
    team_ids: Ids = []


class UserPatch(InputSchema):
    email: Email | None = None
    first_name: Name150 | None = None
    last_name: Name150 | None = None
    department_id: uuid.UUID | None = None
    role_id: uuid.UUID | None = None
    team_ids: Ids | None = None


class UserOut(Schema):
    """A person in the directory. ``email``, ``team_ids``, ``is_superuser``, ``last_login``
    and ``date_joined`` are shown to access managers only."""

    id: uuid.UUID
    username: str
    first_name: str
    last_name: str
    department_id: uuid.UUID | None
    department_name: str | None
    role_id: uuid.UUID | None
    role_name: str | None
    is_active: bool
    email: str | None = None
    team_ids: list[uuid.UUID] | None = None
    is_superuser: bool | None = None
    last_login: dt.datetime | None = None
    date_joined: dt.datetime | None = None


class UserCreatedOut(UserOut):
    password: str = Field(description="The generated password, shown this once")


class PasswordOut(Schema):
    password: str = Field(description="The generated password, shown this once")


class UserFilters(ListQuery):
    department_id: uuid.UUID | None = None
    role_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    is_active: bool | None = None


# -- roles and permissions -------------------------------------------------------------------


class RoleIn(InputSchema):
    name: Name100
    description: Text500 = ""
    parent_id: uuid.UUID | None = Field(None, description="The manager's role; None: the top")
    mfa_required: StrictBool = False
    manages_access: StrictBool = Field(
        False, description="Its people administer users, roles, permissions and sharing"
    )


RolePatch = partial(RoleIn, "RolePatch")


class RoleOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    parent_id: uuid.UUID | None
    path: str = Field(description="Ids from the top role down to this one: /<id>/<id>/")
    depth: int
    mfa_required: bool
    manages_access: bool
    member_count: int
    created_at: dt.datetime


class RoleFilters(ListQuery):
    parent_id: uuid.UUID | None = None


class ActionsIn(InputSchema):
    create: StrictBool = False
    read: StrictBool = False
    edit: StrictBool = False
    delete: StrictBool = False
    export: StrictBool = False


class ActionsOut(Schema):
    create: bool
    read: bool
    edit: bool
    delete: bool
    export: bool


class PermissionsIn(InputSchema):
    permissions: dict[Text40, ActionsIn] = Field(
        max_length=200,
        description="Every object type the role may use, with its actions; types left out "
        "may not be used at all",
    )


class PermissionsOut(Schema):
    role_id: uuid.UUID
    permissions: dict[str, ActionsOut]
    object_types: list[str] = Field(description="Every object type a matrix may name")


class FieldPermissionIn(InputSchema):
    object_type: Text40
    field: Text100 = Field(description="A field of the record (`custom_fields.<key>` too)")
    access: Literal["hidden", "read_only"]


class FieldPermissionsIn(InputSchema):
    fields: list[FieldPermissionIn] = Field(
        max_length=2000, description="Every field rule of the role; others are unrestricted"
    )


class FieldPermissionOut(Schema):
    object_type: str
    field: str
    access: str


class FieldPermissionsOut(Schema):
    role_id: uuid.UUID
    fields: list[FieldPermissionOut]


# -- teams and territories -------------------------------------------------------------------


class TeamIn(InputSchema):
    name: Name100
    department_id: uuid.UUID | None = None
    member_ids: Ids = []


TeamPatch = partial(TeamIn, "TeamPatch")


class TeamOut(Schema):
    id: uuid.UUID
    name: str
    department_id: uuid.UUID | None
    member_ids: list[uuid.UUID]
    created_at: dt.datetime


class TeamFilters(ListQuery):
    department_id: uuid.UUID | None = None


TerritoryRule = Annotated[dict[str, Any], Field(max_length=10)]


class TerritoryIn(InputSchema):
    name: Name100
    rules: list[TerritoryRule] = Field(
        [],
        max_length=100,
        description="Accounts matching any rule are in the territory. A rule's keys must all "
        "match: country, region, postcode_from, postcode_to, industry, employees_min, "
        "employees_max",
    )
    level: LevelName = "read_write"
    member_ids: Ids = []


TerritoryPatch = partial(TerritoryIn, "TerritoryPatch")


class TerritoryOut(Schema):
    id: uuid.UUID
    name: str
    rules: list[dict[str, Any]]
    level: str
    member_ids: list[uuid.UUID]
    created_at: dt.datetime


# -- sharing ---------------------------------------------------------------------------------


class SharingDefaultIn(InputSchema):
    access: Literal["private", "public_read", "public_read_write"]
    department_level: Literal["", "read", "read_write"] = Field(
        "", description="What the owner's department colleagues get; empty: nothing extra"
    )


class SharingDefaultOut(Schema):
    object_type: str
    access: str
    department_level: str
    configured: bool = Field(description="False: never set, the built-in default applies")


Criterion = Annotated[dict[str, Any], Field(max_length=3)]


class SharingRuleIn(InputSchema):
    name: Name100
    object_type: Text40
    criteria: list[Criterion] = Field(
        min_length=1,
        max_length=50,
        description='Conditions that must all hold: {"field", "op", "value"}; op is one of '
        "eq, ne, in, gt, gte, lt, lte, contains, is_null",
    )
    grantee_type: GranteeType
    grantee_id: uuid.UUID
    level: LevelName = "read"
    active: StrictBool = True


SharingRulePatch = partial(SharingRuleIn, "SharingRulePatch")


class SharingRuleOut(Schema):
    id: uuid.UUID
    name: str
    object_type: str
    criteria: list[dict[str, Any]]
    grantee_type: str
    grantee_id: uuid.UUID
    level: str
    active: bool
    created_at: dt.datetime


class SharingRuleFilters(ListQuery):
    object_type: Annotated[str, StringConstraints(max_length=40)] | None = None
    active: bool | None = None


class RecordShareIn(InputSchema):
    object_type: Text40
    record_id: uuid.UUID
    user_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    level: LevelName = "read"


class RecordShareOut(Schema):
    id: uuid.UUID
    object_type: str
    record_id: uuid.UUID
    user_id: uuid.UUID | None
    team_id: uuid.UUID | None
    level: str
    created_by_id: uuid.UUID | None
    created_at: dt.datetime


class RecordShareQuery(CleanInput):
    object_type: Text40
    record_id: uuid.UUID


# -- security log and explain access ---------------------------------------------------------


class SecurityEventOut(Schema):
    id: uuid.UUID
    at: dt.datetime
    kind: str
    outcome: str
    actor_id: uuid.UUID | None
    username: str
    ip: str | None
    user_agent: str
    target_type: str
    target_id: str
    details: dict[str, Any]


class SecurityEventFilters(ListQuery):
    kind: Annotated[str, StringConstraints(max_length=60)] | None = None
    actor_id: uuid.UUID | None = None
    outcome: Annotated[str, StringConstraints(max_length=20)] | None = None
    since: dt.datetime | None = Field(None, description="From this time on (inclusive)")
    until: dt.datetime | None = Field(None, description="Before this time (exclusive)")


class ExplainQuery(CleanInput):
    user_id: uuid.UUID
    object_type: Text40
    record_id: uuid.UUID


class ExplainOut(Schema):
    user_id: uuid.UUID
    object_type: str
    record_id: uuid.UUID
    can_see: bool
    can_edit: bool
    can_delete: bool
    reasons: list[str] = Field(description="Every rule that grants (or why nothing does)")
    hidden_fields: list[str]
    read_only_fields: list[str]

"""REST endpoints through which business admins manage the access model: departments, users,
roles with their object and field permissions, teams, territories, org-wide sharing defaults,
sharing rules, manual record shares, the security log and "explain access".

Every signed-in person may read the directory (departments, users, roles, teams); everything
else, and every write, is for access managers, except that a record's owner and editors share
it by hand. The services and queries enforce this, whoever calls them.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import Status

from accord.core import pagination
from accord.core.api import ListQuery, actor
from accord.core.models import record_types
from accord.core.schemas import Page, Problem
from accord.identity import queries, schemas, services, visibility
from accord.identity.api import ROUTES
from accord.identity.models import RecordShare, Team, Territory, User

READ_ERRORS: dict[int, type[Schema]] = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    422: Problem,
}
WRITE_ERRORS: dict[int, type[Schema]] = {**READ_ERRORS, 409: Problem}


def _params(query: ListQuery) -> pagination.ListParams:
    return pagination.ListParams(sort=query.sort, cursor=query.cursor, limit=query.limit)


def _page(rows: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": rows, "next_cursor": next_cursor}


def _created(request: HttpRequest, response: HttpResponse, pk: Any, body: Any) -> Status:
    response["Location"] = f"{request.path.rstrip('/')}/{pk}"
    return Status(201, body)


def _body(body: Schema) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


# -- departments -----------------------------------------------------------------------------

departments = Router(tags=["departments"])


@departments.get(
    "",
    response={200: Page[schemas.DepartmentOut], **READ_ERRORS},
    summary="List departments",
    operation_id="list_departments",
)
def list_departments(request: HttpRequest, filters: Query[ListQuery]) -> Any:
    return _page(*queries.list_departments(actor(request), _params(filters)))


@departments.post(
    "",
    response={201: schemas.DepartmentOut, **WRITE_ERRORS},
    summary="Create a department",
    operation_id="create_department",
)
def create_department(
    request: HttpRequest, body: schemas.DepartmentIn, response: HttpResponse
) -> Any:
    made = services.create_department(actor=actor(request), data=_body(body), request=request)
    return _created(request, response, made.pk, queries.get_department(actor(request), made.pk))


@departments.get(
    "/{department_id}",
    response={200: schemas.DepartmentOut, **READ_ERRORS},
    summary="Read a department",
    operation_id="get_department",
)
def get_department(request: HttpRequest, department_id: str) -> Any:
    return queries.get_department(actor(request), department_id)


@departments.patch(
    "/{department_id}",
    response={200: schemas.DepartmentOut, **WRITE_ERRORS},
    summary="Rename a department or change its kind",
    operation_id="update_department",
)
def update_department(
    request: HttpRequest,
    department_id: str,
    body: schemas.DepartmentPatch,  # type: ignore[valid-type]
) -> Any:
    services.change_department(
        actor=actor(request), department_id=department_id, data=_body(body), request=request
    )
    return queries.get_department(actor(request), department_id)


@departments.delete(
    "/{department_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete an empty department",
    description="409 while it has members or teams, or a sharing rule grants to it.",
    operation_id="delete_department",
)
def delete_department(request: HttpRequest, department_id: str) -> Any:
    services.delete_department(actor=actor(request), department_id=department_id, request=request)
    return Status(204, None)


# -- users -----------------------------------------------------------------------------------

users = Router(tags=["users"])


def _user_out(viewer: Any, user: User) -> dict[str, Any]:
    """The directory entry of ``user``, with the account details for access managers."""
    out: dict[str, Any] = {
        "id": user.pk,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "department_id": user.department_id,
        "department_name": user.department.name if user.department else None,
        "role_id": user.role_id,
        "role_name": user.role.name if user.role else None,
        "is_active": user.is_active,
    }
    if visibility.manages_access(viewer):
        out |= {
            "email": user.email,
            "team_ids": sorted((t.pk for t in user.teams.all()), key=str),
            "is_superuser": user.is_superuser,
            "last_login": user.last_login,
            "date_joined": user.date_joined,
        }
    return out


@users.get(
    "",
    response={200: Page[schemas.UserOut], **READ_ERRORS},
    summary="List people (the directory)",
    description="Sort by `username` (default) or `date_joined`. Access managers also see "
    "email, teams, superuser flag, last login and join date.",
    operation_id="list_users",
    exclude_unset=True,
)
def list_users(request: HttpRequest, filters: Query[schemas.UserFilters]) -> Any:
    rows, next_cursor = queries.list_users(
        actor(request),
        _params(filters),
        department_id=filters.department_id,
        role_id=filters.role_id,
        team_id=filters.team_id,
        is_active=filters.is_active,
    )
    return _page([_user_out(actor(request), u) for u in rows], next_cursor)


@users.post(
    "",
    response={201: schemas.UserCreatedOut, **WRITE_ERRORS},
    summary="Create a user",
    description="Answers the generated password once; pass it on to the person, who should "
    "change it when signing in.",
    operation_id="create_user",
    exclude_unset=True,
)
def create_user(request: HttpRequest, body: schemas.UserIn, response: HttpResponse) -> Any:
    user, password = services.add_user(actor=actor(request), data=_body(body), request=request)
    shown = _user_out(actor(request), queries.get_user(actor(request), user.pk))
    return _created(request, response, user.pk, {**shown, "password": password})


@users.get(
    "/{user_id}",
    response={200: schemas.UserOut, **READ_ERRORS},
    summary="Read a user",
    operation_id="get_user",
    exclude_unset=True,
)
def get_user(request: HttpRequest, user_id: str) -> Any:
    return _user_out(actor(request), queries.get_user(actor(request), user_id))


@users.patch(
    "/{user_id}",
    response={200: schemas.UserOut, **WRITE_ERRORS},
    summary="Change a user's names, email, department, role or teams",
    description="`team_ids` replaces the user's teams; `null` for `role_id` makes a standard "
    "user (every object permission), for `department_id` no department.",
    operation_id="update_user",
    exclude_unset=True,
)
def update_user(request: HttpRequest, user_id: str, body: schemas.UserPatch) -> Any:
    services.change_user(actor=actor(request), user_id=user_id, data=_body(body), request=request)
    return _user_out(actor(request), queries.get_user(actor(request), user_id))


@users.post(
    "/{user_id}/deactivate",
    response={200: schemas.UserOut, **WRITE_ERRORS},
    summary="Deactivate a user",
    description="Their sessions and API tokens stop working on the very next request; what "
    "they own stays theirs. Users are never deleted: history refers to them.",
    operation_id="deactivate_user",
    exclude_unset=True,
)
def deactivate_user(request: HttpRequest, user_id: str) -> Any:
    services.deactivate_user(actor=actor(request), user_id=user_id, request=request)
    return _user_out(actor(request), queries.get_user(actor(request), user_id))


@users.post(
    "/{user_id}/reactivate",
    response={200: schemas.UserOut, **WRITE_ERRORS},
    summary="Reactivate a user",
    operation_id="reactivate_user",
    exclude_unset=True,
)
def reactivate_user(request: HttpRequest, user_id: str) -> Any:
    services.reactivate_user(actor=actor(request), user_id=user_id, request=request)
    return _user_out(actor(request), queries.get_user(actor(request), user_id))


@users.post(
    "/{user_id}/reset-password",
    response={200: schemas.PasswordOut, **WRITE_ERRORS},
    summary="Give a user a new generated password",
    description="Answers the password once. The user's sessions end; API tokens stay valid.",
    operation_id="reset_user_password",
)
def reset_user_password(request: HttpRequest, user_id: str) -> Any:
    _, password = services.reset_password(actor=actor(request), user_id=user_id, request=request)
    return {"password": password}


# -- roles and their permissions -------------------------------------------------------------

roles = Router(tags=["roles"])


@roles.get(
    "",
    response={200: Page[schemas.RoleOut], **READ_ERRORS},
    summary="List roles",
    description="Sort by `name` (default), `created_at` or `path` (the hierarchy as a tree).",
    operation_id="list_roles",
)
def list_roles(request: HttpRequest, filters: Query[schemas.RoleFilters]) -> Any:
    return _page(*queries.list_roles(actor(request), _params(filters), parent_id=filters.parent_id))


@roles.post(
    "",
    response={201: schemas.RoleOut, **WRITE_ERRORS},
    summary="Create a role",
    description="A new role may do nothing until its permissions are set (PUT "
    "/roles/{id}/permissions). Unknown `parent_id`: 422.",
    operation_id="create_role",
)
def create_role(request: HttpRequest, body: schemas.RoleIn, response: HttpResponse) -> Any:
    role = services.create_role(actor=actor(request), data=_body(body), request=request)
    return _created(request, response, role.pk, queries.get_role(actor(request), role.pk))


@roles.get(
    "/{role_id}",
    response={200: schemas.RoleOut, **READ_ERRORS},
    summary="Read a role",
    operation_id="get_role",
)
def get_role(request: HttpRequest, role_id: str) -> Any:
    return queries.get_role(actor(request), role_id)


@roles.patch(
    "/{role_id}",
    response={200: schemas.RoleOut, **WRITE_ERRORS},
    summary="Rename, flag or move a role",
    description="A new `parent_id` moves the role with every role below it; moving a role "
    "under itself or a role below it is a 422. `null` moves it to the top.",
    operation_id="update_role",
)
def update_role(
    request: HttpRequest,
    role_id: str,
    body: schemas.RolePatch,  # type: ignore[valid-type]
) -> Any:
    services.change_role(actor=actor(request), role_id=role_id, data=_body(body), request=request)
    return queries.get_role(actor(request), role_id)


@roles.delete(
    "/{role_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete an unused role",
    description="409 while people have it, roles report to it, or a sharing rule grants to it.",
    operation_id="delete_role",
)
def delete_role(request: HttpRequest, role_id: str) -> Any:
    services.delete_role(actor=actor(request), role_id=role_id, request=request)
    return Status(204, None)


def _permissions_out(role_id: Any, matrix: dict[str, frozenset[str]]) -> dict[str, Any]:
    return {
        "role_id": role_id,
        "permissions": {
            t: {a: a in allowed for a in visibility.ACTIONS} for t, allowed in matrix.items()
        },
        "object_types": sorted(record_types()),
    }


@roles.get(
    "/{role_id}/permissions",
    response={200: schemas.PermissionsOut, **READ_ERRORS},
    summary="A role's object permissions",
    operation_id="get_role_permissions",
)
def get_role_permissions(request: HttpRequest, role_id: str) -> Any:
    role, matrix = queries.object_permissions(actor(request), role_id)
    return _permissions_out(role.pk, matrix)


@roles.put(
    "/{role_id}/permissions",
    response={200: schemas.PermissionsOut, **WRITE_ERRORS},
    summary="Replace a role's object permissions",
    description="The whole matrix: object types left out may not be used by the role at all. "
    "Every action needs `read`, and `delete` needs `edit`. Unknown object types: 422.",
    operation_id="set_role_permissions",
)
def set_role_permissions(request: HttpRequest, role_id: str, body: schemas.PermissionsIn) -> Any:
    permissions = {t: actions.model_dump() for t, actions in body.permissions.items()}
    matrix = services.set_object_permissions(
        actor=actor(request), role_id=role_id, permissions=permissions, request=request
    )
    return _permissions_out(queries.get_role(actor(request), role_id).pk, matrix)


@roles.get(
    "/{role_id}/field-permissions",
    response={200: schemas.FieldPermissionsOut, **READ_ERRORS},
    summary="A role's field-level security",
    operation_id="get_role_field_permissions",
)
def get_role_field_permissions(request: HttpRequest, role_id: str) -> Any:
    role, rows = queries.field_permissions(actor(request), role_id)
    return {"role_id": role.pk, "fields": rows}


@roles.put(
    "/{role_id}/field-permissions",
    response={200: schemas.FieldPermissionsOut, **WRITE_ERRORS},
    summary="Replace a role's field-level security",
    description="Every hidden or read-only field of the role. The field must exist on the "
    "object type (a relation by `<name>_id`, an address as `billing_address`, one custom "
    "field as `custom_fields.<key>`); id, version, created_at, updated_at and owner_id may be "
    "read-only but never hidden.",
    operation_id="set_role_field_permissions",
)
def set_role_field_permissions(
    request: HttpRequest, role_id: str, body: schemas.FieldPermissionsIn
) -> Any:
    services.set_field_permissions(
        actor=actor(request),
        role_id=role_id,
        fields=[f.model_dump() for f in body.fields],
        request=request,
    )
    role, rows = queries.field_permissions(actor(request), role_id)
    return {"role_id": role.pk, "fields": rows}


# -- teams -----------------------------------------------------------------------------------

teams = Router(tags=["teams"])


def _team_out(team: Team) -> dict[str, Any]:
    return {
        "id": team.pk,
        "name": team.name,
        "department_id": team.department_id,
        "member_ids": sorted((u.pk for u in team.members.all()), key=str),
        "created_at": team.created_at,
    }


@teams.get(
    "",
    response={200: Page[schemas.TeamOut], **READ_ERRORS},
    summary="List teams",
    operation_id="list_teams",
)
def list_teams(request: HttpRequest, filters: Query[schemas.TeamFilters]) -> Any:
    rows, next_cursor = queries.list_teams(
        actor(request), _params(filters), department_id=filters.department_id
    )
    return _page([_team_out(t) for t in rows], next_cursor)


@teams.post(
    "",
    response={201: schemas.TeamOut, **WRITE_ERRORS},
    summary="Create a team",
    operation_id="create_team",
)
def create_team(request: HttpRequest, body: schemas.TeamIn, response: HttpResponse) -> Any:
    team = services.create_team(actor=actor(request), data=_body(body), request=request)
    return _created(request, response, team.pk, _team_out(team))


@teams.get(
    "/{team_id}",
    response={200: schemas.TeamOut, **READ_ERRORS},
    summary="Read a team",
    operation_id="get_team",
)
def get_team(request: HttpRequest, team_id: str) -> Any:
    return _team_out(queries.get_team(actor(request), team_id))


@teams.patch(
    "/{team_id}",
    response={200: schemas.TeamOut, **WRITE_ERRORS},
    summary="Rename a team, change its department or replace its members",
    operation_id="update_team",
)
def update_team(
    request: HttpRequest,
    team_id: str,
    body: schemas.TeamPatch,  # type: ignore[valid-type]
) -> Any:
    team = services.change_team(
        actor=actor(request), team_id=team_id, data=_body(body), request=request
    )
    return _team_out(team)


@teams.delete(
    "/{team_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a team",
    description="409 while a sharing rule grants to it; records shared with it by hand are "
    "unshared.",
    operation_id="delete_team",
)
def delete_team(request: HttpRequest, team_id: str) -> Any:
    services.delete_team(actor=actor(request), team_id=team_id, request=request)
    return Status(204, None)


# -- territories -----------------------------------------------------------------------------

territories = Router(tags=["territories"])


def _territory_out(territory: Territory) -> dict[str, Any]:
    return {
        "id": territory.pk,
        "name": territory.name,
        "rules": territory.rules,
        "level": territory.level,
        "member_ids": sorted((u.pk for u in territory.members.all()), key=str),
        "created_at": territory.created_at,
    }


@territories.get(
    "",
    response={200: Page[schemas.TerritoryOut], **READ_ERRORS},
    summary="List territories",
    operation_id="list_territories",
)
def list_territories(request: HttpRequest, filters: Query[ListQuery]) -> Any:
    rows, next_cursor = queries.list_territories(actor(request), _params(filters))
    return _page([_territory_out(t) for t in rows], next_cursor)


@territories.post(
    "",
    response={201: schemas.TerritoryOut, **WRITE_ERRORS},
    summary="Create a territory",
    operation_id="create_territory",
)
def create_territory(
    request: HttpRequest, body: schemas.TerritoryIn, response: HttpResponse
) -> Any:
    territory = services.create_territory(actor=actor(request), data=_body(body), request=request)
    return _created(request, response, territory.pk, _territory_out(territory))


@territories.get(
    "/{territory_id}",
    response={200: schemas.TerritoryOut, **READ_ERRORS},
    summary="Read a territory",
    operation_id="get_territory",
)
def get_territory(request: HttpRequest, territory_id: str) -> Any:
    return _territory_out(queries.get_territory(actor(request), territory_id))


@territories.patch(
    "/{territory_id}",
    response={200: schemas.TerritoryOut, **WRITE_ERRORS},
    summary="Change a territory's name, rules, level or members",
    operation_id="update_territory",
)
def update_territory(
    request: HttpRequest,
    territory_id: str,
    body: schemas.TerritoryPatch,  # type: ignore[valid-type]
) -> Any:
    territory = services.change_territory(
        actor=actor(request), territory_id=territory_id, data=_body(body), request=request
    )
    return _territory_out(territory)


@territories.delete(
    "/{territory_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a territory",
    description="409 while a sharing rule grants to it.",
    operation_id="delete_territory",
)
def delete_territory(request: HttpRequest, territory_id: str) -> Any:
    services.delete_territory(actor=actor(request), territory_id=territory_id, request=request)
    return Status(204, None)


# -- org-wide sharing defaults ---------------------------------------------------------------

sharing_defaults = Router(tags=["sharing"])


@sharing_defaults.get(
    "",
    response={200: Page[schemas.SharingDefaultOut], **READ_ERRORS},
    summary="The org-wide default of every object type with owners",
    description="One page holds them all (`next_cursor` is always null).",
    operation_id="list_sharing_defaults",
)
def list_sharing_defaults(request: HttpRequest) -> Any:
    return _page(queries.sharing_defaults(actor(request)), None)


@sharing_defaults.put(
    "/{object_type}",
    response={200: schemas.SharingDefaultOut, **WRITE_ERRORS},
    summary="Set the org-wide default of an object type",
    operation_id="set_sharing_default",
)
def set_sharing_default(
    request: HttpRequest, object_type: str, body: schemas.SharingDefaultIn
) -> Any:
    row = services.set_sharing_default(
        actor=actor(request), object_type=object_type, data=_body(body), request=request
    )
    return {
        "object_type": row.object_type,
        "access": row.access,
        "department_level": row.department_level,
        "configured": True,
    }


# -- sharing rules ---------------------------------------------------------------------------

sharing_rules = Router(tags=["sharing"])


@sharing_rules.get(
    "",
    response={200: Page[schemas.SharingRuleOut], **READ_ERRORS},
    summary="List sharing rules",
    operation_id="list_sharing_rules",
)
def list_sharing_rules(request: HttpRequest, filters: Query[schemas.SharingRuleFilters]) -> Any:
    return _page(
        *queries.list_sharing_rules(
            actor(request), _params(filters), object_type=filters.object_type, active=filters.active
        )
    )


@sharing_rules.post(
    "",
    response={201: schemas.SharingRuleOut, **WRITE_ERRORS},
    summary="Create a sharing rule",
    description="Opens the records of `object_type` that match every criterion to the "
    "grantee, at `level`. Criteria name fields of the object type; an unknown field, "
    "operator or a value of the wrong type is a 422.",
    operation_id="create_sharing_rule",
)
def create_sharing_rule(
    request: HttpRequest, body: schemas.SharingRuleIn, response: HttpResponse
) -> Any:
    rule = services.create_sharing_rule(actor=actor(request), data=_body(body), request=request)
    return _created(request, response, rule.pk, rule)


@sharing_rules.get(
    "/{rule_id}",
    response={200: schemas.SharingRuleOut, **READ_ERRORS},
    summary="Read a sharing rule",
    operation_id="get_sharing_rule",
)
def get_sharing_rule(request: HttpRequest, rule_id: str) -> Any:
    return queries.get_sharing_rule(actor(request), rule_id)


@sharing_rules.patch(
    "/{rule_id}",
    response={200: schemas.SharingRuleOut, **WRITE_ERRORS},
    summary="Change a sharing rule",
    operation_id="update_sharing_rule",
)
def update_sharing_rule(
    request: HttpRequest,
    rule_id: str,
    body: schemas.SharingRulePatch,  # type: ignore[valid-type]
) -> Any:
    return services.change_sharing_rule(
        actor=actor(request), rule_id=rule_id, data=_body(body), request=request
    )


@sharing_rules.delete(
    "/{rule_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a sharing rule",
    operation_id="delete_sharing_rule",
)
def delete_sharing_rule(request: HttpRequest, rule_id: str) -> Any:
    services.delete_sharing_rule(actor=actor(request), rule_id=rule_id, request=request)
    return Status(204, None)


# -- manual shares of one record -------------------------------------------------------------

record_shares = Router(tags=["sharing"])


@record_shares.get(
    "",
    response={200: Page[schemas.RecordShareOut], **READ_ERRORS},
    summary="Whom one record is shared with by hand",
    description="For the record's owner, its editors and access managers; a record you "
    "cannot see is a 404. One page holds them all.",
    operation_id="list_record_shares",
)
def list_record_shares(request: HttpRequest, filters: Query[schemas.RecordShareQuery]) -> Any:
    rows = queries.record_shares(actor(request), filters.object_type, filters.record_id)
    return _page(rows, None)


@record_shares.post(
    "",
    response={201: schemas.RecordShareOut, **WRITE_ERRORS},
    summary="Share one record with a user or a team",
    description="Send exactly one of `user_id` and `team_id`. Allowed for the record's owner, "
    "anyone who may edit it and access managers; a record you cannot see is a 404.",
    operation_id="create_record_share",
)
def create_record_share(
    request: HttpRequest, body: schemas.RecordShareIn, response: HttpResponse
) -> Any:
    share: RecordShare = services.share_record(
        actor=actor(request), data=_body(body), request=request
    )
    return _created(request, response, share.pk, share)


@record_shares.delete(
    "/{share_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Unshare a record",
    operation_id="delete_record_share",
)
def delete_record_share(request: HttpRequest, share_id: str) -> Any:
    services.unshare_record(actor=actor(request), share_id=share_id, request=request)
    return Status(204, None)


# -- the security log and "explain access" ---------------------------------------------------

security_events = Router(tags=["security"])


@security_events.get(
    "",
    response={200: Page[schemas.SecurityEventOut], **READ_ERRORS},
    summary="The security log, newest first",
    description="Sign-ins, MFA, tokens, and every change to people, roles, permissions and "
    "sharing, with refused attempts (`outcome` denied or failed). Access managers only.",
    operation_id="list_security_events",
)
def list_security_events(request: HttpRequest, filters: Query[schemas.SecurityEventFilters]) -> Any:
    return _page(
        *queries.list_security_events(
            actor(request),
            _params(filters),
            kind=filters.kind,
            actor_id=filters.actor_id,
            outcome=filters.outcome,
            since=filters.since,
            until=filters.until,
        )
    )


access = Router(tags=["security"])


@access.get(
    "/explain",
    response={200: schemas.ExplainOut, **READ_ERRORS},
    summary="Why can this person see (or edit) this record?",
    description="Every rule that grants the person access, from the same code that filters "
    "every list, plus the fields hidden from or read-only for them. Access managers only; a "
    "record you cannot see yourself is a 404.",
    operation_id="explain_access",
)
def explain_access(request: HttpRequest, filters: Query[schemas.ExplainQuery]) -> Any:
    found = queries.explain_access(
        actor(request),
        user_id=filters.user_id,
        object_type=filters.object_type,
        record_id=filters.record_id,
    )
    return {
        "user_id": found.user.pk,
        "object_type": found.object_type,
        "record_id": found.record_id,
        "can_see": found.explanation.can_see,
        "can_edit": found.explanation.can_edit,
        "can_delete": found.can_delete,
        "reasons": found.explanation.reasons,
        "hidden_fields": found.hidden_fields,
        "read_only_fields": found.read_only_fields,
    }


ROUTES.extend(
    [
        ("/departments", departments, "departments"),
        ("/users", users, "users"),
        ("/roles", roles, "roles"),
        ("/teams", teams, "teams"),
        ("/territories", territories, "territories"),
        ("/sharing-defaults", sharing_defaults, "sharing-defaults"),
        ("/sharing-rules", sharing_rules, "sharing-rules"),
        ("/record-shares", record_shares, "record-shares"),
        ("/security-events", security_events, "security-events"),
        ("/access", access, "access"),
    ]
)

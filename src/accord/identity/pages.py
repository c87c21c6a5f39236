"""What identity adds to the staff web app: the Settings pages for people and access. Plain
declarations that ``accord.web`` reads at start-up (see ``accord.web.pages``); identity does
not import web, which sits above it."""

from __future__ import annotations

from django.urls import path

from accord.identity.views import audit, people, roles, sharing
from accord.identity.visibility import manages_access

urlpatterns = [
    path("settings/users/", people.users, name="users"),
    path("settings/users/new", people.user_create, name="user-create"),
    path("settings/users/<uuid:user_id>/", people.user_edit, name="user"),
    path(
        "settings/users/<uuid:user_id>/deactivate",
        people.user_active,
        {"active": False},
        name="user-deactivate",
    ),
    path(
        "settings/users/<uuid:user_id>/reactivate",
        people.user_active,
        {"active": True},
        name="user-reactivate",
    ),
    path(
        "settings/users/<uuid:user_id>/reset-password",
        people.user_reset_password,
        name="user-reset-password",
    ),
    path("settings/departments/", people.departments, name="departments"),
    path(
        "settings/departments/<uuid:department_id>/",
        people.department_edit,
        name="department",
    ),
    path(
        "settings/departments/<uuid:department_id>/delete",
        people.department_delete,
        name="department-delete",
    ),
    path("settings/teams/", people.teams, name="teams"),
    path("settings/teams/new", people.team_create, name="team-create"),
    path("settings/teams/<uuid:team_id>/", people.team_edit, name="team"),
    path("settings/teams/<uuid:team_id>/delete", people.team_delete, name="team-delete"),
    path("settings/roles/", roles.roles, name="roles"),
    path("settings/roles/<uuid:role_id>/", roles.role_edit, name="role"),
    path("settings/roles/<uuid:role_id>/delete", roles.role_delete, name="role-delete"),
    path(
        "settings/roles/<uuid:role_id>/permissions/",
        roles.role_permissions,
        name="role-permissions",
    ),
    path("settings/roles/<uuid:role_id>/fields/", roles.role_fields, name="role-fields"),
    path("settings/territories/", sharing.territories, name="territories"),
    path("settings/territories/new", sharing.territory_create, name="territory-create"),
    path(
        "settings/territories/<uuid:territory_id>/",
        sharing.territory_edit,
        name="territory",
    ),
    path(
        "settings/territories/<uuid:territory_id>/delete",
        sharing.territory_delete,
        name="territory-delete",
    ),
    path("settings/sharing/", sharing.sharing, name="sharing"),
    path("settings/sharing/rules/new", sharing.sharing_rule_create, name="sharing-rule-create"),
    path(
        "settings/sharing/rules/fields",
        sharing.sharing_rule_fields,
        name="sharing-rule-fields",
    ),
    path("settings/sharing/rules/<uuid:rule_id>/", sharing.sharing_rule_edit, name="sharing-rule"),
    path(
        "settings/sharing/rules/<uuid:rule_id>/delete",
        sharing.sharing_rule_delete,
        name="sharing-rule-delete",
    ),
    path("settings/security-log/", audit.security_log, name="security-log"),
    path("settings/explain/", audit.explain, name="explain"),
]

SETTINGS = [
    {
        "group": "People",
        "label": "Users",
        "url": "identity:users",
        "order": 10,
        "description": "Add people, set their role, department and teams, deactivate them.",
        "allowed": manages_access,
    },
    {
        "group": "People",
        "label": "Departments",
        "url": "identity:departments",
        "order": 11,
        "description": "Sales, marketing, service, back office and any you add.",
        "allowed": manages_access,
    },
    {
        "group": "People",
        "label": "Teams",
        "url": "identity:teams",
        "order": 12,
        "description": "Groups inside departments that records can be shared with.",
        "allowed": manages_access,
    },
    {
        "group": "Access",
        "label": "Roles and permissions",
        "url": "identity:roles",
        "order": 20,
        "description": "The role hierarchy, what each role may do, and field security.",
        "allowed": manages_access,
    },
    {
        "group": "Access",
        "label": "Territories",
        "url": "identity:territories",
        "order": 21,
        "description": "Accounts by country, region, postcode, industry or size.",
        "allowed": manages_access,
    },
    {
        "group": "Access",
        "label": "Sharing",
        "url": "identity:sharing",
        "order": 22,
        "description": "Org-wide defaults per record type and sharing rules.",
        "allowed": manages_access,
    },
    {
        "group": "Audit",
        "label": "Security log",
        "url": "identity:security-log",
        "order": 30,
        "description": "Sign-ins, failures, MFA, tokens and access changes.",
        "allowed": manages_access,
    },
    {
        "group": "Audit",
        "label": "Explain access",
        "url": "identity:explain",
        "order": 31,
        "description": "Why can this person see this record?",
        "allowed": manages_access,
    },
]

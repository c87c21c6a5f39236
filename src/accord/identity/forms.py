"""The forms of the Settings pages. They only read what a person typed into the shape the
identity services take (``department_id``, ``team_ids``, …); the services validate it, and their
errors are shown next to the field they name (``views.show_errors``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.urls import reverse

from accord.identity import audit
from accord.identity.models import Access, Department, Grantee, Level, Role, Team, Territory, User

NONE = [("", "—")]
#: An em space per level of the role hierarchy in pickers.
INDENT = "\u2003"


def _user_label(user: User) -> str:
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


def user_choices() -> list[tuple[str, str]]:
    return [(str(u.pk), _user_label(u)) for u in User.objects.order_by("username")]


def _choices(rows: Iterable[Any]) -> list[tuple[str, str]]:
    return [(str(row.pk), str(row)) for row in rows]


def department_choices() -> list[tuple[str, str]]:
    return _choices(Department.objects.order_by("name"))


def role_choices() -> list[tuple[str, str]]:
    """Roles in tree order, indented by depth, so the picker reads like the hierarchy."""
    return [(str(r.pk), f"{INDENT * r.depth}{r.name}") for r in Role.objects.order_by("path")]


def team_choices() -> list[tuple[str, str]]:
    return _choices(Team.objects.order_by("name"))


class SettingsForm(forms.Form):
    """A form of the Settings pages: labels without Django's trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _choices_of(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


def _optional(value: str) -> str | None:
    return value or None


class UserForm(SettingsForm):
    username = forms.CharField(
        label="Username",
        max_length=150,
        help_text="How the person signs in; it cannot change later.",
    )
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.CharField(label="Email", max_length=254, required=False, widget=forms.EmailInput)
    department_id = forms.ChoiceField(label="Department", required=False)
    role_id = forms.ChoiceField(
        label="Role",
        required=False,
        help_text="No role: a standard user, who may use every object type.",
    )
    team_ids = forms.MultipleChoiceField(
        label="Teams", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["username"]
        _choices_of(self, "department_id").choices = NONE + department_choices()
        _choices_of(self, "role_id").choices = NONE + role_choices()
        _choices_of(self, "team_ids").choices = team_choices()

    @staticmethod
    def initial_for(user: User) -> dict[str, Any]:
        return {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "department_id": str(user.department_id or ""),
            "role_id": str(user.role_id or ""),
            "team_ids": [str(t.pk) for t in user.teams.all()],
        }

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["department_id"] = _optional(data["department_id"])
        data["role_id"] = _optional(data["role_id"])
        return data


class DepartmentForm(SettingsForm):
    name = forms.CharField(label="Name", max_length=100)
    kind = forms.ChoiceField(label="Kind", choices=Department.Kind.choices)


class RoleForm(SettingsForm):
    name = forms.CharField(label="Name", max_length=100)
    description = forms.CharField(label="Description", max_length=500, required=False)
    parent_id = forms.ChoiceField(
        label="Reports to",
        required=False,
        help_text="People in the roles above see and report on what this role's people own.",
    )
    mfa_required = forms.BooleanField(label="Require multi-factor authentication", required=False)
    manages_access = forms.BooleanField(
        label="Manages access (users, roles, permissions, sharing, security log)",
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices_of(self, "parent_id").choices = [("", "— (top of the hierarchy)"), *role_choices()]

    @staticmethod
    def initial_for(role: Role) -> dict[str, Any]:
        return {
            "name": role.name,
            "description": role.description,
            "parent_id": str(role.parent_id or ""),
            "mfa_required": role.mfa_required,
            "manages_access": role.manages_access,
        }

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["parent_id"] = _optional(data["parent_id"])
        return data


class TeamForm(SettingsForm):
    name = forms.CharField(label="Name", max_length=100)
    department_id = forms.ChoiceField(label="Department", required=False)
    member_ids = forms.MultipleChoiceField(
        label="Members",
        required=False,
        help_text="Hold Ctrl (⌘ on a Mac) to pick several.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices_of(self, "department_id").choices = NONE + department_choices()
        _choices_of(self, "member_ids").choices = user_choices()

    @staticmethod
    def initial_for(team: Team) -> dict[str, Any]:
        return {
            "name": team.name,
            "department_id": str(team.department_id or ""),
            "member_ids": [str(u.pk) for u in team.members.all()],
        }

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["department_id"] = _optional(data["department_id"])
        return data


class TerritoryForm(SettingsForm):
    """Name, level and members; the rules come from the rows editor (``rows.read_rows``)."""

    name = forms.CharField(label="Name", max_length=100)
    level = forms.ChoiceField(
        label="Members get",
        choices=[(Level.READ, "Read access"), (Level.READ_WRITE, "Read and write access")],
    )
    member_ids = forms.MultipleChoiceField(
        label="Members",
        required=False,
        help_text="Hold Ctrl (⌘ on a Mac) to pick several.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices_of(self, "member_ids").choices = user_choices()

    @staticmethod
    def initial_for(territory: Territory) -> dict[str, Any]:
        return {
            "name": territory.name,
            "level": territory.level,
            "member_ids": [str(u.pk) for u in territory.members.all()],
        }


GRANTEE_LABELS: dict[str, str] = {
    Grantee.USER: "Users",
    Grantee.ROLE: "Roles",
    Grantee.ROLE_AND_BELOW: "Roles and the roles below them",
    Grantee.DEPARTMENT: "Departments",
    Grantee.TEAM: "Teams",
    Grantee.TERRITORY: "Territories",
}


GRANTEE_MODELS: dict[str, type[Any]] = {
    Grantee.USER: User,
    Grantee.ROLE: Role,
    Grantee.ROLE_AND_BELOW: Role,
    Grantee.DEPARTMENT: Department,
    Grantee.TEAM: Team,
    Grantee.TERRITORY: Territory,
}


def grantee_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every possible grantee as ``<type>:<id>``, grouped by type."""
    rows: dict[str, list[tuple[str, str]]] = {
        Grantee.USER: user_choices(),
        Grantee.ROLE: role_choices(),
        Grantee.ROLE_AND_BELOW: role_choices(),
        Grantee.DEPARTMENT: department_choices(),
        Grantee.TEAM: team_choices(),
        Grantee.TERRITORY: _choices(Territory.objects.order_by("name")),
    }
    return [
        (GRANTEE_LABELS[kind], [(f"{kind}:{pk}", label) for pk, label in choices])
        for kind, choices in rows.items()
        if choices
    ]


class SharingRuleForm(SettingsForm):
    """Name, object type, grantee, level and active; the criteria come from the rows editor."""

    name = forms.CharField(label="Name", max_length=100)
    object_type = forms.ChoiceField(label="Records of type")
    grantee = forms.ChoiceField(label="Open them to")
    level = forms.ChoiceField(
        label="Access",
        choices=[(Level.READ, "Read"), (Level.READ_WRITE, "Read and write")],
    )
    active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args: Any, object_types: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices_of(self, "object_type").choices = [(t, t.replace("_", " ")) for t in object_types]
        # With htmx, picking another type swaps the field names the criteria editor suggests.
        self.fields["object_type"].widget.attrs.update(
            {
                "hx-get": reverse("identity:sharing-rule-fields"),
                "hx-target": "#criteria-fields",
                "hx-swap": "outerHTML",
            }
        )
        _choices_of(self, "grantee").choices = [("", "—"), *grantee_choices()]

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        kind, _, pk = data.pop("grantee").partition(":")
        data["grantee_type"], data["grantee_id"] = kind, pk
        return data


class SharingDefaultForm(SettingsForm):
    """One object type's org-wide default (a row of the sharing defaults table)."""

    access = forms.ChoiceField(label="Everyone", choices=Access.choices)
    department_level = forms.ChoiceField(
        label="Owner's department",
        required=False,
        choices=[("", "Nothing more"), (Level.READ, "Read"), (Level.READ_WRITE, "Read and write")],
    )


OUTCOMES = ["success", "failure", "denied", "failed", "refused"]


class SecurityLogFilter(SettingsForm):
    kind = forms.ChoiceField(label="Kind", required=False)
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any"), *((o, o) for o in OUTCOMES)]
    )
    actor = forms.CharField(label="Actor (username)", required=False, max_length=150)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="Until (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices_of(self, "kind").choices = [
            ("", "Any"),
            *((k, k.replace("_", " ")) for k in audit.KINDS),
        ]


class ExplainForm(SettingsForm):
    user_id = forms.ChoiceField(label="Person")
    object_type = forms.ChoiceField(label="Record type")
    record_id = forms.CharField(
        label="Record id",
        max_length=64,
        help_text="The record's id, as in its address or the API (a UUID).",
    )

    def __init__(self, *args: Any, object_types: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices_of(self, "user_id").choices = [("", "—"), *user_choices()]
        _choices_of(self, "object_type").choices = [(t, t.replace("_", " ")) for t in object_types]

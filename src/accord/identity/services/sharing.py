"""Writes to teams, territories, org-wide sharing defaults, sharing rules and manual shares
of one record."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, Q
from django.http import HttpRequest

from accord.core.errors import Conflict, InvalidInput, NotFound
from accord.core.ids import parse_id
from accord.core.models import record_types
from accord.core.validation import MISSING, Cleaner
from accord.identity import queries, visibility
from accord.identity.models import (
    Access,
    Department,
    Grantee,
    Level,
    RecordShare,
    Role,
    SharingDefault,
    SharingRule,
    Team,
    Territory,
    User,
)
from accord.identity.services._common import (
    Data,
    _apply,
    _change,
    _check_not_granted_by_rules,
    _find,
    _flag,
    _get,
    _ids,
    _pick,
    _resolve_many,
    _unique_name,
    check_manager,
)


def check_team(data: Data, team: Team | None) -> dict[str, Any]:
    c = Cleaner(data, creating=team is None)
    c.text("name", required=True)
    if len(c.out.get("name", "")) > 100:
        c.error("name", "at most 100 characters")
    c.related("department_id", lambda v: _find(Department, v), attr="department", what="department")
    _resolve_many(c, "member_ids", User, "user", attr="members")
    cleaned = c.done()
    _unique_name(c, Team, team)
    return cleaned


def _set_members(row: Team | Territory, members: list[User] | None) -> dict[str, list[Any]]:
    if members is None:
        return {}
    before = list(row.members.all())
    if {u.pk for u in before} == {u.pk for u in members}:
        return {}
    row.members.set(members)
    return {"member_ids": [_ids(before), _ids(members)]}


def create_team(*, actor: Any, data: Data, request: HttpRequest | None = None) -> Team:
    with _change("team_changed", "create", actor, request) as change:
        check_manager(actor)
        cleaned = check_team(data, None)
        members = cleaned.pop("members", [])
        team = Team(**cleaned)
        team.save()
        team.members.set(members)
        change.log(team, name=team.name, member_ids=_ids(members))
    return team


def change_team(
    *, actor: Any, team_id: Any, data: Data, request: HttpRequest | None = None
) -> Team:
    """Rename a team, move it to another department, or replace its members."""
    with _change("team_changed", "change", actor, request, team_id) as change:
        check_manager(actor)
        team = _get(Team, team_id, "team", lock=True)
        cleaned = check_team(data, team)
        members = cleaned.pop("members", None)
        changed = _apply(team, cleaned)
        team.save()
        changed |= _set_members(team, members)
        change.log(team, changed=changed)
    return team


def delete_team(*, actor: Any, team_id: Any, request: HttpRequest | None = None) -> None:
    """Refused while a sharing rule grants to the team; the records shared by hand with the
    team are unshared with it."""
    with _change("team_changed", "delete", actor, request, team_id) as change:
        check_manager(actor)
        team = _get(Team, team_id, "team", lock=True)
        _check_not_granted_by_rules([Grantee.TEAM], team.pk, "team")
        change.log(team, name=team.name, record_shares_removed=team.record_shares.count())
        team.delete()


def check_territory(data: Data, territory: Territory | None) -> dict[str, Any]:
    c = Cleaner(data, creating=territory is None)
    c.text("name", required=True)
    if len(c.out.get("name", "")) > 100:
        c.error("name", "at most 100 characters")
    rules = c.get("rules")
    if rules is not MISSING:
        try:
            c.out["rules"] = visibility.check_territory_rules(rules)
        except InvalidInput as exc:
            c.errors.extend(exc.errors)
    _pick(c, "level", Level.values)
    _resolve_many(c, "member_ids", User, "user", attr="members")
    cleaned = c.done()
    _unique_name(c, Territory, territory)
    return cleaned


def create_territory(*, actor: Any, data: Data, request: HttpRequest | None = None) -> Territory:
    with _change("territory_changed", "create", actor, request) as change:
        check_manager(actor)
        cleaned = check_territory(data, None)
        members = cleaned.pop("members", [])
        territory = Territory(**cleaned)
        territory.save()
        territory.members.set(members)
        change.log(
            territory,
            name=territory.name,
            rules=territory.rules,
            level=territory.level,
            member_ids=_ids(members),
        )
    return territory


def change_territory(
    *, actor: Any, territory_id: Any, data: Data, request: HttpRequest | None = None
) -> Territory:
    with _change("territory_changed", "change", actor, request, territory_id) as change:
        check_manager(actor)
        territory = _get(Territory, territory_id, "territory", lock=True)
        cleaned = check_territory(data, territory)
        members = cleaned.pop("members", None)
        changed = _apply(territory, cleaned)
        territory.save()
        changed |= _set_members(territory, members)
        change.log(territory, changed=changed)
    return territory


def delete_territory(*, actor: Any, territory_id: Any, request: HttpRequest | None = None) -> None:
    with _change("territory_changed", "delete", actor, request, territory_id) as change:
        check_manager(actor)
        territory = _get(Territory, territory_id, "territory", lock=True)
        _check_not_granted_by_rules([Grantee.TERRITORY], territory.pk, "territory")
        change.log(territory, name=territory.name)
        territory.delete()


def _check_owned_type(cleaner: Cleaner, key: str = "object_type") -> str | None:
    object_type = cleaner.get(key, required=True)
    if object_type is MISSING:
        return None
    if object_type not in record_types():
        cleaner.error(key, f"{object_type!r} is not an object type")
    elif object_type not in queries.owned_object_types():
        cleaner.error(key, f"{object_type} records have no owner, so sharing does not apply")
    else:
        cleaner.out[key] = object_type
        return str(object_type)
    return None


def set_sharing_default(
    *, actor: Any, object_type: str, data: Data, request: HttpRequest | None = None
) -> SharingDefault:
    """The org-wide default of one object type: ``access`` for everyone, and
    ``department_level`` ("" for none) for the owner's department colleagues."""
    with _change("sharing_default_changed", "set", actor, request, object_type) as change:
        check_manager(actor)
        if object_type not in record_types():
            raise NotFound(f"No object type {object_type!r}")
        c = Cleaner({**data, "object_type": object_type}, creating=True)
        _check_owned_type(c)
        _pick(c, "access", Access.values, required=True)
        _pick(c, "department_level", ["", *Level.values])
        cleaned = c.done()
        row = SharingDefault.objects.select_for_update().filter(object_type=object_type).first()
        before = (row.access, row.department_level) if row else (visibility.DEFAULT_ACCESS, "")
        row = row or SharingDefault(object_type=object_type)
        row.access = cleaned["access"]
        row.department_level = cleaned.get("department_level", "")
        row.save()
        change.log(
            row,
            object_type=object_type,
            access=[before[0], row.access],
            department_level=[before[1], row.department_level],
        )
    return row


_GRANTEE_MODELS: dict[str, type[Model]] = {
    Grantee.USER: User,
    Grantee.ROLE: Role,
    Grantee.ROLE_AND_BELOW: Role,
    Grantee.DEPARTMENT: Department,
    Grantee.TEAM: Team,
    Grantee.TERRITORY: Territory,
}


def check_sharing_rule(data: Data, rule: SharingRule | None) -> dict[str, Any]:
    c = Cleaner(data, creating=rule is None)
    c.text("name", required=True)
    if len(c.out.get("name", "")) > 100:
        c.error("name", "at most 100 characters")
    object_type = rule.object_type if rule is not None else None
    if rule is None or "object_type" in data:
        object_type = _check_owned_type(c)
    if object_type is not None and (rule is None or {"criteria", "object_type"} & set(data)):
        criteria = data.get("criteria", rule.criteria if rule is not None else MISSING)
        if criteria is MISSING:
            c.error("criteria", "is required")
        else:
            try:
                c.out["criteria"] = visibility.check_criteria(object_type, criteria)
            except InvalidInput as exc:
                c.errors.extend(exc.errors)
    if rule is None or {"grantee_type", "grantee_id"} & set(data):
        kind = data.get("grantee_type", rule.grantee_type if rule else None)
        raw_id = data.get("grantee_id", rule.grantee_id if rule else None)
        if kind not in Grantee.values:
            c.error("grantee_type", f"must be one of: {', '.join(Grantee.values)}")
        elif raw_id is None:
            c.error("grantee_id", "is required")
        elif _find(_GRANTEE_MODELS[kind], raw_id) is None:
            c.error("grantee_id", f"unknown {kind.replace('_and_below', '')} {raw_id}")
        else:
            c.out["grantee_type"], c.out["grantee_id"] = kind, parse_id(raw_id)
    _pick(c, "level", Level.values)
    _flag(c, "active")
    return c.done()


def create_sharing_rule(
    *, actor: Any, data: Data, request: HttpRequest | None = None
) -> SharingRule:
    """A rule opening the records of one object type that match its criteria to a grantee.
    Rules only ever widen access."""
    with _change("sharing_rule_changed", "create", actor, request) as change:
        check_manager(actor)
        rule = SharingRule(**check_sharing_rule(data, None))
        rule.save()
        change.log(rule, **_rule_details(rule))
    return rule


def _rule_details(rule: SharingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "object_type": rule.object_type,
        "criteria": rule.criteria,
        "grantee_type": rule.grantee_type,
        "grantee_id": str(rule.grantee_id),
        "level": rule.level,
        "active": rule.active,
    }


def change_sharing_rule(
    *, actor: Any, rule_id: Any, data: Data, request: HttpRequest | None = None
) -> SharingRule:
    with _change("sharing_rule_changed", "change", actor, request, rule_id) as change:
        check_manager(actor)
        rule = _get(SharingRule, rule_id, "sharing rule", lock=True)
        before = _rule_details(rule)
        for key, value in check_sharing_rule(data, rule).items():
            setattr(rule, key, value)
        rule.save()
        after = _rule_details(rule)
        change.log(
            rule,
            changed={k: [before[k], after[k]] for k in after if before[k] != after[k]},
        )
    return rule


def delete_sharing_rule(*, actor: Any, rule_id: Any, request: HttpRequest | None = None) -> None:
    with _change("sharing_rule_changed", "delete", actor, request, rule_id) as change:
        check_manager(actor)
        rule = _get(SharingRule, rule_id, "sharing rule", lock=True)
        change.log(rule, **_rule_details(rule))
        rule.delete()


def _share_details(share: RecordShare) -> dict[str, Any]:
    return {
        "object_type": share.object_type,
        "record_id": str(share.record_id),
        "user_id": str(share.user_id) if share.user_id else None,
        "team_id": str(share.team_id) if share.team_id else None,
        "level": share.level,
    }


def share_record(*, actor: Any, data: Data, request: HttpRequest | None = None) -> RecordShare:
    """Share one record with a user or a team (``user_id`` or ``team_id``) at ``level``."""
    with _change("record_shared", "share", actor, request) as change:
        record = queries.shared_record(actor, data.get("object_type"), data.get("record_id"))
        queries.check_may_share(actor, record)
        c = Cleaner(data, creating=True)
        user = c.related("user_id", lambda v: _find(User, v), attr="user", what="user")
        team = c.related("team_id", lambda v: _find(Team, v), attr="team", what="team")
        if not c.errors and (user in (None, MISSING)) == (team in (None, MISSING)):
            c.error("user_id", "share with exactly one of user_id and team_id")
        _pick(c, "level", Level.values)
        cleaned = c.done()
        object_type = visibility.object_type_of(type(record))
        grantee = Q(user=cleaned["user"]) if cleaned.get("user") else Q(team=cleaned["team"])
        existing = RecordShare.objects.filter(grantee, object_type=object_type, record_id=record.pk)
        if existing.exists():
            raise Conflict("The record is already shared with them; unshare it to change the level")
        share = RecordShare.objects.create(
            object_type=object_type,
            record_id=record.pk,
            user=cleaned.get("user"),
            team=cleaned.get("team"),
            level=cleaned.get("level", Level.READ),
            created_by=actor,
        )
        change.log(share, **_share_details(share))
    return share


def unshare_record(*, actor: Any, share_id: Any, request: HttpRequest | None = None) -> None:
    with _change("record_unshared", "unshare", actor, request, share_id) as change:
        share = _get(RecordShare, share_id, "record share", lock=True)
        try:
            record = queries.shared_record(actor, share.object_type, share.record_id)
        except NotFound:
            raise NotFound(f"No record share with id {share_id}") from None
        queries.check_may_share(actor, record)
        change.log(share, **_share_details(share))
        share.delete()

"""Writes to the SLA configuration: business calendars (with their holidays) and SLA policies.

Both are configuration, like queues: administrators change them, through the write path
(history and an outbox event per change). A calendar's holidays are part of it: the calendar's
event lists them, so adding a holiday is a change of the calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from accord.core import records
from accord.core.records import Payload
from accord.core.validation import MISSING, Cleaner, lookup
from accord.identity.records import VisibleRecordService
from accord.identity.visibility import can_edit, visible
from accord.parties.models import Account
from accord.service import events, sla
from accord.service.models import BusinessCalendar, Case, Holiday, Queue, SlaPolicy

#: At most this many holidays per calendar (a few years of public holidays).
MAX_HOLIDAYS = 200


def is_admin(actor: Any) -> bool:
    return bool(actor is not None and actor.is_active and actor.is_superuser)


class _AdminService:
    """Configuration: everyone the visibility filter lets read it, administrators change it."""

    def may_create(self, actor: Any) -> bool:
        return is_admin(actor)

    def may_edit(self, actor: Any, record: Any) -> bool:
        return is_admin(actor) and can_edit(actor, record)


def _flag(cleaner: Cleaner, key: str) -> None:
    cleaner.value(key)
    if key in cleaner.out and not isinstance(cleaner.out[key], bool):
        cleaner.error(key, "must be true or false")


def _name(cleaner: Cleaner) -> None:
    cleaner.text("name", required=True)
    if cleaner.out.get("name") == "":
        cleaner.error("name", "is required and cannot be empty")


def _whole(cleaner: Cleaner, key: str, low: int, high: int) -> None:
    value = cleaner.get(key, required=True)
    if value is MISSING:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        cleaner.error(key, f"must be a whole number from {low} to {high}")
    else:
        cleaner.out[key] = value


class CalendarService(_AdminService, VisibleRecordService[BusinessCalendar]):
    model = BusinessCalendar
    related = ("holidays",)
    prefetch = ("holidays",)

    def payload(self, record: BusinessCalendar) -> Payload:
        return events.calendar_record(record)

    def clean(
        self, actor: Any, data: Mapping[str, Any], record: BusinessCalendar | None
    ) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        _name(cleaner)
        cleaner.text("timezone")
        if cleaner.out.get("timezone") is not None:
            try:
                sla.zone(cleaner.out["timezone"])
            except ValueError as exc:
                cleaner.error("timezone", str(exc))
        _flag(cleaner, "always_open")
        self._clean_hours(cleaner, record)
        self._clean_holidays(cleaner)
        return cleaner.done()

    @staticmethod
    def _clean_hours(cleaner: Cleaner, record: BusinessCalendar | None) -> None:
        cleaner.value("hours")
        if "hours" in cleaner.out:
            hours = cleaner.out["hours"] or {}
            if not isinstance(hours, Mapping):
                cleaner.error(
                    "hours", 'must map weekdays to openings: {"mon": [["09:00", "17:00"]]}'
                )
                return
            try:
                week = sla.parse_week(hours)
            except ValueError as exc:
                cleaner.error("hours", str(exc))
                return
            # Stored in the canonical form, so an unchanged week is no change.
            cleaner.out["hours"] = {
                day: [[sla.format_clock(a), sla.format_clock(b)] for a, b in intervals]
                for day, intervals in zip(sla.WEEKDAYS, week, strict=True)
                if intervals
            }
        always = cleaner.out.get("always_open", record.always_open if record else False)
        hours = cleaner.out.get("hours", record.hours if record else {})
        if not always and not hours and not any(e.field == "hours" for e in cleaner.errors):
            # Without a single opening no SLA target could ever fall due.
            cleaner.error("hours", "give at least one opening, or make the calendar 24x7")

    @staticmethod
    def _clean_holidays(cleaner: Cleaner) -> None:
        cleaner.value("holidays")
        if "holidays" not in cleaner.out:
            return
        raw = cleaner.out["holidays"] or []
        if not isinstance(raw, list) or len(raw) > MAX_HOLIDAYS:
            cleaner.error("holidays", f"must be a list of at most {MAX_HOLIDAYS} dates")
            return
        found: dict[dt.date, str] = {}
        for index, item in enumerate(raw):
            day, name = _holiday(item)
            if day is None:
                cleaner.error(f"holidays[{index}]", 'must be {"date": "2026-12-25", "name": …}')
            elif day in found:
                cleaner.error(f"holidays[{index}]", f"{day} is listed twice")
            else:
                found[day] = name
        cleaner.out["holidays"] = sorted(found.items())

    def save_related(
        self, saved: list[BusinessCalendar], cleaned: list[dict[str, Any]], *, creating: bool
    ) -> None:
        for calendar, values in zip(saved, cleaned, strict=True):
            if "holidays" not in values:
                continue
            if not creating:
                Holiday.objects.filter(calendar=calendar).delete()
            rows = [Holiday(calendar=calendar, date=d, name=n) for d, n in values["holidays"]]
            Holiday.objects.bulk_create(rows)
            records.remember_related(calendar, "holidays", rows)


def _holiday(item: Any) -> tuple[dt.date | None, str]:
    if not isinstance(item, Mapping):
        return None, ""
    day = item.get("date")
    name = str(item.get("name") or "").strip()[:100]
    if isinstance(day, dt.date) and not isinstance(day, dt.datetime):
        return day, name
    try:
        return dt.date.fromisoformat(str(day)), name
    except ValueError:
        return None, ""


def _queue(actor: Any, pk: Any) -> Queue | None:
    try:
        return visible(actor, Queue.objects.all()).filter(pk=pk).first()
    except (ValueError, TypeError):
        return None


class SlaPolicyService(_AdminService, VisibleRecordService[SlaPolicy]):
    model = SlaPolicy

    def payload(self, record: SlaPolicy) -> Payload:
        return events.sla_policy_record(record)

    def clean(
        self, actor: Any, data: Mapping[str, Any], record: SlaPolicy | None
    ) -> dict[str, Any]:
        cleaner = Cleaner(data, creating=record is None)
        _name(cleaner)
        cleaner.related("queue_id", lambda pk: _queue(actor, pk), attr="queue", what="queue")
        for key, choices in (("priority", Case.Priority), ("tier", Account.Tier)):
            value = cleaner.get(key)
            if value is None or value == "":
                cleaner.out[key] = ""  # matches any
            elif value is not MISSING:
                cleaner.choice(key, choices)
        _whole(cleaner, "first_response_minutes", 1, 10_000_000)
        _whole(cleaner, "resolution_minutes", 1, 10_000_000)
        if cleaner.has("warn_at_percent"):
            _whole(cleaner, "warn_at_percent", 1, 99)
        if cleaner.has("order"):
            _whole(cleaner, "order", 0, 32_767)
        _flag(cleaner, "active")
        first = cleaner.out.get(
            "first_response_minutes", getattr(record, "first_response_minutes", 0)
        )
        last = cleaner.out.get("resolution_minutes", getattr(record, "resolution_minutes", 0))
        if first and last and last < first:
            cleaner.error("resolution_minutes", "cannot be shorter than the first response time")
        return cleaner.done()


calendars = CalendarService()
sla_policies = SlaPolicyService()


# -- what the case service reads (cached per batch by core.validation.lookup) --------------------


def active_policies() -> list[SlaPolicy]:
    found: list[SlaPolicy] = (
        lookup(
            "service.sla_policies", "active", lambda _: list(SlaPolicy.objects.filter(active=True))
        )
        or []
    )
    return found


def hours_for(calendar_id: Any) -> sla.Hours:
    """The business hours SLA targets count in for a queue with ``calendar_id`` (None: 24x7)."""
    if calendar_id is None:
        return sla.Hours.around_the_clock()
    found = lookup("service.hours", calendar_id, _load_hours)
    return found if found is not None else sla.Hours.around_the_clock()


def _load_hours(calendar_id: Any) -> sla.Hours | None:
    calendar = BusinessCalendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        return None
    return sla.hours_of(
        timezone=calendar.timezone,
        always_open=calendar.always_open,
        week=calendar.hours,
        holidays=Holiday.objects.filter(calendar=calendar).values_list("date", flat=True),
    )

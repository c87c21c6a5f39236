"""Business time and SLA targets: pure functions, no database.

A :class:`Hours` is a business calendar as plain data. :func:`add_business_time` finds the
instant a number of business minutes after a start, :func:`business_time_between` counts the
business time between two instants. Both walk the calendar's local days in its time zone
(zoneinfo), so a day that changes to or from summer time has the length the clock on the wall
gives it: an opening of 01:00-05:00 on the night clocks go forward holds three hours, not four.

:func:`match_policy` picks the SLA policy of a case and :func:`targets` computes its due times;
:func:`next_alert` says which warning or breach comes next. The service (service.services) and
the SLA job (service.tasks) feed them rows and write their answers.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

#: The days of a calendar's week, Monday first (``date.weekday()`` order).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
#: How far ahead a target may lie: a calendar closed for longer than this has an error.
HORIZON_DAYS = 3 * 366

Interval = tuple[int, int]


class CalendarError(ValueError):
    """A calendar that cannot reach the target (no opening hours at all, or too few)."""


@dataclass(frozen=True)
class Hours:
    """When a team works: per weekday (Monday first) opening intervals in minutes after local
    midnight, ``(540, 1020)`` for 09:00-17:00; closed days and holidays count nothing."""

    zone: ZoneInfo
    week: tuple[tuple[Interval, ...], ...] = ((),) * 7
    holidays: frozenset[dt.date] = frozenset()
    always_open: bool = False

    @classmethod
    def around_the_clock(cls) -> Hours:
        return cls(zone=ZoneInfo("UTC"), always_open=True)

    def windows(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The opening windows (aware instants) from the local day of ``start`` on, in order."""
        day = start.astimezone(self.zone).date()
        for _ in range(HORIZON_DAYS):
            if day not in self.holidays:
                for opens, closes in self.week[day.weekday()]:
                    yield self._instant(day, opens), self._instant(day, closes)
            day += dt.timedelta(days=1)

    def _instant(self, day: dt.date, minutes: int) -> dt.datetime:
        # Wall-clock time of the calendar's zone; "24:00" is the next day's midnight.
        day += dt.timedelta(days=minutes // DAY_MINUTES)
        minutes %= DAY_MINUTES
        local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(dt.UTC)


def add_business_time(start: dt.datetime, amount: dt.timedelta, hours: Hours) -> dt.datetime:
    """The instant ``amount`` of business time after ``start``. Starting outside the hours
    starts the count at the next opening; an amount that ends exactly at a closing time ends
    there (not at the next opening)."""
    if hours.always_open:
        return start + amount
    left = amount
    for opens, closes in hours.windows(start):
        begin = max(opens, start)
        if begin >= closes:
            continue
        if left <= closes - begin:
            return begin + left
        left -= closes - begin
    raise CalendarError("the calendar has no opening hours within three years")


def business_time_between(start: dt.datetime, end: dt.datetime, hours: Hours) -> dt.timedelta:
    """How much business time lies between ``start`` and ``end`` (zero when end ≤ start)."""
    if end <= start:
        return dt.timedelta(0)
    if hours.always_open:
        return end - start
    total = dt.timedelta(0)
    for opens, closes in hours.windows(start):
        if opens >= end:
            break
        begin, finish = max(opens, start), min(closes, end)
        if finish > begin:
            total += finish - begin
    return total


# -- reading a calendar's settings ------------------------------------------------------------


def parse_clock(text: str) -> int:
    """``"09:30"`` → 570 minutes after midnight; ``"24:00"`` is allowed as a closing time."""
    hour, sep, minute = str(text).strip().partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2):
        raise ValueError(f"{text!r} is not a time like 09:00")
    value = int(hour) * 60 + int(minute)
    if int(minute) > 59 or value > DAY_MINUTES:
        raise ValueError(f"{text!r} is not a time of day")
    return value


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_week(hours: Mapping[str, Any]) -> tuple[tuple[Interval, ...], ...]:
    """A calendar's ``hours`` JSON (``{"mon": [["09:00", "17:00"]]}``) as intervals per
    weekday; raises ValueError naming the day of a bad or overlapping interval."""
    unknown = set(hours) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday {sorted(unknown)[0]!r}; use {', '.join(WEEKDAYS)}")
    week = []
    for day in WEEKDAYS:
        intervals = []
        for pair in hours.get(day) or ():
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f"{day}: each opening is [opens, closes]")
            opens, closes = parse_clock(pair[0]), parse_clock(pair[1])
            if opens >= closes:
                raise ValueError(f"{day}: {pair[0]} must be before {pair[1]}")
            intervals.append((opens, closes))
        intervals.sort()
        if any(a[1] > b[0] for a, b in itertools.pairwise(intervals)):
            raise ValueError(f"{day}: opening hours overlap")
        week.append(tuple(intervals))
    return tuple(week)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Berlin``); ValueError if there is none."""
    if not name or name not in _zone_names():
        raise ValueError(f"{name!r} is not a time zone name like Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone name like Europe/Berlin") from None


_ZONES: frozenset[str] = frozenset()


def _zone_names() -> frozenset[str]:
    global _ZONES
    if not _ZONES:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def zone_names() -> list[str]:
    return sorted(_zone_names())


def hours_of(
    *, timezone: str, always_open: bool, week: Mapping[str, Any], holidays: Iterable[dt.date]
) -> Hours:
    return Hours(
        zone=zone(timezone),
        week=parse_week(week),
        holidays=frozenset(holidays),
        always_open=always_open,
    )


# -- policies and targets -----------------------------------------------------------------------


class Policy(Protocol):
    """What matching reads of an SLA policy (service.models.SlaPolicy has it)."""

    name: str
    queue_id: Any
    priority: str
    tier: str
    order: int
    first_response_minutes: int
    resolution_minutes: int
    warn_at_percent: int


def _specificity(policy: Policy) -> int:
    return sum(1 for criterion in (policy.queue_id, policy.priority, policy.tier) if criterion)


def match_policy(
    policies: Iterable[Policy], *, queue_id: Any, priority: str, tier: str
) -> Policy | None:
    """The policy for a case: among those whose every set criterion matches, the one with
    the most criteria set, then the lowest ``order``, then the first name."""
    matching = [
        p
        for p in policies
        if (not p.queue_id or p.queue_id == queue_id)
        and (not p.priority or p.priority == priority)
        and (not p.tier or p.tier == tier)
    ]
    if not matching:
        return None
    return min(matching, key=lambda p: (-_specificity(p), p.order, p.name))


@dataclass(frozen=True)
class Targets:
    """When a case is due for its first response and its resolution."""

    first_response_due_at: dt.datetime
    resolution_due_at: dt.datetime


def targets(policy: Policy, opened_at: dt.datetime, hours: Hours) -> Targets:
    return Targets(
        first_response_due_at=add_business_time(
            opened_at, dt.timedelta(minutes=policy.first_response_minutes), hours
        ),
        resolution_due_at=add_business_time(
            opened_at, dt.timedelta(minutes=policy.resolution_minutes), hours
        ),
    )


WARNING = "warning"
BREACHED = "breached"


@dataclass(frozen=True)
class Target:
    """One running SLA target of a case: which, its budget and due time, and the last alert
    sent about it."""

    name: str  # "first_response" or "resolution"
    minutes: int
    due_at: dt.datetime
    alert: str = ""


@dataclass(frozen=True)
class Alert:
    target: str
    state: str  # WARNING or BREACHED
    at: dt.datetime


@dataclass
class Clock:
    """A case's SLA situation as the job sees it: its start, calendar and running targets."""

    opened_at: dt.datetime
    hours: Hours
    warn_at_percent: int
    running: Sequence[Target] = field(default_factory=tuple)

    def warning_at(self, target: Target) -> dt.datetime:
        budget = dt.timedelta(minutes=target.minutes) * self.warn_at_percent / 100
        return add_business_time(self.opened_at, budget, self.hours)

    def next_alerts(self) -> list[Alert]:
        """The alert each running target gives next (a warning, then its breach), with when."""
        found = []
        for target in self.running:
            if target.alert == "":
                found.append(Alert(target.name, WARNING, self.warning_at(target)))
            elif target.alert == WARNING:
                found.append(Alert(target.name, BREACHED, target.due_at))
        return found

    def due(self, now: dt.datetime) -> list[Alert]:
        """Alerts whose time has come, one per target: a target past its due time that was
        never warned goes straight to the breach."""
        alerts = []
        for target in self.running:
            if target.alert != BREACHED and now >= target.due_at:
                alerts.append(Alert(target.name, BREACHED, target.due_at))
            elif target.alert == "" and now >= self.warning_at(target):
                alerts.append(Alert(target.name, WARNING, self.warning_at(target)))
        return alerts

    def next_check(self, alerts_sent: Mapping[str, str]) -> dt.datetime | None:
        """When the next alert falls due, after ``alerts_sent`` (target → state) went out."""
        after = Clock(
            self.opened_at,
            self.hours,
            self.warn_at_percent,
            [
                Target(t.name, t.minutes, t.due_at, alerts_sent.get(t.name, t.alert))
                for t in self.running
            ],
        )
        upcoming = [a.at for a in after.next_alerts()]
        return min(upcoming) if upcoming else None

"""The forms of service's pages. They only read what a person typed into the shape the service
functions take (``calendar_id``, ``hours``, …); the services validate it, and their errors are
shown next to the field they name (identity.views.common.show_errors)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from accord.parties.models import Account
from accord.service import sla
from accord.service.models import BusinessCalendar, Case, Queue, SlaPolicy

ANY = [("", "Any")]
NONE = [("", "—")]
DAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ServiceForm(forms.Form):
    """Labels without Django's trailing colon, like the other Settings pages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def set_choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


def _options(queryset: Any) -> list[tuple[str, str]]:
    return [(str(row.pk), str(row)) for row in queryset]


class QueueForm(ServiceForm):
    name = forms.CharField(label="Name", max_length=100)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea)
    calendar_id = forms.ChoiceField(
        label="Business calendar",
        required=False,
        help_text="The hours SLA targets count in. None: around the clock.",
    )
    active = forms.BooleanField(
        label="Active", required=False, initial=True, help_text="Inactive queues take no new cases."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        calendars = BusinessCalendar.objects.order_by("name")
        self.set_choices("calendar_id", [("", "None (24x7)"), *_options(calendars)])

    @staticmethod
    def initial_for(queue: Queue) -> dict[str, Any]:
        return {
            "name": queue.name,
            "description": queue.description,
            "calendar_id": str(queue.calendar_id or ""),
            "active": queue.active,
        }

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["calendar_id"] = data["calendar_id"] or None
        return data


#: What a new calendar proposes: office hours on weekdays.
_OFFICE_HOURS = {
    day: {"opens": "09:00", "closes": "17:00"} for day in ("mon", "tue", "wed", "thu", "fri")
}


def _day_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for day, label in zip(sla.WEEKDAYS, DAY_LABELS, strict=True):
        for edge, word in (("opens", "opens"), ("closes", "closes")):
            fields[f"{day}_{edge}"] = forms.CharField(
                label=f"{label} {word}",
                required=False,
                max_length=5,
                initial=_OFFICE_HOURS.get(day, {}).get(edge, ""),
                widget=forms.TextInput(attrs={"size": 5, "autocomplete": "off"}),
            )
    return fields


class CalendarForm(ServiceForm):
    name = forms.CharField(label="Name", max_length=100)
    timezone = forms.ChoiceField(label="Time zone")
    always_open = forms.BooleanField(
        label="Open around the clock (24x7)",
        required=False,
        help_text="Every minute counts; the weekly hours below are ignored.",
    )
    holidays = forms.CharField(
        label="Holidays",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One per line: the date, then a name. For example: 2026-12-25 Christmas Day.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_day_fields())
        self.set_choices("timezone", [(z, z) for z in sla.zone_names()])
        self.fields["timezone"].initial = "UTC"

    def day_rows(self) -> list[tuple[str, Any, Any]]:
        """(weekday label, opens field, closes field) for the hours table."""
        return [
            (label, self[f"{day}_opens"], self[f"{day}_closes"])
            for day, label in zip(sla.WEEKDAYS, DAY_LABELS, strict=True)
        ]

    @staticmethod
    def initial_for(calendar: BusinessCalendar) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": calendar.name,
            "timezone": calendar.timezone,
            "always_open": calendar.always_open,
            "holidays": "\n".join(
                f"{h.date.isoformat()} {h.name}".strip() for h in calendar.holidays.all()
            ),
        }
        for day in sla.WEEKDAYS:
            # Every day, closed ones too, or the form would propose office hours for them.
            openings = (calendar.hours or {}).get(day) or [["", ""]]
            initial[f"{day}_opens"], initial[f"{day}_closes"] = openings[0]
        return initial

    def clean_holidays(self) -> list[dict[str, str]]:
        found = []
        for number, line in enumerate(self.cleaned_data["holidays"].splitlines(), start=1):
            if not line.strip():
                continue
            date, _, name = line.strip().partition(" ")
            try:
                dt.date.fromisoformat(date)
            except ValueError:
                raise forms.ValidationError(
                    f"Line {number}: start with a date like 2026-12-25."
                ) from None
            found.append({"date": date, "name": name.strip()})
        return found

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for day, label in zip(sla.WEEKDAYS, DAY_LABELS, strict=True):
            opens, closes = cleaned.get(f"{day}_opens"), cleaned.get(f"{day}_closes")
            if bool(opens) != bool(closes):
                self.add_error(
                    f"{day}_closes", f"Give {label}'s opening and closing time, or neither."
                )
        return cleaned

    def data_for_service(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "timezone": data["timezone"],
            "always_open": data["always_open"],
            "hours": {
                day: [[data[f"{day}_opens"], data[f"{day}_closes"]]]
                for day in sla.WEEKDAYS
                if data.get(f"{day}_opens")
            },
            "holidays": data["holidays"],
        }


class SlaPolicyForm(ServiceForm):
    name = forms.CharField(label="Name", max_length=100)
    queue_id = forms.ChoiceField(label="Queue", required=False)
    priority = forms.ChoiceField(label="Priority", required=False)
    tier = forms.ChoiceField(label="Customer tier", required=False)
    first_response_minutes = forms.IntegerField(
        label="First response within (business minutes)", min_value=1
    )
    resolution_minutes = forms.IntegerField(label="Resolve within (business minutes)", min_value=1)
    warn_at_percent = forms.IntegerField(
        label="Warn at (% of the target)", min_value=1, max_value=99, initial=80
    )
    order = forms.IntegerField(
        label="Order",
        min_value=0,
        max_value=32_767,
        initial=100,
        help_text="Among equally specific policies the lowest order wins.",
    )
    active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="An inactive policy times no new case; cases it timed keep their targets.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("queue_id", ANY + _options(Queue.objects.order_by("name")))
        self.set_choices("priority", ANY + [(v, str(label)) for v, label in Case.Priority.choices])
        self.set_choices("tier", ANY + [(v, str(label)) for v, label in Account.Tier.choices])

    @staticmethod
    def initial_for(policy: SlaPolicy) -> dict[str, Any]:
        return {
            "name": policy.name,
            "queue_id": str(policy.queue_id or ""),
            "priority": policy.priority,
            "tier": policy.tier,
            "first_response_minutes": policy.first_response_minutes,
            "resolution_minutes": policy.resolution_minutes,
            "warn_at_percent": policy.warn_at_percent,
            "order": policy.order,
            "active": policy.active,
        }

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["queue_id"] = data["queue_id"] or None
        return data

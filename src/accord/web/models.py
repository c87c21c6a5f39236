"""What the staff web app stores of its own: list views people saved."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q, QuerySet

from accord.core import clock
from accord.core.ids import new_id
from accord.identity.models import Department, Team, User


class SavedView(models.Model):
    """A list view someone saved (its columns, filters and sort, as the list's query string),
    for themselves or shared with one team or one department. Sharing a view shares how to
    look at records, never the records: each viewer still sees only what visibility allows."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_views")
    record_type = models.CharField(max_length=40)
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=2000, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="saved_views"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="saved_views"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["record_type", "owner"], name="saved_view_owner")]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=True) | Q(department__isnull=True),
                name="saved_view_one_audience",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audience(self) -> str:
        if self.team_id:
            return f"team {self.team}"
        if self.department_id:
            return f"department {self.department}"
        return "only you"


def views_for(user: Any, record_type: str) -> QuerySet[SavedView]:
    """The views of ``record_type`` that ``user`` saved or that were shared with one of their
    teams or their department."""
    shared = Q(owner=user) | Q(team__members=user)
    if getattr(user, "department_id", None):
        shared |= Q(department_id=user.department_id)
    return (
        SavedView.objects.filter(shared, record_type=record_type)
        .select_related("team", "department")
        .distinct()
    )

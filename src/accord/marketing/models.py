"""Campaigns: what marketing runs, about which products, when, and at what cost.

Segments, members and responses, campaign email, readiness sign-offs and the impact radar come
with the campaigns issue; they attach to :class:`Campaign` by foreign key. Launching will become
a domain action (``accord.campaign.launched``) once readiness sign-offs gate it; until then
``status`` is set like any other field.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from accord.catalog.models import Product
from accord.core.models import Record, recycle_bin_index
from accord.core.money import company_currency


class Campaign(Record):
    """A marketing effort (a mailing, a trade fair, a webinar, ads) that promotes products.

    Its products and dates are what the impact radar compares service cases against.
    """

    object_type: ClassVar[str] = "campaign"

    class Status(models.TextChoices):
        PLANNED = "planned"
        ACTIVE = "active"
        PAUSED = "paused"
        COMPLETED = "completed"
        ABORTED = "aborted"

    class Type(models.TextChoices):
        EMAIL = "email"
        EVENT = "event"
        WEBINAR = "webinar"
        ADVERTISING = "advertising"
        OTHER = "other"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.OTHER)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    budget = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default=company_currency, help_text="ISO 4217")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_campaigns",
        db_index=False,
    )
    products = models.ManyToManyField(Product, blank=True, related_name="campaigns")
    external_id = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(starts_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(budget__isnull=True) | models.Q(budget__gte=0),
                name="campaign_budget_not_negative",
            ),
        ]
        indexes = [
            recycle_bin_index("campaign_deleted"),
            models.Index(fields=["name", "id"], name="campaign_name"),
            models.Index(fields=["status", "starts_on"], name="campaign_status"),
            models.Index(fields=["starts_on", "ends_on"], name="campaign_dates"),
            models.Index(fields=["owner", "id"], name="campaign_owner"),
            models.Index(fields=["updated_at", "id"], name="campaign_updated"),
            models.Index(fields=["created_at", "id"], name="campaign_created"),
            models.Index(fields=["external_id"], name="campaign_external_id"),
        ]

    def __str__(self) -> str:
        return self.name

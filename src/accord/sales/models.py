"""Leads and what they become, pipelines with their stages, deals, and web-to-lead forms."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from accord.core import clock
from accord.core.models import Record, recycle_bin_index
from accord.parties.models import Account, Contact


class LeadSource(models.TextChoices):
    """Where a lead came from; web forms stamp their own."""

    WEB_FORM = "web_form"
    REFERRAL = "referral"
    EVENT = "event"
    CAMPAIGN = "campaign"
    PARTNER = "partner"
    COLD_CALL = "cold_call"
    OTHER = "other"


class Lead(Record):
    """Someone who may become a customer, before sales has qualified them.

    ``captured`` keeps the extra values gathered at first contact (a web form's "budget" or
    "product interest") verbatim; conversion carries them onto the contact, account and deal and
    never drops one. Once converted the lead is read-only and links to what it became.
    """

    object_type: ClassVar[str] = "lead"

    class Status(models.TextChoices):
        NEW = "new"
        WORKING = "working"
        QUALIFIED = "qualified"
        UNQUALIFIED = "unqualified"
        CONVERTED = "converted"

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    website = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.OTHER)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    score = models.PositiveSmallIntegerField(default=0)
    captured = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_leads",
        db_index=False,
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            recycle_bin_index("lead_deleted"),
            models.Index(fields=["owner", "id"], name="lead_owner"),
            models.Index(fields=["status", "id"], name="lead_status"),
            models.Index(fields=["last_name", "id"], name="lead_last_name"),
            models.Index(fields=["company", "id"], name="lead_company"),
            models.Index(fields=["score", "id"], name="lead_score"),
            models.Index(fields=["updated_at", "id"], name="lead_updated"),
            models.Index(fields=["created_at", "id"], name="lead_created"),
            models.Index(fields=["email"], name="lead_email"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__lte=100), name="lead_score_max"),
            # "converted" and its timestamp come together, only from conversion.
            models.CheckConstraint(
                condition=(
                    models.Q(status="converted", converted_at__isnull=False)
                    | (~models.Q(status="converted") & models.Q(converted_at__isnull=True))
                ),
                name="lead_converted_at",
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return ", ".join(p for p in (name, self.company) if p) or str(self.pk)


class Pipeline(Record):
    """A sales process deals move through, such as "New business" or "Renewals".

    Exactly one live pipeline is the default, where deals start when no pipeline is named.
    """

    object_type: ClassVar[str] = "pipeline"

    name = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True, deleted_at__isnull=True),
                name="pipeline_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(Record):
    """One step of a pipeline ("Proposal", "Closed won"), in ``position`` order.

    ``probability`` is what a deal entering the stage takes as its chance of closing; a won or
    lost stage closes the deal.
    """

    object_type: ClassVar[str] = "stage"

    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="stages", db_index=False
    )
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()
    probability = models.PositiveSmallIntegerField(default=0)
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)

    class Meta:
        ordering = ["pipeline", "position"]
        indexes = [
            models.Index(fields=["pipeline", "position", "id"], name="stage_pipeline"),
            models.Index(fields=["position", "id"], name="stage_position"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "position"],
                condition=models.Q(deleted_at__isnull=True),
                name="stage_position_per_pipeline",
            ),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="stage_probability_max"
            ),
            models.CheckConstraint(
                condition=~models.Q(is_won=True, is_lost=True), name="stage_won_or_lost"
            ),
        ]

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost

    def __str__(self) -> str:
        return self.name


class Deal(Record):
    """A sale in progress with an account: what it is worth, where it stands, when it may close.

    ``closed_at`` is set when the deal enters a won or lost stage and cleared if it reopens.
    The account link survives only as long as the account: purging one leaves its deals
    without an account rather than deleting them.
    """

    object_type: ClassVar[str] = "deal"

    name = models.CharField(max_length=200)
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        db_index=False,
    )
    contacts = models.ManyToManyField(Contact, blank=True, related_name="deals")
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="deals", db_index=False
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals", db_index=False)
    expected_close = models.DateField(null=True, blank=True)
    probability = models.PositiveSmallIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_deals",
        db_index=False,
    )

    class Meta:
        indexes = [
            recycle_bin_index("deal_deleted"),
            models.Index(fields=["stage", "id"], name="deal_stage"),
            models.Index(fields=["owner", "id"], name="deal_owner"),
            models.Index(fields=["pipeline", "id"], name="deal_pipeline"),
            models.Index(fields=["account", "id"], name="deal_account"),
            models.Index(fields=["name", "id"], name="deal_name"),
            models.Index(fields=["amount", "id"], name="deal_amount"),
            models.Index(fields=["expected_close"], name="deal_expected_close"),
            models.Index(fields=["updated_at", "id"], name="deal_updated"),
            models.Index(fields=["created_at", "id"], name="deal_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="deal_amount_min"),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="deal_probability_max"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WebForm(Record):
    """A public form on the company's web site whose submissions become leads.

    ``field_map`` maps each form field to a lead field or to ``captured.<key>``; fields it does
    not name are ignored. ``honeypot`` names a field people never see: a submission that fills
    it is a bot's, answered as if accepted but never stored.
    """

    object_type: ClassVar[str] = "web_form"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50)
    active = models.BooleanField(default=True)
    field_map = models.JSONField(default=dict, blank=True)
    source = models.CharField(
        max_length=20, choices=LeadSource.choices, default=LeadSource.WEB_FORM
    )
    lead_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Owns the leads the form creates; they are written in this user's name",
    )
    redirect_url = models.URLField(max_length=500, blank=True)
    honeypot = models.CharField(max_length=100, default="website_url")
    rate_limit = models.PositiveIntegerField(
        default=20, help_text="Submissions accepted per IP address per hour"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(deleted_at__isnull=True),
                name="web_form_slug_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class WebFormSubmission(models.Model):
    """One submission to a web form from one IP address, kept for the rate limit's window.

    Counting rows in the database (rather than in process memory) makes the limit hold across
    every ``accord serve`` process; an hourly job purges rows older than the window.
    """

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="+", db_index=False)
    ip = models.GenericIPAddressField()
    at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["form", "ip", "at"], name="web_form_submission_ip"),
            models.Index(fields=["at"], name="web_form_submission_at"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.ip} {self.at:%Y-%m-%d %H:%M}"

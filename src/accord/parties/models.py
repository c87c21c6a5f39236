"""The shared customer record: accounts (companies), their contacts (people), and tags."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from accord.core.models import Record, recycle_bin_index


class Tag(Record):
    """A label any department puts on accounts and contacts (e.g. "VIP", "trade fair 2026")."""

    object_type: ClassVar[str] = "tag"

    name = models.CharField(max_length=50, unique=True)
    color = models.CharField(max_length=7, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomField(Record):
    """An admin-defined field on one record type (e.g. "Shoe size" on contacts).

    Values live in the record's ``custom_fields`` JSON under ``key``; the key never changes once
    created, since webhook filters, saved views and integrations refer to it.
    """

    object_type: ClassVar[str] = "custom_field"

    class Type(models.TextChoices):
        TEXT = "text"
        NUMBER = "number"
        DATE = "date"
        CHOICE = "choice"
        BOOL = "bool"

    record_type = models.CharField(max_length=40)
    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True)
    help_text = models.CharField(max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["record_type", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["record_type", "key"], name="custom_field_key_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.record_type}.{self.key}"


ADDRESS_PARTS = ("street", "city", "region", "postal_code", "country")


class Account(Record):
    """A company or organisation the business deals with: customer, prospect, partner.

    Addresses are columns rather than a JSON blob so that territories can match on country,
    region and postcode in SQL.
    """

    object_type: ClassVar[str] = "account"

    class Tier(models.TextChoices):
        """The customer's service level, which SLA policies can match on (service)."""

        STANDARD = "standard"
        GOLD = "gold"
        PLATINUM = "platinum"

    name = models.CharField(max_length=200)
    website = models.CharField(max_length=255, blank=True)
    domain = models.CharField(max_length=255, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    billing_street = models.CharField(max_length=255, blank=True)
    billing_city = models.CharField(max_length=100, blank=True)
    billing_region = models.CharField(max_length=100, blank=True)
    billing_postal_code = models.CharField(max_length=20, blank=True)
    billing_country = models.CharField(max_length=2, blank=True)
    shipping_street = models.CharField(max_length=255, blank=True)
    shipping_city = models.CharField(max_length=100, blank=True)
    shipping_region = models.CharField(max_length=100, blank=True)
    shipping_postal_code = models.CharField(max_length=20, blank=True)
    shipping_country = models.CharField(max_length=2, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    # No index of its own: ``account_owner`` (owner, id) serves the foreign key too.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_accounts",
        db_index=False,
    )
    external_id = models.CharField(max_length=100, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="accounts")
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)

    class Meta:
        indexes = [
            recycle_bin_index("account_deleted"),
            models.Index(fields=["name", "id"], name="account_name"),
            models.Index(fields=["domain"], name="account_domain"),
            models.Index(fields=["owner", "id"], name="account_owner"),
            models.Index(fields=["updated_at", "id"], name="account_updated"),
            models.Index(fields=["created_at", "id"], name="account_created"),
            models.Index(fields=["external_id"], name="account_external_id"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(Record):
    """A person at an account (or on their own) whom any department talks to."""

    object_type: ClassVar[str] = "contact"

    class LifecycleStage(models.TextChoices):
        SUBSCRIBER = "subscriber"
        LEAD = "lead"
        MARKETING_QUALIFIED = "marketing_qualified"
        SALES_QUALIFIED = "sales_qualified"
        OPPORTUNITY = "opportunity"
        CUSTOMER = "customer"
        EVANGELIST = "evangelist"
        OTHER = "other"

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=200, blank=True)
    # No indexes of their own: ``contact_account`` and ``contact_owner`` lead with them.
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_contacts",
        db_index=False,
    )
    lifecycle_stage = models.CharField(
        max_length=30, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    email_opt_in = models.BooleanField(default=False)
    sms_opt_in = models.BooleanField(default=False)
    do_not_call = models.BooleanField(default=False)
    external_id = models.CharField(max_length=100, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")

    class Meta:
        indexes = [
            recycle_bin_index("contact_deleted"),
            models.Index(fields=["last_name", "id"], name="contact_last_name"),
            models.Index(fields=["first_name", "id"], name="contact_first_name"),
            models.Index(fields=["account", "id"], name="contact_account"),
            models.Index(fields=["owner", "id"], name="contact_owner"),
            models.Index(fields=["updated_at", "id"], name="contact_updated"),
            models.Index(fields=["created_at", "id"], name="contact_created"),
            models.Index(fields=["external_id"], name="contact_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or str(self.pk)


class ContactEmail(models.Model):
    """One of a contact's email addresses; position 0 is the primary one.

    Stored lower-cased in their own table so that lookup by any address is one index seek.
    """

    # Indexed by ``contact_email_position`` (contact, position).
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="email_rows", db_index=False
    )
    email = models.CharField(max_length=254)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "position"], name="contact_email_position")
        ]
        indexes = [models.Index(fields=["email"], name="contact_email_lookup")]

    def __str__(self) -> str:
        return self.email


class ContactPhone(models.Model):
    """One of a contact's phone numbers in E.164; position 0 is the primary one."""

    # Indexed by ``contact_phone_position`` (contact, position).
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="phone_rows", db_index=False
    )
    number = models.CharField(max_length=20)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "position"], name="contact_phone_position")
        ]
        indexes = [models.Index(fields=["number"], name="contact_phone_lookup")]

    def __str__(self) -> str:
        return self.number


class Attachment(Record):
    """A file (a signed contract, a photo of a broken part, …) attached to one record of any
    type, named like activities name theirs: ``related_type`` (its ``object_type``) and
    ``related_id``. Whoever may see that record sees its attachments (identity.visibility).

    The bytes live in the attachment storage (parties.storage) under ``storage_key``, addressed
    by their SHA-256, so the same file attached twice is stored once. ``content_type`` is what
    the content turned out to be, never what the uploader's name or header claimed.
    """

    object_type: ClassVar[str] = "attachment"

    related_type = models.CharField(max_length=40)
    related_id = models.UUIDField()
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=200)

    class Meta:
        indexes = [
            recycle_bin_index("attachment_deleted"),
            models.Index(
                fields=["related_type", "related_id", "created_at", "id"],
                name="attachment_related",
            ),
            models.Index(fields=["sha256"], name="attachment_sha256"),
        ]

    def __str__(self) -> str:
        return self.filename

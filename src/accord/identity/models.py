"""People and how they are organised (departments, roles, teams, territories), API tokens, the
sharing model (org-wide defaults, sharing rules, manual shares), object permissions, field-level
security and the security event log.

``visibility`` turns these rows into SQL filters; ``services`` is the only code that writes them.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from accord.core import clock
from accord.core.ids import new_id


class Department(models.Model):
    """A part of the company that works on the shared record: sales, marketing, service, …"""

    class Kind(models.TextChoices):
        SALES = "sales"
        MARKETING = "marketing"
        SERVICE = "service"
        FINANCE = "finance"
        IT = "it"
        OTHER = "other"

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A place in the reporting hierarchy (CEO → VP Sales → Sales Manager → Sales Rep).

    A manager sees and reports on what the people in the roles below theirs own. ``path`` holds
    the ids from the top down to this role (``/<id>/<id>/``), so "every role below X" is one
    indexed prefix match; ``services`` keeps it in step when a role moves.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=500, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=2000, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    #: People in this role must sign in with a second factor.
    mfa_required = models.BooleanField(default=False)
    #: Business admins: manage users, roles, permissions, sharing and field security, and read
    #: the security log, without being superusers (who also bypass all record sharing).
    manages_access = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in to Accord (staff; portal users come with the portal)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    #: None: a standard user, with every object permission (records still follow sharing).
    role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 digest is stored; the token is shown once.

    ``scopes`` holds ``"<collection>:read"`` / ``"<collection>:write"`` entries or ``"*"``.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Team(models.Model):
    """A group of people inside a department (e.g. "DACH field sales") that records can be
    shared with and that saved views and assignment rules address."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=100, unique=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="teams"
    )
    members = models.ManyToManyField(User, blank=True, related_name="teams")
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.name


class Access(models.TextChoices):
    PRIVATE = "private", "Private: owner only"
    PUBLIC_READ = "public_read", "Public read, owner edits"
    PUBLIC_READ_WRITE = "public_read_write", "Public read and write"


class Level(models.TextChoices):
    """What a grant beyond ownership allows."""

    READ = "read"
    READ_WRITE = "read_write"


class Territory(models.Model):
    """A sales territory: accounts that match any of its ``rules`` belong to it, and its members
    get ``level`` access to those accounts and to the contacts, deals and cases under them.

    A rule is an object whose keys are all required to match: ``country`` (ISO code),
    ``region`` (billing state or region), ``postcode_from`` / ``postcode_to`` (inclusive,
    compared as text), ``industry``, ``employees_min`` / ``employees_max``.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=100, unique=True)
    rules = models.JSONField(default=list)
    level = models.CharField(max_length=20, choices=Level.choices, default=Level.READ_WRITE)
    members = models.ManyToManyField(User, blank=True, related_name="territories")
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.name


class SharingDefault(models.Model):
    """The org-wide default access to one object type for people who do not own the record,
    and what the owner's department colleagues get on top of it."""

    object_type = models.CharField(max_length=40, unique=True)
    access = models.CharField(max_length=20, choices=Access.choices)
    #: Empty: no department sharing; else the owner's department colleagues get this level.
    department_level = models.CharField(max_length=20, choices=Level.choices, blank=True)

    def __str__(self) -> str:
        return f"{self.object_type}: {self.access}"


class Grantee(models.TextChoices):
    """Who a sharing rule or a manual share opens records to."""

    USER = "user"
    ROLE = "role"
    ROLE_AND_BELOW = "role_and_below"
    DEPARTMENT = "department"
    TEAM = "team"
    TERRITORY = "territory"


class SharingRule(models.Model):
    """Opens the records of one object type that match ``criteria`` to a group of people.

    Rules only ever widen access. ``criteria`` is a list of ``{"field", "op", "value"}``
    conditions that must all hold; ``visibility.criteria_q`` turns them into SQL and
    ``services`` checks them when a rule is saved.
    """

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=100)
    object_type = models.CharField(max_length=40)
    criteria = models.JSONField(default=list)
    grantee_type = models.CharField(max_length=20, choices=Grantee.choices)
    grantee_id = models.UUIDField()
    level = models.CharField(max_length=20, choices=Level.choices, default=Level.READ)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["object_type", "active"], name="sharing_rule_type")]

    def __str__(self) -> str:
        return f"{self.name} ({self.object_type})"


class RecordShare(models.Model):
    """One record shared by hand with a user or a team."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    object_type = models.CharField(max_length=40)
    record_id = models.UUIDField()
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="record_shares"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="record_shares"
    )
    level = models.CharField(max_length=20, choices=Level.choices, default=Level.READ)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "user", "record_id"], name="record_share_user"),
            models.Index(fields=["object_type", "team", "record_id"], name="record_share_team"),
            models.Index(fields=["object_type", "record_id"], name="record_share_record"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, team__isnull=True)
                | models.Q(user__isnull=True, team__isnull=False),
                name="record_share_one_grantee",
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type}/{self.record_id} → {self.user or self.team}"


class ObjectPermission(models.Model):
    """What people in a role may do with one object type. A role without a row for an object
    type may do nothing with it; a user without a role is a standard user who may do all."""

    role = models.ForeignKey(
        Role, on_delete=models.CASCADE, related_name="permissions", db_index=False
    )
    object_type = models.CharField(max_length=40)
    can_create = models.BooleanField(default=False)
    can_read = models.BooleanField(default=False)
    can_edit = models.BooleanField(default=False)
    can_delete = models.BooleanField(default=False)
    can_export = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "object_type"], name="object_permission_once")
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.object_type}"


class FieldAccess(models.TextChoices):
    HIDDEN = "hidden"
    READ_ONLY = "read_only"


class FieldPermission(models.Model):
    """Field-level security: one field of one object type hidden from, or read-only for, a
    role. ``field`` is a payload key (``annual_revenue``) or ``custom_fields.<key>``."""

    role = models.ForeignKey(
        Role, on_delete=models.CASCADE, related_name="field_permissions", db_index=False
    )
    object_type = models.CharField(max_length=40)
    field = models.CharField(max_length=100)
    access = models.CharField(max_length=20, choices=FieldAccess.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["role", "object_type", "field"], name="field_permission_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.object_type}.{self.field} {self.access}"


class SecurityEvent(models.Model):
    """One entry of the security log: sign-ins and their failures, MFA changes, token issue and
    revocation, role, permission and sharing changes, exports. Written in the same transaction
    as the change it records; never edited."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    at = models.DateTimeField(default=clock.now)
    kind = models.CharField(max_length=60)
    outcome = models.CharField(max_length=20, default="success")
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    #: The name given at sign-in, kept also when it matches no user.
    username = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["-at"], name="security_event_at"),
            models.Index(fields=["kind", "-at"], name="security_event_kind"),
            models.Index(fields=["actor", "-at"], name="security_event_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.outcome}"


class MfaDevice(models.Model):
    """A person's authenticator app: the shared TOTP secret (RFC 6238, 30-second steps, six
    digits) it derives codes from. Enrolment starts unconfirmed and counts only once the person
    has typed a code from the app (``confirmed_at``).

    ``last_used_step`` is the time step of the last code accepted, so a code seen once (over a
    shoulder, in a phishing proxy) cannot be played again within its validity.
    """

    user = models.OneToOneField(
        User, primary_key=True, on_delete=models.CASCADE, related_name="mfa_device"
    )
    secret = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"MFA of {self.user}"


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator app when it is lost. Issued ten at a
    time when MFA is enabled; only a SHA-256 digest is kept (the codes carry 80 random bits)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="recovery_codes", db_index=False
    )
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="recovery_code_once")
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user}"


class LoginThrottle(models.Model):
    """Failed sign-in attempts counted for one user name (``user:<name>``) or one client
    address (``ip:<address>``), and the lockout they led to. Kept in the database so every
    process of a deployment counts the same attempts."""

    key = models.CharField(max_length=200, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(default=clock.now)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"


class RateCounter(models.Model):
    """Requests of one user or token (``key``) in the current fixed window (``bucket``: the
    window's number since the epoch). One row per key, counted by a single UPSERT per request;
    used when Redis is not configured."""

    key = models.CharField(max_length=100, primary_key=True)
    bucket = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class AccessGeneration(models.Model):
    """One row whose ``value`` every write to the access model increments in its own
    transaction, so every process of a deployment knows when the grants it cached went stale
    (:func:`accord.identity.visibility.grants`). A missing row (a flushed test database) reads
    as generation 0."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"access model generation {self.value}"

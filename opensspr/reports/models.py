"""Pre-aggregated daily rows the insights pages read, and the reports' one setting.

The audit log is the source of every usage figure, but a page never scans it:
``reports.rollup`` folds each day's events into a few rows here (re-computing
today and yesterday each time it runs, so a late event is counted), and the
pages sum small tables. Days are calendar days in the deployment's time zone
(``OPENSSPR_TIME_ZONE``). No row names a person: counts only.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyUsage(models.Model):
    """How many events of one activity, outcome, reason and method happened on ``day``.

    ``method`` is the verification method of a failed step when the event names
    one, and for a finished reset or unlock the methods its flow passed, joined
    with "+" in a fixed order ("email+mobile_sms"), so a reset is counted once.
    ``people`` counts distinct targets (people blocked that day, for example).
    """

    day = models.DateField()
    activity = models.CharField(max_length=64)
    outcome = models.CharField(max_length=10)
    reason = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=128, blank=True)
    count = models.PositiveIntegerField()
    people = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "activity", "outcome", "reason", "method"], name="usage_once"
            )
        ]
        indexes = [models.Index(fields=["activity", "day"], name="usage_activity_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.activity} {self.outcome} {self.count}"


class DailyDuration(models.Model):
    """How many resets (or unlocks) of ``day`` took ``seconds`` from start to finish.

    A histogram at one-second resolution: the median over any range of days is
    exact to the second and reads a few hundred rows, never one row per reset.
    """

    day = models.DateField()
    activity = models.CharField(max_length=64)  # reset.completed or unlock.completed
    seconds = models.PositiveIntegerField()
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "activity", "seconds"], name="duration_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.activity} {self.seconds}s x{self.count}"


class DailyRegistration(models.Model):
    """Registration as it stood on ``day``: the trend of the registration figures."""

    day = models.DateField(unique=True)
    taken_at = models.DateTimeField()
    users = models.PositiveIntegerField(default=0)
    enabled = models.PositiveIntegerField(default=0)
    registered = models.PositiveIntegerField(default=0)
    capable = models.PositiveIntegerField(default=0)
    never_registered = models.PositiveIntegerField(default=0)
    email = models.PositiveIntegerField(default=0)
    mobile_phone = models.PositiveIntegerField(default=0)
    office_phone = models.PositiveIntegerField(default=0)
    authenticator_app = models.PositiveIntegerField(default=0)
    security_questions = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.capable}/{self.users} capable"


#: The counters of a registration snapshot, in the order the CSV export writes them.
SNAPSHOT_COUNTERS = (
    "users",
    "enabled",
    "registered",
    "capable",
    "never_registered",
    "email",
    "mobile_phone",
    "office_phone",
    "authenticator_app",
    "security_questions",
)


class DataState(models.IntegerChoices):
    """One piece of data in a ``RegistrationStatus``: absent, registered, or proven too."""

    NONE = 0
    UNPROVEN = 1
    PROVEN = 2


class RegistrationStatus(models.Model):
    """One person's registration as their last decision found it: what the report filters on.

    The registration report filters, counts and pages a million people; deciding
    each of them on every page would take minutes (``reports.status``). So each
    decision is kept here, and the report asks SQL. A row is *current* when it was
    decided under the current ``generation`` (bumped when the policy or the group
    tree changes) and nothing about the person changed since (``stale_since`` is
    null). Secret-free: kinds, counts and dates, as ``reports.registered``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="registration_status",
    )
    enabled = models.BooleanField()
    registered = models.BooleanField()
    capable = models.BooleanField()
    reason = models.CharField(max_length=40, blank=True)  # a policy.eligibility.Reason
    email = models.PositiveSmallIntegerField(choices=DataState.choices, default=DataState.NONE)
    mobile_phone = models.PositiveSmallIntegerField(
        choices=DataState.choices, default=DataState.NONE
    )
    office_phone = models.PositiveSmallIntegerField(
        choices=DataState.choices, default=DataState.NONE
    )
    authenticator_app = models.PositiveSmallIntegerField(
        choices=DataState.choices, default=DataState.NONE
    )
    security_questions = models.PositiveSmallIntegerField(
        choices=DataState.choices, default=DataState.NONE
    )
    unproven = models.BooleanField(default=False)
    confirmed_apps = models.PositiveIntegerField(default=0)
    answers = models.PositiveIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True)
    generation = models.PositiveIntegerField()
    decided_at = models.DateTimeField()
    #: When something about the person changed after ``decided_at``; null when current.
    stale_since = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["generation"], name="status_generation"),
            models.Index(
                fields=["stale_since"],
                condition=models.Q(stale_since__isnull=False),
                name="status_stale",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: capable={self.capable}"


class RollupState(models.Model):
    """Where the rollup stands (pk=1): when usage last ran, and the snapshot in progress.

    The registration snapshot evaluates every person, so the worker takes it a
    chunk per turn (``cursor`` is the last user pk decided again) and never holds
    up deliveries for long.
    """

    usage_at = models.DateTimeField(null=True)  # last run (today at least)
    both_days_at = models.DateTimeField(null=True)  # last run that re-computed yesterday too
    snapshot_day = models.DateField(null=True)
    snapshot_started_at = models.DateTimeField(null=True)  # None: no count under way
    snapshot_cursor = models.BigIntegerField(default=0)
    snapshot_seconds = models.FloatField(default=0)  # how long the last whole count took
    #: Bumped when every ``RegistrationStatus`` must be decided again (the policy changed).
    status_generation = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"rollup at {self.usage_at}"


class ReportSettings(models.Model):
    """How the insights value self-service (pk=1), edited in the console."""

    cost_per_ticket = models.DecimalField(
        _("cost of a helpdesk ticket"),
        max_digits=9,
        decimal_places=2,
        default=Decimal("25.00"),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_(
            "What one password call to the helpdesk costs your organisation. The insights "
            "multiply it by the resets and unlocks people did themselves."
        ),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="EUR",
        help_text=_("The ISO 4217 code shown with the amount, such as EUR or USD."),
    )

    class Meta:
        verbose_name = _("insights settings")
        verbose_name_plural = _("insights settings")

    def __str__(self) -> str:
        return str(_("Insights settings"))

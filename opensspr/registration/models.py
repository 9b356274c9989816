"""Bookkeeping of a person's security info: when it was last confirmed, what they proved.

The registered data itself lives where the reset flow reads it: email and phone
numbers on the directory user (an administrator may set them too, reference
§8.3), apps and answers in ``methods``. This row says which of those values the
person proved themselves (an administrator's entry is usable but unproven) and
when they last confirmed the whole set, which drives reconfirmation (§8.4).
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from opensspr.methods.models import CodeChallengeState

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class RegistrationState(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registration_state"
    )
    # Last time the person registered or reconfirmed their info; null: never.
    confirmed_at = models.DateTimeField(_("last confirmed"), null=True, blank=True)
    # When the person proved the value now stored; cleared when an administrator sets it.
    auth_email_proven_at = models.DateTimeField(null=True, blank=True)
    mobile_phone_proven_at = models.DateTimeField(null=True, blank=True)
    office_phone_proven_at = models.DateTimeField(null=True, blank=True)
    # The registration campaign (registration/campaign.py): reminders sent, the last one when.
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("registration state")
        verbose_name_plural = _("registration states")

    def __str__(self) -> str:
        return f"registration of {self.user}"


class RegistrationCampaign(models.Model):
    """Email reminders to people in scope who can't reset yet (one row, pk 1; off by default).

    The worker walks the directory in steps (``cursor``) and reminds whoever still lacks the
    methods the policy asks for, at most ``max_reminders`` times, ``interval_days`` apart.
    """

    enabled = models.BooleanField(
        _("remind people who can't reset yet"),
        default=False,
        help_text=_(
            "By email to their work address, with a link to register their security info. "
            "Only people in scope for self-service reset who haven't registered enough "
            "methods are reminded; it stops as soon as they have."
        ),
    )
    interval_days = models.PositiveSmallIntegerField(
        _("days between reminders"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("1 to 30."),
    )
    max_reminders = models.PositiveSmallIntegerField(
        _("reminders per person"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_(
            "How many reminders a person may let go by before they are no longer sent; "
            "1 to 10. The sign-in prompt still asks them, if it is on."
        ),
    )
    # The worker's walk: the last user primary key reminded or passed over, and when this
    # pass began (a new pass starts an hour after the last one began, at the soonest).
    cursor = models.BigIntegerField(default=0)
    pass_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("registration campaign")
        verbose_name_plural = _("registration campaign")

    def __str__(self) -> str:
        return str(_("Registration campaign"))


class ProofPurpose(models.TextChoices):
    """What a proof is for: the person's identity, or possession of a new value."""

    IDENTITY = "identity", _("identity")
    AUTH_EMAIL = "auth_email", _("authentication email")
    MOBILE_PHONE = "mobile_phone", _("mobile phone")
    OFFICE_PHONE = "office_phone", _("office phone")
    AUTHENTICATOR_APP = "authenticator_app", _("authenticator app")


class Proof(CodeChallengeState):
    """One attempt to prove something while managing security info, in one browser session.

    An identity proof (a code, call or app code through an already registered
    method, or the password when nothing is registered) opens a short window in
    which that session may change methods (security bar A18). A proof of a new
    email address or number holds the value until a code sent to it, or a call
    to it, comes back: an unproven value never reaches the directory user.
    Codes are stored as keyed digests bound to ``ref``; nothing here is secret
    in clear. The code's state (``kind``, tries, answered, consumed) is the shared
    ``CodeChallengeState``; ``methods.challenges`` moves it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Keyed digest of the opaque handle the browser session holds (registration/session.py).
    session_digest = models.CharField(max_length=64, db_index=True)
    purpose = models.CharField(max_length=24, choices=ProofPurpose.choices)
    ref = models.CharField(max_length=32, unique=True)  # random; what code digests are bound to
    value = models.CharField(max_length=254, blank=True)  # the new address or E.164 number
    app = models.ForeignKey(
        "methods.AuthenticatorApp",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    code_digest = models.CharField(max_length=64, blank=True)
    # Identity proofs by email, text or call: keyed digest of the stored value the
    # code or call went to (``identity.destination_digest``). The proof, and the
    # window it opens, count only while that very value is still stored.
    destination_digest = models.CharField(max_length=64, blank=True)
    # Of the tries, the wrong ones: what the hourly limit over all proofs counts.
    failures = models.PositiveSmallIntegerField(default=0)
    proven_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("security info proof")
        verbose_name_plural = _("security info proofs")
        indexes = [models.Index(fields=["user", "issued_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} proof of {self.user_id} by {self.kind}"


# --- Temporary access passes ------------------------------------------------------------
# They live here, in registration, because registering security info is all a pass
# opens: signing in with one lands in /security-info and nowhere else, and it proves
# the person the way a code does (``identity.ACCESS_PASS``). A pass is never a method
# and never a reset gate: the reset flow doesn't know this model.

PASS_LIFETIME_MIN = 10  # minutes
PASS_LIFETIME_MAX = 30 * 24 * 60  # 30 days, in minutes
PASS_LENGTH_MIN = 8
PASS_LENGTH_MAX = 48


def _minutes_field(
    label: "StrOrPromise", default: int, help_text: "StrOrPromise"
) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        label,
        default=default,
        validators=[MinValueValidator(PASS_LIFETIME_MIN), MaxValueValidator(PASS_LIFETIME_MAX)],
        help_text=help_text,
    )


class AccessPassPolicy(models.Model):
    """The organisation's rules for temporary access passes (one row, pk 1; defaults absent one)."""

    default_lifetime_minutes = _minutes_field(
        _("default lifetime (minutes)"), 60, _("Offered when issuing a pass; 10 to 43200.")
    )
    max_lifetime_minutes = _minutes_field(
        _("maximum lifetime (minutes)"),
        8 * 60,
        _("No pass lives longer; 10 minutes to 30 days (43200 minutes)."),
    )
    one_time_by_default = models.BooleanField(
        _("one-time use by default"),
        default=True,
        help_text=_(
            "A one-time pass works for one sign-in; a pass read out over the phone is "
            "safest spent once."
        ),
    )
    length = models.PositiveSmallIntegerField(
        _("length (characters)"),
        default=16,
        validators=[MinValueValidator(PASS_LENGTH_MIN), MaxValueValidator(PASS_LENGTH_MAX)],
        help_text=_("8 to 48 characters."),
    )

    class Meta:
        verbose_name = _("temporary access pass policy")
        verbose_name_plural = _("temporary access pass policy")

    def __str__(self) -> str:
        return str(_("Temporary access pass policy"))

    def clean(self) -> None:
        if self.default_lifetime_minutes > self.max_lifetime_minutes:
            raise ValidationError(
                {"default_lifetime_minutes": _("The default can't be longer than the maximum.")}
            )


class AccessPass(models.Model):
    """A person's temporary access pass: at most one, replaced when a new one is issued.

    Only a keyed digest of the pass is kept (it is random and long, so a keyed
    digest is as good as a slow hash and compares in constant time); the pass
    itself is shown once to the administrator who issued it. ``ref`` is new at
    every issue: a session opened with a pass remembers it, so replacing or
    revoking the pass ends that session too.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_pass"
    )
    ref = models.CharField(max_length=32, unique=True)
    digest = models.CharField(max_length=64)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    one_time = models.BooleanField(default=True)
    uses = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("temporary access pass")
        verbose_name_plural = _("temporary access passes")

    def __str__(self) -> str:
        return f"access pass of {self.user_id}"

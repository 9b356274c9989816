"""Registered authentication data that the directory's user fields don't hold.

Email and phone numbers live on the directory user (an administrator may set
them, reference §8.3). An authenticator app's TOTP seed is sealed at rest (we
must read it back to compute codes); security answers are argon2id hashes of
their normalised form (we only ever compare). Neither is ever shown again, to
the user or to an administrator.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class AuthenticatorApp(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authenticator_apps"
    )
    name = models.CharField(_("name"), max_length=64, default="Authenticator app")
    secret_sealed = models.TextField(editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Set once the first code proved the app works.")
    )
    # The last TOTP time step accepted: a code is never accepted twice (attack A8).
    last_used_step = models.BigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


class SecurityAnswer(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_answers"
    )
    # "predefined:<n>" for the 35 built-in questions, "custom:<id>" for the organisation's.
    question_key = models.CharField(max_length=32)
    answer_hash = models.CharField(max_length=256, editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    # Set while the question is in the user's current reset selection. The same
    # questions are asked again until answered correctly, so reloading or starting
    # new flows can't shop for easier ones (security bar A3, OWASP SQ-4).
    selected_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("security answer")
        verbose_name_plural = _("security answers")
        constraints = [
            models.UniqueConstraint(fields=["user", "question_key"], name="methods_question_once")
        ]

    def __str__(self) -> str:
        return f"{self.question_key} ({self.user})"


class CodeChallengeState(models.Model):
    """The state every "we sent you a code / we called you" keeps, whoever asked.

    Reset gates (``resets.Challenge``) and security-info proofs
    (``registration.Proof``) both store it; ``methods.challenges`` is the only
    code that moves it: a try reserved by one conditional UPDATE before an
    answer is compared, a call answered once, consumed once. No code or token is
    kept in clear, only keyed digests.
    """

    kind = models.CharField(max_length=24)  # a MethodKind value (or "password" for a proof)
    voice_token_digest = models.CharField(max_length=64, blank=True, db_index=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # Answers compared, reserved one conditional UPDATE at a time before comparing,
    # so parallel requests holding stale copies can't compare more than the limit.
    tries = models.PositiveSmallIntegerField(default=0)
    answered_at = models.DateTimeField(null=True, blank=True)  # the call was answered with #
    consumed_at = models.DateTimeField(null=True, blank=True)  # used, replaced or given up

    class Meta:
        abstract = True

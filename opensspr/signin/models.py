"""Smart-lockout state, one row per typed user ID, known or not.

Keying by what was typed (as a keyed digest), not by user, is what keeps
lockout from revealing which accounts exist: an unknown ID locks after the same
number of failures and shows the same message (attack A1). The table holds no
user IDs and no passwords in clear: only keyed digests.
"""

from django.db import models


class SignInLockout(models.Model):
    key = models.CharField(max_length=64, unique=True)
    failed_count = models.PositiveIntegerField(default=0)
    lockout_level = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # Keyed digests of the last three distinct wrong passwords (repeats don't count).
    recent_failures = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"lockout {self.key[:8]}"


class FamiliarSource(models.Model):
    """A client network from which a user ID recently signed in successfully.

    Failures from familiar networks are counted apart from the rest (reference
    §5.4: separate counters for familiar and unfamiliar locations), so someone
    guessing from elsewhere can lock the unfamiliar counter but not the person
    signing in from their usual place. Both columns are keyed digests.
    """

    key = models.CharField(max_length=64)
    network = models.CharField(max_length=64)
    last_success_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "network"], name="signin_familiar_once")
        ]

    def __str__(self) -> str:
        return f"familiar {self.key[:8]}/{self.network[:8]}"

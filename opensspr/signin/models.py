"""Where a user ID signs in from. (Smart-lockout counts are throttles: ``signin.lockout``.)

Lockout is keyed by what was typed (as a keyed digest), not by user, which is
what keeps it from revealing which accounts exist: an unknown ID locks after the
same number of failures and shows the same message (attack A1).
"""

from django.db import models


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

"""Throttle counts kept in the database: one row per subject and scope, its uses inside.

A subject row is what every counting transaction locks (an upsert, or
``select_for_update``), so parallel requests can't slip past a limit (attack A2's
race); its uses live in the row (``throttles.uses`` says why). Keys are keyed
digests of what the rule counts (a typed user ID, an address): the table holds
no identifier, address or password in clear.
"""

from django.db import models


class Subject(models.Model):
    scope = models.CharField(max_length=32)
    key = models.CharField(max_length=64)  # keyed digest, bound to the scope
    blocked_until = models.DateTimeField(null=True, blank=True)
    blocked_by = models.CharField(max_length=48, blank=True)  # the rule that set the penalty
    level = models.PositiveSmallIntegerField(default=0)  # penalties in a row (back-off)
    last_use_at = models.DateTimeField(null=True, blank=True)  # for quiet-reset rules
    # Keyed digests of the last distinct uses (smart lockout's last 3 wrong passwords).
    recent = models.JSONField(default=list)
    # The counted uses of the scope's rules: {token: [rule, microseconds since the epoch]}.
    uses = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="throttles_subject_once")
        ]
        # The few subjects under a penalty now, among everyone who ever tried (reports).
        indexes = [
            models.Index(
                fields=["scope", "blocked_until"],
                condition=models.Q(blocked_until__isnull=False),
                name="throttles_subject_blocked",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:8]}"

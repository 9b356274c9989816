"""Reset-flow state that must survive processes: SSPR throttles (reference §5.1).

Throttles are counted per typed user ID (as a keyed digest), whether or not the
account exists, so being throttled reveals nothing (attack A1). They live in the
database, not the cache: losing Redis must not reset a security counter (F12).
"""

from django.db import models


class ThrottleSubject(models.Model):
    """One per throttled user ID; the row every counting transaction locks."""

    key = models.CharField(max_length=64, unique=True)
    blocked_until = models.DateTimeField(null=True, blank=True)
    blocked_by = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"throttle {self.key[:8]}"


class ThrottleEvent(models.Model):
    subject = models.ForeignKey(ThrottleSubject, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=32)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["subject", "action", "at"])]

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%H:%M:%S}"

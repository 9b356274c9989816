"""Audit events: an append-only record of every step and every change.

A row says who did what to whom, with which outcome and reason code, from where
and in which correlated flow. It never holds a password, code, answer or secret:
``audit.services.record_event`` refuses detail keys that could carry one, and
the canary tests scan every row for planted secrets.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opensspr.audit.activities import UnknownActivityError, to_activity


class Outcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    activity = models.CharField(_("activity"), max_length=64, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("reason code"), max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor"), max_length=256, blank=True)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("target user"),
    )
    target_label = models.CharField(_("target"), max_length=256, blank=True)
    correlation_id = models.CharField(_("correlation ID"), max_length=64, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # The tamper-evident chain (audit.chain): set once, by the sealer, shortly after commit.
    chain_seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ("-occurred_at", "-id")
        indexes = [models.Index(fields=["target", "-occurred_at"])]

    def __str__(self) -> str:
        """Its time and what happened, in words (the console's row labels read this)."""
        try:
            what = str(to_activity(self.activity).label)
        except UnknownActivityError:  # written by another release: shown as stored
            what = self.activity
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {what} ({self.get_outcome_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Audit events are append-only.")


class ChainHead(models.Model):
    """The chain's last link (pk=1): the sealer appends after it, under its row lock.

    ``anchor_seq``/``anchor_hash`` are where verification starts: the chain's
    beginning, or, once retention pruned older events, the link they ended on.
    """

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="")
    anchor_seq = models.BigIntegerField(default=0)
    anchor_hash = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"audit chain at {self.seq}"


class ForwardingCursor(models.Model):
    """How far syslog forwarding got (pk=1): the last chain link the receiver took.

    Forwarding follows the chain (``AuditEvent.chain_seq``), not the row id: links
    are handed out in commit order under the chain head's lock, so an event whose
    transaction commits late is never skipped. ``last_seq`` moves only after the
    receiver took the events. The lease (``lease_token``/``lease_until``, taken by a
    conditional UPDATE, on PostgreSQL and SQLite alike) keeps two workers from
    sending the same events at once without a transaction held open over the network.
    """

    last_seq = models.BigIntegerField(default=0)
    last_event_id = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # None: never ran yet
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # in a row: the retry backs off
    forwarded_total = models.BigIntegerField(default=0)
    next_run_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"syslog forwarding at {self.last_seq}"

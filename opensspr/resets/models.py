"""Reset-flow state that must survive processes: flows, their challenges, help and
recovery requests.

The §5.1 throttles live in the ``throttles`` app (rules of scope ``sspr``),
counted per typed user ID (``ResetFlow.subject``), known account or not.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from opensspr.methods.models import CodeChallengeState


class FlowState(models.TextChoices):
    CHOOSE_OPERATION = "choose_operation"  # "Why are you having trouble signing in?"
    VERIFY = "verify"  # at a verification gate
    NEW_PASSWORD = "new_password"  # noqa: S105 (a state name, not a password)
    WRITING = "writing"  # the new password is on its way to the on-premises directory
    DONE = "done"
    BLOCKED = "blocked"  # throttled, or can't go further; terminal


class Operation(models.TextChoices):
    RESET = "reset"
    UNLOCK = "unlock"


class ResetFlow(models.Model):
    """One person's attempt to reset or unlock, from user ID to done.

    The browser (or API client) holds only an opaque handle; this row holds its
    keyed digest, which changes at every step, so an old handle is dead. Unknown
    user IDs get a flow too (``user`` is null, ``decoy`` true), so every ID walks
    the same path (attack A1).
    """

    handle_digest = models.CharField(max_length=64, unique=True)
    subject = models.CharField(max_length=64)  # throttle subject: keyed digest of the typed ID
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    decoy = models.BooleanField(default=False)  # can never succeed: unknown or not eligible
    reason = models.CharField(max_length=32, blank=True)  # eligibility reason code, if any
    state = models.CharField(max_length=20, choices=FlowState.choices)
    operation = models.CharField(max_length=10, choices=Operation.choices, blank=True)
    gates_required = models.PositiveSmallIntegerField(default=1)
    # [{"kind": ..., "channel": keyed digest}] for every gate passed, in order.
    gates_passed = models.JSONField(default=list)
    decoy_kinds = models.JSONField(default=list)
    password_attempts = models.PositiveSmallIntegerField(default=0)
    # The client network the start asked about (a keyed digest, ``signin.sources``) and
    # whether the person signed in from it lately: later steps from the same network
    # count their wrong answers by it without asking again (attack A21).
    network = models.CharField(max_length=64, blank=True, default="")
    network_familiar = models.BooleanField(default=False)
    correlation_id = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)  # optimistic lock for every transition

    def __str__(self) -> str:
        return f"flow {self.pk} {self.state}"


class Challenge(CodeChallengeState):
    """What a gate asked of the person: a code sent, a call placed, questions chosen.

    The code's state (tries, answered, consumed) is the shared
    ``CodeChallengeState``; ``methods.challenges`` moves it.
    """

    flow = models.ForeignKey(ResetFlow, on_delete=models.CASCADE, related_name="challenges")
    channel = models.CharField(max_length=64, blank=True)  # keyed digest of the destination
    secret_digest = models.CharField(max_length=64, blank=True)  # keyed digest of the code
    question_keys = models.JSONField(default=list)
    # Where the code went or the call was placed, masked: the person typed it in full.
    shown_as = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} challenge of flow {self.flow_id}"


class HeldHelp(models.Model):
    """Help requests one administrator wasn't emailed about: their hourly cap was reached.

    A flood of "contact your administrator" clicks (attack A5) would otherwise put
    hundreds of emails in one inbox. Past the cap the requests are counted here and
    sent as one digest once the administrator's hour frees.
    """

    admin = models.OneToOneField(
        "accounts.User", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    user_ids = models.JSONField(default=list)  # who asked, distinct, the first 20
    count = models.PositiveIntegerField(default=0)
    since = models.DateTimeField()
    next_try_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.count} help requests held for {self.admin_id}"


class HelpRequest(models.Model):
    """A "contact your administrator" request, fanned out beside the request (attack A1).

    Written for every flow that asks, known user or not, so the request costs the
    same whoever it is about; the delivery loop later emails the administrators
    (or, for an ID nobody can help, nobody) and stamps ``processed_at``.
    """

    flow = models.ForeignKey(ResetFlow, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    correlation_id = models.CharField(max_length=64)
    language = models.CharField(max_length=16, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Asked through "I have none of these": the email points to the recovery queue.
    recovery = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"help request {self.pk} of flow {self.flow_id}"


class RecoveryState(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class RecoveryOutcome(models.TextChoices):
    PASS_ISSUED = "pass_issued", _("Temporary access pass issued")
    NOT_CONFIRMED = "not_confirmed", _("Identity not confirmed")
    WITHDRAWN = "withdrawn", _("No longer needed")


class RecoveryRequest(models.Model):
    """ "I have none of these": a person who lost every method asks the helpdesk to get back in.

    Written for every flow that asks, known user ID or not (``user`` null: nobody's,
    never shown in the queue), so asking answers alike for every ID (attack A1).
    The helpdesk takes it, confirms the identity by the organisation's own
    procedure (``checklist`` keys ticked and a free-text ``note``), issues a
    temporary access pass and closes it. ``reference`` is shown to the person so
    they can quote it when the helpdesk calls back.
    """

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    user = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("person"),
    )
    state = models.CharField(
        _("state"), max_length=12, choices=RecoveryState.choices, default=RecoveryState.OPEN
    )
    created_at = models.DateTimeField(_("asked at"))
    correlation_id = models.CharField(max_length=64)
    taken_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("taken by"),
    )
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    checklist = models.JSONField(_("identity checks done"), default=list, blank=True)
    note = models.TextField(_("note"), blank=True)
    identity_confirmed_at = models.DateTimeField(_("identity confirmed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=RecoveryOutcome.choices, blank=True
    )

    class Meta:
        verbose_name = _("recovery request")
        verbose_name_plural = _("recovery requests")
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["state", "-created_at"])]

    def __str__(self) -> str:
        return self.reference

"""Recovery when every method is lost: the request, and the helpdesk working it.

The person's "I have none of these" on the reset portal writes a request into
the helpdesk's queue. The helpdesk takes it, confirms the identity by the
organisation's own procedure (the checks ticked from ``CHECKLIST`` and a
free-text note), issues a temporary access pass from it and closes it. The
person signs in with the pass and registers methods again; a pass is never a
reset gate, so the password is reset afterwards with those methods.

Invariants kept here:

* Asking answers alike for every typed ID (attack A1): the same reference-shaped
  answer, the same throttles (per typed ID and per address, counted for every
  ID), one audit row either way. A request for an ID nobody has is written too
  (``user`` null) and never shown in the queue.
* One open request per person: asking again gives the open one a new reference
  (the latest one counts), so a repeated ask can't tell a known ID by its answer.
* Every helpdesk step is under ``accounts.authority.may_act`` (``WORK_RECOVERY``)
  and audited. The note is stored on the request, never in the audit row (it
  may hold personal details); the audit names the checks ticked.
* A pass is issued only once the identity was confirmed on the request.
* The helpdesk hears of a new request by email, through the "contact your
  administrator" fan-out (``resets.helpdesk``: written for every ID, sent from the
  delivery loop to the administrators of reference §9.3, nothing for an ID nobody has).
"""

import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from opensspr.accounts.authority import HelpdeskAction, may_act
from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.registration.access_passes import IssuedPass, issue_access_pass
from opensspr.resets.flow import audit, load_flow
from opensspr.resets.helpdesk import HelpdeskKind, get_helpdesk_link, record_help_request
from opensspr.resets.models import (
    HelpRequest,
    RecoveryOutcome,
    RecoveryRequest,
    RecoveryState,
    ResetFlow,
)
from opensspr.throttles import rules, service

#: The identity checks the helpdesk may tick; at least one, and a note, confirm.
CHECKLIST = {
    "callback": _(
        "Called the person back on a number from a trusted record (HR, company directory), "
        "not one given in this request"
    ),
    "photo_id": _("Checked a photo ID in person or on a video call"),
    "manager": _("Their manager or a colleague who knows them confirmed it's them"),
    "reference": _("They told me the request reference shown to them"),
}
_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _new_reference() -> str:
    return "R-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def request_recovery(*, handle: str, meta: RequestMeta) -> str:
    """Put the person behind this flow in the helpdesk's queue; returns the reference to show.

    Raises ``FlowError`` only for a flow that is gone or expired, as any step
    does. Throttled, the answer is a fresh reference all the same (nothing is
    written but the audit row), so the page can't tell anyone more than "asked".
    """
    now = clock.now()
    flow = load_flow(handle, now)
    user = flow.user if flow.user is not None and flow.user.account_enabled else None
    per_id = service.hit(rules.SSPR_RECOVERY, flow.subject, now=now).allowed
    per_address = service.hit(
        rules.SSPR_RECOVERY_PER_ADDRESS, meta.ip_address or "-", now=now
    ).allowed
    if not (per_id and per_address):
        with transaction.atomic():
            audit(
                flow,
                Activity.RECOVERY_REQUESTED,
                meta,
                outcome=Outcome.FAILURE,
                reason="throttled",
            )
        return _new_reference()
    reference = _new_reference()
    with transaction.atomic():
        open_one = (
            RecoveryRequest.objects.filter(user=user, state__in=_UNFINISHED).first()
            if user
            else None
        )
        if open_one is None:
            open_one = RecoveryRequest.objects.create(
                reference=reference,
                user=user,
                created_at=now,
                correlation_id=meta.correlation_id[:64],
                state=RecoveryState.OPEN if user else RecoveryState.DONE,
            )
        else:  # asked again: a new reference, so a repeat looks like any first ask (A1)
            open_one.reference = reference
            open_one.save(update_fields=["reference"])
        if _tell_the_helpdesk(flow):
            record_help_request(flow, meta, now, recovery=True)
        audit(
            flow,
            Activity.RECOVERY_REQUESTED,
            meta,
            outcome=Outcome.SUCCESS if user else Outcome.FAILURE,
            reason="" if user else (flow.reason or "unknown_user"),
            details={"reference": open_one.reference} if user else None,
        )
    return open_one.reference


_UNFINISHED = (RecoveryState.OPEN, RecoveryState.IN_PROGRESS)


def count_waiting() -> int:
    """Recovery requests of real people that nobody has taken yet: the console home's
    to-do (those of IDs nobody holds are never shown)."""
    return RecoveryRequest.objects.filter(state=RecoveryState.OPEN, user__isnull=False).count()


def _tell_the_helpdesk(flow: ResetFlow) -> bool:
    """Email the helpdesk (``resets.helpdesk``'s recipients), once per flow, any ID alike.

    Only when the organisation left "contact your administrator" at its default:
    with its own helpdesk link it chose its own channel, and the queue is there.
    """
    if get_helpdesk_link().kind != HelpdeskKind.REQUEST:
        return False
    return not HelpRequest.objects.filter(flow=flow).exists()


def _check(actor: User, request: RecoveryRequest) -> User:
    person = request.user
    if person is None or not may_act(actor, person, HelpdeskAction.WORK_RECOVERY):
        raise PermissionDenied("this administrator's roles don't reach this person")
    if request.state == RecoveryState.DONE:
        raise ValidationError(_("This request is closed."), code="closed")
    return person


def _record(
    activity: Activity,
    actor: User,
    person: User,
    request: RecoveryRequest,
    meta: RequestMeta,
    **details: object,
) -> None:
    record_event(
        activity=activity,
        outcome=Outcome.SUCCESS,
        meta=meta,
        actor=actor,
        target=person,
        details={"reference": request.reference, **details},
    )


def take_request(*, actor: User, request: RecoveryRequest, meta: RequestMeta) -> None:
    """The helpdesk starts on it: in progress, and whose it is."""
    person = _check(actor, request)
    now = clock.now()
    with transaction.atomic():
        request.state, request.taken_by, request.taken_at = RecoveryState.IN_PROGRESS, actor, now
        request.save(update_fields=["state", "taken_by", "taken_at"])
        _record(Activity.RECOVERY_TAKEN, actor, person, request, meta)


def confirm_identity(
    *, actor: User, request: RecoveryRequest, checks: list[str], note: str, meta: RequestMeta
) -> None:
    """Record how the identity was confirmed: at least one check and a note."""
    person = _check(actor, request)
    ticked = [key for key in CHECKLIST if key in set(checks)]
    if not ticked or not note.strip():
        raise ValidationError(
            _("Tick at least one check you did and write how you confirmed it's them."),
            code="incomplete",
        )
    now = clock.now()
    with transaction.atomic():
        request.checklist, request.note = ticked, note.strip()[:2000]
        request.identity_confirmed_at = now
        if request.state == RecoveryState.OPEN:
            request.state, request.taken_by, request.taken_at = (
                RecoveryState.IN_PROGRESS,
                actor,
                now,
            )
        request.save()
        _record(Activity.RECOVERY_IDENTITY_CONFIRMED, actor, person, request, meta, checks=ticked)


def issue_pass_for_request(
    *,
    actor: User,
    request: RecoveryRequest,
    lifetime_minutes: int,
    one_time: bool,
    meta: RequestMeta,
) -> IssuedPass:
    """A temporary access pass for the person, once their identity was confirmed; closes it."""
    person = _check(actor, request)
    if request.identity_confirmed_at is None:
        raise ValidationError(_("Confirm the person's identity first."), code="unconfirmed")
    with transaction.atomic():
        issued = issue_access_pass(
            actor=actor,
            user=person,
            lifetime_minutes=lifetime_minutes,
            one_time=one_time,
            meta=meta,
        )
        _close(actor, person, request, RecoveryOutcome.PASS_ISSUED, meta)
    return issued


def close_request(
    *, actor: User, request: RecoveryRequest, outcome: RecoveryOutcome, meta: RequestMeta
) -> None:
    """Close without a pass: the identity wasn't confirmed, or it's no longer needed."""
    person = _check(actor, request)
    with transaction.atomic():
        _close(actor, person, request, outcome, meta)


def _close(
    actor: User,
    person: User,
    request: RecoveryRequest,
    outcome: RecoveryOutcome,
    meta: RequestMeta,
) -> None:
    now = clock.now()
    request.state, request.outcome, request.closed_at = RecoveryState.DONE, outcome, now
    if request.taken_by_id is None:
        request.taken_by, request.taken_at = actor, now
    request.save()
    record_event(
        activity=Activity.RECOVERY_CLOSED,
        outcome=Outcome.SUCCESS,
        reason=outcome.value,
        meta=meta,
        actor=actor,
        target=person,
        details={"reference": request.reference},
    )


def count_open_requests() -> int:
    return RecoveryRequest.objects.filter(user__isnull=False, state__in=_UNFINISHED).count()

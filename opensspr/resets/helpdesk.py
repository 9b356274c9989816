"""“Contact your administrator”: where the link leads, and the default help request.

The SSPR policy's *custom helpdesk email or URL* decides the link (reference
§2.6): a web address opens in a new tab, an email address opens a mail, and
anything else (empty, or a value that is neither) means the default: a request
emailed to the administrators who can help (reference §9.3).

Invariants of :func:`request_admin_help`:

* The person sees the same answer whatever happened, so the request reveals
  nothing about the user ID (attack A1). It counts against the typed ID's email
  throttle for every flow, known or not, so being throttled is equal too.
* Only an existing, enabled account is helped; an unknown user ID sends nothing.
  Known users who can't reset themselves (no methods, not in scope) are exactly
  the people the administrators must hear from (reference §1.4), so they are
  helped although their flow is a decoy; the administrators' mail is invisible
  to whoever typed the ID.
* One request per flow: clicking again asks nobody again and spends nothing of
  the typed ID's email allowance (so one captcha can't exhaust it, attack A21).
  At most one message per administrator per flow (the idempotency key), to at
  most 100 administrators, in a stable order.
* The request writes one row and one audit event for every ID; the fan-out
  happens in the delivery loop, so its cost can't show who was asked about.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from opensspr.accounts.models import User
from opensspr.accounts.roles import AdminRole
from opensspr.accounts.selectors import get_organisation, list_administrators
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.channels import (
    MessageKind,
    OutgoingMessage,
    enqueue_message,
    run_due_work_after_commit,
)
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.helpdesk import HelpdeskKind, HelpdeskLink, helpdesk_link_for
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.resets.flow import audit, load_flow
from opensspr.resets.models import HeldHelp, HelpRequest, ResetFlow
from opensspr.throttles import rules, service

MAX_RECIPIENTS = 100
DIGEST_RETRY = timedelta(minutes=5)  # how often a held digest looks for a freed hour
DIGEST_NAMES = 20  # user IDs named in a digest; the rest are counted

#: Who receives a help request, in order: the first tier with anyone in it (§9.3).
RECIPIENT_TIERS: tuple[frozenset[AdminRole], ...] = (
    frozenset({AdminRole.PASSWORD, AdminRole.HELPDESK}),
    frozenset({AdminRole.USER}),
    frozenset({AdminRole.GLOBAL}),
)


def get_helpdesk_link() -> HelpdeskLink:
    return helpdesk_link_for(get_sspr_policy().helpdesk_contact)


def list_help_recipients(*, requester: User | None = None) -> list[User]:
    """The administrators a help request goes to: the first non-empty tier, at most 100."""
    for roles in RECIPIENT_TIERS:
        admins = list_administrators(set(roles)).exclude(email="")
        if requester is not None:
            admins = admins.exclude(pk=requester.pk)
        found = list(admins.order_by("user_id_key")[:MAX_RECIPIENTS])
        if found:
            return found
    return []


def request_admin_help(*, handle: str, meta: RequestMeta) -> None:
    """Ask the administrators to help the person behind this flow (reference §9.3).

    Raises ``FlowError`` only for a flow that is gone or expired, exactly as for
    any other step; every other outcome returns nothing, so the caller answers
    the same way whoever the user ID is. The request itself only records the
    ask: the emails go out from the delivery loop (:func:`process_help_requests`),
    so looking up and writing to the administrators takes no time here.
    """
    now = clock.now()
    flow = load_flow(handle, now)
    if get_helpdesk_link().kind != HelpdeskKind.REQUEST:
        return  # the organisation chose its own helpdesk; the page links to it
    if HelpRequest.objects.filter(flow=flow).exists():
        return  # asked already: another click neither asks again nor spends the allowance
    if not service.hit(rules.SSPR_HELP_PER_ADDRESS, meta.ip_address or "-", now=now).allowed:
        audit(
            flow,
            Activity.RESET_ADMIN_HELP_REQUESTED,
            meta,
            outcome=Outcome.FAILURE,
            reason="throttled",
        )
        return
    helpable = flow.user is not None and flow.user.account_enabled
    with transaction.atomic():
        record_help_request(flow, meta, now)
        audit(
            flow,
            Activity.RESET_ADMIN_HELP_REQUESTED,
            meta,
            outcome=Outcome.SUCCESS if helpable else Outcome.FAILURE,
            reason="" if helpable else (flow.reason or "unknown_user"),
        )


def record_help_request(
    flow: ResetFlow, meta: RequestMeta, now: datetime, *, recovery: bool = False
) -> None:
    """Write the ask for the delivery loop to fan out; the caller's transaction, any ID."""
    HelpRequest.objects.create(
        flow=flow,
        created_at=now,
        correlation_id=meta.correlation_id[:64],
        language=(translation.get_language() or "")[:16],
        recovery=recovery,
    )
    run_due_work_after_commit()


def process_help_requests(limit: int = 20) -> int:
    """Email the administrators about each unprocessed request; returns how many were taken.

    Each row is claimed with a conditional UPDATE, so parallel workers never
    fan one request out twice (the idempotency keys would stop a double send too).
    """
    taken = 0
    pending = HelpRequest.objects.filter(processed_at__isnull=True).order_by("pk")
    for request_id in pending.values_list("pk", flat=True)[:limit]:
        claimed = HelpRequest.objects.filter(pk=request_id, processed_at__isnull=True).update(
            processed_at=clock.now()
        )
        if claimed:
            row = HelpRequest.objects.select_related("flow__user").get(pk=request_id)
            with translation.override(row.language or None):
                _fan_out(row)
            taken += 1
    send_due_digests()
    return taken


def _fan_out(row: HelpRequest) -> None:
    flow, user = row.flow, row.flow.user
    if user is None or not user.account_enabled:
        return  # nobody to help: the request was recorded, and that is all
    meta = RequestMeta.system(row.correlation_id)
    recipients = list_help_recipients(requester=user)
    held = 0
    with transaction.atomic():
        for admin in recipients:
            if service.hit(rules.HELP_EMAILS_PER_RECIPIENT, str(admin.pk)).allowed:
                message = _help_message(flow, user, admin, row, meta)
                enqueue_message(message, meta=meta)
            else:
                _hold(admin, user)
                held += 1
        audit(
            flow,
            Activity.RESET_ADMIN_HELP_SENT,
            meta,
            outcome=Outcome.SUCCESS if recipients else Outcome.FAILURE,
            reason="" if recipients else "no_recipients",
            details={"recipients": len(recipients)} | ({"held_for_digest": held} if held else {}),
        )


def _hold(admin: User, user: User) -> None:
    """Count a request this administrator wasn't emailed about, for their digest."""
    now = clock.now()
    held, _created = HeldHelp.objects.select_for_update().get_or_create(
        admin=admin, defaults={"since": now, "next_try_at": now + DIGEST_RETRY}
    )
    held.count += 1
    if user.user_id not in held.user_ids and len(held.user_ids) < DIGEST_NAMES:
        held.user_ids = [*held.user_ids, user.user_id]
    held.save(update_fields=["count", "user_ids"])


def send_due_digests() -> int:
    """One email per administrator whose hour freed, for the requests held back meanwhile."""
    sent = 0
    now = clock.now()
    for admin_id in HeldHelp.objects.filter(next_try_at__lte=now).values_list("admin", flat=True):
        with transaction.atomic():
            held = (
                HeldHelp.objects.select_for_update()
                .select_related("admin")
                .filter(admin=admin_id)
                .first()
            )
            if held is None:
                continue  # another worker sent it
            if not service.hit(rules.HELP_EMAILS_PER_RECIPIENT, str(admin_id), now=now).allowed:
                held.next_try_at = now + DIGEST_RETRY
                held.save(update_fields=["next_try_at"])
                continue
            meta = RequestMeta.system()
            enqueue_message(_digest_message(held, meta), meta=meta)
            held.delete()
            sent += 1
    return sent


def _digest_message(held: HeldHelp, meta: RequestMeta) -> OutgoingMessage:
    since = timezone.localtime(held.since).strftime("%Y-%m-%d %H:%M %Z")
    names = ", ".join(held.user_ids)
    more = held.count - len(held.user_ids)
    return OutgoingMessage(
        kind=MessageKind.EMAIL,
        to=held.admin.email,
        purpose="reset.admin_help_digest",
        subject=_("%(count)d more requests for help with a password") % {"count": held.count},
        body=_(
            "Since %(since)s, %(count)d more requests for help resetting a password came in "
            "than we email you about in an hour, so we kept them for this one message. "
            "They came from: %(names)s%(more)s.\n\n"
            "So many requests at once can be someone trying to flood your inbox. Before you "
            "reset a password or unlock an account, make sure the request really comes from "
            "that person. The audit log lists every request."
        )
        % {
            "since": since,
            "count": held.count,
            "names": names,
            "more": (_(" and %(n)d other requests") % {"n": more}) if more > 0 else "",
        },
        idempotency_key=f"admin-help-digest:{held.admin_id}:{held.since.timestamp():.0f}",
        correlation_id=meta.correlation_id,
    )


def _help_message(
    flow: ResetFlow, user: User, admin: User, row: HelpRequest, meta: RequestMeta
) -> OutgoingMessage:
    when = timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M %Z")
    values = {
        "name": user.display_name or user.user_id,
        "user_id": user.user_id,
        "time": when,
        "organisation": get_organisation().name,
    }
    if row.recovery:
        return OutgoingMessage(
            kind=MessageKind.EMAIL,
            to=admin.email,
            purpose="reset.recovery_requested",
            subject=_("%(user_id)s can't verify any more and asked for your help") % values,
            body=_(
                "%(name)s (%(user_id)s) can't use any of their ways to verify it's them and "
                "asked at %(time)s for a temporary access pass to set up their "
                "%(organisation)s security info again.\n\n"
                "The request is waiting under Recovery requests in the console. Confirm it's "
                "really them by your organisation's procedure before you issue a pass, for "
                "example by calling them back on a number you already know; don't rely on "
                "contact details given in the request."
            )
            % values,
            idempotency_key=f"admin-help:{flow.pk}:{admin.pk}",
            correlation_id=meta.correlation_id,
        )
    return OutgoingMessage(
        kind=MessageKind.EMAIL,
        to=admin.email,
        purpose="reset.admin_help",
        subject=_("%(user_id)s asked for help resetting their password") % values,
        body=_(
            "%(name)s (%(user_id)s) asked for help resetting their %(organisation)s password "
            "at %(time)s, from the self-service password reset page.\n\n"
            "Before you reset their password or unlock their account, make sure the request "
            "really comes from them, for example by calling them on a number you already "
            "know. If you don't expect this request, you can ignore this email."
        )
        % values,
        idempotency_key=f"admin-help:{flow.pk}:{admin.pk}",
        correlation_id=meta.correlation_id,
    )

"""The registration campaign: email reminders to people who can't reset their password yet.

Self-service reset only takes load off the helpdesk once people have registered. The
sign-in prompt reaches people when they sign in here; many sign in elsewhere (their
directory, their mail), so the worker also reminds them by email, on the policy the
console sets (``RegistrationCampaign``): whoever is in scope for self-service reset but
hasn't registered the methods it asks for gets a reminder with a link to security info,
``interval_days`` apart, at most ``max_reminders`` times. It stops by itself when they
register, as they are no longer among those who can't reset.

The worker walks the users in primary-key order, ``STEP`` per turn, deciding each one
with the same bulk eligibility the registration report uses, and starts a new pass an
hour after the last one began at the soonest: a million people are walked in about a
thousand turns, and nobody waits more than a pass for a reminder that is due.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from opensspr.accounts.models import User
from opensspr.accounts.selectors import get_organisation
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.channels import MessageKind, OutgoingMessage, enqueue_message
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.bulk_eligibility import list_eligibility
from opensspr.policy.eligibility import Reason
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.registration.models import RegistrationCampaign, RegistrationState

#: People decided per worker turn (about a fifth of a second, as the registration count).
STEP = 1000
#: A new pass begins this long after the last one began, at the soonest.
PASS_EVERY = timedelta(hours=1)
#: What registering fixes: no reminder for people out of scope, disabled or the like.
NOT_REGISTERED = frozenset({Reason.NOT_ENOUGH_METHODS, Reason.ADMIN_TWO_GATE})


def get_campaign() -> RegistrationCampaign:
    return RegistrationCampaign.objects.filter(pk=1).first() or RegistrationCampaign(pk=1)


def remind_step(now: datetime | None = None) -> int:
    """The worker's periodic call: one step of the pass; returns the reminders queued."""
    now = now or clock.now()
    campaign = RegistrationCampaign.objects.filter(pk=1, enabled=True).first()
    if campaign is None:
        return 0
    if campaign.cursor == 0:
        if campaign.pass_started_at and now - campaign.pass_started_at < PASS_EVERY:
            return 0
        campaign.pass_started_at = now
    users = list(
        User.objects.filter(pk__gt=campaign.cursor, account_enabled=True)
        .select_related("registration_state")
        .order_by("pk")[:STEP]
    )
    sent = 0
    if users:
        policy = get_sspr_policy()
        decisions = list_eligibility(users, policy)
        for user in users:
            decision = decisions[user.pk]
            if decision.reason in NOT_REGISTERED and _due(user, campaign, now):
                sent += _remind(user, campaign, now)
    campaign.cursor = users[-1].pk if len(users) == STEP else 0
    campaign.save(update_fields=["cursor", "pass_started_at"])
    return sent


def _due(user: User, campaign: RegistrationCampaign, now: datetime) -> bool:
    state = getattr(user, "registration_state", None)
    if not user.email:
        return False  # nowhere to write: the sign-in prompt is all that reaches them
    if state is None:
        return True
    if state.reminders_sent >= campaign.max_reminders:
        return False
    return state.reminded_at is None or now - state.reminded_at >= timedelta(
        days=campaign.interval_days
    )


def _remind(user: User, campaign: RegistrationCampaign, now: datetime) -> int:
    """Queue one reminder, count it and audit it, in one transaction; 0 if it wasn't due."""
    meta = RequestMeta.system()
    interval = timedelta(days=campaign.interval_days)
    with transaction.atomic():
        state, _created = RegistrationState.objects.select_for_update().get_or_create(user=user)
        # Read again under the lock: two workers walking at once remind once.
        due = state.reminders_sent < campaign.max_reminders and (
            state.reminded_at is None or now - state.reminded_at >= interval
        )
        if not due:
            return 0
        state.reminders_sent += 1
        state.reminded_at = now
        state.save(update_fields=["reminders_sent", "reminded_at"])
        left = campaign.max_reminders - state.reminders_sent
        enqueue_message(_message(user, left, meta, number=state.reminders_sent), meta=meta)
        record_event(
            activity=Activity.REGISTRATION_REMINDED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            target=user,
            details={"reminder": state.reminders_sent, "of": campaign.max_reminders},
        )
    return 1


def _message(user: User, left: int, meta: RequestMeta, *, number: int) -> OutgoingMessage:
    values = {
        "organisation": get_organisation().name,
        "user_id": user.user_id,
        "link": str(settings.OPENSSPR_BASE_URL).rstrip("/") + reverse("registration:overview"),
    }
    paragraphs = [
        _(
            "You can't reset the password of %(user_id)s yourself yet: your account doesn't "
            "have the security info it needs, such as an email address, a mobile phone or an "
            "authenticator app."
        )
        % values,
        _(
            "Add it now, in a few minutes: %(link)s\n\nThen, if you forget your password or "
            "get locked out, you can get back in on your own, at any hour, without calling "
            "the helpdesk."
        )
        % values,
    ]
    if left:
        paragraphs.append(
            ngettext(
                "We'll remind you %(count)d more time.",
                "We'll remind you up to %(count)d more times.",
                left,
            )
            % {"count": left}
        )
    return OutgoingMessage(
        kind=MessageKind.EMAIL,
        to=user.email,
        purpose="registration.reminder",
        subject=_("Set up password reset for your %(organisation)s account") % values,
        body="\n\n".join(paragraphs),
        idempotency_key=f"registration-reminder:{user.pk}:{number}",
        correlation_id=meta.correlation_id,
    )

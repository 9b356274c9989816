"""The console home: self-service at a glance, and what needs an administrator now.

Everything comes from the daily rows (``reports.insights``) and the services'
own state rows (``reports.health``): a few small indexed reads, no network, so
the page opens at once even when the directory or a provider is down. Each
item that needs action links to the page where it is dealt with.
"""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from opensspr.reports.health import WORKING, Health, get_health
from opensspr.reports.insights import (
    count_blocked_now,
    get_latest_registration,
    get_usage_summary,
    period_ending,
)
from opensspr.reports.rollup import today
from opensspr.resets.recovery import count_waiting

#: Below this share of people able to reset, the home asks for a registration push.
LOW_CAPABLE_SHARE = 50


@dataclass(frozen=True)
class Action:
    level: str  # "error" or "warning": how it is marked
    text: str
    url: str | None


@dataclass(frozen=True)
class Trend:
    label: str
    this_week: int
    last_week: int

    @property
    def change(self) -> str:
        """ "+3", "-2" or "±0" against last week."""
        delta = self.this_week - self.last_week
        return f"+{delta}" if delta > 0 else (f"{delta}" if delta < 0 else "±0")


def _url(request: HttpRequest, name: str, perm: str, query: str = "") -> str | None:
    if not request.user.has_perm(perm):
        return None
    return reverse(f"console:{name}") + query


def _actions(
    request: HttpRequest, health: Health, share: int | None, blocked: int, recovering: int
) -> list[Action]:
    found: list[Action] = []
    if recovering:
        text = ngettext(
            "%(n)s person who lost every way to verify is waiting for the helpdesk.",
            "%(n)s people who lost every way to verify are waiting for the helpdesk.",
            recovering,
        ) % {"n": recovering}
        queue = _url(request, "resets_recoveryrequest_changelist", "resets.view_recoveryrequest")
        found.append(Action("warning", text, queue))
    outbox = _url(request, "channels_message_changelist", "channels.view_message")
    directory = _url(
        request, "directory_directorysettings_changelist", "directory.view_directorysettings"
    )
    if health.stuck_messages:
        text = ngettext(
            "%(n)s message has waited more than 5 minutes: is the worker running?",
            "%(n)s messages have waited more than 5 minutes: is the worker running?",
            health.stuck_messages,
        ) % {"n": health.stuck_messages}
        found.append(Action("error", text, outbox))
    if health.undelivered:
        text = ngettext(
            "%(n)s message could not be delivered in the last 24 hours.",
            "%(n)s messages could not be delivered in the last 24 hours.",
            health.undelivered,
        ) % {"n": health.undelivered}
        found.append(Action("error", text, outbox))
    if health.sync_failed:
        found.append(
            Action(
                "error", _("The last directory sync failed: run the directory doctor."), directory
            )
        )
    if health.agents is not None and health.agents.status not in WORKING:
        agents = _url(request, "agents_agent_changelist", "agents.view_agent")
        found.append(Action("error", health.agents.message, agents))
    if health.stuck_writebacks:
        text = ngettext(
            "%(n)s password write to the directory is still unanswered.",
            "%(n)s password writes to the directory are still unanswered.",
            health.stuck_writebacks,
        ) % {"n": health.stuck_writebacks}
        found.append(Action("error", text, directory))
    if blocked:
        text = ngettext(
            "%(n)s person was blocked from self-service reset in the last 24 hours.",
            "%(n)s people were blocked from self-service reset in the last 24 hours.",
            blocked,
        ) % {"n": blocked}
        found.append(
            Action("warning", text, _url(request, "accounts_user_changelist", "accounts.view_user"))
        )
    if share is not None and share < LOW_CAPABLE_SHARE:
        text = _("Only %(share)s%% of people can reset their password themselves.") % {
            "share": share
        }
        found.append(
            Action(
                "warning",
                text,
                _url(request, "reports_registrations", "accounts.view_user", "?capable=no"),
            )
        )
    return found


def home_context(request: HttpRequest) -> dict[str, Any]:
    """What the home shows above the list of console pages."""
    week = period_ending(today(), 7)
    now, before = get_usage_summary(week), get_usage_summary(week.before())
    latest = get_latest_registration()
    share = round(100 * latest.capable / latest.users) if latest and latest.users else None
    blocked = count_blocked_now()
    health = get_health()
    return {
        "glance": {
            "share": share,
            "latest": latest,
            "trends": [
                Trend(_("Passwords reset"), now.resets, before.resets),
                Trend(_("Accounts unlocked"), now.unlocks, before.unlocks),
                Trend(_("Passwords changed"), now.changes, before.changes),
            ],
            "blocked": blocked,
            "health": health,
            "actions": _actions(request, health, share, blocked, count_waiting()),
            "insights_url": _url(request, "reports_insights", "accounts.view_user"),
        }
    }

"""An administrator resets a user's password to a one-time temporary password.

The administrator never chooses the password: it is generated from ``secrets``,
shown once on the response page, never stored in clear, never audited, and the
user must replace it at the next sign-in (ASVS 6.4.1).
"""

import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from opensspr.accounts.authority import HelpdeskAction, may_act
from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.directory import connector_for, writeback
from opensspr.directory.base import OnPremisesConnector
from opensspr.directory.errors import DirectoryUnavailableError
from opensspr.directory.models import IntentState
from opensspr.signin import lockout

# No look-alikes (I l 1 O 0 o): the password is often read out over the phone.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "Il1O0o") + "-!+=#%"
_LENGTH = 16


def generate_temporary_password() -> str:
    """16 random characters holding all four character classes (~95 bits)."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
        classes = [
            any(c.islower() for c in candidate),
            any(c.isupper() for c in candidate),
            any(c.isdigit() for c in candidate),
            any(not c.isalnum() for c in candidate),
        ]
        if all(classes):
            return candidate


PURPOSE = "admin_reset"


def issue_temporary_password(*, actor: User, user: User, meta: RequestMeta) -> str:
    """A new temporary password for ``user``, written where their password lives.

    For a synced person it goes to their directory with "must change at next
    sign-in" set there too (``pwdReset``, ``pwdLastSet=0``), crash-safe like a
    reset; a refusal raises the ``DirectoryError`` for the console to explain.
    """
    if not may_act(actor, user, HelpdeskAction.TEMPORARY_PASSWORD):
        raise PermissionDenied("this administrator's roles don't reach this person")
    password = generate_temporary_password()
    connector = connector_for(user)
    if isinstance(connector, OnPremisesConnector):
        context = {"meta": writeback.meta_context(meta), "actor": actor.pk}
        intent = writeback.begin(connector, user, PURPOSE, context)
        outcome = writeback.run(
            connector,
            intent,
            lambda: connector.set_password(user, password, unlock=True, must_change=True),
        )
        if outcome.state != IntentState.APPLIED:
            raise outcome.error or DirectoryUnavailableError("not applied")
        return password
    with transaction.atomic():
        connector.set_password(user, password, unlock=True)
        _record_issued(actor, user, meta)
    return password


def finish_admin_reset(settled: writeback.Settled) -> None:
    """Record how a temporary password's directory write ended (the "admin_reset" finisher)."""
    intent = settled.intent
    actor = User.objects.filter(pk=intent.context.get("actor")).first()
    meta = writeback.meta_of(intent)
    if settled.applied:
        _record_issued(actor, intent.user, meta)
        return
    record_event(
        activity=Activity.PASSWORD_RESET_BY_ADMIN,
        outcome=Outcome.FAILURE,
        reason=f"directory:{settled.reason}",
        meta=meta,
        actor=actor,
        target=intent.user,
        details={"temporary": True},
    )


def _record_issued(actor: User | None, user: User, meta: RequestMeta) -> None:
    user.must_change_password = True
    user.temporary_password_expires_at = clock.now() + timedelta(
        hours=settings.OPENSSPR_TEMPORARY_PASSWORD_HOURS
    )
    user.save(update_fields=["must_change_password", "temporary_password_expires_at"])
    lockout.clear(*lockout.all_keys(identifier_key(user.user_id)))
    record_event(
        activity=Activity.PASSWORD_RESET_BY_ADMIN,
        outcome=Outcome.SUCCESS,
        meta=meta,
        actor=actor,
        target=user,
        details={"temporary": True},
    )


def unlock_account(*, actor: User, user: User, meta: RequestMeta) -> bool:
    """The helpdesk's "Unlock": smart lockout here, and the directory's lock for synced people.

    Returns whether the directory was asked too. A directory that refuses or
    can't be reached raises its ``DirectoryError`` and nothing is recorded; the
    smart lockout is only cleared with the directory's unlock, so the console
    never says "unlocked" for half of it.
    """
    if not may_act(actor, user, HelpdeskAction.UNLOCK):
        raise PermissionDenied("this administrator's roles don't reach this person")
    connector = connector_for(user)
    in_directory = isinstance(connector, OnPremisesConnector)
    if in_directory:
        connector.unlock(user)
    with transaction.atomic():
        lockout.clear(*lockout.all_keys(identifier_key(user.user_id)))
        record_event(
            activity=Activity.SIGNIN_UNLOCKED_BY_ADMIN,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target=user,
            details={"via": "console", "directory": in_directory},
        )
    return in_directory

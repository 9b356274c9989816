"""The stop after sign-in: register security info, or confirm it is still right.

Called by the sign-in views once a person is signed in, with where sign-in was
going. It never signs anyone out and never blocks: the person may skip, and is
asked again at the next sign-in until done (reference §8.1). Every sign-in gets
a fresh security-info handle, so no proof outlives the sign-in it was made in.
"""

from django.http import HttpRequest
from django.urls import reverse

from opensspr.accounts.models import User
from opensspr.audit.activities import Activity
from opensspr.core.request_meta import request_meta
from opensspr.registration.identity import list_identity_options, record_password_proof
from opensspr.registration.proofs import audit
from opensspr.registration.selectors import interrupt_for
from opensspr.registration.session import Interrupt, InterruptMode, start_new_session


def destination_after_sign_in(request: HttpRequest, user: User, next_url: str) -> str:
    """Where a person who just signed in goes: ``next_url``, or security info first."""
    mode = interrupt_for(user)
    session = start_new_session(request.session, Interrupt(mode, next_url) if mode else None)
    if mode is None:
        return next_url
    meta = request_meta(request)
    if mode == InterruptMode.REGISTER and not list_identity_options(user):
        # Nothing to prove possession with yet: the password just typed is the proof.
        record_password_proof(user=user, session=session, meta=meta, via="sign_in")
    audit(user, Activity.REGISTRATION_INTERRUPTED, meta, reason=mode.value)
    return reverse("registration:overview")

"""Changing security info: add, change and remove each method, and confirm the whole set.

Every change needs a fresh identity proof of this very session (``identity.py``),
checked when the change starts; a new email address or number then has its own
5 minutes to be proven and reaches the directory user only once its proof
passed. Each service writes the change, its audit event and its notifications
in one transaction. A change or removal also ends the person's open proofs and
identity windows in every other session (``proofs.end_other_sessions``). Nothing
is audited by value: the method, never the address, number, secret or answer.
"""

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from django.db import transaction

from opensspr.accounts.models import User
from opensspr.accounts.selectors import get_organisation
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.core import clock
from opensspr.core.crypto import seal, unseal
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.methods.questions import AnswerProblem, check_answers, replace_answers
from opensspr.methods.totp import STEP_SECONDS, matching_step
from opensspr.policy.kinds import MethodKind
from opensspr.policy.reset_selectors import eligibility_for, get_sspr_policy
from opensspr.registration import proofs
from opensspr.registration.identity import (
    has_fresh_identity,
    keep_window_after_own_change,
    open_window_through_new_value,
)
from opensspr.registration.models import Proof, ProofPurpose, RegistrationState
from opensspr.registration.notify import Action, Item, notify_change
from opensspr.registration.proofs import ProofError, audit, lock_state
from opensspr.registration.selectors import allowed_items, has_enough_methods, phone_kinds
from opensspr.registration.validation import clean_auth_email, clean_phone

#: Scanning a QR code and typing the first code takes longer than reading a text.
APP_SETUP_TTL = timedelta(minutes=10)
MAX_APPS = 5  # as many as the reference allows of one kind (§4.7)
CONTACT_ITEMS = (Item.AUTH_EMAIL, Item.MOBILE_PHONE, Item.OFFICE_PHONE)


def _require_fresh(user: User, session: str) -> None:
    if not has_fresh_identity(user, session):
        raise ProofError("identity_required")


def _require_allowed(user: User, item: Item) -> None:
    if item not in allowed_items(user, get_sspr_policy()):
        raise ProofError("method_unavailable")


# --- email and phones ----------------------------------------------------------------


def start_email_change(*, user: User, session: str, address: str, meta: RequestMeta) -> Proof:
    """Send a code to a new authentication email (``ValidationError`` for a bad one)."""
    _require_fresh(user, session)
    _require_allowed(user, Item.AUTH_EMAIL)
    address = clean_auth_email(user, address)
    return proofs.issue(
        user=user,
        session=session,
        purpose=ProofPurpose.AUTH_EMAIL,
        kind=MethodKind.EMAIL,
        to=address,
        value=address,
        meta=meta,
    )


def start_phone_change(
    *, user: User, session: str, item: Item, number: str, kind: MethodKind, meta: RequestMeta
) -> Proof:
    """Text a code to, or call, a new mobile or office number (E.164, extension dropped)."""
    _require_fresh(user, session)
    _require_allowed(user, item)
    if kind not in phone_kinds(item, get_sspr_policy()):
        raise ProofError("method_unavailable")
    number = clean_phone(user, item, number)
    return proofs.issue(
        user=user,
        session=session,
        purpose=ProofPurpose(item.value),
        kind=kind,
        to=number,
        value=number,
        meta=meta,
    )


def get_open_contact_proof(user: User, session: str) -> Proof | None:
    purposes = {ProofPurpose.AUTH_EMAIL, ProofPurpose.MOBILE_PHONE, ProofPurpose.OFFICE_PHONE}
    return proofs.get_open_proof(user, session, purposes)


def _other_phone(item: Item) -> Item | None:
    return {Item.MOBILE_PHONE: Item.OFFICE_PHONE, Item.OFFICE_PHONE: Item.MOBILE_PHONE}.get(item)


def finish_contact_change(*, user: User, session: str, answer: str, meta: RequestMeta) -> Item:
    """The new value is proven: store it, mark it proven, tell old and new (one transaction).

    Checked again under the lock: the number may have become the other phone
    since the code was sent (a parallel change); one number is one method only.
    """
    proof = get_open_contact_proof(user, session)
    if proof is None:
        raise ProofError("no_open_proof")
    proofs.check(proof, answer, meta)
    item = Item(proof.purpose)
    now = clock.now()
    with transaction.atomic():
        state = lock_state(user)
        user.refresh_from_db()
        other = _other_phone(item)
        duplicate = other is not None and getattr(user, other.value) == proof.value
        if duplicate:
            # Ends the proof: the same answer can't pass later either.
            Proof.objects.filter(pk=proof.pk, consumed_at__isnull=True).update(consumed_at=now)
            audit(
                user,
                Activity.REGISTRATION_PROOF_REFUSED,
                meta,
                outcome=Outcome.FAILURE,
                reason="same_as_other",
                purpose=proof.purpose,
                method=proof.kind,
            )
        else:
            _store_proven_value(user, state, proof, item=item, session=session, meta=meta)
    if duplicate:
        raise ProofError("same_as_other")
    return item


def _store_proven_value(
    user: User,
    state: RegistrationState,
    proof: Proof,
    *,
    item: Item,
    session: str,
    meta: RequestMeta,
) -> None:
    """The caller's transaction, with ``state`` locked and ``user`` fresh."""
    now = clock.now()
    if not proofs.mark_proven(proof, consume=True):
        raise ProofError("code_used")
    old = getattr(user, item.value)
    setattr(user, item.value, proof.value)
    user.save(update_fields=[item.value])
    setattr(state, f"{item.value}_proven_at", now)
    state.confirmed_at = now
    state.save()
    proofs.end_other_sessions(user, keep_session=session)
    keep_window_after_own_change(user, session, item.value, old, proof.value)
    open_window_through_new_value(
        user=user, session=session, kind=proof.kind, value=proof.value, meta=meta
    )
    action = Action.CHANGED if old else Action.ADDED
    activity = Activity.REGISTRATION_METHOD_CHANGED if old else Activity.REGISTRATION_METHOD_ADDED
    audit(user, activity, meta, method=item.value, via=proof.kind)
    notify_change(user=user, item=item, action=action, old=old, new=proof.value, meta=meta)


# --- authenticator apps --------------------------------------------------------------


@dataclass(frozen=True)
class AppSetup:
    """An app being set up: shown to the person until the first code proves it."""

    proof: Proof
    app_id: int
    secret: str
    uri: str


def _setup_of(proof: Proof, user: User) -> AppSetup:
    assert proof.app is not None  # app proofs always carry their app
    app = proof.app
    secret = unseal(app.secret_sealed)
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.user_id, issuer_name=get_organisation().name
    )
    return AppSetup(proof, app.pk, secret, uri)


def begin_app_setup(*, user: User, session: str, meta: RequestMeta) -> AppSetup:
    """A new seed, sealed at rest, on an app row that counts for nothing until proven."""
    _require_fresh(user, session)
    _require_allowed(user, Item.AUTHENTICATOR_APP)
    if AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False).count() >= MAX_APPS:
        raise ProofError("too_many_apps")
    secret = base64.b32encode(secrets.token_bytes(20)).decode("ascii")  # 160 bits (RFC 4226)
    with transaction.atomic():
        lock_state(user)
        AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=True).delete()
        app = AuthenticatorApp.objects.create(user=user, secret_sealed=seal(secret))
        proof = proofs.record_without_send(
            user=user,
            session=session,
            purpose=ProofPurpose.AUTHENTICATOR_APP,
            kind=MethodKind.APP_CODE.value,
            meta=meta,
            ttl=APP_SETUP_TTL,
            app_id=app.pk,
        )
        audit(
            user,
            Activity.REGISTRATION_PROOF_STARTED,
            meta,
            purpose=ProofPurpose.AUTHENTICATOR_APP.value,
            method=MethodKind.APP_CODE.value,
        )
    return _setup_of(proof, user)


def get_app_setup(user: User, session: str) -> AppSetup | None:
    """The session's app set-up still open, to show again (after a wrong code, say)."""
    proof = proofs.get_open_proof(user, session, {ProofPurpose.AUTHENTICATOR_APP})
    if proof is None or proof.app is None or proof.expires_at <= clock.now():
        return None
    return _setup_of(proof, user)


def finish_app_setup(*, user: User, session: str, code: str, meta: RequestMeta) -> None:
    """The first code proves the app: it now counts, and its step is used up."""
    setup = get_app_setup(user, session)
    if setup is None:
        raise ProofError("no_open_proof")
    proof = setup.proof
    typed = code.strip()[:16]
    steps: list[int | None] = []

    def matches() -> bool:  # called once the try is reserved
        steps.append(matching_step(setup.secret, typed, clock.now().timestamp()))
        return steps[-1] is not None

    proofs.check(proof, typed, meta, matches=matches if typed.isdigit() else lambda: False)
    step = steps[-1]
    now = clock.now()
    with transaction.atomic():
        if not proofs.mark_proven(proof, consume=True):
            raise ProofError("code_used")
        state = lock_state(user)
        AuthenticatorApp.objects.filter(pk=setup.app_id, confirmed_at__isnull=True).update(
            confirmed_at=now, last_used_step=step
        )
        state.confirmed_at = now
        state.save(update_fields=["confirmed_at"])
        audit(user, Activity.REGISTRATION_METHOD_ADDED, meta, method=Item.AUTHENTICATOR_APP.value)
        notify_change(
            user=user, item=Item.AUTHENTICATOR_APP, action=Action.ADDED, old="", new="", meta=meta
        )


# --- security questions --------------------------------------------------------------


def set_security_questions(
    *, user: User, session: str, answers: Mapping[str, str], meta: RequestMeta
) -> list[AnswerProblem]:
    """Replace the person's answers with a set that keeps every rule, or say what's wrong."""
    _require_fresh(user, session)
    _require_allowed(user, Item.SECURITY_QUESTIONS)
    required = get_sspr_policy().questions_to_register
    problems = check_answers(user, answers, required=required)
    if problems:
        return problems
    now = clock.now()
    with transaction.atomic():
        state = lock_state(user)
        had = SecurityAnswer.objects.filter(user=user).exists()
        replace_answers(user, answers)
        state.confirmed_at = now
        state.save(update_fields=["confirmed_at"])
        action = Action.CHANGED if had else Action.ADDED
        audit(
            user,
            Activity.REGISTRATION_METHOD_CHANGED if had else Activity.REGISTRATION_METHOD_ADDED,
            meta,
            method=Item.SECURITY_QUESTIONS.value,
            questions=str(len(answers)),
        )
        notify_change(
            user=user, item=Item.SECURITY_QUESTIONS, action=action, old="", new="", meta=meta
        )
    return []


# --- removing, and confirming the whole set ------------------------------------------


def remove_method(
    *, user: User, session: str, item: Item, meta: RequestMeta, app_id: int | None = None
) -> None:
    """Remove one method (any kind, allowed by the policy or not); old channels are told."""
    _require_fresh(user, session)
    with transaction.atomic():
        state = lock_state(user)
        user.refresh_from_db()
        old = ""
        if item in CONTACT_ITEMS:
            old = getattr(user, item.value)
            if not old:
                raise ProofError("nothing_to_remove")
            setattr(user, item.value, "")
            user.save(update_fields=[item.value])
            setattr(state, f"{item.value}_proven_at", None)
            state.save()
        elif item == Item.AUTHENTICATOR_APP:
            apps = AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False)
            if app_id is None or not apps.filter(pk=app_id).delete()[0]:
                raise ProofError("nothing_to_remove")
        elif not SecurityAnswer.objects.filter(user=user).delete()[0]:
            raise ProofError("nothing_to_remove")
        proofs.end_other_sessions(user, keep_session=session)
        audit(user, Activity.REGISTRATION_METHOD_REMOVED, meta, method=item.value)
        notify_change(user=user, item=item, action=Action.REMOVED, old=old, new="", meta=meta)


def confirm_security_info(*, user: User, session: str, meta: RequestMeta, reconfirm: bool) -> None:
    """ "Looks good" (reconfirmation, after a fresh proof) or "Done" (registration)."""
    if reconfirm:
        _require_fresh(user, session)
    elif not has_enough_methods(eligibility_for(user)):
        raise ProofError("not_enough_methods")
    with transaction.atomic():
        state = lock_state(user)
        state.confirmed_at = clock.now()
        state.save(update_fields=["confirmed_at"])
        audit(
            user,
            Activity.REGISTRATION_RECONFIRMED if reconfirm else Activity.REGISTRATION_COMPLETED,
            meta,
        )


def skip_interrupt(*, user: User, mode: str, meta: RequestMeta) -> None:
    """The person put registration off; they are asked again at their next sign-in."""
    audit(user, Activity.REGISTRATION_SKIPPED, meta, outcome=Outcome.SUCCESS, reason=mode)

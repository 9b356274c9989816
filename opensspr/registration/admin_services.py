"""Administrators' writes to a person's security info (reference §4.1, §8.3).

An administrator may set the authentication email and phone numbers, clear what a
person registered (forcing them to register again), and remove an organisation's
custom question together with the answers given to it. An administrator never
reads, sets or changes a security answer or an app's seed: clearing only deletes.

Invariants kept here:

* A value an administrator sets is usable but *unproven*: the matching
  ``*_proven_at`` on the person's ``RegistrationState`` is cleared in the same
  transaction, so the report and reconfirmation never credit the person with
  proving a value they didn't.
* Each service checks the actor itself (defence in depth: the console checks too),
  and writes its audit event in the transaction that makes the change. Events name
  fields and counts, never values: contact data is personal, answers and seeds
  are secrets.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from opensspr.accounts.models import User
from opensspr.accounts.phones import normalise_phone
from opensspr.accounts.roles import roles_may_manage_security_info
from opensspr.accounts.selectors import can_manage_user
from opensspr.accounts.signals import people_changed
from opensspr.audit.activities import Activity
from opensspr.audit.models import Outcome
from opensspr.audit.services import record_event
from opensspr.core import clock
from opensspr.core.request_meta import RequestMeta
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.methods.questions import CUSTOM_PREFIX
from opensspr.policy.models import CustomQuestion
from opensspr.registration.models import Proof, ProofPurpose, RegistrationState
from opensspr.registration.notify import Action, Item, notify_change
from opensspr.registration.proofs import end_other_sessions

#: The directory fields that back email, text and call (reference §4.1), in display order.
CONTACT_FIELDS = ("auth_email", "mobile_phone", "office_phone")
_PROOF = {name: f"{name}_proven_at" for name in CONTACT_FIELDS}


@dataclass(frozen=True)
class ClearedSecurityInfo:
    """What ``clear_security_info`` removed, for the console's message."""

    apps: int
    answers: int
    proofs: tuple[str, ...]  # contact fields whose proof was dropped
    contacts: tuple[str, ...]  # contact fields emptied (only when asked to)


def may_clear_security_info(actor: User, target: User) -> bool:
    """The actor's roles allow it (``accounts.roles``) and they may manage ``target``."""
    return roles_may_manage_security_info(actor.admin_roles) and can_manage_user(actor, target)


def _normalised(values: Mapping[str, str]) -> dict[str, str]:
    """Phones in E.164, email stripped and checked; every problem raised at once."""
    unknown = set(values) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"not authentication contact fields: {sorted(unknown)}")
    result: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, raw in values.items():
        try:
            if name == "auth_email":
                result[name] = (raw or "").strip()
                if result[name]:
                    validate_email(result[name])
            else:
                result[name] = normalise_phone(raw or "")
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return result


def _drop_proofs(user: User, fields: list[str]) -> list[str]:
    """Clear the proof of ``fields``; returns those that had one."""
    state = RegistrationState.objects.select_for_update().filter(user=user).first()
    if state is None:
        return []
    proven = [name for name in fields if getattr(state, _PROOF[name]) is not None]
    if proven:
        RegistrationState.objects.filter(pk=state.pk).update(
            **{_PROOF[name]: None for name in proven}
        )
        people_changed.send(sender=RegistrationState, user_ids=[user.pk])
    return proven


def _action(old: str, new: str) -> Action:
    if not old:
        return Action.ADDED
    return Action.REMOVED if not new else Action.CHANGED


def set_authentication_contact(
    *, actor: User, user: User, values: Mapping[str, str], meta: RequestMeta
) -> tuple[str, ...]:
    """Set some of a person's authentication email and phones, as an administrator.

    Only values that really change are written (a number retyped with spaces is
    the same number and keeps its proof). Returns the fields changed. Raises
    ``PermissionDenied`` when ``actor`` may not manage ``user`` and
    ``ValidationError`` for a malformed address or number.
    """
    if not can_manage_user(actor, user):
        raise PermissionDenied("actor may not manage this user")
    new = _normalised(values)
    with transaction.atomic():
        current = User.objects.select_for_update().filter(pk=user.pk).values(*new).get()
        changed = [name for name in CONTACT_FIELDS if name in new and new[name] != current[name]]
        if not changed:
            return ()
        for name in changed:
            setattr(user, name, new[name])
        user.save(update_fields=changed)
        end_other_sessions(user, keep_session=None)  # no window opened before outlives it
        dropped = _drop_proofs(user, changed)
        for name in changed:  # told out of band, old and new, as for the person's own changes
            notify_change(
                user=user,
                item=Item(name),
                action=_action(current[name], new[name]),
                old=current[name],
                new=new[name],
                meta=meta,
            )
        record_event(
            activity=Activity.REGISTRATION_CONTACT_SET_BY_ADMIN,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target=user,
            details={
                "fields": changed,
                "removed": [name for name in changed if not new[name]],
                "proof_dropped": dropped,
            },
        )
    return tuple(changed)


def clear_security_info(
    *, actor: User, user: User, meta: RequestMeta, include_contact: bool = False
) -> ClearedSecurityInfo:
    """Remove what ``user`` registered so they must register again.

    Deletes authenticator apps and security answers, drops every proof and the
    last confirmation (the next sign-in asks them to register, reference §8.1).
    The authentication email and phones stay unless ``include_contact``: they are
    directory data an administrator or a synchronisation may have put there, and
    such data stays usable without registration (§8.3). An administrator who
    suspects the person's contact data itself (an attacker's address, say) asks
    for it to go as well.
    """
    if not may_clear_security_info(actor, user):
        raise PermissionDenied("actor may not clear this user's security info")
    with transaction.atomic():
        # Open proofs die too: a code on its way, or an identity window someone
        # opened with the data being cleared, must not change anything afterwards.
        Proof.objects.filter(user=user).filter(
            Q(consumed_at__isnull=True) | Q(purpose=ProofPurpose.IDENTITY, proven_at__isnull=False)
        ).update(consumed_at=clock.now(), proven_at=None)
        apps, _by_model = AuthenticatorApp.objects.filter(user=user).delete()
        answers, _by_model = SecurityAnswer.objects.filter(user=user).delete()
        state = RegistrationState.objects.select_for_update().filter(user=user).first()
        proofs = [n for n in CONTACT_FIELDS if state and getattr(state, _PROOF[n]) is not None]
        was_confirmed = bool(state and state.confirmed_at)
        RegistrationState.objects.filter(user=user).update(
            confirmed_at=None, **{_PROOF[name]: None for name in CONTACT_FIELDS}
        )
        people_changed.send(sender=RegistrationState, user_ids=[user.pk])
        contacts = [n for n in CONTACT_FIELDS if include_contact and getattr(user, n)]
        removed = [(Item(n), getattr(user, n)) for n in contacts]
        removed += [(Item.AUTHENTICATOR_APP, "")] if apps else []
        removed += [(Item.SECURITY_QUESTIONS, "")] if answers else []
        # Told before the addresses go, so the old ones hear of it too.
        for item, old in removed:
            notify_change(user=user, item=item, action=Action.REMOVED, old=old, new="", meta=meta)
        if contacts:
            for name in contacts:
                setattr(user, name, "")
            user.save(update_fields=contacts)
        record_event(
            activity=Activity.REGISTRATION_CLEARED_BY_ADMIN,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target=user,
            details={
                "authenticator_apps": apps,
                "security_questions": answers,
                "proof_dropped": proofs,
                "confirmation_dropped": was_confirmed,
                "removed": contacts,
            },
        )
    return ClearedSecurityInfo(apps, answers, tuple(proofs), tuple(contacts))


def delete_custom_question(*, actor: User, question: CustomQuestion, meta: RequestMeta) -> int:
    """Delete a custom question and every answer given to it; returns how many answers.

    An answer to a question that no longer exists can't be asked, yet would still
    count towards "answered enough questions": it goes with its question. The
    console shows who loses the ability to reset before it calls this.
    """
    if not actor.has_perm("policy.delete_customquestion"):
        raise PermissionDenied("actor may not delete custom questions")
    label = f"policy.customquestion:{question.pk}:{question.text}"
    with transaction.atomic():
        removed, _by_model = SecurityAnswer.objects.filter(
            question_key=f"{CUSTOM_PREFIX}{question.pk}"
        ).delete()
        question.delete()
        record_event(
            activity=Activity.REGISTRATION_CUSTOM_QUESTION_DELETED,
            outcome=Outcome.SUCCESS,
            meta=meta,
            actor=actor,
            target_label=label,
            details={"model": "policy.customquestion", "registrations_removed": removed},
        )
    return removed

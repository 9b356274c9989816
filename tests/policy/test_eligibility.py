"""The eligibility engine as a table (reference §1.4, §2.4, §3)."""

import pytest

from opensspr.policy.eligibility import (
    PolicyFacts,
    Reason,
    Scope,
    UserFacts,
    Writeback,
    evaluate,
)
from opensspr.policy.kinds import MethodKind as K
from opensspr.policy.kinds import RegisteredMethod

EMAIL = RegisteredMethod(K.EMAIL, "email:a@mail.example")
SMS = RegisteredMethod(K.MOBILE_SMS, "phone:+31612345678")
CALL = RegisteredMethod(K.MOBILE_VOICE, "phone:+31612345678")
OFFICE_SAME = RegisteredMethod(K.OFFICE_VOICE, "phone:+31612345678")
OFFICE = RegisteredMethod(K.OFFICE_VOICE, "phone:+31205550102")
APP = RegisteredMethod(K.APP_CODE, "app")
QUESTIONS = RegisteredMethod(K.SECURITY_QUESTIONS, "questions")
ALL_KINDS = frozenset(K) - {K.APP_NOTIFICATION}


def policy(**overrides):
    values = {
        "scope": Scope.ALL,
        "in_scope_group": False,
        "methods_required": 1,
        "allowed": ALL_KINDS,
        "admins_may_reset": True,
        "writeback_enabled": False,
    }
    return PolicyFacts(**(values | overrides))


def user(*registered, **overrides):
    return UserFacts(exists=True, registered=registered, **overrides)


@pytest.mark.parametrize(
    ("policy_", "user_", "writeback", "reason"),
    [
        (policy(), user(EMAIL), Writeback.NOT_NEEDED, None),
        (policy(), UserFacts(exists=False), Writeback.NOT_NEEDED, Reason.UNKNOWN_USER),
        (policy(scope=Scope.NONE), user(EMAIL), Writeback.NOT_NEEDED, Reason.ORG_DISABLED),
        (policy(scope=Scope.SELECTED), user(EMAIL), Writeback.NOT_NEEDED, Reason.NOT_IN_GROUP),
        (
            policy(scope=Scope.SELECTED, in_scope_group=True),
            user(EMAIL),
            Writeback.NOT_NEEDED,
            None,
        ),
        (policy(), user(EMAIL, licensed=False), Writeback.NOT_NEEDED, Reason.NOT_LICENSED),
        (policy(), user(EMAIL, enabled=False), Writeback.NOT_NEEDED, Reason.ACCOUNT_DISABLED),
        (
            policy(),
            user(EMAIL, personal_account_guest=True),
            Writeback.NOT_NEEDED,
            Reason.PERSONAL_ACCOUNT,
        ),
        (policy(), user(), Writeback.NOT_NEEDED, Reason.NOT_ENOUGH_METHODS),
        (
            policy(allowed=frozenset({K.MOBILE_SMS})),
            user(EMAIL),
            Writeback.NOT_NEEDED,
            Reason.NOT_ENOUGH_METHODS,
        ),
        (policy(), user(EMAIL, synced=True), Writeback.NOT_NEEDED, Reason.WRITEBACK_OFF),
        (policy(writeback_enabled=True), user(EMAIL, synced=True), Writeback.AVAILABLE, None),
        (
            policy(writeback_enabled=True),
            user(EMAIL, synced=True),
            Writeback.UNREACHABLE,
            Reason.WRITEBACK_UNREACHABLE,
        ),
        # Administrators: their own two-gate policy, whatever the user policy says.
        (policy(scope=Scope.NONE), user(EMAIL, APP, is_admin=True), Writeback.NOT_NEEDED, None),
        (policy(), user(EMAIL, is_admin=True), Writeback.NOT_NEEDED, Reason.ADMIN_TWO_GATE),
        (
            policy(),
            user(EMAIL, QUESTIONS, is_admin=True),
            Writeback.NOT_NEEDED,
            Reason.ADMIN_TWO_GATE,
        ),
        (
            policy(admins_may_reset=False),
            user(EMAIL, APP, is_admin=True),
            Writeback.NOT_NEEDED,
            Reason.ADMIN_SSPR_DISABLED,
        ),
        # Administrators use only what the policy allows (else their list would show them).
        (
            policy(allowed=frozenset({K.EMAIL})),
            user(EMAIL, SMS, is_admin=True),
            Writeback.NOT_NEEDED,
            Reason.ADMIN_TWO_GATE,
        ),
        (
            policy(allowed=frozenset({K.EMAIL, K.MOBILE_SMS})),
            user(EMAIL, SMS, is_admin=True),
            Writeback.NOT_NEEDED,
            None,
        ),
    ],
)
def test_each_check_has_its_own_reason(policy_, user_, writeback, reason):
    decision = evaluate(policy_, user_, writeback)
    assert decision.reason == reason
    assert decision.eligible is (reason is None)
    failed = [c for c in decision.checks if not c.passed]
    assert [c.reason for c in failed][:1] == ([reason] if reason else [])


@pytest.mark.parametrize(
    ("registered", "required", "eligible"),
    [
        # The table of reference §2.4.
        ((EMAIL,), 1, True),
        ((EMAIL, APP), 1, True),
        ((EMAIL,), 2, False),
        ((EMAIL, APP), 2, True),
        ((EMAIL, SMS, OFFICE), 2, True),
        # One phone number is one piece of data, however many ways it is reached (A17).
        ((SMS, CALL), 2, False),
        ((SMS, OFFICE_SAME), 2, False),
        ((SMS, OFFICE), 2, True),
        # Questions only ever follow a possession gate (OWASP SQ-1, attack A3).
        ((QUESTIONS,), 1, False),
        ((QUESTIONS, EMAIL), 1, True),
        ((QUESTIONS,), 2, False),
        ((QUESTIONS, EMAIL), 2, True),
        ((QUESTIONS, SMS, CALL), 2, True),
    ],
)
def test_registered_against_required(registered, required, eligible):
    decision = evaluate(policy(methods_required=required), user(*registered), Writeback.NOT_NEEDED)
    assert decision.eligible is eligible
    assert decision.gates_required == required


def test_administrators_never_get_security_questions_and_always_need_two():
    decision = evaluate(
        policy(methods_required=1), user(EMAIL, QUESTIONS, APP, is_admin=True), Writeback.NOT_NEEDED
    )
    assert decision.eligible and decision.gates_required == 2
    assert K.SECURITY_QUESTIONS not in {m.kind for m in decision.methods}


def test_usable_methods_are_only_the_allowed_and_registered_in_a_stable_order():
    decision = evaluate(
        policy(allowed=frozenset({K.APP_CODE, K.EMAIL, K.MOBILE_SMS})),
        user(APP, CALL, SMS, EMAIL),
        Writeback.NOT_NEEDED,
    )
    assert [m.kind for m in decision.methods] == [K.EMAIL, K.MOBILE_SMS, K.APP_CODE]


def test_every_check_is_reported_even_after_the_first_failure():
    decision = evaluate(policy(scope=Scope.NONE), user(licensed=False), Writeback.NOT_NEEDED)
    assert decision.reason == Reason.ORG_DISABLED
    reasons = {c.reason for c in decision.checks if not c.passed}
    assert {Reason.ORG_DISABLED, Reason.NOT_LICENSED, Reason.NOT_ENOUGH_METHODS} <= reasons

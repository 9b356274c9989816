"""The rule table: today's numbers, one store per scope, and the documentation in step."""

from datetime import timedelta
from pathlib import Path

import pytest

from opensspr.throttles import rules
from opensspr.throttles.rules import RULES, Backoff, Block, Pauses, Scope, rules_of

DOC = Path(__file__).parents[2] / "docs" / "contributors" / "throttles.md"
H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("rule", "limit", "window"),
    [
        (rules.SSPR_VERIFY_FAILURE, 5, timedelta(hours=24)),
        (rules.SSPR_SMS, 5, H),
        (rules.SSPR_CALL, 5, H),
        (rules.SSPR_CONTACT_CHECKS_PER_FLOW, 3, timedelta(minutes=15)),
        (rules.SSPR_CONTACT_CHECKS_PER_ADDRESS, 20, H),
        (rules.SSPR_HELP_PER_ADDRESS, 10, H),
        (rules.SSPR_QUESTIONS, 5, H),
        (rules.SSPR_EMAIL, 10, timedelta(minutes=10)),
        (rules.REGISTRATION_EMAIL, 10, timedelta(minutes=10)),
        (rules.REGISTRATION_SMS, 5, H),
        (rules.REGISTRATION_CALL, 5, H),
        (rules.REGISTRATION_WRONG_CODE, 10, H),
        (rules.PHONE_PER_ADDRESS, 10, H),
        (rules.PHONE_GLOBAL, 500, H),
        (rules.DESTINATION_COOLDOWN, 1, timedelta(seconds=60)),
        (rules.DESTINATION_CODES, 3, timedelta(minutes=15)),
        (rules.SIGNIN_FAILURES_PER_ADDRESS, 100, timedelta(minutes=15)),
        (rules.SIGNIN_LOCKOUT, 10, timedelta(hours=24)),
    ],
)
def test_today_s_numbers_are_unchanged(rule, limit, window):
    assert (rule.max_uses(), rule.window) == (limit, window)


def test_guesses_pause_short_and_growing_and_sends_only_say_not_now():
    """A21: what only the person's own phone or inbox can spend never blocks for a day; wrong
    codes pause 30 seconds, then 2 minutes, and only the fifth in a day blocks until it frees."""
    blocking = {r.name for r in rules_of(Scope.SSPR) if r.penalty == Block(timedelta(hours=24))}
    assert blocking == {"sspr.questions"}
    assert rules.SSPR_VERIFY_FAILURE.penalty == Pauses(((3, M / 2), (4, 2 * M)))
    assert {r.name for r in rules_of(Scope.SSPR) if r.penalty is None} == {
        "sspr.sms",
        "sspr.call",
        "sspr.email",
        "sspr.recovery_requests",  # over it, the same answer; never a block (A21)
    }
    assert all(rule.durable for rule in rules_of(Scope.SSPR))
    assert rules.SSPR_VERIFY_FAILURE.key == rules.KeyKind.TYPED_USER_ID_AND_NETWORK


def test_smart_lockout_backs_off_from_a_minute_doubling_to_an_hour():
    rule = rules.SIGNIN_LOCKOUT
    assert isinstance(rule.penalty, Backoff)
    assert [rule.penalty_for(level).total_seconds() for level in range(1, 9)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_a_changed_setting_applies_at_once(settings):
    settings.OPENSSPR_PHONE_BUDGET_PER_IP = 3
    assert rules.PHONE_PER_ADDRESS.max_uses() == 3


def test_names_are_unique_and_scopes_share_one_store():
    assert len({rule.name for rule in RULES}) == len(RULES)
    for scope in Scope:
        assert len({rule.durable for rule in rules_of(scope)}) == 1, scope


def test_only_the_per_address_sign_in_budget_may_live_in_the_cache():
    assert [rule.name for rule in RULES if not rule.durable] == ["signin.failures_per_address"]


def test_rules_with_memory_or_back_off_have_their_scope_to_themselves():
    for rule in RULES:
        if rule.quiet_reset or rule.distinct or isinstance(rule.penalty, Backoff):
            assert rules_of(rule.scope) == (rule,) and rule.durable


def test_growing_pauses_are_kept_in_the_database_and_end_at_the_limit():
    for rule in RULES:
        if isinstance(rule.penalty, Pauses):
            assert rule.durable, rule.name  # the pause reads the window's uses (database only)
            counts = [used for used, _pause in rule.penalty.after]
            pauses = [pause for _used, pause in rule.penalty.after]
            assert counts == sorted(counts) and counts[-1] < rule.max_uses(), rule.name
            assert pauses == sorted(pauses) and pauses[-1] < rule.window, rule.name


def test_the_contributor_table_lists_every_rule_with_its_number():
    text = DOC.read_text()
    for rule in RULES:
        row = next((line for line in text.splitlines() if f"`{rule.name}`" in line), "")
        assert row, f"{rule.name} is missing from {DOC.name}"
        assert f"| {rule.max_uses()} " in row or "OPENSSPR_" in row, row

"""The fault catalogue: where each fault of the security bar (§3.3, F1 to F19) is tested.

The fault tests live beside the code they exercise (a directory fault needs the slapd
fixture, an SMTP fault the aiosmtpd one); this suite adds the faults that cross every step
(``test_database_at_each_step``) and keeps this map honest: every test named here must
exist, and every fault has tests or says why not yet. CI runs all of them.
"""

import importlib

import pytest

COVERED: dict[str, list[str]] = {
    "F1 directory down at identify and later steps": [
        "tests.directory.test_writeback::test_down_when_the_flow_starts_the_flow_is_real_and_says_so_at_the_first_step",
        "tests.directory.test_writeback::test_down_when_the_code_is_checked_keeps_the_gate_open",
        "tests.directory.test_writeback::test_down_at_the_new_password_changes_nothing",
        "tests.directory.test_writeback::test_down_at_a_change_or_sign_in_changes_and_counts_nothing",
        "tests.directory.test_transport::test_directory_down_then_back_needs_no_restart",
    ],
    "F2 directory slow or hung": [
        "tests.directory.test_transport::test_a_hung_directory_times_out_with_nothing_half_done",
        "tests.directory.test_transport::test_a_server_hung_before_the_tls_handshake_is_a_timeout_not_a_tls_fault",
    ],
    "F3 directory refuses the new password by policy": [
        "tests.directory.test_writeback::test_a_directory_refusal_keeps_the_person_on_the_new_password_step",
        "tests.directory.test_writeback_ad::test_a_password_in_ads_history_is_refused_with_the_directorys_reason",
    ],
    "F4 write applied, answer lost": [
        "tests.directory.test_writeback::test_a_lost_answer_is_settled_by_reading_the_directory_never_by_writing_again",
    ],
    "F5 directory replication lag": [
        "tests.directory.test_writeback::test_a_lagging_replica_never_settles_a_write_it_has_not_seen",
        "tests.agents.test_agent_replicas::test_a_lagging_replica_never_settles_a_write_made_through_the_agent",
    ],
    "F6 bad certificate, StartTLS refused, no plaintext fallback": [
        "tests.directory.test_transport::test_an_unknown_ca_is_refused",
        "tests.directory.test_transport::test_a_certificate_for_another_name_is_refused",
        "tests.directory.test_transport::test_no_bind_crosses_the_wire_in_clear_when_tls_fails",
    ],
    "F7 SMTP down, 451, 550, codes expiring meanwhile": [
        "tests.channels.test_smtp::test_451_is_retried_with_backoff_until_accepted",
        "tests.channels.test_smtp::test_550_fails_for_good_and_erases_the_body",
        "tests.channels.test_smtp::test_a_refused_connection_is_retried",
        "tests.channels.test_smtp::test_a_code_that_expired_while_smtp_was_failing_is_never_sent",
    ],
    "F8 SMS provider 5xx, 429, timeouts": [
        "tests.channels.test_twilio::test_429_is_retried_after_backoff",
        "tests.channels.test_twilio::test_a_timeout_after_the_request_reached_twilio_is_never_retried",
        "tests.channels.test_twilio::test_server_errors_are_uncertain_and_client_errors_final",
        "tests.channels.test_twilio::test_no_connection_means_nothing_was_sent_so_it_is_retried",
    ],
    "F11 database stalled or restarting mid-flow, at each step": [
        "tests.faults.test_database_at_each_step::test_a_stalled_database_at_each_step_changes_nothing_and_the_step_can_be_retried",
        "tests.api.test_failures::test_a_locked_database_answers_503_problem",
    ],
    "F11b disk full on the embedded default": [
        "tests.faults.test_disk_full::test_a_full_disk_refuses_the_step_whole_and_the_same_step_works_once_space_returns",
    ],
    "F11c the server killed between and during steps": [
        "tests.faults.test_server_killed::test_a_kill_between_steps_loses_nothing_the_person_holds",
        "tests.faults.test_server_killed::test_a_kill_during_a_step_leaves_it_done_or_not_done_never_half",
    ],
    "F12 Redis lost or unreachable": [
        "tests.throttles.test_service::test_an_unreachable_redis_fails_closed",
        "tests.throttles.test_service::test_losing_the_cache_resets_no_durable_count",
        "tests.api.test_failures::test_an_unreachable_cache_outside_the_view_answers_503_problem",
    ],
    "F13 process killed between the directory write and the audit": [
        "tests.directory.test_writeback::test_the_reconciler_finishes_a_write_whose_process_died_before_the_audit",
        "tests.directory.test_writeback::test_the_reconciler_undoes_a_write_that_never_landed",
    ],
    "F14 worker killed mid-send; notifications never lost, codes never resent": [
        "tests.channels.test_worker::test_a_notification_left_sending_by_a_dead_worker_is_sent_again",
        "tests.channels.test_worker::test_a_code_left_sending_by_a_dead_worker_is_not_sent_again",
    ],
    "F9 a call nobody answers": [
        "tests.faults.test_clock_and_calls::test_a_call_nobody_answers_never_passes_and_never_redials",
    ],
    "F15 clock jumps": [
        "tests.faults.test_clock_and_calls::test_a_forward_jump_ends_the_code_and_the_flow_with_a_clear_error",
        "tests.faults.test_clock_and_calls::test_a_backward_jump_makes_nothing_valid_for_good",
        "tests.faults.test_clock_and_calls::test_a_backward_jump_still_uses_a_code_only_once",
        "tests.faults.test_clock_and_calls::test_an_authenticator_code_is_accepted_one_step_either_side_and_no_further",
    ],
    "F16 audit sink (syslog receiver) down": [
        "tests.audit.test_forwarding_faults::test_a_siem_down_blocks_no_step_and_drops_no_audit_row",
        "tests.audit.test_forwarding_faults::test_a_receiver_that_never_answers_times_out_and_keeps_the_cursor",
        "tests.audit.test_forwarding::test_an_outage_loses_nothing_and_sends_each_event_once_in_order",
        "tests.audit.test_forwarding::test_pruning_keeps_what_syslog_has_not_received",
    ],
    "F18 secret rotation": [
        "tests.captcha.test_services::test_challenge_from_before_a_secret_key_change_is_rejected",
    ],
    "F19 hostile or huge directory answers": [
        "tests.directory.test_writeback::test_ldap_filter_characters_in_the_user_id_never_reach_a_filter",
    ],
}

NOT_YET: dict[str, str] = {
    "F10 push service": "no push method is built",
    "F17 resource pressure": "measured by bench/bench_http_reset_storm.py, not asserted",
}


@pytest.mark.parametrize(
    "node", [node for nodes in COVERED.values() for node in nodes], ids=lambda n: n.split("::")[1]
)
def test_every_test_the_catalogue_names_exists(node):
    module, name = node.split("::")
    assert callable(getattr(importlib.import_module(module), name, None)), node


def test_every_fault_of_the_bar_is_covered_or_says_why_not():
    numbers = {key.split()[0].rstrip("bc") for key in [*COVERED, *NOT_YET]}
    assert numbers == {f"F{n}" for n in range(1, 20)}

"""Usage and insights at scale: the console home, the insights page and every figure.

Seeds N people and M audit events (90 days of resets, unlocks, changes,
failures, blocks and sign-in noise, in flows with correlation ids) into a
throwaway PostgreSQL database with ``generate_series`` SQL, rolls every day up
(the backfill) and prints how long each page, each CSV download and each
summary figure takes, with its query count. The target is 1 s each at
1,000,000 people and 5,000,000 events (issue 11):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_insights \\
        .venv/bin/python bench/bench_insights.py --people 1000000 --events 5000000

It runs with the tests' settings and gets a fresh ``test_<name>`` database,
dropped at the end. Each person's registration decision is made once, as the
worker would (minutes at a million; the rate is printed), then the registration
report's pages, its freshness check and its CSV are timed too. The daily
registration snapshot's other 89 days are written directly. Figures, never
assertions: see docs/contributors/testing.md.
"""

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from opensspr.accounts.models import RoleAssignment, User
from opensspr.core import clock
from opensspr.policy.models import SsprPolicy
from opensspr.reports import insights
from opensspr.reports.health import get_health
from opensspr.reports.models import DailyRegistration, RollupState
from opensspr.reports.rollup import rollup_day, rollup_recent, today
from opensspr.reports.snapshot import take_snapshot_step
from opensspr.reports.status import (
    bring_up_to_date,
    count_statuses,
    current_generation,
    decide_statuses,
    mark_stale,
)

DAYS = 90

PEOPLE_SQL = """
INSERT INTO accounts_user (password, user_id, user_id_key, display_name, given_name, surname,
    email, auth_email, mobile_phone, office_phone, source, on_premises_dn, user_type, guest_kind,
    account_enabled, sspr_licensed, password_never_expires, must_change_password, created_at)
SELECT '!', 'person' || n || '@bench.example', 'person' || n || '@bench.example',
    'Person ' || n, '', '', '',
    CASE WHEN mod(n, 3) > 0 THEN 'p' || n || '@mail.example' ELSE '' END,
    CASE WHEN mod(n, 2) = 1 THEN '+3161' || lpad(n::text, 7, '0') ELSE '' END,
    '', 'cloud', '', 'member', '', mod(n, 40) <> 5, true, false, false, now()
FROM generate_series(%s, %s) AS n
"""

# Five events per slot s: a flow's start, its gate, its end (7 in 10 resets, 2 unlocks,
# 1 wrong code), then sign-in noise and, now and then, a block or a password change.
EVENTS_SQL = """
INSERT INTO audit_auditevent (occurred_at, activity, outcome, reason, actor_label, target_id,
    target_label, correlation_id, user_agent, details, chain_hash)
SELECT
    %(start)s::timestamptz + (s * %(step)s) * interval '1 second'
        + CASE k WHEN 0 THEN interval '0' WHEN 1 THEN (20 + mod(s, 60)) * interval '1 second'
          WHEN 2 THEN (40 + mod(s, 400)) * interval '1 second'
          ELSE (k * 7) * interval '1 second' END,
    CASE k WHEN 0 THEN 'reset.started' WHEN 1 THEN 'reset.gate_passed'
        WHEN 2 THEN CASE WHEN mod(s, 10) < 7 THEN 'reset.completed'
                    WHEN mod(s, 10) < 9 THEN 'unlock.completed' ELSE 'reset.gate_failed' END
        WHEN 3 THEN 'signin.succeeded'
        ELSE CASE WHEN mod(s, 50) = 0 THEN 'reset.blocked'
             WHEN mod(s, 7) = 0 THEN 'password.changed' ELSE 'delivery.sent' END END,
    CASE WHEN (k = 2 AND mod(s, 10) = 9) OR (k = 4 AND mod(s, 50) = 0) THEN 'failure'
         ELSE 'success' END,
    CASE WHEN k = 2 AND mod(s, 10) = 9 THEN 'wrong_answer'
         WHEN k = 4 AND mod(s, 50) = 0 THEN 'verify' ELSE '' END,
    '', %(first_pk)s + (mod(s, %(people)s)), '', 'flow-' || s, 'bench',
    CASE WHEN k IN (1, 2) THEN jsonb_build_object('method',
        (ARRAY['email','mobile_sms','app_code','mobile_voice','security_questions'])[1 + mod(s, 5)])
        ELSE '{}'::jsonb END,
    ''
FROM generate_series(%(low)s, %(high)s) AS i, LATERAL (SELECT i / 5 AS s, mod(i, 5) AS k) AS slot
"""


def seed(people: int, events: int) -> None:
    with connection.cursor() as cursor:
        for low in range(0, people, 250_000):
            cursor.execute(PEOPLE_SQL, [low, min(low + 250_000, people) - 1])
        cursor.execute("SELECT min(id) FROM accounts_user")
        first_pk = cursor.fetchone()[0]
        start = clock.now() - timedelta(days=DAYS)
        step = DAYS * 86400 / max(events // 5, 1)
        for low in range(0, events, 500_000):
            params = {"start": start, "step": step, "first_pk": first_pk, "people": people}
            params |= {"low": low, "high": min(low + 500_000, events) - 1}
            cursor.execute(EVENTS_SQL, params)
        cursor.execute("ANALYZE")
    SsprPolicy.objects.update_or_create(
        pk=1, defaults={"scope": "all", "methods_required": 1, "allow_office_voice": True}
    )


def measure(action: Callable[[], Any]) -> tuple[float, int, Any]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
    return elapsed, len(queries), result


def line(what: str, seconds: float, queries: int) -> None:
    print(f"{what:<44}{seconds:>9.3f}{queries:>9}", flush=True)


def decide_everyone() -> None:
    """The registration decisions' backfill, as the worker's pass would make them."""
    pks = list(User.objects.order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    for low in range(0, len(pks), 20_000):
        decide_statuses(pks[low : low + 20_000])
    elapsed = time.perf_counter() - started
    print(f"deciding everyone: {elapsed:.1f} s ({len(pks) / elapsed:,.0f} people a second)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def backfill(people: int) -> None:
    """Roll up every day, time one snapshot step, and write the other days' snapshots."""
    decide_everyone()
    last = today()
    started = time.perf_counter()
    for n in range(DAYS, -1, -1):
        rollup_day(last - timedelta(days=n))
    elapsed = time.perf_counter() - started
    print(f"rollup of {DAYS + 1} days: {elapsed:.1f} s ({elapsed / (DAYS + 1):.2f} s a day)")
    seconds, queries, _days = measure(lambda: rollup_recent(days=1))
    line("worker's minute run (today)", seconds, queries)
    seconds, queries, _days = measure(rollup_recent)
    line("worker's hourly run (today and yesterday)", seconds, queries)
    seconds, queries, _done = measure(lambda: take_snapshot_step(last))
    line("registration snapshot: one worker step", seconds, queries)
    print(f"  (1,000 people a step: the whole snapshot about {seconds * people / 1000:.0f} s)")
    DailyRegistration.objects.bulk_create(
        DailyRegistration(
            day=last - timedelta(days=n),
            taken_at=clock.now(),
            users=people,
            enabled=people,
            registered=people * (60 + n % 20) // 100,
            capable=people * (55 + n % 20) // 100,
            never_registered=people // 6,
            email=people * 2 // 3,
            mobile_phone=people // 2,
        )
        for n in range(1, DAYS)
    )


def run() -> None:
    admin = User.objects.order_by("pk").first()
    assert admin is not None
    RoleAssignment.objects.create(user=admin, role="global_admin")
    client = Client()
    client.force_login(admin)
    print(f"{'what':<44}{'seconds':>9}{'queries':>9}")
    for url in (
        "/console/",
        "/console/reports/insights/?days=7",
        "/console/reports/insights/?days=30",
        "/console/reports/insights/?days=90",
    ):
        seconds, queries, response = measure(lambda url=url: client.get(url))
        assert response.status_code == 200, (url, response.status_code)
        line(f"page {url}", seconds, queries)
    for table in ("daily", "methods", "failures", "registration"):
        url = f"/console/reports/insights/?days=90&export={table}"
        seconds, queries, _body = measure(
            lambda url=url: b"".join(client.get(url).streaming_content)
        )
        line(f"CSV {table} (90 days)", seconds, queries)
    month = insights.period_ending(today(), 30)
    figures: list[tuple[str, Callable[[], Any]]] = [
        ("usage per day (30 days)", lambda: insights.list_daily_usage(month)),
        ("methods (30 days)", lambda: insights.list_method_usage(month)),
        ("failures by reason (30 days)", lambda: insights.list_failures(month)),
        ("median time to reset (30 days)", lambda: insights.median_seconds(month)),
        ("summary incl. calls avoided (30 days)", lambda: insights.get_usage_summary(month)),
        ("people blocked in the last 24 h", insights.count_blocked_now),
        ("registration trend (30 days)", lambda: insights.list_registration_trend(month)),
        ("latest registration snapshot", insights.get_latest_registration),
        ("delivery and directory health", get_health),
    ]
    for what, action in figures:
        seconds, queries, _result = measure(action)
        line(what, seconds, queries)
    registration_report(client)


REPORT = "/console/reports/registrations/"


def registration_report(client: Client) -> None:
    """Each kind of registration report page, the CSV's first chunk, and the whole CSV."""
    pages = [
        ("", "unfiltered, page 1"),
        ("?page=50", "unfiltered, page 50"),
        ("?capable=no", "not capable"),
        ("?capable=yes&page=20", "capable, page 20"),
        ("?method=mobile_phone&unproven=yes", "mobile phone, unproven"),
        ("?confirmation=never&enabled=no", "never confirmed, not enabled"),
        ("?q=person4242", "search (111 people)"),
        ("?q=person1&page=3", "search (111,111 people), page 3"),
    ]
    for query, what in pages:
        seconds, queries, response = measure(lambda query=query: client.get(REPORT + query))
        assert response.status_code == 200, (query, response.status_code)
        line(f"report: {what}", seconds, queries)
    seconds, queries, _stale = measure(bring_up_to_date)
    line("report's freshness check (nothing changed)", seconds, queries)
    seconds, queries, _figures = measure(count_statuses)
    line("registration count from the stored rows", seconds, queries)

    def first_chunk() -> bytes:
        stream = iter(client.get(REPORT + "?export=csv&capable=no").streaming_content)
        return next(stream) + next(stream)

    seconds, queries, _head = measure(first_chunk)
    line("report CSV: header and first 2,000 rows", seconds, queries)
    started = time.perf_counter()
    size = sum(len(part) for part in client.get(REPORT + "?export=csv").streaming_content)
    elapsed = time.perf_counter() - started
    print(f"report CSV, everyone: {elapsed:.1f} s, {size / 1e6:.0f} MB", flush=True)
    mark_stale(User.objects.order_by("-pk").values_list("pk", flat=True)[:100])
    seconds, queries, _response = measure(lambda: client.get(REPORT + "?capable=no"))
    line("report: not capable, 100 people changed", seconds, queries)
    generation = current_generation()
    SsprPolicy.objects.filter(pk=1).get().save()  # a policy change: everyone out of date
    seconds, queries, _response = measure(lambda: client.get(REPORT + "?capable=no"))
    line("report: not capable, right after a policy change", seconds, queries)
    # Nothing really changed: the rows are current again (so --reuse measures the same).
    RollupState.objects.filter(pk=1).update(status_generation=generation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--keep", action="store_true", help="keep the seeded database for --reuse (drop it by hand)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="time the pages of a database kept with --keep"
    )
    args = parser.parse_args()
    logging.disable(logging.INFO)
    if connection.vendor != "postgresql":
        sys.exit("bench_insights needs PostgreSQL (DATABASE_URL=postgres://...).")
    if args.reuse:
        connection.close()
        connection.settings_dict["NAME"] = connection.creation._get_test_db_name()
        RoleAssignment.objects.filter(role="global_admin").delete()
        run()
        return
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        seed(args.people, args.events)
        print(
            f"database: {connection.vendor}; {args.people:,} people and {args.events:,} audit "
            f"events seeded in {time.perf_counter() - started:.1f} s; {os.cpu_count()} cores"
        )
        backfill(args.people)
        run()
    finally:
        connection.close()
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()

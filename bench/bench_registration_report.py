"""Registration report and policy impact preview over a whole directory.

Seeds N people (admins, nested group members, confirmed and unconfirmed apps,
answers above and below the threshold, synced users, guests, disabled and
unlicensed accounts) into a throwaway database, then prints how long the
console's impact preview, the registration report and its CSV take, with the
number of queries each made, and the single-person ``eligibility_for`` cost
per person for comparison:

    .venv/bin/python bench/bench_registration_report.py [--users 5000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_report \\
        .venv/bin/python bench/bench_registration_report.py

It runs with the tests' settings. SQLite writes a file in a temporary folder;
PostgreSQL gets a fresh ``test_<name>`` database, dropped at the end. People
are inserted with ``bulk_create`` rather than the audited services: the bench
measures reads, and seeding 50,000 people one audited write at a time would
take longer than what it measures. Figures, never assertions: see
docs/contributors/testing.md.
"""

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opensspr.accounts.identifiers import identifier_key
from opensspr.accounts.models import Group, RoleAssignment, User
from opensspr.core import clock
from opensspr.core.crypto import seal
from opensspr.methods.models import AuthenticatorApp, SecurityAnswer
from opensspr.methods.questions import predefined_key
from opensspr.policy.models import SsprPolicy
from opensspr.policy.reset_selectors import eligibility_for, get_sspr_policy
from opensspr.registration.models import RegistrationState
from opensspr.reports.exports import registration_csv
from opensspr.reports.impact import get_policy_impact
from opensspr.reports.selectors import (
    RegistrationRow,
    ReportFilters,
    count_report,
    filter_users,
    list_registration_rows,
    rows_of_users,
)
from opensspr.reports.status import bring_up_to_date, decide_statuses

SINGLE_SAMPLE = 200


def _person(n: int, password: str) -> User:
    """Person ``n``: a mix in fixed proportions, so every run seeds the same directory."""
    user_id = f"person{n}@bench.example"
    synced = n % 10 == 3
    guest = n % 25 == 7
    return User(
        user_id=user_id,
        user_id_key=identifier_key(user_id),
        display_name=f"Person {n}",
        password=password,
        auth_email=f"p{n}@mail.example" if n % 3 else "",
        mobile_phone=f"+3161{n:07d}" if n % 2 else "",
        office_phone=f"+3120{n:07d}" if n % 11 == 0 else "",
        source="synced" if synced else "cloud",
        on_premises_dn=f"uid=p{n},dc=bench" if synced else "",
        user_type="guest" if guest else "member",
        guest_kind=("personal_account" if n % 2 else "b2b_partner") if guest else "",
        account_enabled=n % 40 != 5,
        sspr_licensed=n % 30 != 9,
    )


def seed(count: int) -> None:
    password = make_password(None)
    User.objects.bulk_create((_person(n, password) for n in range(count)), batch_size=1000)
    people = list(User.objects.order_by("pk").values_list("pk", flat=True))
    staff, sales, emea = (Group.objects.create(name=n) for n in ("All staff", "Sales", "EMEA"))
    staff.member_groups.add(sales)
    sales.member_groups.add(emea)
    membership = Group.members.through
    membership.objects.bulk_create(
        (
            membership(group_id=(emea, sales, staff)[i % 3].pk, user_id=pk)
            for i, pk in enumerate(people)
            if i % 4
        ),
        batch_size=1000,
    )
    RoleAssignment.objects.bulk_create(
        RoleAssignment(user_id=pk, role="helpdesk_admin")
        for i, pk in enumerate(people)
        if i % 50 == 1
    )
    now, sealed = clock.now(), seal("JBSWY3DPEHPK3PXP")
    AuthenticatorApp.objects.bulk_create(
        (
            AuthenticatorApp(user_id=pk, secret_sealed=sealed, confirmed_at=now if i % 8 else None)
            for i, pk in enumerate(people)
            if i % 4 == 0
        ),
        batch_size=1000,
    )
    SecurityAnswer.objects.bulk_create(
        (
            SecurityAnswer(user_id=pk, question_key=predefined_key(q), answer_hash="bench")
            for i, pk in enumerate(people)
            if i % 5 == 0
            for q in range(1, 2 + i % 4)
        ),
        batch_size=1000,
    )
    RegistrationState.objects.bulk_create(
        (
            RegistrationState(user_id=pk, confirmed_at=now, auth_email_proven_at=now)
            for i, pk in enumerate(people)
            if i % 3 == 1
        ),
        batch_size=1000,
    )
    SsprPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "scope": "all",
            "methods_required": 1,
            "allow_office_voice": True,
            "allow_security_questions": True,
            "questions_to_register": 3,
            "questions_to_reset": 3,
            "admins_may_reset": True,
            "writeback_enabled": True,
        },
    )


def measure(action: Callable[[], Any]) -> tuple[float, int, Any]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
    return elapsed, len(queries), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    if connection.vendor == "sqlite":
        folder = tempfile.mkdtemp(prefix="opensspr-bench-")
        connection.settings_dict["TEST"]["NAME"] = f"{folder}/bench.sqlite3"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        seed(args.users)
        print(
            f"database: {connection.vendor}; {args.users} people seeded in "
            f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} cores"
        )
        run(args.users)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _page_of(filters: ReportFilters) -> list[RegistrationRow]:
    """What the console's page reads: freshness, totals, and its first 100 rows."""
    bring_up_to_date()
    users = filter_users(filters)
    count_report(filters)
    return rows_of_users(users.select_related("registration_status")[:100])


def run(count: int) -> None:
    current = get_sspr_policy()
    candidate = SsprPolicy(
        pk=1,
        **{
            f.attname: getattr(current, f.attname)
            for f in SsprPolicy._meta.concrete_fields
            if f.attname != "id"
        }
        | {
            "methods_required": 2,
            "scope": "selected",
            "group_id": Group.objects.get(name="All staff").pk,
        },
    )
    print(f"{'what':<34}{'seconds':>9}{'queries':>9}")
    seconds, queries, impact = measure(
        lambda: get_policy_impact(current=current, candidate=candidate)
    )
    print(f"{'impact preview (2 policies)':<34}{seconds:>9.2f}{queries:>9}")
    pks = list(User.objects.values_list("pk", flat=True))
    seconds, queries, _count = measure(lambda: decide_statuses(pks))
    print(f"{'deciding everyone (worker)':<34}{seconds:>9.2f}{queries:>9}")
    for what, filters in (
        ("report page, unfiltered", ReportFilters()),
        ("report page, capable=no", ReportFilters(capable=False)),
    ):
        seconds, queries, _page = measure(lambda filters=filters: _page_of(filters))
        print(f"{what:<34}{seconds:>9.2f}{queries:>9}")
    seconds, queries, rows = measure(list_registration_rows)
    print(f"{'registration report rows':<34}{seconds:>9.2f}{queries:>9}")
    csv_seconds, csv_queries, text = measure(lambda: registration_csv(rows))
    print(f"{'CSV of those rows':<34}{csv_seconds:>9.2f}{csv_queries:>9}")
    print(f"{'report + CSV':<34}{seconds + csv_seconds:>9.2f}{queries + csv_queries:>9}")
    sample = list(User.objects.order_by("pk")[:SINGLE_SAMPLE])
    seconds, queries, _decisions = measure(lambda: [eligibility_for(u, current) for u in sample])
    per_person = seconds / len(sample) * 1000
    print(
        f"single-person eligibility_for: {per_person:.2f} ms and {queries / len(sample):.1f} "
        f"queries per person ({len(sample)} sampled; x{count} = {per_person * count / 1000:.1f} s)"
    )
    print(
        f"impact: {impact.evaluated} evaluated, {len(impact.losing)} losing, "
        f"{len(impact.gaining)} gaining; report: {len(rows)} rows, {len(text) // 1024} KiB of CSV"
    )


if __name__ == "__main__":
    main()

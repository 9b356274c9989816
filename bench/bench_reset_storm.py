"""Reset storm: N concurrent people each walk a whole one-gate email reset.

Prints completed resets per second, argon2id hashes per second measured in the
same run (the floor every reset pays: the new password is hashed once), and the
p50/p99 latency of each step. Runs the real services against a real database:

    .venv/bin/python bench/bench_reset_storm.py [--flows 40] [--threads 8]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_storm \\
        .venv/bin/python bench/bench_reset_storm.py

A SQLite file in a temporary folder is the default (the embedded set-up).
Figures, never assertions: see docs/contributors/testing.md.
"""

import argparse
import itertools
import logging
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OPENSSPR_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghij")
os.environ.setdefault("OPENSSPR_DATA_DIR", tempfile.mkdtemp(prefix="opensspr-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opensspr.config.settings")

import django

django.setup()

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection

from opensspr.accounts.services import UserData, create_user
from opensspr.channels import list_outbox
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.kinds import MethodKind
from opensspr.policy.models import SsprPolicy
from opensspr.resets.flow import (
    begin_verification,
    choose_operation,
    set_new_password,
    start_flow,
    submit_verification,
)
from opensspr.resets.models import Operation

STEPS = ("start", "choose", "send_code", "verify", "new_password")


def argon2_rate(seconds: float = 2.0) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        make_password(f"bench-{count}")
        count += 1
    return count / (time.perf_counter() - started)


def prepare(flows: int) -> list[str]:
    call_command("migrate", verbosity=0, interactive=False)
    settings.OPENSSPR_INLINE_DELIVERY_IN_BACKGROUND = False  # read codes deterministically
    SsprPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "scope": "all",
            "allow_email": True,
            "unlock_without_reset": True,
            "methods_required": 1,
        },
    )
    meta = RequestMeta.system()
    ids = []
    run = int(time.time())
    for n in range(flows):
        user_id = f"storm{run}-{n}@bench.example"
        create_user(
            data=UserData(user_id, f"Storm {n}", auth_email=f"s{run}-{n}@mail.example"),
            meta=meta,
            password="Initial-Bench-Pass-1",
        )
        ids.append(user_id)
    return ids


def one_reset(user_id: str, timings: dict[str, list[float]], lock: threading.Lock) -> None:
    meta = RequestMeta("127.0.0.1", "bench", f"bench-{user_id}")
    address = user_id.replace("storm", "s").replace("@bench.example", "@mail.example")
    marks = [time.perf_counter()]
    view = start_flow(identifier=user_id, meta=meta)
    marks.append(time.perf_counter())
    view = choose_operation(handle=view.handle, operation=Operation.RESET, meta=meta)
    marks.append(time.perf_counter())
    view = begin_verification(handle=view.handle, kind=MethodKind.EMAIL, contact=address, meta=meta)
    marks.append(time.perf_counter())
    body = list_outbox(recipient=address).first().plaintext_body()
    code = re.search(r"\b(\d{8})\b", body).group(1)
    view = submit_verification(handle=view.handle, answer=code, meta=meta)
    marks.append(time.perf_counter())
    set_new_password(handle=view.handle, new_password="Storm-Copper-Lantern-77", meta=meta)
    marks.append(time.perf_counter())
    connection.close()
    with lock:
        for step, (a, b) in zip(STEPS, itertools.pairwise(marks), strict=True):
            timings[step].append((b - a) * 1000)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=40)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # one line per delivery would drown the figures
    ids = prepare(args.flows)
    hashes = argon2_rate()
    timings: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        for future in [pool.submit(one_reset, i, timings, lock) for i in ids]:
            future.result()
    elapsed = time.perf_counter() - started
    engine = connection.vendor
    print(
        f"database: {engine}; {args.flows} resets, {args.threads} concurrent flows, "
        f"{os.cpu_count()} cores"
    )
    print(f"completed resets per second: {args.flows / elapsed:.1f}  ({elapsed:.2f} s in all)")
    print(f"argon2id hashes per second (same run, one thread): {hashes:.1f}")
    print(f"{'step':<14}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for step in STEPS:
        values = timings[step]
        print(
            f"{step:<14}{percentile(values, 50):>10.1f}{percentile(values, 99):>10.1f}"
            f"{statistics.fmean(values):>10.1f}"
        )


if __name__ == "__main__":
    main()

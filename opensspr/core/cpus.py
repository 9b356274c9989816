"""How many cores this process may really use: its affinity, and its container's CPU quota.

``os.sched_getaffinity`` counts the cores the process may be scheduled on; a container
limited to two CPUs' worth of time on a 32-core host still sees 32. The quota is in
the cgroup: ``cpu.max`` (cgroup v2, "quota period" or "max period") or
``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` (v1, -1 for none). The hash slots
(``core/hashers.py``) and the default number of server workers (``core/serving.py``)
are sized by it: more of either than the quota allows only queues on the quota.
"""

import math
import os
from functools import cache
from pathlib import Path

_V2 = Path("/sys/fs/cgroup/cpu.max")
_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def _quota(v2: Path = _V2, v1: tuple[Path, Path] = (_V1_QUOTA, _V1_PERIOD)) -> float | None:
    """The cgroup's CPU quota in cores, or None where there is none (or it can't be read)."""
    try:
        quota, period = v2.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us, period_us = int(v1[0].read_text()), int(v1[1].read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


@cache
def usable_cpus() -> int:
    """Cores this process may use at once: at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity else os.cpu_count() or 1
    quota = _quota()
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)

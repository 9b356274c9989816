"""How many cores this process may really use: its affinity, and its cgroup's CPU quota.

``os.sched_getaffinity`` counts the cores the process may be scheduled on; a container
limited to two CPUs' worth of time on a 32-core host still sees 32. The quota is in
the process's cgroup or one above it (``/proc/self/cgroup`` names it; in a container
with a cgroup namespace of its own that is the root): ``cpu.max`` on cgroup v2 ("quota
period", or "max period" for none), ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` on
v1 (-1 for none). The tightest along the way holds. The hash slots
(``core/hashers.py``) and the default number of server workers (``core/serving.py``)
are sized by it: more of either than the quota allows only queue on the quota.
"""

import math
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")
_OWN = Path("/proc/self/cgroup")


def _v2_quota(folder: Path) -> float | None:
    try:
        quota, period = folder.joinpath("cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _v1_quota(folder: Path) -> float | None:
    try:
        quota = int(folder.joinpath("cpu.cfs_quota_us").read_text())
        period = int(folder.joinpath("cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _up_from(top: Path, inner: str) -> Iterator[Path]:
    """``top``/``inner`` and each folder above it, up to ``top``."""
    folder = top.joinpath(inner.strip("/"))
    while True:
        yield folder
        if folder == top or top not in folder.parents:
            return
        folder = folder.parent


def _quota(root: Path = _ROOT, own: Path = _OWN) -> float | None:
    """The tightest CPU quota over this process's cgroups, in cores; None for none known."""
    try:
        lines = own.read_text().splitlines()
    except OSError:
        lines = []
    found: list[float] = []
    for line in lines or ["0::/"]:
        parts = line.split(":", 2)
        if len(parts) != 3:  # not a cgroup line: nothing to learn from it
            continue
        _, controllers, inner = parts
        if controllers == "":  # v2: one tree
            found += [q for f in _up_from(root, inner) if (q := _v2_quota(f)) is not None]
        elif "cpu" in controllers.split(","):  # v1: the cpu controller's own tree
            for top in (root / "cpu", root / controllers):
                found += [q for f in _up_from(top, inner) if (q := _v1_quota(f)) is not None]
    return min(found) if found else None


@cache
def usable_cpus() -> int:
    """Cores this process may use at once: at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity else os.cpu_count() or 1
    quota = _quota()
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)

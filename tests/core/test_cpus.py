"""The cores a process may use: its affinity, bounded by its cgroup's CPU quota."""

import math
import os
from pathlib import Path

import pytest

from opensspr.core.cpus import _quota, usable_cpus


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    ("own", "files", "cores"),
    [
        ("0::/\n", {"cpu.max": "max 100000\n"}, None),  # v2, a namespace of its own, no quota
        ("0::/\n", {"cpu.max": "150000 100000\n"}, 1.5),  # a container given 1.5 CPUs
        # v2 without a namespace of its own (a systemd unit, Docker's --cgroupns=host): the
        # quota is on the process's cgroup or one above it, and the tightest holds
        ("0::/a/b\n", {"a/b/cpu.max": "max 100000", "a/cpu.max": "250000 100000"}, 2.5),
        ("0::/a/b\n", {"a/b/cpu.max": "150000 100000", "a/cpu.max": "400000 100000"}, 1.5),
        # v1: the cpu controller's tree, joined with cpuacct or not
        (
            "3:cpu,cpuacct:/svc\n",
            {
                "cpu,cpuacct/svc/cpu.cfs_quota_us": "300000",
                "cpu,cpuacct/svc/cpu.cfs_period_us": "100000",
            },
            3.0,
        ),
        ("1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
        (
            "4:memory:/x\n1:cpu:/\n",
            {"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000"},
            2.0,
        ),
        ("0::/\n", {"cpu.max": "garbage\n"}, None),
        ("", {}, None),  # nothing readable: no quota known
        ("garbage\n0::/\n", {"cpu.max": "100000 100000"}, 1.0),  # a stray line is passed over
    ],
)
def test_the_quota_is_read_where_the_process_cgroup_is(tmp_path, own, files, cores):
    root, cgroup = tmp_path / "cgroup", tmp_path / "own"
    root.mkdir()
    _tree(root, files)
    if own:
        cgroup.write_text(own)
    assert _quota(root, cgroup) == cores


def test_usable_cores_are_never_more_than_the_affinity_nor_than_the_quota_allows():
    cores = len(os.sched_getaffinity(0))
    quota = _quota()
    expected = cores if quota is None else min(cores, max(1, math.ceil(quota)))
    assert usable_cpus() == expected >= 1

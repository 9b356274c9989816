"""The cores a process may use: its affinity, bounded by its container's CPU quota."""

import math
import os

import pytest

from opensspr.core.cpus import _quota, usable_cpus


@pytest.mark.parametrize(
    ("v2", "v1", "cores"),
    [
        ("max 100000\n", None, None),  # cgroup v2, no quota
        ("150000 100000\n", None, 1.5),  # a container given one and a half CPUs
        ("200000 100000\n", ("-1", "100000"), 2.0),  # v2 wins where both are there
        (None, ("300000", "100000"), 3.0),  # cgroup v1
        (None, ("-1", "100000"), None),  # v1, no quota
        (None, None, None),  # neither readable: no quota known
        ("garbage\n", None, None),
    ],
)
def test_the_container_quota_is_read_from_either_cgroup_version(tmp_path, v2, v1, cores):
    v2_file, quota_file, period_file = tmp_path / "cpu.max", tmp_path / "quota", tmp_path / "period"
    if v2 is not None:
        v2_file.write_text(v2)
    if v1 is not None:
        quota_file.write_text(v1[0])
        period_file.write_text(v1[1])
    assert _quota(v2_file, (quota_file, period_file)) == cores


def test_usable_cores_are_never_more_than_the_affinity_nor_than_the_quota_allows():
    cores = len(os.sched_getaffinity(0))
    quota = _quota()
    expected = cores if quota is None else min(cores, max(1, math.ceil(quota)))
    assert usable_cpus() == expected >= 1

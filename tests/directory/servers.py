"""Real directory servers, started once per test session and shared by every test folder.

Loaded as a plugin by ``tests/conftest.py`` (``pytest_plugins``): a fixture
imported into two conftest files would be two session fixtures, and a second
Samba AD DC can't bind ports 389 and 636 while the first runs. Each server
runs from a temporary folder on loopback, is stopped in ``finally`` and
installs nothing. Missing binaries skip the tests, except under CI=true where
they fail (``require_component``).
"""

import fcntl
from collections.abc import Iterator

import pytest

from tests.conftest import require_component
from tests.directory import samba, slapd

SAMBA_LOCK = "/tmp/opensspr-samba.lock"  # noqa: S108 - a machine-wide lock is the point


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[slapd.Slapd]:
    require_component("slapd", slapd.SLAPD.exists() and slapd.SLAPADD.exists())
    server = slapd.start(tmp_path_factory.mktemp("slapd"))
    try:
        yield server
    finally:
        slapd.stop(server)


@pytest.fixture(scope="session")
def lagging_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[slapd.Slapd]:
    """A second server of the same directory that never receives a write: lag without end
    (security bar F5, in direct mode and through the agent). Entries are added by each test."""
    require_component("slapd", slapd.SLAPD.exists() and slapd.SLAPADD.exists())
    server = slapd.start(tmp_path_factory.mktemp("replica"))
    try:
        yield server
    finally:
        slapd.stop(server)


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[samba.SambaDc]:
    missing = samba.missing_parts()
    require_component(f"a Samba AD DC ({', '.join(missing)})", not missing)
    # A Samba AD DC binds the fixed ports 389 and 636: one at a time on this machine (two
    # test runs, or a run and a developer's helper, wait for each other instead of failing).
    with open(SAMBA_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = samba.start(tmp_path_factory.mktemp("samba"))
        try:
            yield server
        finally:
            samba.stop(server)

"""Fixtures of the core tests."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from opensspr.core.sqlite import idle
from opensspr.core.sqlite.base import DatabaseWrapper


@pytest.fixture
def database(tmp_path: Path, django_db_blocker: Any) -> Iterator[DatabaseWrapper]:
    """A wrapper of our engine over a database file of its own, whatever the test config."""
    name = str(tmp_path / "db")
    wrapper = ConnectionHandler({"default": {"ENGINE": "opensspr.core.sqlite", "NAME": name}})[
        "default"
    ]
    assert isinstance(wrapper, DatabaseWrapper)
    with django_db_blocker.unblock():
        yield wrapper
        wrapper.close()
    while (kept := idle.take("default", name)) is not None:
        kept.close()

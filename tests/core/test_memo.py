"""The single-row settings are read once per request, and shared across requests without
ever serving a row older than the last save (``core/memo.py``)."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opensspr.accounts.selectors import get_organisation
from opensspr.accounts.services import rename_organisation
from opensspr.core import memo
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.models import SSPR_POLICY_KEY, SsprPolicy
from opensspr.policy.reset_selectors import get_sspr_policy
from tests.conftest import open_reset_policy, update_policy

pytestmark = pytest.mark.django_db


def _in_a_request[T](read: Callable[[], T]) -> tuple[T, int]:
    """What ``read`` returns inside a fresh request, and how many queries it took."""
    with memo.request_memo(), CaptureQueriesContext(connection) as queries:
        value = read()
        again = read()
    assert again is value  # the request's own memo
    return value, len(queries)


def test_a_later_request_reads_the_policy_from_the_shared_copy():
    open_reset_policy(methods_required=2)
    first, queried = _in_a_request(get_sspr_policy)
    assert (first.methods_required, queried) == (2, 1)
    second, queried = _in_a_request(get_sspr_policy)
    assert (second.methods_required, queried) == (2, 0)


def test_a_save_is_seen_by_the_very_next_request():
    open_reset_policy(methods_required=1)
    _in_a_request(get_sspr_policy)
    policy = SsprPolicy.objects.get(pk=1)
    policy.methods_required = 2
    policy.save()
    seen, queried = _in_a_request(get_sspr_policy)
    assert (seen.methods_required, queried) == (2, 1)


def test_a_service_renaming_the_organisation_is_seen_at_once():
    _in_a_request(get_organisation)
    rename_organisation(name="Lakeside Water", meta=RequestMeta.system())
    assert _in_a_request(get_organisation)[0].name == "Lakeside Water"


def test_a_row_read_while_a_save_commits_is_never_served_afterwards():
    """The race: a request reads the old row, a save commits, then the request files what it
    read. The commit drew a new stamp, so the filed copy is void for everyone."""
    open_reset_policy(methods_required=1)

    def read_then_someone_saves() -> SsprPolicy:
        old = SsprPolicy.objects.get(pk=1)
        update_policy(methods_required=2)  # forgets: a new stamp, as a commit would draw
        return old

    with memo.request_memo():
        filed = memo.remembered(SSPR_POLICY_KEY, read_then_someone_saves, shared=True)
    assert filed.methods_required == 1  # that request saw what it read
    seen, queried = _in_a_request(get_sspr_policy)
    assert (seen.methods_required, queried) == (2, 1)


def test_outside_a_request_every_read_goes_to_the_database():
    open_reset_policy()
    with CaptureQueriesContext(connection) as queries:
        get_sspr_policy()
        get_sspr_policy()
    assert len(queries) == 2

"""The single-row settings are read once per request, and shared across requests without
ever serving a row older than the last save (``core/memo.py``)."""

from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from opensspr.accounts.selectors import get_organisation
from opensspr.accounts.services import rename_organisation
from opensspr.core import memo
from opensspr.core.request_meta import RequestMeta
from opensspr.policy.models import SSPR_POLICY_KEY, SsprPolicy
from opensspr.policy.reset_selectors import get_sspr_policy
from opensspr.policy.selectors import get_password_settings
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


@pytest.fixture
def cache_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The cache's reads, each a round trip to Redis on the scale-out set-up (still made;
    the in-memory cache's ``get_many`` calls its ``get``, not counted again)."""
    calls: list[str] = []
    inside: list[bool] = []
    for name in ("get", "get_many"):
        real = getattr(memo.cache, name)

        def counted(*args: object, _real=real, _name=name, **kwargs: object) -> object:
            if not inside:
                calls.append(_name)
            inside.append(True)
            try:
                return _real(*args, **kwargs)
            finally:
                inside.pop()

        monkeypatch.setattr(memo.cache, name, counted)
    return calls


def _read_all_three() -> None:
    get_sspr_policy()
    get_organisation()
    get_password_settings()


def test_a_warm_request_looks_at_the_cache_once_for_every_shared_row(cache_reads):
    open_reset_policy()
    for _ in range(2):  # every row read and filed; this process holds a copy of each
        _in_a_request(_read_all_three)
    cache_reads.clear()
    _, queried = _in_a_request(_read_all_three)
    assert (cache_reads, queried) == (["get_many"], 0)


def test_each_request_gets_an_instance_of_its_own():
    open_reset_policy(methods_required=1)
    first, _ = _in_a_request(get_sspr_policy)
    first.methods_required = 2  # a request changing its copy, unsaved
    second, queried = _in_a_request(get_sspr_policy)
    assert (second.methods_required, queried) == (1, 0)
    assert second is not first


def test_a_write_without_a_signal_is_seen_once_the_shared_copy_is_old(monkeypatch):
    open_reset_policy(methods_required=1)
    _in_a_request(get_sspr_policy)
    SsprPolicy.objects.filter(pk=1).update(methods_required=2)  # no signal, no forget
    assert _in_a_request(get_sspr_policy)[0].methods_required == 1  # still the copy
    later = memo._now() + memo.SHARED_FOR + 1
    monkeypatch.setattr(memo, "_now", lambda: later)
    seen, queried = _in_a_request(get_sspr_policy)
    assert (seen.methods_required, queried) == (2, 1)


def test_the_saving_request_sees_its_save_after_the_commit_whatever_was_filed_meanwhile(
    django_capture_on_commit_callbacks,
):
    """Between the save and its commit the request took the save's first new stamp, and
    another request filed the row as it stood before the commit under that stamp."""
    open_reset_policy(methods_required=1)
    _in_a_request(_read_all_three)
    before = SsprPolicy.objects.get(pk=1)
    with memo.request_memo():
        with django_capture_on_commit_callbacks(execute=True):
            update_policy(methods_required=2)  # forgets: the first new stamp
            get_organisation()  # this request's stamps, the policy's new one among them
            with memo.request_memo():  # another request, the old row still the committed one
                memo.remembered(SSPR_POLICY_KEY, lambda: before, shared=True)
        assert get_sspr_policy().methods_required == 2  # committed: its own save


class _Refused(Exception):
    """The rest of the saving request's transaction failed (its audit event, say)."""


def test_a_save_rolled_back_after_its_request_read_it_is_never_served(
    django_capture_on_commit_callbacks,
):
    open_reset_policy(methods_required=1)
    _in_a_request(get_sspr_policy)

    def save_then_fail() -> None:
        with transaction.atomic():
            update_policy(methods_required=2)  # forgets: a new stamp now
            assert get_sspr_policy().methods_required == 2  # its own uncommitted row
            raise _Refused

    with (
        django_capture_on_commit_callbacks(execute=True),
        memo.request_memo(),
        pytest.raises(_Refused),
    ):
        save_then_fail()
    assert SsprPolicy.objects.get(pk=1).methods_required == 1
    seen, _ = _in_a_request(get_sspr_policy)  # the next request, any process
    assert seen.methods_required == 1

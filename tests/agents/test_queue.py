"""The job queue's rules, step by step in one thread: lease, answer, expiry, moving on."""

import time

import pytest

from opensspr.agents import housekeeping, jobs, news, parts, services
from opensspr.agents.models import Agent, AgentJob, AgentJobPart, JobState
from opensspr.directory.errors import DirectoryRejectedError, DirectoryUnavailableError
from opensspr.directory.jobs import JobKind, seal_context
from opensspr.directory.sealing import new_private_key, open_sealed, public_key_text

pytestmark = pytest.mark.django_db
SECRET = "Lantern-Harbour-Quiet-93"


@pytest.fixture
def agent_pair(clock, meta, settings):
    """Two enrolled agents and their private keys, both polling; leases of 30 s."""
    settings.OPENSSPR_AGENT_LEASE_SECONDS = 30
    made = []
    for name in ("one", "two"):
        key = new_private_key()
        token = services.create_agent(name=name, actor=None, meta=meta).token
        enrolled = services.enrol(
            token=token, public_key=public_key_text(key), version="0.1.0", host=name, meta=meta
        )
        made.append((enrolled.agent, key))
    return made


def test_with_no_agent_connected_a_job_fails_at_once_and_nothing_is_queued(clock):
    with pytest.raises(DirectoryUnavailableError) as raised:
        jobs.submit(JobKind.UNLOCK, {"dn": "uid=x"})
    assert raised.value.maybe_written is False
    assert not AgentJob.objects.exists()


def test_an_agent_that_stopped_polling_is_not_connected(agent_pair, clock):
    clock.advance(seconds=91)
    assert jobs.connected_agents() == []


def test_a_password_is_sealed_to_each_agent_and_each_gets_only_its_own(agent_pair):
    _, (two, two_key) = agent_pair
    job = jobs.submit(JobKind.RESET, {"dn": "uid=x"}, {"password": SECRET})
    assert SECRET not in str(AgentJob.objects.values().get(pk=job.pk))
    leased = jobs.lease(two)
    sent = jobs.for_agent(leased, two)
    assert set(sent["sealed"]) == {"password"}
    assert sent["sealed"] == job.sealed[str(two.id)]
    context = seal_context(str(job.id), "reset", "password")
    assert open_sealed(two_key, sent["sealed"]["password"], context=context) == SECRET


def test_a_job_goes_to_one_agent_and_its_answer_ends_it(agent_pair):
    (one, _), (two, _) = agent_pair
    job = jobs.submit(JobKind.MARKER, {"dn": "uid=x"})
    assert jobs.lease(one).pk == job.pk
    assert jobs.lease(two) is None  # taken
    assert jobs.finish(job.pk, two, {"value": "m"}) is False  # not two's to answer
    assert jobs.finish(job.pk, one, {"value": "m2"}) is True
    assert jobs.wait(job) == "m2"
    done = AgentJob.objects.get(pk=job.pk)
    assert done.state == JobState.DONE and done.sealed == {}
    assert Agent.objects.get(pk=one.pk).jobs_done == 1


def _lists(agent, servers, meta):
    """``agent``'s heartbeat, listing ``servers`` as its configuration names them."""
    services.heartbeat(agent, {"version": "0.1.0", "servers": servers}, meta)


def test_a_job_pinned_to_a_server_goes_only_to_an_agent_that_lists_it(agent_pair, meta):
    """Security bar F5: the write and the reads that settle it meet one server."""
    (one, _), (two, _) = agent_pair
    _lists(one, ["dc2.example.org:636"], meta)
    _lists(two, ["dc2.example.org:636", "dc1.example.org:636"], meta)
    job = jobs.submit(JobKind.MARKER, {"dn": "uid=x", "server": "dc1.example.org:636"})
    assert jobs.lease(one) is None  # it doesn't list dc1: it would read another server
    assert jobs.lease(two).pk == job.pk


def test_a_pinned_job_no_connected_agent_can_run_fails_at_once(agent_pair, meta):
    (one, _), (two, _) = agent_pair
    _lists(one, ["dc2.example.org:636"], meta)
    _lists(two, [], meta)  # an agent too old to say: never given a pinned job
    with pytest.raises(DirectoryUnavailableError) as raised:
        jobs.submit(JobKind.RESET, {"dn": "uid=x", "server": "dc1.example.org:636"})
    assert raised.value.maybe_written is False  # the person may simply try again
    assert not AgentJob.objects.exists()
    assert jobs.submit(JobKind.MARKER, {"dn": "uid=x"})  # an unpinned job still goes


def test_a_heartbeat_keeps_only_a_short_list_of_server_names(agent_pair, meta):
    (one, _), _ = agent_pair
    _lists(one, ["dc1:389", 7, "x" * 300, *[f"dc{n}:389" for n in range(40)]], meta)
    servers = Agent.objects.get(pk=one.pk).servers
    assert servers[0] == "dc1:389" and len(servers[1]) == 255 and len(servers) == 31
    _lists(one, "dc1:389", meta)  # not a list: nothing kept
    assert Agent.objects.get(pk=one.pk).servers == []


def test_the_directorys_refusal_comes_back_as_the_same_typed_error(agent_pair):
    (one, _), _ = agent_pair
    job = jobs.submit(JobKind.RESET, {"dn": "uid=x"}, {"password": SECRET})
    jobs.lease(one)
    jobs.finish(job.pk, one, {"error": {"family": "rejected", "code": "password_in_history"}})
    with pytest.raises(DirectoryRejectedError) as raised:
        jobs.wait(job)
    assert raised.value.code == "password_in_history"
    assert Agent.objects.get(pk=one.pk).jobs_failed == 1


def test_a_job_no_agent_takes_in_time_expires_and_says_nothing_was_written(agent_pair, clock):
    job = jobs.submit(JobKind.RESET, {"dn": "uid=x"}, {"password": SECRET})
    clock.advance(seconds=121)
    with pytest.raises(DirectoryUnavailableError) as raised:
        jobs.wait(job)
    assert raised.value.maybe_written is False
    expired = AgentJob.objects.get(pk=job.pk)
    assert expired.state == JobState.EXPIRED and expired.sealed == {}


def test_a_guarded_write_whose_agent_vanished_moves_on_to_the_next(agent_pair, clock):
    (one, _), (two, _) = agent_pair
    guard = {"marker": "before", "known": True}
    job = jobs.submit(JobKind.RESET, {"dn": "uid=x", "guard": guard}, {"password": SECRET})
    jobs.lease(one)
    clock.advance(seconds=31)  # a write's lease has run out, but one more lease must pass
    assert jobs._settled(AgentJob.objects.get(pk=job.pk)) is None
    assert AgentJob.objects.get(pk=job.pk).state == JobState.LEASED
    clock.advance(seconds=30)
    assert jobs._settled(AgentJob.objects.get(pk=job.pk)) is None  # moved on, still waiting
    assert jobs.lease(one) is None  # never back to the agent that let it lapse (hung?)
    again = jobs.lease(two)
    assert again.pk == job.pk
    sent = jobs.for_agent(again, two)
    assert sent["payload"]["attempt"] == 2 and sent["payload"]["guard"] == guard
    assert "passed_over" not in sent["payload"]
    assert jobs.finish(job.pk, one, {"value": {"already": False}}) is False  # too late


def test_an_unguarded_write_whose_agent_vanished_is_never_handed_on(agent_pair, clock):
    (one, _), (two, _) = agent_pair
    job = jobs.submit(JobKind.RESET, {"dn": "uid=x"}, {"password": SECRET})
    jobs.lease(one)
    clock.advance(seconds=61)
    with pytest.raises(DirectoryUnavailableError) as raised:
        jobs.wait(job)
    assert raised.value.maybe_written is True  # the writeback's reconciler decides
    assert jobs.lease(two) is None
    assert AgentJob.objects.get(pk=job.pk).state == JobState.LOST


def test_finished_jobs_are_pruned_after_a_day(agent_pair, clock):
    (one, _), _ = agent_pair
    job = jobs.submit(JobKind.MARKER, {"dn": "uid=x"})
    jobs.lease(one)
    jobs.finish(job.pk, one, {"value": None})
    clock.advance(days=1, seconds=1)
    housekeeping.prune_finished()
    assert not AgentJob.objects.filter(pk=job.pk).exists()


def test_a_revoked_agent_gets_no_job_and_its_credential_is_refused(agent_pair, meta):
    (one, _), _ = agent_pair
    services.revoke(one, actor=None, meta=meta)
    assert Agent.objects.get(pk=one.pk).active is False
    assert one not in jobs.connected_agents()


def test_a_lease_lapses_only_when_its_time_is_up(agent_pair, clock):
    (one, _), _ = agent_pair
    job = jobs.submit(JobKind.MARKER, {"dn": "uid=x"})
    jobs.lease(one)
    clock.advance(seconds=29)
    assert jobs._settled(AgentJob.objects.get(pk=job.pk)) is None
    assert AgentJob.objects.get(pk=job.pk).state == JobState.LEASED
    clock.advance(seconds=2)
    jobs._settled(AgentJob.objects.get(pk=job.pk))
    assert AgentJob.objects.get(pk=job.pk).state == JobState.QUEUED


def test_queueing_a_job_moves_the_generation_waiting_agents_watch(
    agent_pair, django_capture_on_commit_callbacks
):
    before = jobs.queue_generation()
    with django_capture_on_commit_callbacks(execute=True):  # moved once the job is committed
        jobs.submit(JobKind.MARKER, {"dn": "uid=x"})
    after = jobs.queue_generation()
    assert after is not None and after != before


def test_a_lapsed_job_with_no_other_agent_to_take_it_ends_at_once(agent_pair, clock, meta):
    (one, _), (two, _) = agent_pair
    services.revoke(two, actor=None, meta=meta)
    job = jobs.submit(JobKind.MARKER, {"dn": "uid=x"})
    jobs.lease(one)
    clock.advance(seconds=31)
    with pytest.raises(DirectoryUnavailableError):
        jobs.wait(job)  # not requeued for 2 more minutes that nobody would take
    assert AgentJob.objects.get(pk=job.pk).state == JobState.LOST


def test_an_expiry_that_loses_the_race_to_a_lease_decides_nothing(agent_pair, clock):
    (one, _), _ = agent_pair
    job = jobs.submit(JobKind.RESET, {"dn": "uid=x"}, {"password": SECRET})
    stale = AgentJob.objects.get(pk=job.pk)  # read while queued...
    clock.advance(seconds=121)
    AgentJob.objects.filter(pk=job.pk).update(state=JobState.LEASED, leased_to=one)  # ...leased
    assert jobs._settled(stale) is None  # not "nothing was written": read the row again
    assert AgentJob.objects.get(pk=job.pk).state == JobState.LEASED


def test_a_waiting_request_reads_its_row_on_news_not_every_20_ms(agent_pair, monkeypatch):
    """The answer comes from another process: a marker in the shared cache says so."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    (one, _), _ = agent_pair
    job = jobs.submit(JobKind.MARKER, {"dn": "uid=x"})
    jobs.lease(one)
    looks = []

    def answered(job_id):  # another process answers after about 0.6 s of 20 ms looks
        looks.append(job_id)
        if len(looks) < 30:
            return False
        AgentJob.objects.filter(pk=job.pk).update(
            state=JobState.DONE, result={"value": "m"}, sealed={}
        )
        return True

    monkeypatch.setattr(jobs, "answered", answered)
    monkeypatch.setattr(jobs, "read_every", lambda: news.READ_EVERY_SECONDS)  # Redis, shared
    with CaptureQueriesContext(connection) as queries:
        assert jobs.wait(job) == "m"
    reads = [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert 2 <= len(reads) <= 3  # the first read, one timed read at 0.5 s, the read on news


def test_a_streamed_answer_is_read_on_news_not_every_20_ms(agent_pair, monkeypatch):
    """Sync's reader waits for parts another process takes in: the shared cache's count of
    parts handed in says when to read the rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    (one, _), _ = agent_pair
    job = jobs.submit(JobKind.SYNC_READ, {"base": "dc=x", "filter": "(uid=*)", "attributes": []})
    jobs.lease(one)
    looks = []

    def posted(job_id):  # the agent hands its one part in after about 0.6 s of 20 ms looks
        looks.append(job_id)
        if len(looks) < 30:
            return 0
        if len(looks) == 30:
            AgentJobPart.objects.create(job_id=job.pk, seq=0, entries=[{"dn": "uid=a"}])
            AgentJob.objects.filter(pk=job.pk).update(
                state=JobState.DONE, result={"value": {"parts": 1}}, sealed={}
            )
        return 1

    monkeypatch.setattr(parts, "parts_posted", posted)
    monkeypatch.setattr(parts, "read_every", lambda: news.READ_EVERY_SECONDS)  # Redis, shared
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        assert list(parts.stream(job)) == [[{"dn": "uid=a"}]]
    timed_reads = int((time.monotonic() - started) / news.READ_EVERY_SECONDS) + 1
    reads = [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    # Two rows at the first look and at each timed read (one every 0.5 s, however slow the
    # machine), then three on news (the part, the next one, the job). Reading at every
    # 20 ms look would have made two for each of the 30 looks.
    assert len(reads) <= 2 * timed_reads + 3, (len(reads), timed_reads)
    assert len(reads) < len(looks)


def test_a_part_leaves_the_marker_other_processes_look_for(agent_pair):
    (one, _), _ = agent_pair
    job = jobs.submit(JobKind.SYNC_READ, {"base": "dc=x", "filter": "(uid=*)", "attributes": []})
    jobs.lease(one)
    assert news.parts_posted(job.pk) == 0
    assert parts.add_part(job.pk, one, 0, [{"dn": "uid=a"}]) is True
    assert news.parts_posted(job.pk) == 1


def test_an_answer_leaves_the_marker_other_processes_look_for(agent_pair):
    (one, _), _ = agent_pair
    job = jobs.submit(JobKind.MARKER, {"dn": "uid=x"})
    jobs.lease(one)
    assert news.answered(job.pk) is False
    assert jobs.finish(job.pk, one, {"value": "m"}) is True
    assert news.answered(job.pk) is True


def test_with_a_process_local_cache_the_row_is_read_as_often_as_before(settings):
    """Another process's marker can't show in this process's memory: no slower answers."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert news.read_every() == news.POLL_SECONDS
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert news.read_every() == news.READ_EVERY_SECONDS

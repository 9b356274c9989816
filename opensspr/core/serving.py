"""Runs the site under gunicorn with uvicorn's ASGI worker, in-process.

Why gunicorn: OpenSSPR's slow work is argon2id hashing and directory calls,
which pre-forked worker processes spread over all cores; gunicorn is the most
widely deployed, best understood process manager for that. Why its ASGI worker
(docs/adr/0005-asgi-serving.md): every answer of a reset step is held to a
response-time floor (``core/timing.py``); under a threaded WSGI worker the wait
holds a thread, so 8 threads and a 150 ms floor cap a process at about 53
answers a second whatever the CPU could do. Under ASGI the sync view runs in a
thread that is given back when the answer is ready, and the floor is awaited on
the event loop; ``core/concurrency.py`` keeps ``threads`` requests at a time per
process, the bound ``gthread`` gave. Django's development server is never used.
"""

import ctypes
import ctypes.util
import os
import shutil
import tempfile
from typing import Any

from django.conf import settings
from django.db import connections
from django.dispatch import Signal
from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from opensspr.core import argon2_buffers, concurrency
from opensspr.core.cpus import usable_cpus
from opensspr.core.handler import get_application

# glibc: M_MMAP_THRESHOLD. Fixed at 1 MiB, every argon2id buffer (19 MiB) is mmapped and
# handed back to the system when the hash ends; with glibc's default the threshold grows
# after the first free, and each thread's arena keeps a 19 MiB buffer resident for good.
_M_MMAP_THRESHOLD = -3
# glibc: M_ARENA_MAX. glibc gives threads arenas of their own (up to 8 per core), each
# keeping what it freed: when every ASGI request ran in a new thread the demo's single
# process peaked at 165-176 MB in the HTTP storm. Requests now run in kept threads
# (``core/handler.py``), but deliveries, the floor's tail and long polls have threads of
# their own; two arenas are plenty for Python, which serves small objects itself.
_M_ARENA_MAX = -8


class AsgiWorker(UvicornWorker):
    """uvicorn's worker as we run it: pure-Python parts, and no proxy-header rewriting.

    ``proxy_headers`` stays off: ``core/request_meta.py`` reads ``X-Forwarded-For``
    itself, counting ``OPENSSPR_TRUSTED_PROXY_HOPS``; uvicorn rewriting the client
    address first would count a hop twice.
    """

    CONFIG_KWARGS = {"loop": "asyncio", "http": "h11", "lifespan": "off", "proxy_headers": False}


#: Sent in each gunicorn worker process once it has started. The delivery channels
#: listen (``channels.apps``) to run inline delivery's retries there; ``core`` can't
#: import them itself, as it sits below every domain app.
worker_started = Signal()


class _Gunicorn(BaseApplication):  # gunicorn ships no type hints: BaseApplication is Any
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # The serving command has already set Django up with its settings module.
        return get_application()


def _release_arena_memory() -> None:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    try:
        libc = ctypes.CDLL(libc_name)
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)
        libc.mallopt(_M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return


def _start_worker(worker: Any) -> None:
    """Per worker: give argon2id buffers back, then tell the apps the worker runs.

    The delivery channels listen (``channels.apps``) and, in inline delivery
    mode, start their retries here; ``core`` can't import them itself.
    """
    _release_arena_memory()
    worker_started.send(sender=None, delivery_mode=settings.OPENSSPR_DELIVERY_MODE)


#: The inline deliveries' two threads and the delivery loop (``channels``), which may each
#: hold a connection beside the requests.
DELIVERY_THREADS = 3


def _pool_database_connections() -> None:
    """Reuse PostgreSQL connections through a pool, across the request threads.

    Requests run in kept threads (``core/handler.py``), but the long polls, the streamed
    bodies and the deliveries have threads that come and go, and a persistent connection
    belongs to one thread and would die with it, so
    ``CONN_MAX_AGE`` is 0 and psycopg's pool (made in each worker on first use,
    never across a fork) keeps the connections. SQLite opens a file, no pool needed.
    """
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return
    connections.close_all()  # nothing opened in the master may cross the fork
    database["CONN_MAX_AGE"] = 0
    database["CONN_HEALTH_CHECKS"] = False
    database.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        # Every kept request thread at once (an agent-backed reset holds its connection
        # while the agent's answer, another request, needs one), the inline deliveries
        # and the delivery loop.
        "max_size": concurrency.request_threads() + DELIVERY_THREADS,
        "timeout": 10,
    }


#: The most workers ``opensspr serve`` starts when none are named. Each may open up to
#: 2 x threads + 7 PostgreSQL connections (15 with the default four threads): four
#: workers stay within PostgreSQL's default ``max_connections`` (100) with room for the
#: delivery workers and an administrator. A bigger machine names its number.
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """Worker processes when the operator names none: what the set-up wants.

    One where the cache is the process's own: on SQLite (its writers also queue on a
    lock inside the process, ``core/sqlite``, where two processes would meet at
    SQLite's file lock) and on PostgreSQL without ``REDIS_URL``, where a second
    process would serve settings another had changed for up to a minute
    (``core/memo.py``). With Redis: one per core the process may use (its affinity and
    container quota, ``core/cpus.py``), at least two so that a worker restarting
    leaves another serving, at most ``MAX_DEFAULT_WORKERS``. Each worker already
    overlaps its hashes (argon2 releases the GIL) with its other requests' Python; on
    two cores two workers finished the most resets in the storm
    (``docs/contributors/performance.md``).
    """
    if connections["default"].vendor == "sqlite" or not settings.REDIS_URL:
        return 1
    return min(MAX_DEFAULT_WORKERS, max(2, usable_cpus()))


def serve(*, bind: str, workers: int, threads: int, tls: tuple[str, str] | None = None) -> None:
    """Run gunicorn in this process; ``tls`` (certificate, key) serves HTTPS itself.

    Most deployments terminate TLS at a reverse proxy; HTTPS here is for a
    single host that has none (and the agent's end-to-end tests).
    """
    concurrency.set_limit(threads)
    _pool_database_connections()
    argon2_buffers.buffers.clear()  # the master hashes no more (the demo's seeding did)
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="opensspr-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    master = os.getpid()
    try:
        _Gunicorn(
            {
                "post_worker_init": _start_worker,
                "bind": bind,
                "workers": workers,
                "worker_class": AsgiWorker,
                "accesslog": "-",
                "errorlog": "-",
                "timeout": 60,
                "graceful_timeout": 20,
                # We don't use gunicorn's runtime control socket; don't leave one in $HOME.
                "control_socket_disable": True,
                "forwarded_allow_ips": "*"
                if os.environ.get("OPENSSPR_TRUSTED_PROXY_HOPS")
                else "127.0.0.1",
                **({"certfile": tls[0], "keyfile": tls[1]} if tls else {}),
            }
        ).run()
    finally:
        # Workers leave gunicorn through this frame too: only the master removes the folder.
        if metrics_dir and os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)

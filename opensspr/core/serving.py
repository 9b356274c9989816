"""Runs the site under gunicorn, in-process.

Why gunicorn: OpenSSPR is a synchronous Django application whose slow work is
argon2id hashing and directory calls, which pre-forked worker processes spread
over all cores; gunicorn is the most widely deployed, best understood WSGI
server for that, is pure Python (nothing to compile), and has no async
machinery we would not use. Django's development server is never used.
"""

import os
import tempfile
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.dispatch import Signal
from gunicorn.app.base import BaseApplication

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

    def load(self) -> WSGIHandler:
        # The serving command has already set Django up with its settings module.
        return get_wsgi_application()


def _worker_started(worker: Any) -> None:
    worker_started.send(sender=None, delivery_mode=settings.OPENSSPR_DELIVERY_MODE)


def serve(*, bind: str, workers: int, threads: int) -> None:
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="opensspr-metrics-")
    _Gunicorn(
        {
            "post_worker_init": _worker_started,
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "errorlog": "-",
            "timeout": 60,
            "graceful_timeout": 20,
            # We don't use gunicorn's runtime control socket; don't leave one in $HOME.
            "control_socket_disable": True,
            "forwarded_allow_ips": "*"
            if os.environ.get("OPENSSPR_TRUSTED_PROXY_HOPS")
            else "127.0.0.1",
        }
    ).run()

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

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from opensspr.config.wsgi import application

        return application


def _start_delivery(worker: Any) -> None:
    """In inline delivery mode each app process also retries, expires and erases."""
    from django.conf import settings

    if settings.OPENSSPR_DELIVERY_MODE == "inline":
        from opensspr.channels.worker import start_background_worker

        start_background_worker()


def serve(*, bind: str, workers: int, threads: int) -> None:
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="opensspr-metrics-")
    _Gunicorn(
        {
            "post_worker_init": _start_delivery,
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

"""The ASGI application ``opensspr serve`` runs: Django's, with its sync part in one thread hop.

Django's ``ASGIHandler`` loads ``MIDDLEWARE`` in async mode and ends the chain in an
async handler. With sync-only middleware in the chain (ours, WhiteNoise, sessions,
CSRF, auth...), a request went from the event loop into its thread for those, back
to the loop for the handler, and into the thread again for ``XFrameOptionsMiddleware``'s
response hook, ``CsrfViewMiddleware.process_view`` and the view, each on its own:
five round trips between the loop and the thread, each a handful of futures, a context
copy and a wake-up of the loop (measured on ``/healthz``: 0.15-0.6 ms of CPU a request,
docs/contributors/performance.md, session 13). Here the leading async-only middleware (the floor
and the concurrency limit, ``core/timing.py``, ``core/concurrency.py``) run on the
loop as before, and everything below them, down to the view, is loaded in sync mode,
as a WSGI server loads it, and runs in the request's thread in one hop. The thread
is the same one Django would have used (``thread_sensitive``, one per request); what
runs in it and in what order is unchanged. An async view (the agents' long poll) runs
on the loop as before, its thread waiting for it as before.
"""

from collections.abc import Callable
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.utils.module_loading import import_string


def _async_only(path: str) -> bool:
    return not getattr(import_string(path), "sync_capable", True)


class AsgiHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        """The leading async-only middleware around one ``sync_to_async`` of the rest.

        Django's own loader builds the sync part (it reads ``settings.MIDDLEWARE``,
        set to the rest for that call: this runs once, as the application loads).
        """
        paths = list(settings.MIDDLEWARE)
        outer = 0
        while outer < len(paths) and _async_only(paths[outer]):
            outer += 1
        settings.MIDDLEWARE = paths[outer:]
        try:
            super().load_middleware(is_async=False)
        finally:
            settings.MIDDLEWARE = paths
        sync_part: Callable[..., Any] = self._middleware_chain  # type: ignore[has-type]  # untyped in the stubs
        handler: Callable[..., Any] = convert_exception_to_response(
            sync_to_async(sync_part, thread_sensitive=True)
        )
        for path in reversed(paths[:outer]):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler


def get_application() -> AsgiHandler:
    """``django.core.asgi.get_asgi_application``, with this handler."""
    django.setup(set_prefix=False)
    return AsgiHandler()

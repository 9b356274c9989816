"""The delivery loop: ``deliver_due`` until told to stop.

Run by ``opensspr worker`` (scale-out: any number of them, claims are atomic),
or in a daemon thread beside the web server in the embedded set-up, so retries,
expiry and outbox erasure also happen when nobody runs a separate worker.
A failing iteration (database restarting) is logged by class name and retried
after the pause; the loop never dies of it.
"""

import logging
import threading

from django.db import close_old_connections, connections

from opensspr.channels.services import deliver_due, delivery_loop_running

logger = logging.getLogger("opensspr.channels.worker")


def run_worker(stop: threading.Event, *, interval: float = 1.0, limit: int = 100) -> None:
    """Deliver until ``stop`` is set; a stop lets the message in hand finish, no more."""
    logger.info("delivery worker started")
    while not stop.is_set():
        close_old_connections()
        try:
            attempted = deliver_due(limit=limit, should_stop=stop.is_set)
        except Exception as exc:  # keep delivering once the database is back
            logger.error("delivery worker iteration failed: %s", type(exc).__name__)
            attempted = 0
        if attempted < limit:  # a full batch means more is due: go again at once
            stop.wait(interval)
    connections.close_all()  # this thread's connections: a stopped worker holds none
    logger.info("delivery worker stopped")


def start_background_worker(*, interval: float = 1.0) -> threading.Event:
    """Start the loop in a daemon thread; set the returned event to stop it. From now on
    an inline send past the backlog may be left to it (``services.INLINE_BACKLOG``)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_beside_requests,
        args=(stop,),
        kwargs={"interval": interval},
        daemon=True,
        name="opensspr-delivery",
    )
    delivery_loop_running.set()
    try:
        thread.start()
    except BaseException:
        delivery_loop_running.clear()
        raise
    return stop


def _beside_requests(stop: threading.Event, *, interval: float) -> None:
    try:
        run_worker(stop, interval=interval)
    finally:
        delivery_loop_running.clear()

"""Start-up and shut-down shared by the private directory servers (demo, tests, benches)."""

import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def wait_ready(
    process: subprocess.Popen[bytes],
    log: Path,
    bind: Callable[[], object],
    *,
    seconds: float,
    poll: float,
) -> None:
    """Wait until ``bind()`` succeeds; a server that exits first fails with its own log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            bind()
            return
        except Exception:  # not listening yet: any failure means "try again"
            time.sleep(poll)
    raise RuntimeError(f"{log.parent.name}: the server did not start within {seconds} s")


def stop_process(process: subprocess.Popen[bytes], *, seconds: float) -> None:
    """Terminate, and kill what doesn't stop in time: no server outlives its fixture."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

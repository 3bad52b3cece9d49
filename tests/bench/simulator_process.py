"""The simulator in a process of its own, for benchmarks (so it takes no CPU from the GIL of
the process being measured)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

STARTUP_LIMIT_S = 120


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def simulator_process(*options: str) -> Iterator[str]:
    """Run `python -m rupa_desk.sandbox OPTIONS` on a free port; yield its URL once it answers.

    Raises:
        RuntimeError: it exited, or did not answer within `STARTUP_LIMIT_S`.
    """
    port = free_port()
    command = [sys.executable, "-m", "rupa_desk.sandbox", "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            try:
                httpx.get(url + "/_sim/info", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()

"""One copy per user and profile: a second launch of the app brings the first one's window to
the front and exits, a socket left by a crashed copy does not stop the next one, and two
profiles run side by side. Each app is a fresh process (`QT_QPA_PLATFORM=offscreen`)."""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rupa_desk.ui.single_instance import server_name

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import argparse, pathlib, sys
from rupa_desk import app
from rupa_desk.paths import AppPaths

def on_window(window):
    print("WINDOW", flush=True)

def on_started(desk):
    if sys.argv[2:] == ["until-signal"]:
        print("STARTED", flush=True)
    else:
        desk.window.close()

def environment():
    from rupa_desk.settings import production
    return production("single-instance-test")

def secrets():
    from rupa_desk.services.secrets import (
        MemorySecretStore, SecretStoreChoice, SecretStoreMode)
    return SecretStoreChoice(MemorySecretStore(), SecretStoreMode.SESSION_ONLY, None)

code = app.run(argparse.Namespace(demo=False, lab_tests=0, seed=7),
               paths=AppPaths.under(pathlib.Path(sys.argv[1])), on_window=on_window,
               on_started=on_started, secrets=secrets, environment=environment)
print("CODE", code, flush=True)
"""

ALREADY_RUNNING = "Rupa Desk is already running; its window was brought to the front."
RAISED_IN_LOG = "brought to the front on a second launch"


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A private runtime folder for the sockets (short: a Unix socket path is limited)."""
    with tempfile.TemporaryDirectory(prefix="rd-", dir="/tmp") as folder:
        os.chmod(folder, 0o700)
        yield Path(folder)


def child_env(runtime_dir: Path) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime_dir)}


def launch(profile: Path, runtime_dir: Path) -> subprocess.CompletedProcess[str]:
    """The app in a fresh process that closes its window as soon as it has started."""
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(profile)],
        cwd=ROOT,
        env=child_env(runtime_dir),
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


class RunningApp:
    """An app process that runs until it is sent SIGTERM."""

    def __init__(self, profile: Path, runtime_dir: Path) -> None:
        self.profile = profile
        self.process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(profile), "until-signal"],
            cwd=ROOT,
            env=child_env(runtime_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        lines = [self.process.stdout.readline().strip() for _ in range(2)]
        assert lines == ["WINDOW", "STARTED"], (
            self.process.stderr.read() if self.process.stderr else ""
        )

    @property
    def log(self) -> str:
        return (self.profile / "log" / "rupa-desk.log").read_text(encoding="utf-8")

    def stop(self) -> tuple[str, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, errors = self.process.communicate(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        return out, errors


@pytest.fixture
def running(tmp_path: Path, runtime_dir: Path) -> Iterator[RunningApp]:
    """A first copy of the app, running on the profile `tmp_path / "profile"`."""
    app = RunningApp(tmp_path / "profile", runtime_dir)
    try:
        yield app
    finally:
        app.stop()


@pytest.mark.timeout(180)
def test_a_second_launch_brings_the_running_window_to_the_front_and_exits(
    running: RunningApp, runtime_dir: Path
) -> None:
    started = time.monotonic()
    second = launch(running.profile, runtime_dir)
    took = time.monotonic() - started
    assert second.returncode == 0, second.stderr[-3000:]
    assert ALREADY_RUNNING in second.stderr
    assert "WINDOW" not in second.stdout  # no second window was built
    assert "CODE 0" in second.stdout
    assert took < 30, f"the second launch took {took:.1f} s"
    log = running.log
    assert f"rupa_desk.app: {ALREADY_RUNNING}" in log  # the second's, in the shared log
    deadline = time.monotonic() + 10
    while RAISED_IN_LOG not in log and time.monotonic() < deadline:
        time.sleep(0.05)
        log = running.log
    assert RAISED_IN_LOG in log
    # The first copy goes on, and shuts down cleanly, removing its socket.
    assert running.process.poll() is None
    out, errors = running.stop()
    assert running.process.returncode == 0, errors[-3000:]
    assert "CODE 0" in out
    assert list(runtime_dir.iterdir()) == []


@pytest.mark.timeout(180)
def test_a_socket_left_by_a_crashed_copy_does_not_stop_the_next_launch(
    tmp_path: Path, runtime_dir: Path
) -> None:
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "data").mkdir()
    # What a copy killed with SIGKILL leaves: a socket file nobody listens on.
    path = server_name(profile / "data", user=getpass.getuser(), runtime_dir=runtime_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(path)
        dead.listen()
    assert Path(path).exists()
    first = RunningApp(profile, runtime_dir)  # it starts, and took the socket over:
    try:
        assert "taking over an instance socket nobody answers" in first.log
        second = launch(profile, runtime_dir)
        assert second.returncode == 0, second.stderr[-3000:]
        assert ALREADY_RUNNING in second.stderr  # the next launch finds it
    finally:
        out, errors = first.stop()
    assert first.process.returncode == 0, errors[-3000:]
    assert "CODE 0" in out


@pytest.mark.timeout(180)
def test_a_copy_killed_with_sigkill_does_not_stop_the_next_launch(
    running: RunningApp, runtime_dir: Path
) -> None:
    running.process.kill()
    running.process.wait(timeout=30)
    assert [p.name for p in runtime_dir.iterdir()] != []  # its socket is left behind
    done = launch(running.profile, runtime_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WINDOW" in done.stdout
    assert "CODE 0" in done.stdout
    assert ALREADY_RUNNING not in done.stderr
    assert "taking over an instance socket nobody answers" in running.log
    assert list(runtime_dir.iterdir()) == []  # and removed on its way out


@pytest.mark.timeout(180)
def test_a_socket_that_cannot_be_taken_over_does_not_stop_the_app(
    tmp_path: Path, runtime_dir: Path
) -> None:
    profile = tmp_path / "profile"
    (profile / "data").mkdir(parents=True)
    path = server_name(profile / "data", user=getpass.getuser(), runtime_dir=runtime_dir)
    (Path(path) / "locked").mkdir(parents=True)  # neither a socket nor removable
    done = launch(profile, runtime_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WINDOW" in done.stdout
    assert "CODE 0" in done.stdout
    log = (profile / "log" / "rupa-desk.log").read_text(encoding="utf-8")
    assert "runs without that check" in log


@pytest.mark.timeout(180)
def test_two_profiles_run_side_by_side(
    running: RunningApp, tmp_path: Path, runtime_dir: Path
) -> None:
    other = launch(tmp_path / "other-profile", runtime_dir)
    assert other.returncode == 0, other.stderr[-3000:]
    assert "WINDOW" in other.stdout
    assert "CODE 0" in other.stdout
    assert ALREADY_RUNNING not in other.stderr
    assert RAISED_IN_LOG not in running.log

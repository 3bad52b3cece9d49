"""Start-up in a fresh process: the window paints before the services load, and QtWebEngine
is not loaded at all until checkout needs it; the log file opens after the paint, with the
records from before it, and a log file that cannot be written does not stop the app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import argparse, json, pathlib, sys
from rupa_desk import app
from rupa_desk.paths import AppPaths

seen = {}

def loaded(*prefixes):
    return sorted(m for m in sys.modules if m.startswith(prefixes))

def on_window(window):
    def painted():
        seen["at_paint"] = loaded("httpx", "sqlite_utils", "keyring", "authlib",
                                  "rupa_desk.services", "rupa_desk.desk", "asyncio",
                                  "PySide6.QtWebEngine", "logging.handlers")
    window.first_painted.connect(painted)

def on_started(desk):
    seen["started"] = loaded("PySide6.QtWebEngine")
    seen["title"] = desk.window.windowTitle()
    seen["banner"] = desk.window.banner.text
    if sys.argv[2:] == ["until-signal"]:
        desk.window.show_pane("orders")  # remembered only if the shutdown is a clean one
        print("STARTED", flush=True)
    else:
        desk.window.close()

def environment():
    from rupa_desk.settings import production
    return production("start-up-test")

def secrets():
    from rupa_desk.services.secrets import (
        MemorySecretStore, SecretStoreChoice, SecretStoreMode)
    return SecretStoreChoice(MemorySecretStore(), SecretStoreMode.SESSION_ONLY, None)

if sys.argv[2:] == ["broken-window"]:  # fails before the first paint
    def broken_window(**kwargs):
        raise RuntimeError("the window could not be built")
    app.MainWindow = broken_window
if sys.argv[2:] == ["broken-desk"]:  # fails after it, while the services are built
    import rupa_desk.desk
    async def broken_desk(*args, **kwargs):
        raise RuntimeError("the desk could not be built")
    rupa_desk.desk.Desk.create = broken_desk

code = app.run(argparse.Namespace(demo=False, lab_tests=0, seed=7),
               paths=AppPaths.under(pathlib.Path(sys.argv[1])), on_window=on_window,
               on_started=on_started, secrets=secrets, environment=environment)
seen["code"] = code
print("RESULT", json.dumps(seen))
"""


def app_command(profile: Path, *args: str) -> list[str]:
    """The app in a fresh process, with `profile` as its folders (`args`: see SCRIPT)."""
    return [sys.executable, "-c", SCRIPT, str(profile), *args]


CHILD_ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def run_app(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        app_command(profile, *args),
        cwd=ROOT,
        env=CHILD_ENV,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


def start(profile: Path) -> tuple[dict[str, object], str]:
    """Run the app in a fresh process until it has started; what it saw, and its stderr."""
    done = run_app(profile)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT ")), done.stderr


@pytest.mark.timeout(120)
def test_the_window_paints_before_the_services_load_and_webengine_never_does(
    tmp_path: Path,
) -> None:
    seen, _ = start(tmp_path / "profile")
    assert seen["code"] == 0
    assert seen["at_paint"] == [], "loaded before the first paint"
    assert seen["started"] == [], "QtWebEngine is loaded only when checkout needs it"
    assert seen["title"] == "Rupa Desk — Sign in"
    assert seen["banner"] == ""
    log = (tmp_path / "profile" / "log" / "rupa-desk.log").read_text(encoding="utf-8")
    lines = log.splitlines()
    # The record from before the paint (kept in memory until then) comes first, in order.
    assert "rupa_desk.app: starting" in lines[0]
    assert "rupa_desk.app: stopped" in lines[-1]


@pytest.mark.timeout(120)
def test_a_log_file_that_cannot_be_written_is_told_and_the_log_goes_to_stderr(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "profile"
    (profile / "log" / "rupa-desk.log").mkdir(parents=True)  # the file cannot be opened
    seen, stderr = start(profile)
    assert seen["code"] == 0
    assert seen["title"] == "Rupa Desk — Sign in"
    banner = str(seen["banner"])
    assert "cannot write its log file" in banner
    assert "Is a directory" in banner
    # Nothing is lost: the records (from before the paint too) go to stderr, formatted alike.
    assert "INFO    rupa_desk.app: starting" in stderr
    assert "WARNING rupa_desk.app: The log file" in stderr
    assert "INFO    rupa_desk.app: stopped" in stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("broken-window", "RuntimeError: the window could not be built"),
        ("broken-desk", "RuntimeError: the desk could not be built"),
    ],
)
def test_a_start_up_that_fails_writes_its_traceback_to_the_log_file(
    tmp_path: Path, how: str, error: str
) -> None:
    done = run_app(tmp_path / "profile", how)
    assert done.returncode != 0
    assert error in done.stderr
    log = (tmp_path / "profile" / "log" / "rupa-desk.log").read_text(encoding="utf-8")
    assert "rupa_desk.app: starting" in log  # kept in memory before the paint, then written
    assert "ERROR   rupa_desk.app: Rupa Desk stopped on an unexpected error" in log
    assert "Traceback (most recent call last)" in log
    assert error in log  # not only on a stderr nobody sees when started from a menu
    assert "rupa_desk.app: stopped" in log


@pytest.mark.timeout(120)
def test_sigterm_shuts_the_app_down_cleanly(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    child = subprocess.Popen(
        app_command(profile, "until-signal"),
        cwd=ROOT,
        env=CHILD_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "STARTED"
        child.send_signal(signal.SIGTERM)
        out, errors = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, errors[-3000:]
    assert '"code": 0' in out  # run() returned: the shutdown ran to its end
    log = (profile / "log" / "rupa-desk.log").read_text(encoding="utf-8")
    assert "rupa_desk.app: closing on signal SIGTERM" in log
    assert "rupa_desk.app: stopped" in log
    state = (profile / "config" / "window.ini").read_text(encoding="utf-8")
    assert "orders" in state  # the window saved its state on the way out


MISSING_LIBRARY_SCRIPT = r"""
import argparse, pathlib, sys
from rupa_desk import app, prerequisites
from rupa_desk.paths import AppPaths

# As on a PC without the package: one library of the xcb plugin cannot be loaded.
prerequisites.XCB_LIBRARIES = (*prerequisites.XCB_LIBRARIES,
                               ("libxcb-not-installed.so.0", "libxcb-not-installed0"))
sys.exit(app.run(argparse.Namespace(demo=False, lab_tests=0, seed=7),
                 paths=AppPaths.under(pathlib.Path(sys.argv[1]))))
"""


@pytest.mark.timeout(120)
def test_a_missing_x11_library_is_named_with_its_package_instead_of_qts_abort(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":0", XDG_SESSION_TYPE="x11")  # Qt would start its xcb plugin
    done = subprocess.run(
        [sys.executable, "-c", MISSING_LIBRARY_SCRIPT, str(tmp_path / "profile")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 3, done.stderr[-3000:]
    # (with the packages this machine lacks too: a fresh one has no libxcb-icccm4, for one)
    assert "sudo apt install " in done.stderr
    assert "libxcb-not-installed0" in done.stderr.split("sudo apt install ", 1)[1]
    assert "could not load the Qt platform plugin" not in done.stderr
    log = (tmp_path / "profile" / "log" / "rupa-desk.log").read_text(encoding="utf-8")
    assert "libxcb-not-installed0" in log

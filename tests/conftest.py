"""Test harness shared by every test folder.

- The folder decides the marker (unit, sandbox, integration, gui, e2e, packaging; the last is
  left out of the default run by pyproject's addopts).
- Qt runs offscreen; QtWebEngine gets the flags it needs to run as root without a GPU.
- No test can open a network connection beyond loopback (the simulator runs on 127.0.0.1).
- A test that logs an ERROR from rupa_desk, or makes the simulator's server log one
  (`uvicorn.error`: a handler that crashed, which client retries would otherwise hide), fails
  unless it says it expects one; records of setup and teardown count too.
- No test touches the real user profile: `app_paths` is a temporary folder, and so is
  `AppPaths.for_user()` (the same folder as `app_paths`).
- No test touches the real OS keychain: keyring's backend is an in-memory one
  (`memory_keychain`, fresh for each test), and keyring may not go looking for the OS's.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.core
import pytest

# Every test runs offscreen, also on a developer's desktop: with DISPLAY (or a Wayland
# display) set, the web engine probes the GPU through X11 and Vulkan and Qt warns about it
# ("Failed to initialize Vulkan"), which fails a test here. The tests and the child processes
# they start (the app, the CLI) never see a display.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.pop("DISPLAY", None)
os.environ.pop("WAYLAND_DISPLAY", None)
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
os.environ.setdefault("QT_QUICK_BACKEND", "software")

from rupa_desk.paths import AppPaths
from tests.fixtures.fake_keyring import DictKeyring

pytest_plugins = [
    "pytester",
    "tests.fixtures.sandbox",
    "tests.fixtures.checkout_site",
    "tests.fixtures.epic",
]

_FOLDER_MARKERS = ("unit", "sandbox", "integration", "gui", "e2e", "packaging")
TESTS_ROOT = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_error_logs: the test expects rupa_desk to log an ERROR"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.fspath)).relative_to(TESTS_ROOT)
        folder = relative.parts[0]
        if folder in _FOLDER_MARKERS:
            item.add_marker(getattr(pytest.mark, folder))


class NetworkBlocked(AssertionError):
    """A unit test tried to open a network connection."""


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")
    return isinstance(address, str | bytes)  # AF_UNIX paths


@pytest.fixture(autouse=True)
def _block_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in the test suite reaches beyond loopback."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise NetworkBlocked(f"test tried to connect to {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise NetworkBlocked(f"test tried to connect to {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


#: Loggers whose ERROR records fail a test (besides rupa_desk's own, but not the simulator's:
#: it reports its own injected faults).
_SERVER_ERROR_LOGGERS = ("uvicorn.error",)


def _unexpected_error(record: logging.LogRecord) -> bool:
    if record.levelno < logging.ERROR:
        return False
    if record.name in _SERVER_ERROR_LOGGERS:
        return True
    return record.name.startswith("rupa_desk") and not record.name.startswith("rupa_desk.sandbox")


@pytest.fixture(autouse=True)
def _fail_on_error_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """A test that makes rupa_desk (or the simulator's server) log an ERROR fails, unless it
    is marked allow_error_logs. Setup, call and teardown (so far: this fixture is torn down
    after the test's own fixtures, e.g. a simulator that is stopped) all count."""
    caplog.set_level(logging.INFO, logger="rupa_desk")
    yield
    if request.node.get_closest_marker("allow_error_logs"):
        return
    errors = [
        record
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
        if _unexpected_error(record)
    ]
    if errors:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in errors)
        pytest.fail(f"unexpected ERROR logged:\n{lines}")


class RealKeychainBlocked(AssertionError):
    """Something asked keyring to find the OS keychain during the tests."""


def _refuse_to_find_the_os_keychain(*args: Any, **kwargs: Any) -> None:
    raise RealKeychainBlocked("a test tried to use the OS keychain")


@pytest.fixture(scope="session", autouse=True)
def _no_real_keychain() -> Iterator[None]:
    """For the whole session keyring holds an in-memory backend and cannot look for another.

    Set through keyring.core (not keyring.get_keyring(), which would first look for the
    OS's keychains); undone when the session ends.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keyring.core, "_keyring_backend", DictKeyring())
        patch.setattr(keyring.core, "init_backend", _refuse_to_find_the_os_keychain)
        yield


@pytest.fixture(autouse=True)
def memory_keychain() -> Iterator[DictKeyring]:
    """keyring's backend for this test: an empty in-memory keychain (a test may install
    another with keyring.set_keyring; the one before is restored after the test)."""
    before = keyring.get_keyring()
    backend = DictKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


@pytest.fixture(autouse=True)
def _no_real_user_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`AppPaths.for_user()` is the test's profile folder (the one `app_paths` gives)."""

    def for_user(cls: type[AppPaths]) -> AppPaths:
        return AppPaths.under(tmp_path / "profile")

    monkeypatch.setattr(AppPaths, "for_user", classmethod(for_user))


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    """Every Rupa Desk folder below the test's temporary folder."""
    return AppPaths.under(tmp_path / "profile").ensure()

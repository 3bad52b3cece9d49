"""Test harness shared by every test folder.

- The folder decides the marker (unit, sandbox, integration, gui, e2e).
- Qt runs offscreen; QtWebEngine gets the flags it needs to run as root without a GPU.
- No test can open a network connection beyond loopback (the simulator runs on 127.0.0.1).
- A test that logs an ERROR from rupa_desk fails unless it says it expects one.
- No test touches the real user profile: `app_paths` is a temporary folder.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
os.environ.setdefault("QT_QUICK_BACKEND", "software")

from rupa_desk.paths import AppPaths

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.checkout_site"]

_FOLDER_MARKERS = ("unit", "sandbox", "integration", "gui", "e2e")
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


@pytest.fixture(autouse=True)
def _fail_on_error_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """A test that makes rupa_desk log an ERROR fails, unless marked allow_error_logs."""
    caplog.set_level(logging.INFO, logger="rupa_desk")
    yield
    if request.node.get_closest_marker("allow_error_logs"):
        return
    errors = [
        record
        for record in caplog.get_records("call")
        if record.levelno >= logging.ERROR
        and record.name.startswith("rupa_desk")
        and not record.name.startswith("rupa_desk.sandbox")
    ]
    if errors:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in errors)
        pytest.fail(f"unexpected ERROR logged:\n{lines}")


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    """Every Rupa Desk folder below the test's temporary folder."""
    return AppPaths.under(tmp_path / "profile").ensure()

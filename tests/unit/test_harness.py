"""The test harness itself: no real keychain, no real profile, no hidden server errors."""

from __future__ import annotations

from pathlib import Path

import keyring
import keyring.core
import pytest

from rupa_desk.paths import AppPaths
from rupa_desk.services.secrets import SecretStoreMode, probe_secret_store
from tests.conftest import RealKeychainBlocked
from tests.fixtures.fake_keyring import DictKeyring

ROOT = Path(__file__).resolve().parents[2]


async def test_keyring_is_an_in_memory_keychain_of_this_test(
    memory_keychain: DictKeyring,
) -> None:
    assert keyring.get_keyring() is memory_keychain
    choice = await probe_secret_store()  # what the app and the CLI do at start-up
    assert choice.mode is SecretStoreMode.KEYCHAIN
    await choice.store.set("session:x", "kept in memory")
    assert memory_keychain.values == {("rupa-desk", "session:x"): "kept in memory"}


def test_each_test_gets_an_empty_keychain(memory_keychain: DictKeyring) -> None:
    assert memory_keychain.values == {}  # nothing left by the test above


def test_keyring_cannot_go_looking_for_the_os_keychain() -> None:
    with pytest.raises(RealKeychainBlocked):
        keyring.core.init_backend()


def test_the_users_folders_are_the_tests_profile(tmp_path: Path, app_paths: AppPaths) -> None:
    assert AppPaths.for_user() == app_paths
    assert tmp_path in AppPaths.for_user().config_dir.parents


PROBES = """
import logging

import pytest

server = logging.getLogger("uvicorn.error")


@pytest.fixture
def fails_to_start():
    server.error("Exception in ASGI application (setup)")


@pytest.fixture
def fails_to_stop():
    yield
    server.error("Exception in ASGI application (teardown)")


def test_server_error_while_the_test_runs():
    server.error("Exception in ASGI application")


def test_server_error_in_setup(fails_to_start):
    pass


def test_server_error_in_teardown(fails_to_stop):
    pass


def test_app_error():
    logging.getLogger("rupa_desk.anything").error("a bug")


@pytest.mark.allow_error_logs
def test_an_expected_server_error():
    server.error("expected")


def test_the_simulator_reporting_an_injected_fault():
    logging.getLogger("rupa_desk.sandbox.faults").error("injected")


def test_a_server_warning():
    server.warning("slow")
"""


@pytest.mark.timeout(120)
def test_error_logs_fail_the_test_in_every_phase(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest("from tests.conftest import _fail_on_error_logs, pytest_configure\n")
    pytester.makepyfile(test_probes=PROBES)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function", "-rE"
    )
    # The check runs as the harness fixture's teardown, so an unexpected error is reported
    # as an error of the test (its call itself passed).
    result.assert_outcomes(passed=7, errors=4)
    result.stdout.fnmatch_lines_random(
        [
            "ERROR test_probes.py::test_server_error_while_the_test_runs*",
            "ERROR test_probes.py::test_server_error_in_setup*",
            "ERROR test_probes.py::test_server_error_in_teardown*",
            "ERROR test_probes.py::test_app_error*",
        ]
    )

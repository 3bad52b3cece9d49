"""One session, several Rupa Desk processes (the app and the command line on one PC), against
a simulator with refresh-token reuse protection (RFC 9700 §4.14.2): real child processes run
the real refresh code at the same moment, over one shared keychain; only one of them
refreshes, and the session lives on."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from rupa_desk import settings
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.auth import Authenticator
from rupa_desk.services.secrets import KeyringSecretStore
from tests.fixtures.file_secrets import FOLDER_VARIABLE, FolderKeyring
from tests.fixtures.rupa_client import RequestLog, store_session
from tests.fixtures.sandbox import SandboxControl, SandboxFactory

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 3


@pytest.fixture
def strict_sandbox(sandbox_factory: SandboxFactory) -> SandboxServer:
    """Reuse protection, and a slow token endpoint so that unlocked refreshes would overlap."""
    return sandbox_factory(
        refresh_token_reuse_protection=True, latency_ms=300, faults_on_token_endpoint=True
    )


async def session_as_a_restart_finds_it(sandbox: SandboxServer, keychain: Path) -> None:
    """A just-signed-in session, stored with its refresh token only (so every process must
    refresh) and not yet moved to its account's entry (so every process moves it too)."""
    with SandboxControl(sandbox.url) as control:
        issued = control.issue_tokens()
    store = KeyringSecretStore(FolderKeyring(keychain))
    await store_session(store, settings.demo(sandbox.url), issued["refresh_token"])


async def run_together(
    commands: list[list[str]], env: dict[str, str], *, wait_until_ready: bool = False
) -> list[bytes]:
    """Run the commands as child processes at once; their standard outputs.

    With `wait_until_ready`, each child first prints `ready` and then waits for a line on
    its standard input, so that all of them go at the same moment.
    """
    children = [
        await asyncio.create_subprocess_exec(
            *command,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for command in commands
    ]
    try:
        for child in children if wait_until_ready else ():
            assert child.stdout is not None
            ready = await asyncio.wait_for(child.stdout.readline(), timeout=60)
            assert ready == b"ready\n", ready
        for child in children if wait_until_ready else ():  # as close together as can be
            assert child.stdin is not None
            child.stdin.write(b"go\n")
        outputs = await asyncio.wait_for(
            asyncio.gather(*(child.communicate() for child in children)), timeout=120
        )
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
    return [stdout for stdout, _ in outputs]


async def assert_the_session_still_works(sandbox: SandboxServer, keychain: Path) -> str:
    """The chain was not revoked: the stored session works for the next start."""
    with SandboxControl(sandbox.url) as control:
        control.expire_tokens()
    env = settings.demo(sandbox.url)
    store = KeyringSecretStore(FolderKeyring(keychain))
    async with (
        Authenticator(env, store, paths=AppPaths.under(keychain.parent / "next")) as again,
        RupaClient(env, again) as client,
    ):
        assert await again.restore_session()
        return (await client.me()).id


async def test_processes_refreshing_at_once_all_succeed_and_the_session_lives(
    strict_sandbox: SandboxServer, tmp_path: Path
) -> None:
    keychain, profile = tmp_path / "keychain", tmp_path / "profile"
    await session_as_a_restart_finds_it(strict_sandbox, keychain)
    log = RequestLog(strict_sandbox.url)
    since = await log.last_seq()

    command = [sys.executable, "-m", "tests.fixtures.refresh_process", strict_sandbox.url]
    outputs = await run_together(
        [[*command, str(keychain), str(profile)]] * PROCESSES,
        dict(os.environ),
        wait_until_ready=True,
    )

    results: list[dict[str, Any]] = [json.loads(out) for out in outputs]
    assert [r["ok"] for r in results] == [True] * PROCESSES, results
    assert len({r["practitioner"] for r in results}) == 1
    assert sum(r["refreshes"] for r in results) == 1  # the others took its access token
    assert [e.status for e in await log.grants("refresh_token", since)] == [200]
    assert (
        await assert_the_session_still_works(strict_sandbox, keychain)
        == (results[0]["practitioner"])
    )


async def test_whoami_commands_started_together_all_answer(
    strict_sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Issue 18's report as it happened: `rupa-desk whoami` several times at once, right after
    a sign-in. Each refreshes in turn or takes the token, and each moves or follows the new
    session to the account's entry."""
    keychain = tmp_path / "keychain"
    await session_as_a_restart_finds_it(strict_sandbox, keychain)
    log = RequestLog(strict_sandbox.url)
    since = await log.last_seq()
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "tests.fixtures.file_secrets.FolderKeyring",
        FOLDER_VARIABLE: str(keychain),
        # platformdirs: the children's data, config and log folders below the test's
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    whoami = [sys.executable, "-m", "rupa_desk", "whoami", "--env", "demo"]

    outputs = await run_together([[*whoami, "--demo-url", strict_sandbox.url]] * PROCESSES, env)

    for out in outputs:
        assert b"Email: demo@rupa-desk.test" in out, out
        assert b"Session kept in: OS keychain" in out, out
    assert [e.status for e in await log.grants("refresh_token", since)] == [200]
    practitioner = await assert_the_session_still_works(strict_sandbox, keychain)
    assert all(f"Practitioner id: {practitioner}".encode() in out for out in outputs)

"""One session, several Rupa Desk processes (the app and the command line on one PC), against
a simulator with refresh-token reuse protection (RFC 9700 §4.14.2): real child processes run
the real refresh code at the same moment; only one of them refreshes, and the session lives."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from rupa_desk import settings
from rupa_desk.paths import AppPaths
from rupa_desk.services.api import RupaClient
from rupa_desk.services.auth import Authenticator
from tests.fixtures.file_secrets import FileSecretStore
from tests.fixtures.rupa_client import RequestLog, store_session
from tests.fixtures.sandbox import SandboxControl, SandboxFactory

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 3


async def start_child(url: str, secrets: Path, profile: Path) -> asyncio.subprocess.Process:
    """A Rupa Desk process on the shared session (`tests.fixtures.refresh_process`)."""
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.fixtures.refresh_process", url, str(secrets)),
        str(profile),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def refresh_at_once(url: str, secrets: Path, profile: Path) -> list[dict[str, Any]]:
    """Start the children, wait until each has restored the session, then let them all go."""
    children = [await start_child(url, secrets, profile) for _ in range(PROCESSES)]
    try:
        for child in children:
            assert child.stdout is not None
            ready = await asyncio.wait_for(child.stdout.readline(), timeout=60)
            assert ready == b"ready\n", ready
        for child in children:  # as close together as the OS lets them start
            assert child.stdin is not None
            child.stdin.write(b"go\n")
        await asyncio.gather(*(child.stdin.drain() for child in children if child.stdin))
        outputs = await asyncio.wait_for(
            asyncio.gather(*(child.communicate() for child in children)), timeout=120
        )
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
    return [json.loads(stdout) for stdout, _ in outputs]


async def test_processes_refreshing_at_once_all_succeed_and_the_session_lives(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # Reuse protection, and a slow token endpoint so that unlocked refreshes would overlap.
    sandbox = sandbox_factory(
        refresh_token_reuse_protection=True, latency_ms=300, faults_on_token_endpoint=True
    )
    env = settings.demo(sandbox.url)
    secrets = tmp_path / "keychain.json"
    profile = tmp_path / "profile"
    with SandboxControl(sandbox.url) as control:
        issued = control.issue_tokens()
    # A session as a restart finds it: the refresh token only, so every process must refresh.
    await store_session(FileSecretStore(secrets), env, issued["refresh_token"])
    log = RequestLog(sandbox.url)
    since = await log.last_seq()

    results = await refresh_at_once(sandbox.url, secrets, profile)

    assert [r["ok"] for r in results] == [True] * PROCESSES, results
    assert len({r["practitioner"] for r in results}) == 1
    assert sum(r["refreshes"] for r in results) == 1  # the others took its access token
    refreshes = await log.grants("refresh_token", since)
    assert [e.status for e in refreshes] == [200]
    assert all(e.status == 200 for e in await log.entries(since) if e.path.startswith("/pra"))

    # The chain was not revoked: the stored session still works for the next start.
    with SandboxControl(sandbox.url) as control:
        control.expire_tokens()
    store = FileSecretStore(secrets)
    async with (
        Authenticator(env, store, paths=AppPaths.under(profile)) as again,
        RupaClient(env, again) as client,
    ):
        assert await again.restore_session()
        assert (await client.me()).id == results[0]["practitioner"]

"""Tokens against the simulator: refresh when expired, the 20-request race, rotation persisted
before use, a revoked session, sign-out."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.auth import Authenticator, last_account_key, session_key
from rupa_desk.services.errors import NotSignedIn, SessionExpired
from rupa_desk.services.secrets import MemorySecretStore
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.rupa_client import (
    PlayedBrowser,
    RequestLog,
    demo_environment,
    signed_in,
    store_session,
)
from tests.fixtures.sandbox import SandboxFactory


async def expire_access_tokens(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        (await http.post(base_url + "/_sim/tokens/expire", json={})).raise_for_status()


async def stored_refresh_token(store: MemorySecretStore, auth: Authenticator) -> str:
    value = await store.get(session_key(auth.environment, auth.account_id))
    assert value is not None
    return str(json.loads(value)["refresh_token"])


async def test_an_expired_access_token_is_refreshed_and_the_call_retried(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    log = RequestLog(sandbox.url)
    async with signed_in(sandbox.url, practitioner_browser) as (_auth, client):
        await client.me()
        await expire_access_tokens(sandbox.url)
        since = await log.last_seq()
        me = await client.me()
    assert me.email == "demo@rupa-desk.test"
    after = await log.entries(since)
    assert [(e.path, e.status) for e in after] == [
        ("/practitioners/me", 401),
        ("/oauth/token", 200),
        ("/practitioners/me", 200),
    ]
    assert after[1].grant_type == "refresh_token"


async def test_a_short_lived_token_is_refreshed_before_it_expires(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(access_token_ttl_s=2)
    log = RequestLog(sandbox.url)
    with PractitionerBrowser(sandbox.url) as browser:
        async with signed_in(sandbox.url, browser) as (_auth, client):
            await client.me()
            await asyncio.sleep(1.6)  # past expires_in minus the leeway (a quarter of 2 s)
            since = await log.last_seq()
            await client.me()
    after = await log.entries(since)
    assert [(e.path, e.grant_type, e.status) for e in after] == [
        ("/oauth/token", "refresh_token", 200),
        ("/practitioners/me", None, 200),
    ]


async def test_twenty_concurrent_requests_with_an_expired_token_cause_one_refresh(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    log = RequestLog(sandbox.url)
    async with signed_in(sandbox.url, practitioner_browser) as (_auth, client):
        await client.me()
        await expire_access_tokens(sandbox.url)
        since = await log.last_seq()
        results = await asyncio.gather(*(client.me() for _ in range(20)))
    assert len(results) == 20
    assert len(await log.grants("refresh_token", since)) == 1


class GatedStore(MemorySecretStore):
    """A store whose writes wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()

    async def set(self, key: str, value: str) -> None:
        await self.gate.wait()
        await super().set(key, value)


async def test_the_rotated_refresh_token_is_stored_before_the_new_access_token_is_used(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    log = RequestLog(sandbox.url)
    store = GatedStore()
    async with signed_in(sandbox.url, practitioner_browser, store=store) as (auth, client):
        first_refresh = await stored_refresh_token(store, auth)
        await client.me()
        await expire_access_tokens(sandbox.url)
        since = await log.last_seq()
        store.gate.clear()
        call = asyncio.create_task(client.me())
        for _ in range(100):  # wait until Rupa has answered the refresh
            if await log.grants("refresh_token", since):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        entries = await log.entries(since)
        assert [e.grant_type for e in entries if e.path == "/oauth/token"] == ["refresh_token"]
        assert [e.status for e in entries if e.path == "/practitioners/me"] == [401]  # not yet
        assert not call.done()
        store.gate.set()
        await call
        rotated = await stored_refresh_token(store, auth)
    assert rotated != first_refresh

    # The old refresh token is dead; the stored one works in a new app start.
    stale = MemorySecretStore()
    await store_session(stale, auth.environment, first_refresh)
    env = demo_environment(sandbox.url)
    async with Authenticator(env, stale) as old, RupaClient(env, old) as old_client:
        await old.restore_session()
        with pytest.raises(SessionExpired):
            await old_client.me()
    async with Authenticator(env, store) as restarted, RupaClient(env, restarted) as new_client:
        assert await restarted.restore_session()
        assert (await new_client.me()).email == "demo@rupa-desk.test"


async def test_a_revoked_session_means_sign_in_again(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    store = MemorySecretStore()
    async with signed_in(sandbox.url, practitioner_browser, store=store) as (auth, client):
        refresh = await stored_refresh_token(store, auth)
        async with httpx.AsyncClient() as http:  # revoked elsewhere (e.g. in Rupa's web app)
            revoke = await http.post(
                sandbox.url + "/oauth/revoke_token",
                data={"token": refresh, "client_id": "rupa-desk-demo"},
            )
            assert revoke.status_code == 200
        await expire_access_tokens(sandbox.url)
        with pytest.raises(SessionExpired, match="Sign in again"):
            await client.me()
        assert not auth.has_session
        assert await store.get(session_key(auth.environment, None)) is None
        with pytest.raises(NotSignedIn):
            await client.me()


async def test_sign_out_revokes_and_forgets(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    store = MemorySecretStore()
    log = RequestLog(sandbox.url)
    async with signed_in(sandbox.url, practitioner_browser, store=store) as (auth, client):
        refresh = await stored_refresh_token(store, auth)
        result = await auth.sign_out()
        assert result.revoked
        assert await store.get(session_key(auth.environment, None)) is None
        with pytest.raises(NotSignedIn):
            await client.me()
    assert [e.status for e in await log.entries() if e.path == "/oauth/revoke_token"] == [200]
    revived = MemorySecretStore()
    await store_session(revived, auth.environment, refresh)
    env = demo_environment(sandbox.url)
    async with Authenticator(env, revived) as again:
        await again.restore_session()
        with pytest.raises(SessionExpired):
            await again.access_token()


async def test_practitioner_browser_is_signed_in_once_per_test(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    """Two sign-ins in a row (the second finds the browser signed in to Rupa already)."""
    env = demo_environment(sandbox.url)
    for _ in range(2):
        opener = PlayedBrowser(practitioner_browser)
        async with Authenticator(env, MemorySecretStore(), opener=opener) as auth:
            await (await auth.start_sign_in()).result()
            assert auth.has_session


class HeldTransport(httpx.AsyncBaseTransport):
    """Real HTTP, but the first request waits at the door until the test lets it through."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.arrived.is_set():
            self.arrived.set()
            await self.release.wait()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_two_processes_refreshing_at_once_do_not_sign_each_other_out(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    """Two Rupa Desk processes (two Authenticators on one keychain) hold one session. The
    second read the refresh token just before the first rotated it: Rupa refuses the old
    token, and the second must adopt the rotated one instead of deleting the session."""
    log = RequestLog(sandbox.url)
    store = MemorySecretStore()
    env = demo_environment(sandbox.url)
    held = HeldTransport()
    async with signed_in(sandbox.url, practitioner_browser, store=store) as (first, client):
        me = await client.me()
        await first.remember_account(me.id)
        original = await stored_refresh_token(store, first)
        async with (
            Authenticator(env, store, transport=held) as second,
            RupaClient(env, second) as second_client,
        ):
            assert await second.restore_session()
            since = await log.last_seq()
            late = asyncio.create_task(second.access_token())  # reads the token, then waits
            await held.arrived.wait()

            await first.token_rejected(await first.access_token())
            await first.access_token()  # the first process rotates the token meanwhile
            rotated = await stored_refresh_token(store, first)
            assert rotated != original

            held.release.set()  # the second now sends the token it read: already used
            assert await late
            refreshes = await log.grants("refresh_token", since)
            assert [e.status for e in refreshes] == [200, 400, 200]
            assert second.has_session
            assert (await second_client.me()).id == me.id
            assert await stored_refresh_token(store, second) not in (original, rotated)
        # The first process is still signed in too, and picks up the newest token.
        await expire_access_tokens(sandbox.url)
        assert (await client.me()).id == me.id
        assert first.has_session


async def test_two_processes_and_a_session_that_rupa_ended_still_mean_sign_in_again(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    store = MemorySecretStore()
    env = demo_environment(sandbox.url)
    async with signed_in(sandbox.url, practitioner_browser, store=store) as (first, client):
        await first.remember_account((await client.me()).id)
        refresh = await stored_refresh_token(store, first)
        async with httpx.AsyncClient() as http:  # revoked in Rupa's web app, say
            revoke = await http.post(
                sandbox.url + "/oauth/revoke_token",
                data={"token": refresh, "client_id": "rupa-desk-demo"},
            )
            assert revoke.status_code == 200
        async with Authenticator(env, store) as second:
            assert await second.restore_session()
            with pytest.raises(SessionExpired):
                await second.access_token()
        assert await store.get(session_key(env, first.account_id)) is None
        assert await store.get(last_account_key(env)) is None

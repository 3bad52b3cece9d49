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
from rupa_desk.services.errors import NotSignedIn, SessionExpired, SignInServerMoved
from rupa_desk.services.secrets import MemorySecretStore
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.rupa_client import (
    PlayedBrowser,
    RequestLog,
    demo_environment,
    set_faults,
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
    sandbox_factory: SandboxFactory,
) -> None:
    """Two Rupa Desk processes (two Authenticators on one keychain, each with its own handle
    on the session lock file) hold one session on a server with reuse protection. The second
    refreshes first and is held at the door; the first waits for the lock meanwhile instead
    of sending the same refresh token, then takes the second's access token."""
    sandbox = sandbox_factory(refresh_token_reuse_protection=True)
    log = RequestLog(sandbox.url)
    store = MemorySecretStore()
    env = demo_environment(sandbox.url)
    held = HeldTransport()
    with PractitionerBrowser(sandbox.url) as browser:
        async with signed_in(sandbox.url, browser, store=store) as (first, client):
            me = await client.me()
            await first.remember_account(me.id)
            original = await stored_refresh_token(store, first)
            await expire_access_tokens(sandbox.url)
            async with (
                Authenticator(env, store, transport=held) as second,
                RupaClient(env, second) as second_client,
            ):
                assert await second.restore_session()
                since = await log.last_seq()
                await second.token_rejected(await second.access_token())  # the expired one
                refreshing = asyncio.create_task(second.access_token())
                await held.arrived.wait()  # it holds the session and its request waits

                await first.token_rejected(await first.access_token())
                waiting = asyncio.create_task(first.access_token())
                await asyncio.sleep(0.3)
                assert not waiting.done()  # the first waits for the lock...
                assert await log.grants("refresh_token", since) == []  # ...sending nothing

                held.release.set()
                token = await refreshing
                assert await waiting == token  # taken from the store, not refreshed again
                refreshes = await log.grants("refresh_token", since)
                assert [e.status for e in refreshes] == [200]
                assert (await second_client.me()).id == me.id
                assert (await client.me()).id == me.id
                assert await stored_refresh_token(store, second) != original
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
        async with Authenticator(env, store) as second, RupaClient(env, second) as other:
            assert await second.restore_session()
            with pytest.raises(SessionExpired):  # the stored access token is refused, and
                await other.me()  # so is the refresh token
        assert await store.get(session_key(env, first.account_id)) is None
        assert await store.get(last_account_key(env)) is None


async def test_a_redirect_from_the_token_url_is_a_settings_problem_naming_the_url(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    """A Django server whose OAuth paths end in a slash answers the slashless POST with a
    redirect: never followed (the body holds the refresh token), reported with the URL, and
    the session is kept for when the address is corrected."""
    log = RequestLog(sandbox.url)
    store = MemorySecretStore()
    async with signed_in(sandbox.url, practitioner_browser, store=store) as (auth, client):
        await client.me()
        await set_faults(sandbox.url, oauth_redirect_status=301)
        await expire_access_tokens(sandbox.url)
        since = await log.last_seq()
        with pytest.raises(SignInServerMoved) as caught:
            await client.me()
        message = caught.value.user_message
        assert f"The sign-in server moved {sandbox.url}/oauth/token (HTTP 301)." in message
        assert "Check the environment's token URL" in message
        token_posts = [e for e in await log.entries(since) if e.path.startswith("/oauth/token")]
        assert [(e.path, e.status) for e in token_posts] == [("/oauth/token", 301)]
        assert auth.has_session
        assert await store.get(session_key(auth.environment, None)) is not None

        result = await auth.sign_out()  # the revocation is redirected too: forgotten anyway
        assert result.had_session
        assert not result.revoked
        assert await store.get(session_key(auth.environment, None)) is None


async def test_a_redirect_during_sign_in_says_so_in_the_browser_too(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    await set_faults(sandbox.url, oauth_redirect_status=308)
    opener = PlayedBrowser(practitioner_browser)
    env = demo_environment(sandbox.url)
    async with Authenticator(env, MemorySecretStore(), opener=opener) as auth:
        with pytest.raises(SignInServerMoved, match=r"/oauth/token \(HTTP 308\)"):
            await (await auth.start_sign_in()).result()
        assert not auth.has_session
    assert opener.pages[-1].status_code == 400
    assert "The sign-in server moved" in opener.pages[-1].text

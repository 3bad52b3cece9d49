"""Sign-in against the simulator over real HTTP: the test plays the practitioner's browser
through the simulator's real sign-in and consent pages, and back to the app's listener."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.auth import Authenticator, last_account_key, session_key
from rupa_desk.services.errors import (
    AccessDenied,
    IssuerMismatch,
    SignInCancelled,
    SignInTimedOut,
)
from rupa_desk.services.secrets import MemorySecretStore
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.rupa_client import PlayedBrowser, RequestLog, demo_environment


def port_is_closed(url: str) -> bool:
    port = httpx.URL(url).port
    assert port is not None
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


async def test_full_sign_in_through_the_login_and_consent_pages(
    sandbox: SandboxServer,
    practitioner_browser: PractitionerBrowser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="rupa_desk")
    env = demo_environment(sandbox.url)
    opener = PlayedBrowser(practitioner_browser, before=("/favicon.ico",))
    store = MemorySecretStore()
    async with Authenticator(env, store, opener=opener) as auth, RupaClient(env, auth) as client:
        pending = await auth.start_sign_in()
        assert pending.browser_opened
        await pending.result()
        me = await client.me()
        access_token = await auth.access_token()
    stored = await store.get(session_key(env, None))
    assert stored is not None
    refresh_token = json.loads(stored)["refresh_token"]
    state = httpx.URL(pending.authorize_url).params["state"]
    for secret in (access_token, refresh_token, state):  # never in a log line
        assert secret not in caplog.text

    assert me.email == "demo@rupa-desk.test"
    assert me.clinic is not None
    favicon, callback = opener.pages
    assert favicon.status_code == 404  # the favicon did not end the flow
    assert callback.status_code == 200
    assert "You're signed in" in callback.text
    assert "return to Rupa Desk" in callback.text
    assert port_is_closed(pending.redirect_uri)
    exchanges = await RequestLog(sandbox.url).grants("authorization_code")
    assert [e.status for e in exchanges] == [200]


async def test_deny_ends_with_access_was_denied(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    opener = PlayedBrowser(practitioner_browser, decision="deny")
    env = demo_environment(sandbox.url)
    async with Authenticator(env, MemorySecretStore(), opener=opener) as auth:
        pending = await auth.start_sign_in()
        with pytest.raises(AccessDenied, match="Access was denied"):
            await pending.result()
        assert not auth.has_session
    assert "did not work" in opener.pages[-1].text
    assert port_is_closed(pending.redirect_uri)


async def test_a_wrong_state_is_refused_and_the_code_never_exchanged(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    """The answer with a forged state gets an error page; the sign-in goes on waiting for
    the real one (which never comes here), so it ends by timing out."""
    opener = PlayedBrowser(practitioner_browser, state="forged-state")
    env = demo_environment(sandbox.url, sign_in_timeout_s=1.0)
    async with Authenticator(env, MemorySecretStore(), opener=opener) as auth:
        pending = await auth.start_sign_in()
        with pytest.raises(SignInTimedOut):
            await pending.result()
    assert await RequestLog(sandbox.url).grants("authorization_code") == []
    assert opener.pages[-1].status_code == 400
    assert "ignored" in opener.pages[-1].text
    assert port_is_closed(pending.redirect_uri)


async def test_the_simulator_names_its_issuer_and_another_one_is_refused(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    """RFC 9207 mix-up defence over real HTTP: the simulator sends `iss` (its base URL); a
    client that expects another issuer refuses the answer and never exchanges the code."""
    env = replace(demo_environment(sandbox.url), issuer="https://labs.rupahealth.com")
    opener = PlayedBrowser(practitioner_browser)
    async with Authenticator(env, MemorySecretStore(), opener=opener) as auth:
        pending = await auth.start_sign_in()
        with pytest.raises(IssuerMismatch):
            await pending.result()
        assert not auth.has_session
    assert await RequestLog(sandbox.url).grants("authorization_code") == []
    assert opener.pages[-1].status_code == 400
    assert port_is_closed(pending.redirect_uri)


async def test_timeout_when_the_browser_never_comes_back(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    opener = PlayedBrowser(practitioner_browser, come_back=False)
    env = demo_environment(sandbox.url, sign_in_timeout_s=0.5)
    async with Authenticator(env, MemorySecretStore(), opener=opener) as auth:
        pending = await auth.start_sign_in()
        with pytest.raises(SignInTimedOut):
            await pending.result()
    assert port_is_closed(pending.redirect_uri)


async def test_cancel_while_waiting(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    opener = PlayedBrowser(practitioner_browser, come_back=False)
    env = demo_environment(sandbox.url)
    async with Authenticator(env, MemorySecretStore(), opener=opener) as auth:
        pending = await auth.start_sign_in()
        assert not port_is_closed(pending.redirect_uri)
        pending.cancel()
        with pytest.raises(SignInCancelled):
            await pending.result()
    assert port_is_closed(pending.redirect_uri)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        yield other_program.getsockname()[1]


async def test_a_busy_port_in_the_configured_list_is_skipped(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser, busy_port: int
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        spare = probe.getsockname()[1]
    env = replace(demo_environment(sandbox.url), redirect_ports=(busy_port, spare))
    async with Authenticator(
        env, MemorySecretStore(), opener=PlayedBrowser(practitioner_browser)
    ) as auth:
        pending = await auth.start_sign_in()
        await pending.result()
    assert pending.redirect_uri == f"http://127.0.0.1:{spare}/oauth/callback"


async def test_two_practitioners_on_one_pc_keep_their_own_sessions(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    """The front-desk PC's keychain holds one session per account; start-up resumes the last."""
    env = demo_environment(sandbox.url)
    store = MemorySecretStore()

    async def sign_in_as(browser: PractitionerBrowser) -> str:
        async with (
            Authenticator(env, store, opener=PlayedBrowser(browser)) as auth,
            RupaClient(env, auth) as client,
        ):
            await (await auth.start_sign_in()).result()
            practitioner = await client.me()
            await auth.remember_account(practitioner.id)
            return practitioner.id

    first = await sign_in_as(practitioner_browser)
    with PractitionerBrowser(sandbox.url, email="other@rupa-desk.test", password="demo") as other:
        second = await sign_in_as(other)
    assert first != second
    assert await store.get(session_key(env, first)) is not None  # not overwritten
    assert await store.get(session_key(env, second)) is not None
    assert await store.get(last_account_key(env)) == second

    async with Authenticator(env, store) as restarted, RupaClient(env, restarted) as client:
        assert await restarted.restore_session()
        assert restarted.account_id == second
        assert (await client.me()).email == "other@rupa-desk.test"
        assert await restarted.restore_session(first)  # the first session still works
        assert (await client.me()).email == "demo@rupa-desk.test"
        assert (await restarted.sign_out()).revoked
    assert await store.get(session_key(env, first)) is None
    assert await store.get(session_key(env, second)) is not None

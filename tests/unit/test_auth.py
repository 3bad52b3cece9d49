"""Sign-in and tokens with a fake token endpoint: PKCE, state and issuer, the loopback listener
(hit over real loopback HTTP), timeouts and cancel, single-flight refresh, rotation, the
session shared between processes, wall-clock expiry, sign-out."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import webbrowser
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import filelock
import httpx
import pytest

from rupa_desk import settings
from rupa_desk.paths import AppPaths
from rupa_desk.services.auth import (
    NEW_SESSION,
    Authenticator,
    last_account_key,
    session_key,
    session_lock_name,
)
from rupa_desk.services.errors import (
    AccessDenied,
    IssuerMismatch,
    NoFreePort,
    NotSignedIn,
    Offline,
    SecretStoreUnavailable,
    SessionBusy,
    SessionExpired,
    SignInCancelled,
    SignInFailed,
    SignInTimedOut,
)
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.settings import Environment
from tests.fixtures.fake_oauth import BrowserThatApproves, FakeTokenEndpoint, query_of
from tests.fixtures.fake_rupa import fast_environment


class FakeClock:
    """A wall clock (epoch seconds) that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordingOpener:
    """An opener that only remembers the URL (the test then plays the browser itself)."""

    def __init__(self, opened: bool = True) -> None:
        self.opened = opened
        self.urls: list[str] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return self.opened


def port_is_closed(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


@pytest.fixture
def endpoint() -> FakeTokenEndpoint:
    return FakeTokenEndpoint()


@pytest.fixture
def environment() -> Environment:
    return fast_environment()


def make_auth(
    environment: Environment,
    endpoint: FakeTokenEndpoint,
    opener: Any,
    store: Any = None,
    clock: FakeClock | None = None,
) -> Authenticator:
    return Authenticator(
        environment,
        store if store is not None else MemorySecretStore(),
        opener=opener,
        transport=endpoint.transport(),
        clock=clock or FakeClock(),
    )


async def signed_in(
    environment: Environment,
    endpoint: FakeTokenEndpoint,
    store: Any = None,
    clock: FakeClock | None = None,
) -> Authenticator:
    auth = make_auth(environment, endpoint, BrowserThatApproves(endpoint), store, clock)
    pending = await auth.start_sign_in()
    await pending.result()
    return auth


# --- sign-in --------------------------------------------------------------------------------


async def test_full_sign_in_with_pkce_and_state(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    browser = BrowserThatApproves(endpoint, before=("/favicon.ico",))
    store = MemorySecretStore()
    async with make_auth(environment, endpoint, browser, store) as auth:
        pending = await auth.start_sign_in()
        result = await pending.result()
        assert result.environment == "demo"
        assert pending.browser_opened
        assert pending.done
        assert await auth.access_token() == "access-2"
        assert auth.has_session

    params = query_of(pending.authorize_url)
    assert pending.authorize_url.startswith("http://127.0.0.1:9/oauth/authorize?")
    assert params["response_type"] == "code"
    assert params["client_id"] == "rupa-desk-demo"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 32
    port = int(params["redirect_uri"].split(":")[2].split("/")[0])
    assert params["redirect_uri"] == f"http://127.0.0.1:{port}/oauth/callback"
    assert endpoint.grants == ["authorization_code"]  # the verifier matched the challenge
    favicon, callback = browser.pages
    assert favicon.status_code == 404
    assert callback.status_code == 200
    assert "You're signed in" in callback.text
    assert "return to Rupa Desk" in callback.text
    assert port_is_closed(port)
    stored = json.loads(await store.get(session_key(environment, None)) or "{}")
    assert len(stored.pop("session_id")) >= 16  # names this sign-in, random
    assert stored == {
        "refresh_token": "refresh-2",
        "account_id": None,
        "access_token": "access-2",  # shared with other processes on this session
        "access_until": 1000.0 + 3600 - 60,  # the clock's time + expires_in - the leeway
    }
    assert await store.get(last_account_key(environment)) == NEW_SESSION


async def test_each_attempt_has_a_fresh_state_and_verifier(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    challenges, states = set(), set()
    for _ in range(2):
        browser = BrowserThatApproves(endpoint)
        async with make_auth(environment, endpoint, browser) as auth:
            await (await auth.start_sign_in()).result()
        params = query_of(browser.urls[0])
        challenges.add(params["code_challenge"])
        states.add(params["state"])
    assert len(challenges) == 2
    assert len(states) == 2


async def test_the_listener_listens_before_the_browser_opens(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    seen: list[int] = []

    def opener(url: str) -> bool:
        redirect = query_of(url)["redirect_uri"]
        seen.append(httpx.get(redirect.replace("/oauth/callback", "/anything")).status_code)
        return True

    async with make_auth(environment, endpoint, opener) as auth:
        pending = await auth.start_sign_in()
        pending.cancel()
        with pytest.raises(SignInCancelled):
            await pending.result()
    assert seen == [404]


async def test_only_the_exact_callback_path_and_get_are_answered(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    opener = RecordingOpener()
    async with make_auth(environment, endpoint, opener) as auth:
        pending = await auth.start_sign_in()
        base = pending.redirect_uri
        async with httpx.AsyncClient() as browser:
            assert (await browser.get(base + "/extra")).status_code == 404
            assert (await browser.get(base.replace("callback", "callbacks"))).status_code == 404
            assert (await browser.post(base, data={"code": "x"})).status_code == 405
            reload = await browser.get(base)  # no query at all: not an answer, keep waiting
            assert reload.status_code == 400
            assert not pending.done
            params = query_of(opener.urls[0])
            code = endpoint.issue_code(params["code_challenge"])
            page = await browser.get(base, params={"code": code, "state": params["state"]})
        assert page.status_code == 200
        await pending.result()


@pytest.mark.parametrize(
    "forged",
    [
        {"code": "code-from-elsewhere", "state": "not-the-state"},
        {"code": "code-from-elsewhere"},  # no state at all
        {"error": "access_denied", "state": "not-the-state"},
        {"error": "access_denied"},
    ],
)
async def test_an_answer_with_a_wrong_or_missing_state_is_refused_and_the_real_one_awaited(
    environment: Environment, endpoint: FakeTokenEndpoint, forged: dict[str, str]
) -> None:
    """A web page can send the browser to the listener (login CSRF, RFC 6749 §10.12): that
    request gets an error page, and the sign-in goes on waiting for Rupa's answer."""
    opener = RecordingOpener()
    async with make_auth(environment, endpoint, opener) as auth:
        pending = await auth.start_sign_in()
        async with httpx.AsyncClient() as browser:
            page = await browser.get(pending.redirect_uri, params=forged)
            assert page.status_code == 400
            assert "ignored" in page.text
            await asyncio.sleep(0.05)
            assert not pending.done
            assert endpoint.grants == []  # the forged code was never exchanged
            params = query_of(opener.urls[0])
            code = endpoint.issue_code(params["code_challenge"])
            real = await browser.get(
                pending.redirect_uri, params={"code": code, "state": params["state"]}
            )
        assert real.status_code == 200
        await pending.result()
        assert auth.has_session
    assert endpoint.grants == ["authorization_code"]
    assert port_is_closed(httpx.URL(pending.redirect_uri).port or 0)


async def test_error_text_in_the_answer_cannot_forge_log_lines(
    environment: Environment, endpoint: FakeTokenEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "server_error\r\nERROR rupa_desk: forged\x1b[2J"
    browser = BrowserThatApproves(endpoint, error=forged)
    async with make_auth(environment, endpoint, browser) as auth:
        with pytest.raises(SignInFailed):
            await (await auth.start_sign_in()).result()
    lines = [r.getMessage() for r in caplog.records if "answered error=" in r.getMessage()]
    assert lines == [
        "authorize endpoint answered error='server_error\\r\\nERROR rupa_desk: forged\\x1b[2'"
    ]
    for record in caplog.records:
        message = record.getMessage()
        assert not {"\n", "\r", "\x1b"} & set(message)


async def test_an_answer_from_another_issuer_is_refused(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    """RFC 9207: the code came from another server than the one asked (a mix-up attack)."""
    browser = BrowserThatApproves(endpoint, iss="https://attacker.example")
    async with make_auth(environment, endpoint, browser) as auth:
        pending = await auth.start_sign_in()
        with pytest.raises(IssuerMismatch):
            await pending.result()
        assert not auth.has_session
    assert endpoint.grants == []  # the code was never exchanged
    assert browser.pages[-1].status_code == 400
    assert "another server" in browser.pages[-1].text
    assert port_is_closed(httpx.URL(pending.redirect_uri).port or 0)


def test_each_environment_knows_the_issuer_its_sign_in_answers_must_name() -> None:
    assert settings.production("id").issuer == "https://labs.rupahealth.com"
    sandbox = settings.rupa_sandbox("id", authorize_url="https://auth.example.test/o/authorize")
    assert sandbox.issuer == "https://auth.example.test"
    assert settings.demo("http://127.0.0.1:8765/").issuer == "http://127.0.0.1:8765"


async def test_an_answer_naming_the_right_issuer_is_accepted(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    assert environment.issuer == "http://127.0.0.1:9"
    browser = BrowserThatApproves(endpoint, iss="http://127.0.0.1:9")
    async with make_auth(environment, endpoint, browser) as auth:
        await (await auth.start_sign_in()).result()
        assert auth.has_session
    assert endpoint.grants == ["authorization_code"]


async def test_access_denied_says_so(environment: Environment, endpoint: FakeTokenEndpoint) -> None:
    browser = BrowserThatApproves(endpoint, error="access_denied")
    async with make_auth(environment, endpoint, browser) as auth:
        with pytest.raises(AccessDenied, match="Access was denied"):
            await (await auth.start_sign_in()).result()
    assert "Access was denied" in browser.pages[-1].text


async def test_a_refused_code_exchange_fails_honestly_in_the_browser_too(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    bad_client = replace(environment, client_id="someone-else")
    browser = BrowserThatApproves(endpoint)
    async with make_auth(bad_client, endpoint, browser) as auth:
        with pytest.raises(SignInFailed, match="client id"):
            await (await auth.start_sign_in()).result()
    assert browser.pages[-1].status_code == 400
    assert "client id" in browser.pages[-1].text


async def test_a_timeout_ends_with_a_clear_error_and_closes_the_port(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    async with make_auth(environment, endpoint, RecordingOpener()) as auth:
        pending = await auth.start_sign_in(timeout_s=0.2)
        with pytest.raises(SignInTimedOut, match="timed out"):
            await pending.result()
    assert port_is_closed(httpx.URL(pending.redirect_uri).port or 0)


async def test_cancel_ends_the_attempt_and_closes_the_port(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    async with make_auth(environment, endpoint, RecordingOpener()) as auth:
        pending = await auth.start_sign_in()
        port = httpx.URL(pending.redirect_uri).port or 0
        assert not port_is_closed(port)
        pending.cancel()
        with pytest.raises(SignInCancelled):
            await pending.result()
        assert port_is_closed(port)


async def test_cancelling_the_waiting_task_cancels_the_sign_in(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    async with make_auth(environment, endpoint, RecordingOpener()) as auth:
        pending = await auth.start_sign_in()
        waiter = asyncio.create_task(pending.result())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await asyncio.sleep(0.05)
        assert pending.done
        assert port_is_closed(httpx.URL(pending.redirect_uri).port or 0)


async def test_cancel_while_the_browser_waits_answers_it_with_a_cancelled_page(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    endpoint.delay_s = 5  # the code exchange hangs
    opener = RecordingOpener()
    async with make_auth(environment, endpoint, opener) as auth:
        pending = await auth.start_sign_in()
        params = query_of(opener.urls[0])
        code = endpoint.issue_code(params["code_challenge"])
        async with httpx.AsyncClient() as browser:
            page_task = asyncio.create_task(
                browser.get(pending.redirect_uri, params={"code": code, "state": params["state"]})
            )
            await asyncio.sleep(0.2)
            pending.cancel()
            page = await page_task
        with pytest.raises(SignInCancelled):
            await pending.result()
    assert "cancelled" in page.text


async def test_a_new_sign_in_cancels_the_one_still_waiting(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    """Two listeners are never open: the earlier attempt ends before the new one listens."""
    opener = RecordingOpener()
    async with make_auth(environment, endpoint, opener) as auth:
        first = await auth.start_sign_in()
        first_port = httpx.URL(first.redirect_uri).port or 0
        second = await auth.start_sign_in()
        assert first.done
        with pytest.raises(SignInCancelled):
            await first.result()
        assert port_is_closed(first_port)
        assert not second.done
        params = query_of(opener.urls[1])
        code = endpoint.issue_code(params["code_challenge"])
        async with httpx.AsyncClient() as browser:
            page = await browser.get(
                second.redirect_uri, params={"code": code, "state": params["state"]}
            )
        assert page.status_code == 200
        await second.result()
        assert auth.has_session


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port some other program is listening on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_busy_configured_port_is_skipped(
    environment: Environment, endpoint: FakeTokenEndpoint, busy_port: int
) -> None:
    spare = free_port()
    env = replace(environment, redirect_ports=(busy_port, spare))
    browser = BrowserThatApproves(endpoint)
    async with make_auth(env, endpoint, browser) as auth:
        pending = await auth.start_sign_in()
        await pending.result()
    assert pending.redirect_uri == f"http://127.0.0.1:{spare}/oauth/callback"


async def test_no_free_configured_port_is_a_clear_error(
    environment: Environment, endpoint: FakeTokenEndpoint, busy_port: int
) -> None:
    env = replace(environment, redirect_ports=(busy_port,))
    opener = RecordingOpener()
    async with make_auth(env, endpoint, opener) as auth:
        with pytest.raises(NoFreePort, match="ports"):
            await auth.start_sign_in()
    assert opener.urls == []  # no browser opened for a flow that cannot finish


async def test_falls_back_to_ipv6_loopback_when_the_ipv4_address_is_unusable(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    env = replace(environment, redirect_host="192.0.2.1")  # not an address of this machine
    browser = BrowserThatApproves(endpoint)
    async with make_auth(env, endpoint, browser) as auth:
        pending = await auth.start_sign_in()
        await pending.result()
    assert pending.redirect_uri.startswith("http://[::1]:")


@pytest.mark.parametrize(
    "opener",
    [RecordingOpener(opened=False), lambda url: (_ for _ in ()).throw(webbrowser.Error("none"))],
)
async def test_when_no_browser_opens_the_url_is_there_to_show(
    environment: Environment, endpoint: FakeTokenEndpoint, opener: Any
) -> None:
    async with make_auth(environment, endpoint, opener) as auth:
        pending = await auth.start_sign_in()
        assert not pending.browser_opened
        assert pending.authorize_url.startswith(environment.authorize_url + "?")
        pending.cancel()
        with pytest.raises(SignInCancelled):
            await pending.result()


# --- tokens ---------------------------------------------------------------------------------


async def test_refresh_when_expired_rotates_and_stores_the_new_refresh_token(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    clock = FakeClock()
    store = MemorySecretStore()
    async with await signed_in(environment, endpoint, store, clock) as auth:
        first = await auth.access_token()
        clock.now += 3600 - 61  # not yet within the refresh leeway (60 s) of the expiry
        assert await auth.access_token() == first
        clock.now += 2  # now within it
        second = await auth.access_token()
        assert second != first
        assert endpoint.grants == ["authorization_code", "refresh_token"]
        stored = json.loads(await store.get(session_key(environment, None)) or "{}")
        assert stored["refresh_token"] in endpoint.refresh_tokens  # the rotated, live one
        assert await auth.access_token() == second  # no further refresh


async def test_twenty_concurrent_callers_cause_exactly_one_refresh(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    clock = FakeClock()
    async with await signed_in(environment, endpoint, clock=clock) as auth:
        clock.now += 10_000
        endpoint.delay_s = 0.05
        tokens = await asyncio.gather(*(auth.access_token() for _ in range(20)))
    assert len(set(tokens)) == 1
    assert endpoint.grants.count("refresh_token") == 1


class GatedStore(MemorySecretStore):
    """A store whose writes wait for the test's go-ahead, recording what was written."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.writes: list[str] = []

    async def set(self, key: str, value: str) -> None:
        await self.gate.wait()
        self.writes.append(value)
        await super().set(key, value)


async def test_the_rotated_refresh_token_is_stored_before_the_new_access_token_is_used(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    clock = FakeClock()
    store = GatedStore()
    async with await signed_in(environment, endpoint, store, clock) as auth:
        clock.now += 10_000
        store.gate.clear()
        callers = [asyncio.create_task(auth.access_token()) for _ in range(5)]
        await asyncio.sleep(0.1)
        assert endpoint.grants[-1] == "refresh_token"  # Rupa answered with new tokens...
        assert not any(c.done() for c in callers)  # ...but nobody has the access token yet
        store.gate.set()
        tokens = await asyncio.gather(*callers)
    new_refresh = json.loads(store.writes[-1])["refresh_token"]
    assert new_refresh in endpoint.refresh_tokens
    assert set(tokens) == {endpoint.access_tokens[-1]}


async def test_a_revoked_session_means_sign_in_again_and_is_forgotten(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    clock = FakeClock()
    store = MemorySecretStore()
    async with await signed_in(environment, endpoint, store, clock) as auth:
        endpoint.refresh_tokens.clear()  # revoked on Rupa's side
        clock.now += 10_000
        with pytest.raises(SessionExpired, match="Sign in again"):
            await auth.access_token()
        assert not auth.has_session
        assert await store.get(session_key(environment, None)) is None
        grants = len(endpoint.grants)
        with pytest.raises(NotSignedIn):
            await auth.access_token()
        assert len(endpoint.grants) == grants  # not retried


async def test_every_later_caller_hears_that_rupa_ended_the_session(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    """Background work may find out first; the sign-in page must still say "sign in again"."""
    clock = FakeClock()
    store = MemorySecretStore()
    async with await signed_in(environment, endpoint, store, clock) as auth:
        endpoint.refresh_tokens.clear()
        clock.now += 10_000
        with pytest.raises(SessionExpired):
            await auth.access_token()  # e.g. the order poller
        with pytest.raises(SessionExpired, match="session has ended"):
            await auth.access_token()  # then the session presenter
        await auth.sign_out()
        with pytest.raises(NotSignedIn) as caught:
            await auth.access_token()
        assert type(caught.value) is NotSignedIn


async def test_a_refresh_while_offline_keeps_the_session(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    clock = FakeClock()
    store = MemorySecretStore()
    async with await signed_in(environment, endpoint, store, clock) as auth:
        clock.now += 10_000
        endpoint.fail_with = httpx.ConnectError
        with pytest.raises(Offline):
            await auth.access_token()
        assert await store.get(session_key(environment, None)) is not None
        endpoint.fail_with = None
        assert await auth.access_token()


async def test_a_rejected_token_is_refreshed_once_for_everyone(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    async with await signed_in(environment, endpoint) as auth:
        old = await auth.access_token()
        await auth.token_rejected(old)
        await auth.token_rejected(old)
        new = await auth.access_token()
        await auth.token_rejected(old)  # a late 401 for the old token changes nothing
        assert await auth.access_token() == new != old
    assert endpoint.grants.count("refresh_token") == 1


async def test_restore_at_start_up_and_remember_the_account(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    store = MemorySecretStore()
    clock = FakeClock()
    async with await signed_in(environment, endpoint, store, clock) as auth:
        await auth.remember_account("pra_1")
    clock.now += 10_000  # the stored access token has expired meanwhile
    async with make_auth(environment, endpoint, RecordingOpener(), store, clock) as restarted:
        assert await restarted.restore_session() is True
        assert restarted.account_id == "pra_1"
        assert await restarted.access_token()  # refreshed from the stored token
        assert endpoint.grants[-1] == "refresh_token"
        assert restarted.account_id == "pra_1"
    async with make_auth(environment, endpoint, RecordingOpener()) as fresh:
        assert await fresh.restore_session() is False
        with pytest.raises(NotSignedIn):
            await fresh.remember_account("pra_1")


async def test_each_account_keeps_its_own_entry_on_a_shared_pc(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    """A second practitioner signing in does not overwrite the first one's session."""
    store = MemorySecretStore()
    clock = FakeClock()
    async with await signed_in(environment, endpoint, store, clock) as first:
        await first.remember_account("pra_A")
        assert await store.get(session_key(environment, None)) is None  # moved to pra_A's
    first_entry = json.loads(await store.get(session_key(environment, "pra_A")) or "{}")
    assert first_entry["account_id"] == "pra_A"
    assert await store.get(last_account_key(environment)) == "pra_A"

    async with await signed_in(environment, endpoint, store, clock) as second:
        # Until Rupa says who signed in, the new session is the NEW_SESSION entry...
        assert await store.get(last_account_key(environment)) == NEW_SESSION
        assert json.loads(await store.get(session_key(environment, "pra_A")) or "{}") == (
            first_entry
        )
        await second.remember_account("pra_B")
    # ...then the second account's own entry; the first account's is untouched.
    assert json.loads(await store.get(session_key(environment, "pra_A")) or "{}") == first_entry
    assert await store.get(session_key(environment, "pra_B")) is not None
    assert await store.get(session_key(environment, None)) is None
    assert await store.get(last_account_key(environment)) == "pra_B"

    clock.now += 10_000  # both stored access tokens have expired meanwhile
    async with make_auth(environment, endpoint, RecordingOpener(), store, clock) as restarted:
        assert await restarted.restore_session()  # the last account, without the network
        assert restarted.account_id == "pra_B"
        assert endpoint.grants == ["authorization_code", "authorization_code"]  # no network
        assert await restarted.access_token()
        assert await restarted.restore_session("pra_A")  # the first account's still works
        assert restarted.account_id == "pra_A"
        assert await restarted.access_token()
        assert endpoint.grants.count("refresh_token") == 2
        assert await store.get(last_account_key(environment)) == "pra_A"

        result = await restarted.sign_out()  # signs pra_A out, and only pra_A
        assert result.revoked
    assert await store.get(session_key(environment, "pra_A")) is None
    assert await store.get(last_account_key(environment)) is None
    assert await store.get(session_key(environment, "pra_B")) is not None


async def test_signing_out_leaves_the_pointer_when_it_names_another_account(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    store = MemorySecretStore()
    async with await signed_in(environment, endpoint, store) as first:
        await first.remember_account("pra_A")
        async with await signed_in(environment, endpoint, store) as second:
            await second.remember_account("pra_B")  # another process, the same keychain
        await first.sign_out()
    assert await store.get(session_key(environment, "pra_A")) is None
    assert await store.get(last_account_key(environment)) == "pra_B"
    async with make_auth(environment, endpoint, RecordingOpener(), store) as restarted:
        assert await restarted.restore_session()
        assert restarted.account_id == "pra_B"


async def test_a_pointer_to_a_missing_entry_is_no_session(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    store = MemorySecretStore()
    await store.set(last_account_key(environment), "pra_Gone")
    async with make_auth(environment, endpoint, RecordingOpener(), store) as auth:
        assert await auth.restore_session() is False
        assert not auth.has_session
        assert await auth.restore_session("pra_Unknown") is False
        with pytest.raises(ValueError, match="account id"):
            await auth.remember_account(NEW_SESSION)


@pytest.mark.parametrize(
    "damaged",
    ["{not json", '["refresh-token-in-a-list"]', '{"refresh_token": ""}', '{"token": "x1y2z3"}'],
)
async def test_a_damaged_entry_is_no_session_and_says_so_without_its_content(
    environment: Environment,
    endpoint: FakeTokenEndpoint,
    caplog: pytest.LogCaptureFixture,
    damaged: str,
) -> None:
    store = MemorySecretStore()
    await store.set(session_key(environment, "pra_A"), damaged)
    await store.set(last_account_key(environment), "pra_A")
    async with make_auth(environment, endpoint, RecordingOpener(), store) as auth:
        assert await auth.restore_session() is False
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert [r.getMessage() for r in warnings] == [
        "the stored session is damaged or not Rupa Desk's; sign in again"
    ]
    assert damaged not in caplog.text
    assert "x1y2z3" not in caplog.text


async def test_sign_out_revokes_and_forgets(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    store = MemorySecretStore()
    async with await signed_in(environment, endpoint, store) as auth:
        refresh = json.loads(await store.get(session_key(environment, None)) or "{}")[
            "refresh_token"
        ]
        result = await auth.sign_out()
        assert result.had_session
        assert result.revoked
        assert endpoint.revoked == [refresh]
        assert await store.get(session_key(environment, None)) is None
        with pytest.raises(NotSignedIn):
            await auth.access_token()


async def test_sign_out_offline_still_forgets(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    store = MemorySecretStore()
    async with await signed_in(environment, endpoint, store) as auth:
        endpoint.fail_with = httpx.ConnectError
        result = await auth.sign_out()
        assert result.had_session
        assert not result.revoked
        assert await store.get(session_key(environment, None)) is None
        assert not auth.has_session


class RefusingStore(MemorySecretStore):
    """A keychain that became locked: every write is refused."""

    async def set(self, key: str, value: str) -> None:
        raise SecretStoreUnavailable()


async def test_a_keychain_that_refuses_the_rotated_token_keeps_the_session_in_memory(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    async with await signed_in(environment, endpoint, RefusingStore()) as auth:
        assert auth.store_degraded
        assert await auth.access_token()
        await auth.token_rejected(await auth.access_token())
        assert await auth.access_token()  # refreshed with the token kept in memory


async def test_an_opener_that_fails_unexpectedly_leaves_no_listener_behind(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    seen: list[str] = []

    def broken_opener(url: str) -> bool:
        seen.append(url)
        raise RuntimeError("a bug in the opener")

    async with make_auth(environment, endpoint, broken_opener) as auth:
        with pytest.raises(RuntimeError, match="a bug in the opener"):
            await auth.start_sign_in()
    redirect = query_of(seen[0])["redirect_uri"]
    assert port_is_closed(httpx.URL(redirect).port or 0)


# --- expiry on the wall clock ---------------------------------------------------------------


async def test_expiry_is_stored_as_wall_clock_time_that_survives_sleep_and_restarts(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    """A monotonic clock stops while the computer sleeps (Linux): the token would look fresh
    after a night in suspend. Wall-clock time also means another process can compare it."""
    store = MemorySecretStore()
    before = time.time()
    auth = Authenticator(
        environment,
        store,
        opener=BrowserThatApproves(endpoint),
        transport=endpoint.transport(),
    )
    async with auth:
        await (await auth.start_sign_in()).result()
    stored = json.loads(await store.get(session_key(environment, None)) or "{}")
    assert before + 3600 - 60 <= stored["access_until"] <= time.time() + 3600 - 60


@pytest.mark.parametrize("expires_in", [0, -30, None, "nan", "-inf", 10**400])
async def test_an_unusable_expires_in_means_the_default_lifetime_not_a_refresh_per_request(
    environment: Environment, endpoint: FakeTokenEndpoint, expires_in: object
) -> None:
    endpoint.expires_in = expires_in
    clock = FakeClock()
    async with await signed_in(environment, endpoint, clock=clock) as auth:
        first = await auth.access_token()
        clock.now += 3600 - 61  # the default lifetime (3600 s) less the leeway, not yet
        for _ in range(5):
            assert await auth.access_token() == first
        assert endpoint.grants == ["authorization_code"]
        clock.now += 2
        assert await auth.access_token() != first
    assert endpoint.grants == ["authorization_code", "refresh_token"]


async def test_a_tiny_expires_in_is_taken_as_the_minimum_lifetime(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    endpoint.expires_in = 0.001
    clock = FakeClock()
    async with await signed_in(environment, endpoint, clock=clock) as auth:
        first = await auth.access_token()
        clock.now += 0.7  # within a quarter of the one-second minimum of its end
        assert await auth.access_token() == first
        clock.now += 0.1
        assert await auth.access_token() != first
    assert endpoint.grants == ["authorization_code", "refresh_token"]


# --- the session shared by processes --------------------------------------------------------


async def test_a_process_that_waited_takes_the_token_another_process_refreshed(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    """Two processes on one keychain (here two Authenticators, each with its own lock file
    handle): the second finds the session refreshed and does not burn the refresh token."""
    clock = FakeClock()
    store = MemorySecretStore()
    async with await signed_in(environment, endpoint, store, clock) as first:
        await first.remember_account("pra_A")
        async with make_auth(environment, endpoint, RecordingOpener(), store, clock) as second:
            assert await second.restore_session()
            shared = await second.access_token()  # taken from the store: no request
            assert shared == await first.access_token()
            assert endpoint.grants == ["authorization_code"]
            clock.now += 10_000
            renewed = await first.access_token()
            assert await second.access_token() == renewed  # taken, not refreshed again
            assert endpoint.grants == ["authorization_code", "refresh_token"]
            await second.token_rejected(renewed)  # Rupa refused it: never taken back
            newest = await second.access_token()
            assert newest != renewed
            assert endpoint.grants == ["authorization_code", "refresh_token", "refresh_token"]
            assert await first.access_token() == renewed  # still fresh in first's memory...
            await first.token_rejected(renewed)
            assert await first.access_token() == newest  # ...until refused: then shared


async def test_a_new_session_moved_by_another_process_is_followed_not_lost(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    """Two commands started right after sign-in both ask who is signed in: the first one to
    answer moves the session to the account's entry; the other follows it there."""
    clock = FakeClock()
    store = MemorySecretStore()
    signer = await signed_in(environment, endpoint, store, clock)
    async with (
        signer,
        make_auth(environment, endpoint, RecordingOpener(), store, clock) as one,
        make_auth(environment, endpoint, RecordingOpener(), store, clock) as other,
    ):
        assert await one.restore_session()
        assert await other.restore_session()
        await one.remember_account("pra_A")
        await other.remember_account("pra_A")  # found where the first one moved it
        assert other.account_id == "pra_A"
        clock.now += 10_000
        assert await other.access_token()  # refreshes the moved entry
        assert await signer.access_token()  # the signer follows it too
    assert endpoint.grants == ["authorization_code", "refresh_token"]
    assert await store.get(session_key(environment, None)) is None
    moved = json.loads(await store.get(session_key(environment, "pra_A")) or "{}")
    assert moved["account_id"] == "pra_A"


async def test_a_new_session_of_another_sign_in_is_not_followed(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    store = MemorySecretStore()
    async with make_auth(environment, endpoint, RecordingOpener(), store) as waiting:
        async with await signed_in(environment, endpoint, store) as first:
            assert await waiting.restore_session()  # first's new session
            await first.remember_account("pra_A")
        async with await signed_in(environment, endpoint, store) as second:
            await second.remember_account("pra_B")  # the pointer now names pra_B's
        with pytest.raises(NotSignedIn):
            await waiting.remember_account("pra_B")  # not waiting's session: not taken


async def test_a_session_locked_by_another_process_for_too_long_is_a_clear_error(
    environment: Environment, endpoint: FakeTokenEndpoint, app_paths: AppPaths
) -> None:
    clock = FakeClock()
    env = replace(environment, limits=replace(environment.limits, session_lock_timeout_s=0.3))
    async with await signed_in(env, endpoint, clock=clock) as auth:
        clock.now += 10_000
        other = filelock.FileLock(str(app_paths.session_lock_file(session_lock_name(env))))
        with other.acquire(timeout=1), pytest.raises(SessionBusy, match="Another Rupa Desk"):
            await auth.access_token()
        assert await auth.access_token()  # once it is free
    assert endpoint.grants == ["authorization_code", "refresh_token"]


async def test_a_stored_session_is_never_sent_to_another_token_url(
    environment: Environment, endpoint: FakeTokenEndpoint
) -> None:
    """`--demo-url` naming another server: the session stored for the first is not used."""
    store = MemorySecretStore()
    async with await signed_in(environment, endpoint, store) as auth:
        await auth.remember_account("pra_A")
    elsewhere = fast_environment("http://127.0.0.1:10")
    assert session_key(elsewhere, "pra_A") != session_key(environment, "pra_A")
    assert last_account_key(elsewhere) != last_account_key(environment)
    async with make_auth(elsewhere, endpoint, RecordingOpener(), store) as other:
        assert await other.restore_session() is False
        assert await other.restore_session("pra_A") is False
        with pytest.raises(NotSignedIn):
            await other.access_token()
    assert endpoint.grants == ["authorization_code"]  # no refresh token went anywhere
    async with make_auth(environment, endpoint, RecordingOpener(), store) as same:
        assert await same.restore_session()  # the first server's session is still there

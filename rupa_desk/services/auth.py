"""Sign-in with Rupa (OAuth 2.0 authorization code + PKCE, loopback redirect) and the tokens.

The flow (RFC 8252, "OAuth 2.0 for Native Apps"):

1. `Authenticator.start_sign_in()` makes a fresh PKCE verifier and `state`, starts a
   `LoopbackListener` (`rupa_desk.services.loopback`) and only then opens the system browser
   on the authorize URL. It returns a `PendingSignIn` at once, so the UI can show
   "waiting…", the URL with a Copy button (when no browser opened) and Cancel.
2. The flow checks `state` and holds the browser's request until the code is exchanged
   (`rupa_desk.services.oauth_endpoints`), so the page it shows says honestly whether
   sign-in worked. An answer with a wrong or missing `state` is not ours (a stale tab, or
   a forged request): that browser gets an error page and the real answer is still
   awaited. An answer naming another issuer (`iss`, RFC 9207) ends the attempt.
3. The listener closes in every outcome: success, denial, mix-up, timeout, cancel.

Tokens: the session entry in the `SecretStore` (OS keychain or session memory) holds the
refresh token and the current access token with the wall-clock time it is good until.
Processes share a session (the app and the command line on one PC), and a server with
refresh-token reuse protection (RFC 9700 §4.14.2) revokes the whole session when a refresh
token is used twice, and revokes the previous access token on each rotation. So reading,
refreshing and storing happen under a lock file shared by every Rupa Desk process
(`filelock`), and once it holds the lock a process re-reads the entry: when another process
refreshed meanwhile, it takes that access token instead of refreshing again. Within a process
the refresh is single-flight (one for any number of concurrent callers). The rotated tokens
are stored *before* the new access token is handed out; `invalid_grant` means
`SessionExpired` ("sign in again"), never a retry. `sign_out()` revokes (best effort when
offline) and always forgets locally.

Expiry is wall-clock time: a monotonic clock stops while the computer sleeps, and a token
would then look fresh for as long as the computer slept. A clock set back makes a token look
fresh too long: Rupa then answers 401, and `token_rejected` refreshes it.

Each account keeps its own entry in the store (`session_key`), so practitioners sharing a PC
do not overwrite each other's sessions; a pointer entry (`last_account_key`) says whose
session start-up restores, without asking Rupa. Entries are keyed by the token URL as well
as the environment's name, so a refresh token is only ever sent where it was issued (a demo
session does not follow `--demo-url` to another server).

Why Authlib's protocol layer and not its `AsyncOAuth2Client`: Authlib 1.9 deprecated its
httpx integration in favour of httpx2 (it warns on import and will drop httpx), and its
refresh updates the in-memory token before the `update_token` hook persists the rotated one.
So Rupa Desk uses Authlib for the OAuth parts (PKCE S256, state and verifier generation, the
authorize URL here; token/revocation request bodies and client authentication in
`oauth_endpoints`) and sends them with its own `httpx.AsyncClient`, which also gives one
place to map failures to typed errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import time
import webbrowser
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Final

import filelock
import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from rupa_desk.core.errors import KnownError
from rupa_desk.paths import AppPaths
from rupa_desk.services.errors import (
    AccessDenied,
    IssuerMismatch,
    MalformedResponse,
    NotSignedIn,
    RupaError,
    SecretStoreUnavailable,
    SessionBusy,
    SessionExpired,
    SignInCancelled,
    SignInFailed,
    SignInTimedOut,
)
from rupa_desk.services.http_client import AsyncClosing, new_http_client
from rupa_desk.services.loopback import (
    CANCELLED_PAGE,
    NOT_A_SIGN_IN_PAGE,
    NOT_THIS_SIGN_IN_PAGE,
    SIGNED_IN_PAGE,
    Callback,
    CallbackPage,
    LoopbackListener,
    failure_page,
)
from rupa_desk.services.oauth_endpoints import OAuthEndpoints, TokenResponse
from rupa_desk.services.secrets import MemorySecretStore, SecretStore
from rupa_desk.settings import ClientLimits, Environment

log = logging.getLogger(__name__)

#: Opens a URL in the system browser; returns False (or raises) when no browser opened.
BrowserOpener = Callable[[str], bool]

_IPV6_LOOPBACK: Final = "::1"
_CODE_VERIFIER_LENGTH: Final = 64  # RFC 7636: 43 to 128 unreserved characters
_STATE_LENGTH: Final = 32
_SESSION_ID_LENGTH: Final = 16


#: The account part of a session's key while Rupa has not yet said whose session it is
#: (from the code exchange to `Authenticator.remember_account`). No practitioner id has
#: parentheses, so it names no account.
NEW_SESSION: Final = "(new)"


def session_key(environment: Environment, account_id: str | None) -> str:
    """The SecretStore key of one account's session in one environment and OAuth client.

    One entry per environment, token URL, client id and account (the practitioner id): the
    token URL is part of it so that a refresh token is never sent to another server than
    the one that issued it (e.g. `--demo-url` naming another simulator). A second
    practitioner signing in on a shared PC gets an entry of their own instead of replacing
    the first one's. The entry holds the refresh token and the account id. A session whose
    practitioner is not known yet (`account_id` None: just signed in) has the account part
    `NEW_SESSION`. Which entry to restore at start-up, before any API call could say who is
    signed in, is kept in a small pointer entry (`last_account_key`).
    """
    return _entry_key(environment, account_id or NEW_SESSION)


def last_account_key(environment: Environment) -> str:
    """The SecretStore key of the pointer to the session that start-up restores.

    Its value is the account part of that session's key: the practitioner id of the last
    sign-in of this environment and client id (or `NEW_SESSION` until Rupa said who it is).
    It holds no secret; signing out of that account removes it.
    """
    return f"last-account:{_session_scope(environment)}"


def _entry_key(environment: Environment, slot: str) -> str:
    return f"session:{_session_scope(environment)}:{slot}"


def _session_scope(environment: Environment) -> str:
    """What a session belongs to: the environment, where its tokens go, and the client."""
    return f"{environment.name}:{environment.token_url}:{environment.client_id}"


def session_lock_name(environment: Environment) -> str:
    """The name of the lock file that processes sharing this environment's sessions take in
    turn (`AppPaths.session_lock_file`): one per environment name, so that demo sessions
    of simulators on ever new ports leave no trail of lock files."""
    return f"session-{environment.name}"


def client_secret_key(environment: Environment) -> str:
    """The SecretStore key of the optional OAuth client secret of one environment."""
    return f"client-secret:{environment.name}:{environment.client_id}"


# --- the stored session ---------------------------------------------------------------------


@dataclass(frozen=True)
class _StoredSession:
    """What the SecretStore keeps for a session: the refresh token, whose it is, and the
    current access token with the wall-clock time (epoch seconds) to stop using it at.

    The access token is kept beside the refresh token (which can mint more of them, so this
    adds no exposure) so that every process sharing the session uses the one a server that
    revokes on rotation still accepts.
    """

    refresh_token: str = field(repr=False)
    account_id: str | None = None
    access_token: str | None = field(default=None, repr=False)
    access_until: float | None = None
    #: names one sign-in through rotations and moves (see `Authenticator._current`)
    session_id: str | None = None

    def dumps(self) -> str:
        return json.dumps(
            {
                "refresh_token": self.refresh_token,
                "account_id": self.account_id,
                "access_token": self.access_token,
                "access_until": self.access_until,
                "session_id": self.session_id,
            }
        )

    def access_usable(self, now: float) -> bool:
        """True when it holds an access token that is not due for a refresh at `now`."""
        return self.access_token is not None and (
            self.access_until is not None and now < self.access_until
        )

    @classmethod
    def loads(cls, value: str) -> _StoredSession | None:
        """Read an entry; an entry that is not ours (or is damaged) reads as no session."""
        try:
            data = json.loads(value)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        token, account = data.get("refresh_token"), data.get("account_id")
        if not isinstance(token, str) or not token:
            return None
        access, until = data.get("access_token"), data.get("access_until")
        if not isinstance(access, str) or not access:
            access = None
        if isinstance(until, int | float) and not isinstance(until, bool) and math.isfinite(until):
            access_until: float | None = float(until)
        else:
            access_until = None
        session_id = data.get("session_id")
        return cls(
            token,
            account if isinstance(account, str) and account else None,
            access,
            access_until if access is not None else None,
            session_id if isinstance(session_id, str) and session_id else None,
        )


@dataclass(frozen=True)
class SignedIn:
    """The outcome of a successful sign-in.

    Attributes:
        environment: the environment's name.
        scope: the scope Rupa granted, if it said.
    """

    environment: str
    scope: str | None = None


@dataclass(frozen=True)
class SignOutResult:
    """What sign-out managed.

    Attributes:
        had_session: there was a session to end.
        revoked: Rupa confirmed the revocation (False when offline or refused: the tokens
            are forgotten locally all the same).
    """

    had_session: bool
    revoked: bool


# --- a sign-in in progress ------------------------------------------------------------------


class PendingSignIn:
    """A sign-in waiting for the browser. Made by `Authenticator.start_sign_in`.

    Attributes:
        authorize_url: the URL of Rupa's sign-in page; show it (with a Copy button) when
            `browser_opened` is False.
        redirect_uri: the loopback address the browser will come back to.
        browser_opened: whether the system browser accepted the URL.
    """

    def __init__(
        self,
        *,
        authorize_url: str,
        redirect_uri: str,
        browser_opened: bool,
        task: asyncio.Task[SignedIn],
        request_cancel: Callable[[], None],
    ) -> None:
        self.authorize_url = authorize_url
        self.redirect_uri = redirect_uri
        self.browser_opened = browser_opened
        self._task = task
        self._request_cancel = request_cancel

    @property
    def done(self) -> bool:
        """True once the sign-in has ended, whatever the outcome."""
        return self._task.done()

    def when_done(self, callback: Callable[[asyncio.Task[SignedIn]], object]) -> None:
        """Call `callback` with the sign-in's task once it has ended, whatever the outcome."""
        self._task.add_done_callback(callback)

    def cancel(self) -> None:
        """End the sign-in now: `result()` raises `SignInCancelled`, the listener closes."""
        if not self._task.done():
            self._request_cancel()
            self._task.cancel()

    async def result(self) -> SignedIn:
        """Wait for the outcome.

        Cancelling the task that awaits this cancels the sign-in too.

        Raises:
            AccessDenied, SignInTimedOut, SignInCancelled, IssuerMismatch, SignInFailed: the
                sign-in did not finish (see `rupa_desk.services.errors`).
            NetworkError, ServerError, MalformedResponse: the code exchange failed.
        """
        try:
            return await asyncio.shield(self._task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                self._task.cancel()  # our caller was cancelled: stop the flow with it
            raise


# --- the authenticator ----------------------------------------------------------------------


def loopback_listener(
    path: str, host: str, ports: tuple[int, ...], limits: ClientLimits
) -> LoopbackListener:
    """The sign-in listener on `host` (and on IPv6's loopback too, where a browser may go)."""
    hosts: tuple[str, ...] = (host,)
    if host != _IPV6_LOOPBACK:
        hosts += (_IPV6_LOOPBACK,)
    return LoopbackListener(
        path, hosts, ports, response_timeout_s=limits.callback_response_timeout_s
    )


async def open_in_browser(opener: BrowserOpener, url: str) -> bool:
    """Open `url` in the system browser; False (logged) when no browser took it."""
    try:
        opened = bool(await asyncio.to_thread(opener, url))
    except (webbrowser.Error, OSError) as exc:
        log.warning("could not open the system browser: %s", type(exc).__name__)
        return False
    if not opened:
        log.warning("no system browser opened; the sign-in link is shown instead")
    return opened


async def start_in_browser(
    flow: SignInFlow, authorize_url: str, opener: BrowserOpener, *, name: str
) -> PendingSignIn:
    """Run `flow` as a task and open its sign-in page; the sign-in waiting for the browser.

    Cancelled while the browser opens, the flow is stopped too (its listener closed).
    """
    task = asyncio.create_task(flow.run(), name=name)
    try:
        opened = await open_in_browser(opener, authorize_url)
    except BaseException:
        flow.request_cancel()
        task.cancel()
        with contextlib.suppress(SignInCancelled, asyncio.CancelledError):
            await task
        raise
    return PendingSignIn(
        authorize_url=authorize_url,
        redirect_uri=flow.redirect_uri,
        browser_opened=opened,
        task=task,
        request_cancel=flow.request_cancel,
    )


class Authenticator(AsyncClosing):
    """Sign-in and the tokens of one environment; the `token_source` of a `RupaClient`.

    Args:
        environment: where to sign in.
        secret_store: where the refresh token lives (see `probe_secret_store`).
        opener: opens the system browser (default `webbrowser.open`); tests pass their own.
        transport: an httpx transport for the token endpoints (tests); None for the network.
        clock: wall-clock time in epoch seconds (tests can move time); it goes on while the
            computer sleeps, unlike a monotonic clock.
        paths: the app's folders, for the session lock file shared with other Rupa Desk
            processes (default: this user's).

    Attributes:
        environment: the environment it signs in to.
        refresh_count: refreshes attempted so far (diagnostics).
        store_degraded: True once the keychain refused a write and the session moved to
            memory for this session (the UI should then say "this session only").
    """

    def __init__(
        self,
        environment: Environment,
        secret_store: SecretStore,
        *,
        opener: BrowserOpener = webbrowser.open,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        paths: AppPaths | None = None,
    ) -> None:
        self.environment = environment
        self._store = secret_store
        self._opener = opener
        self._clock = clock
        folders = paths if paths is not None else AppPaths.for_user()
        self._lock_file = folders.session_lock_file(session_lock_name(environment))
        # Not thread-local: it is taken and released on the event loop's thread only, but
        # the loop may run on any thread.
        self._file_lock = filelock.FileLock(str(self._lock_file), thread_local=False)
        self._http = new_http_client(environment.limits, transport=transport)
        self._endpoints = OAuthEndpoints(environment, self._http)
        # The account part of the key of this process's session entry (a practitioner id or
        # NEW_SESSION); None when this process has no session.
        self._slot: str | None = None
        # The `session_id` of this process's session entry, to follow it when another
        # process moves it (see `_current`).
        self._session_id: str | None = None
        self._access_token: str | None = None
        self._access_until: float | None = None
        # The last access token Rupa answered 401 to: never taken back from the store.
        self._rejected_token: str | None = None
        self._account_id: str | None = None
        self._has_session = False
        # Rupa ended the session (invalid_grant): every later caller hears SessionExpired
        # ("sign in again"), not just the one whose refresh found out, until a new sign-in.
        self._ended_by_rupa = False
        self._session_lock = asyncio.Lock()
        self._pending: set[PendingSignIn] = set()
        self.refresh_count = 0
        self.store_degraded = False

    # -- lifecycle --

    async def aclose(self) -> None:
        """Cancel any sign-in in progress and close the HTTP client (tokens are kept)."""
        for pending in list(self._pending):
            pending.cancel()
            with contextlib.suppress(RupaError, asyncio.CancelledError):
                await pending.result()
        await self._http.aclose()

    # -- state --

    @property
    def account_id(self) -> str | None:
        """The id of the signed-in practitioner, once known (see `remember_account`)."""
        return self._account_id

    @property
    def has_session(self) -> bool:
        """True when there is a session (restored or signed in) that has not ended."""
        return self._has_session

    async def restore_session(self, account_id: str | None = None) -> bool:
        """Load a stored session without using the network: at start-up, the last account's.

        Args:
            account_id: restore this account's session instead of the last signed-in one's
                (it then becomes the one start-up restores).

        Returns:
            True when a session was found (the first `access_token()` then uses its stored
            access token, or refreshes it), False when there is none to restore (the current
            session, if any, is kept).

        Raises:
            SecretStoreUnavailable: the keychain refused to be read.
        """
        async with self._locked_session():
            slot = account_id
            if slot is None:
                slot = await self._store.get(last_account_key(self.environment))
            stored = await self._load(slot) if slot else None
            if not slot or stored is None:
                return False
            if account_id is not None:
                await self._put(last_account_key(self.environment), slot)
            self._forget_memory()  # another account's access token must not be used for it
            self._slot = slot
            self._session_id = stored.session_id
            self._account_id = None if slot == NEW_SESSION else slot
            self._has_session = True
            self._ended_by_rupa = False
            return True

    async def remember_account(self, account_id: str) -> None:
        """Record whose session this is (the practitioner id from `RupaClient.me()`).

        The session moves to that account's own entry, and start-up restores it next time.

        Raises:
            NotSignedIn: there is no session.
            ValueError: `account_id` is not an account id.
        """
        if not account_id or account_id == NEW_SESSION:
            raise ValueError("not an account id")
        async with self._locked_session():
            current = await self._current()
            if current is None:
                raise NotSignedIn()
            slot, stored = current
            if slot != account_id or stored.account_id != account_id:
                await self._write_session(account_id, replace(stored, account_id=account_id))
                if slot != account_id:
                    await self._forget_entry(slot)
            self._account_id = account_id

    # -- sign-in --

    async def start_sign_in(self, *, timeout_s: float | None = None) -> PendingSignIn:
        """Start a browser sign-in; returns once the listener listens and the browser opened.

        A sign-in still waiting for the browser is cancelled first (its `result()` raises
        `SignInCancelled`), so there is never more than one listener open.

        Args:
            timeout_s: how long to wait for the browser (default `ClientLimits.sign_in_timeout_s`).

        Raises:
            NoFreePort: no configured redirect port could be opened.
        """
        for earlier in list(self._pending):
            earlier.cancel()
            with contextlib.suppress(RupaError):  # cancelled, or it had failed meanwhile
                await earlier.result()  # its listener is closed once this returns
        env = self.environment
        limits = env.limits
        listener = loopback_listener(
            env.redirect_path, env.redirect_host, env.redirect_ports, limits
        )
        await listener.start()
        code_verifier = generate_token(_CODE_VERIFIER_LENGTH)
        state = generate_token(_STATE_LENGTH)
        authorize_url = prepare_grant_uri(
            env.authorize_url,
            client_id=env.client_id,
            response_type="code",
            redirect_uri=listener.redirect_uri,
            scope=env.scope,
            state=state,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
        flow = SignInFlow(
            self._complete_sign_in,
            listener,
            state=state,
            code_verifier=code_verifier,
            issuer=env.issuer,
            timeout_s=limits.sign_in_timeout_s if timeout_s is None else timeout_s,
        )
        pending = await start_in_browser(
            flow, authorize_url, self._opener, name=f"sign-in ({env.name})"
        )
        self._pending.add(pending)
        pending.when_done(lambda t: self._sign_in_ended(pending, t))
        return pending

    async def sign_in(
        self,
        *,
        timeout_s: float | None = None,
        on_waiting: Callable[[PendingSignIn], None] | None = None,
    ) -> SignedIn:
        """Sign in and wait: `start_sign_in` then `result()`, for callers without a UI.

        Args:
            timeout_s: see `start_sign_in`.
            on_waiting: called once the browser was asked to open (e.g. to print the URL
                when `browser_opened` is False).
        """
        pending = await self.start_sign_in(timeout_s=timeout_s)
        if on_waiting is not None:
            on_waiting(pending)
        return await pending.result()

    def _sign_in_ended(self, pending: PendingSignIn, task: asyncio.Task[SignedIn]) -> None:
        self._pending.discard(pending)
        if task.cancelled():
            log.info("sign-in cancelled")
        elif (exc := task.exception()) is not None:  # retrieved here; result() re-raises it
            log.info("sign-in ended without a session: %s", type(exc).__name__)
        else:
            log.info("signed in to %s", self.environment.name)

    async def _complete_sign_in(self, code: str, redirect_uri: str, code_verifier: str) -> SignedIn:
        """Exchange the code; store the refresh token first, then keep the access token."""
        tokens = await self._endpoints.exchange_code(
            code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )
        if tokens.refresh_token is None:
            raise MalformedResponse()  # without it, the session could not outlive the hour
        async with self._locked_session():
            # Whose session this is, Rupa says only once asked (`remember_account`): until
            # then it is the NEW_SESSION entry, and another account's entry stays untouched.
            stored = _StoredSession(
                tokens.refresh_token,
                None,
                tokens.access_token,
                self._usable_until(tokens),
                session_id=generate_token(_SESSION_ID_LENGTH),
            )
            await self._write_session(NEW_SESSION, stored)
            self._use(stored)
            self._ended_by_rupa = False
        return SignedIn(self.environment.name, tokens.scope)

    # -- tokens --

    async def access_token(self) -> str:
        """A valid access token, refreshing it first when it is about to expire.

        Single-flight: however many callers find the token expired at once, one refresh runs
        and all of them get its token. Across processes too: a process that finds the session
        refreshed by another one meanwhile takes that token.

        Raises:
            NotSignedIn: there is no session.
            SessionExpired: Rupa ended the session: sign in again.
            SessionBusy: another process kept the session locked too long.
            SignInServerMoved: the token URL answered with a redirect (a settings problem).
            NetworkError, ServerError, RateLimited, MalformedResponse: the refresh failed
                (the session is kept: try again later).
        """
        token = self._fresh_access_token()
        if token is not None:
            return token
        async with self._locked_session():
            token = self._fresh_access_token()
            if token is not None:
                return token
            return await self._refresh()

    async def token_rejected(self, token: str) -> None:
        """Rupa answered 401 to `token`: the next `access_token()` refreshes (once, for all)."""
        if self._access_token == token:
            self._rejected_token = token
            self._access_token = None
            self._access_until = None

    def _fresh_access_token(self) -> str | None:
        if self._access_token is None:
            return None
        if self._access_until is not None and self._clock() >= self._access_until:
            return None
        return self._access_token

    def _usable_until(self, tokens: TokenResponse) -> float:
        """When to stop using a new access token: its lifetime (a sane one) minus the leeway."""
        return self._clock() + self.environment.limits.access_token_use_s(tokens.expires_in)

    def _use(self, stored: _StoredSession) -> str:
        """Make the access token of `stored` this process's one."""
        assert stored.access_token is not None
        self._session_id = stored.session_id
        self._access_token = stored.access_token
        self._access_until = stored.access_until
        self._account_id = stored.account_id
        self._has_session = True
        return stored.access_token

    async def _refresh(self) -> str:
        """Refresh the session; the caller holds `_locked_session()`."""
        current = await self._current()
        if current is None:
            self._forget_memory()
            raise SessionExpired() if self._ended_by_rupa else NotSignedIn()
        slot, stored = current
        if stored.access_usable(self._clock()) and stored.access_token != self._rejected_token:
            # Another Rupa Desk (a second window, the command line) refreshed while this one
            # waited for the lock, or this is a restart: the stored access token is live.
            log.info("the stored access token is fresh; using it")
            return self._use(stored)
        self.refresh_count += 1
        try:
            tokens = await self._endpoints.refresh(stored.refresh_token)
        except SessionExpired:
            await self._session_ended(slot)
            raise
        renewed = replace(
            stored,
            refresh_token=tokens.refresh_token or stored.refresh_token,
            access_token=tokens.access_token,
            access_until=self._usable_until(tokens),
        )
        await self._put(_entry_key(self.environment, slot), renewed.dumps())  # stored before use
        return self._use(renewed)

    @contextlib.asynccontextmanager
    async def _locked_session(self) -> AsyncIterator[None]:
        """Hold the session: this process's lock, then the lock file every process shares.

        The file lock is tried without blocking and waited for with `asyncio.sleep`, so the
        event loop never blocks on it and a cancelled wait leaves nothing holding it. The
        OS releases it if the process dies.

        Raises:
            SessionBusy: another process held it longer than `session_lock_timeout_s`.
        """
        limits = self.environment.limits
        async with self._session_lock:
            self._lock_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            deadline = time.monotonic() + limits.session_lock_timeout_s
            while True:
                try:
                    self._file_lock.acquire(timeout=0)
                    break
                except filelock.Timeout:
                    if time.monotonic() >= deadline:
                        log.warning("another Rupa Desk process kept the session locked")
                        raise SessionBusy() from None
                    await asyncio.sleep(limits.session_lock_poll_s)
            try:
                yield
            finally:
                self._file_lock.release()

    # -- sign-out --

    async def sign_out(self) -> SignOutResult:
        """Revoke the session (best effort) and forget both tokens, whatever Rupa answers."""
        async with self._locked_session():
            slot = self._slot
            try:
                stored = await self._load(slot) if slot is not None else None
            except SecretStoreUnavailable:
                stored = None
            had_session = stored is not None or self._access_token is not None
            revoked = False
            if stored is not None:
                try:
                    await self._endpoints.revoke(stored.refresh_token, "refresh_token")
                    revoked = True
                except RupaError as exc:
                    log.warning("could not revoke the session: %s", type(exc).__name__)
            if slot is not None:
                await self._forget_session(slot)
            self._forget_memory()
            self._ended_by_rupa = False  # the user signed out: plain "not signed in" now
        return SignOutResult(had_session=had_session, revoked=revoked)

    # -- storage --
    #
    # Entries (`session_key`): one per account, holding its refresh token. The pointer
    # (`last_account_key`): which account start-up restores. This process's session is the
    # entry of `self._slot`.

    async def _current(self) -> tuple[str, _StoredSession] | None:
        """This process's session entry as stored now, under the session lock (None: gone).

        A session just signed in waits in the NEW_SESSION entry until Rupa says whose it is;
        another process may have moved it to the account's entry meanwhile (two commands
        started together both asking who is signed in). The pointer then names that entry,
        and the same `session_id` shows it is this session: it is followed, not lost.
        """
        slot = self._slot
        if slot is None:
            return None
        stored = await self._load(slot)
        if stored is None and slot == NEW_SESSION and self._session_id is not None:
            moved_to = await self._store.get(last_account_key(self.environment))
            moved = await self._load(moved_to) if moved_to and moved_to != slot else None
            if moved_to and moved is not None and moved.session_id == self._session_id:
                log.info("the new session was moved to its account's entry by another process")
                self._slot = slot = moved_to
                stored = moved
        return None if stored is None else (slot, stored)

    async def _load(self, slot: str) -> _StoredSession | None:
        value = await self._store.get(_entry_key(self.environment, slot))
        if value is None:
            return None
        stored = _StoredSession.loads(value)
        if stored is None:  # not what Rupa Desk writes: say so (never the value itself)
            log.warning("the stored session is damaged or not Rupa Desk's; sign in again")
        return stored

    async def _write_session(self, slot: str, stored: _StoredSession) -> None:
        """Make `slot`'s entry this process's session and the one start-up restores."""
        await self._put(_entry_key(self.environment, slot), stored.dumps())
        self._slot = slot
        await self._put(last_account_key(self.environment), slot)

    async def _put(self, key: str, value: str) -> None:
        try:
            await self._store.set(key, value)
        except SecretStoreUnavailable:
            # The keychain refused now (e.g. it was locked). Losing the rotated refresh token
            # would end the session, so keep it in memory for this session and say so.
            log.warning("keychain refused the session; keeping it for this session only")
            self._store = MemorySecretStore()
            self.store_degraded = True
            await self._store.set(key, value)

    async def _session_ended(self, slot: str) -> None:
        """Rupa refused the refresh token (`invalid_grant`): "sign in again" from now on.

        The refused token was read under the session lock, so it was the newest one: the
        session is over for every process that shares it.
        """
        log.info("the session ended on Rupa's side; forgetting it")
        await self._forget_session(slot)
        self._forget_memory()
        self._ended_by_rupa = True

    async def _forget_session(self, slot: str) -> None:
        """Delete `slot`'s entry, and the pointer too if it points there."""
        await self._forget_entry(slot)
        pointer = last_account_key(self.environment)
        try:
            if await self._store.get(pointer) == slot:
                await self._store.delete(pointer)
        except SecretStoreUnavailable:
            log.warning("keychain refused to forget which session to restore")

    async def _forget_entry(self, slot: str) -> None:
        try:
            await self._store.delete(_entry_key(self.environment, slot))
        except SecretStoreUnavailable:
            log.warning("keychain refused to forget the session")

    def _forget_memory(self) -> None:
        self._session_id = None
        self._access_token = None
        self._access_until = None
        self._account_id = None
        self._has_session = False
        self._slot = None


class SignInFlow:
    """One sign-in attempt: wait for the browser, check it, exchange the code.

    Also the Epic connection's (`rupa_desk.services.epic.connection`): the same `state` and
    `iss` checks for any authorization server.

    Args:
        complete: exchanges (code, redirect URI, PKCE verifier) for the outcome.
        issuer: the server's issuer; an answer naming another is refused (None: unknown).
        issuer_required: the server said it names itself in every answer (RFC 9207 §3), so
            an answer without `iss` is refused too.
        signed_in_page: the page the browser shows once `complete` succeeded.
    """

    def __init__(
        self,
        complete: Callable[[str, str, str], Awaitable[SignedIn]],
        listener: LoopbackListener,
        *,
        state: str,
        code_verifier: str,
        issuer: str | None,
        timeout_s: float,
        issuer_required: bool = False,
        signed_in_page: CallbackPage = SIGNED_IN_PAGE,
    ) -> None:
        self._complete = complete
        self._listener = listener
        self._state = state
        self._issuer = issuer
        self._issuer_required = issuer_required and issuer is not None
        self._signed_in_page = signed_in_page
        self._code_verifier = code_verifier
        self._timeout_s = timeout_s
        self._cancel_requested = False
        self._final_page = CANCELLED_PAGE

    @property
    def redirect_uri(self) -> str:
        """The loopback address the browser comes back to."""
        return self._listener.redirect_uri

    def request_cancel(self) -> None:
        self._cancel_requested = True

    async def run(self) -> SignedIn:
        try:
            return await self._run()
        except asyncio.CancelledError:
            if not self._cancel_requested:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            raise SignInCancelled() from None
        finally:
            await self._listener.aclose(self._final_page)

    async def _run(self) -> SignedIn:
        callback = await self._wait_for_code()
        try:
            signed_in = await self._complete(
                callback.params["code"], self._listener.redirect_uri, self._code_verifier
            )
        except KnownError as exc:
            callback.respond(failure_page(exc))
            raise
        callback.respond(self._signed_in_page)
        return signed_in

    async def _wait_for_code(self) -> Callback:
        try:
            async with asyncio.timeout(self._timeout_s):
                while True:
                    callback = await self._listener.next_callback()
                    if self._accept(callback):
                        return callback
        except TimeoutError:
            self._final_page = failure_page(SignInTimedOut())
            raise SignInTimedOut() from None

    def _accept(self, callback: Callback) -> bool:
        """True for the answer with our code; raises for an error answer or a mix-up.

        An answer without our `state` is not this attempt's (a stale tab, or a request
        forged by a web page): it is refused in that browser only, and the wait goes on.
        """
        params = callback.params
        if not {"state", "code", "error"} & params.keys():
            callback.respond(NOT_A_SIGN_IN_PAGE)  # e.g. a reload without the query
            return False
        if not hmac.compare_digest(params.get("state", "").encode(), self._state.encode()):
            log.warning("ignored an answer to the sign-in page that is not for this sign-in")
            callback.respond(NOT_THIS_SIGN_IN_PAGE)
            return False
        error: RupaError
        missing_iss = self._issuer_required and "iss" not in params
        if missing_iss or (
            "iss" in params and self._issuer is not None and params["iss"] != self._issuer
        ):
            # RFC 9207: the answer names another server than the one asked (a mix-up).
            log.warning("refused a sign-in answer from issuer %r", params.get("iss", "")[:100])
            error = IssuerMismatch()
        elif "error" in params:
            denied = params["error"] == "access_denied"
            error = AccessDenied() if denied else SignInFailed()
            # repr: control characters in the text cannot forge log lines
            log.info("authorize endpoint answered error=%r", params["error"][:40])
        elif not params.get("code"):
            error = SignInFailed()
        else:
            return True
        self._final_page = failure_page(error)
        callback.respond(self._final_page)
        raise error

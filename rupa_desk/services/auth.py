"""Sign-in with Rupa (OAuth 2.0 authorization code + PKCE, loopback redirect) and the tokens.

The flow (RFC 8252, "OAuth 2.0 for Native Apps"):

1. `Authenticator.start_sign_in()` makes a fresh PKCE verifier and `state`, starts a loopback
   listener (127.0.0.1, else [::1]; port 0 or the first free configured port) and only then
   opens the system browser on the authorize URL. It returns a `PendingSignIn` at once, so the
   UI can show "waiting…", the URL with a Copy button (when no browser opened) and Cancel.
2. The listener answers only the redirect path (404 for anything else, so a favicon request
   does not end the flow), checks `state`, and holds the browser's request until the code is
   exchanged, so the page it shows says honestly whether sign-in worked.
3. The listener closes in every outcome: success, denial, wrong state, timeout, cancel.

Tokens: the access token lives in memory only; the refresh token in the `SecretStore` (OS
keychain or session memory). `access_token()` refreshes single-flight (one refresh for any
number of concurrent callers), stores the rotated refresh token *before* the new access token
is handed out, and turns `invalid_grant` into `SessionExpired` ("sign in again"), never a
retry. `sign_out()` revokes (best effort when offline) and always forgets locally.

Why Authlib's protocol layer and not its `AsyncOAuth2Client`: Authlib 1.9 deprecated its
httpx integration in favour of httpx2 (it warns on import and will drop httpx), and its
refresh updates the in-memory token before the `update_token` hook persists the rotated one.
So this module uses Authlib for the OAuth parts (PKCE S256, state and verifier generation, the
authorize URL, token/revocation request bodies, client authentication) and sends them with
its own `httpx.AsyncClient`, which also gives one place to map failures to typed errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import html
import json
import logging
import time
import webbrowser
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import h11
import httpx
import stamina
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7009 import prepare_revoke_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from rupa_desk.services.errors import (
    AccessDenied,
    ConnectionDropped,
    MalformedResponse,
    NetworkError,
    NoFreePort,
    NotSignedIn,
    Offline,
    RateLimited,
    RequestTimeout,
    RupaError,
    SecretStoreUnavailable,
    ServerError,
    SessionExpired,
    SignInCancelled,
    SignInFailed,
    SignInTimedOut,
    StateMismatch,
)
from rupa_desk.services.secrets import MemorySecretStore, SecretStore
from rupa_desk.settings import ClientLimits, Environment

log = logging.getLogger(__name__)

#: Opens a URL in the system browser; returns False (or raises) when no browser opened.
BrowserOpener = Callable[[str], bool]

_IPV6_LOOPBACK: Final = "::1"
_PORT_TAKEN_ERRNOS: Final = frozenset({errno.EADDRINUSE, errno.EACCES})
_CODE_VERIFIER_LENGTH: Final = 64  # RFC 7636: 43 to 128 unreserved characters
_STATE_LENGTH: Final = 32
_MAX_REQUEST_BYTES: Final = 64 * 1024
_REQUEST_READ_TIMEOUT_S: Final = 10.0
_HANDLER_DRAIN_TIMEOUT_S: Final = 2.0
_TOKEN_ENDPOINT_ATTEMPTS: Final = 3


def session_key(environment: Environment) -> str:
    """The SecretStore key of the session of one environment and OAuth client.

    One entry per environment (and client id): it holds the refresh token and the id of the
    practitioner it belongs to. The key cannot be the practitioner id itself, because at
    start-up the session has to be found before any API call could tell who is signed in;
    the account id is kept inside the entry instead, so the app can open that account's
    local database even when offline.
    """
    return f"session:{environment.name}:{environment.client_id}"


def client_secret_key(environment: Environment) -> str:
    """The SecretStore key of the optional OAuth client secret of one environment."""
    return f"client-secret:{environment.name}:{environment.client_id}"


# --- the stored session ---------------------------------------------------------------------


@dataclass(frozen=True)
class _StoredSession:
    """What the SecretStore keeps for a session: the refresh token and whose it is."""

    refresh_token: str = field(repr=False)
    account_id: str | None = None

    def dumps(self) -> str:
        return json.dumps({"refresh_token": self.refresh_token, "account_id": self.account_id})

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
        return cls(token, account if isinstance(account, str) and account else None)


@dataclass(frozen=True)
class TokenResponse:
    """A successful token endpoint answer (tokens hidden from repr)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: float | None = None
    scope: str | None = None


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


# --- the token and revocation endpoints -----------------------------------------------------


class OAuthEndpoints:
    """The token and revocation endpoints of one environment, over one httpx client.

    Request bodies and client authentication come from Authlib; failures become typed errors.
    A request is retried only when it surely did not reach the server (connect errors) or the
    server said 429: a refresh token rotates on use, so resending a refresh whose answer was
    lost would only burn it.
    """

    def __init__(self, environment: Environment, http: httpx.AsyncClient) -> None:
        self._environment = environment
        self._http = http
        method = "client_secret_post" if environment.client_secret else "none"
        self._client_auth = ClientAuth(
            environment.client_id, environment.client_secret, auth_method=method
        )

    async def exchange_code(
        self, code: str, *, redirect_uri: str, code_verifier: str
    ) -> TokenResponse:
        """Trade an authorization code (with its PKCE verifier) for tokens.

        Raises:
            SignInFailed: Rupa refused the code or the client.
            NetworkError, ServerError, RateLimited, MalformedResponse: as named.
        """
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )
        data = await self._post_form(self._environment.token_url, body, purpose="code exchange")
        if "error" in data:
            raise _token_error(data, refreshing=False)
        return _token_response(data)

    async def refresh(self, refresh_token: str) -> TokenResponse:
        """Trade a refresh token for a new access token (and, usually, a new refresh token).

        Raises:
            SessionExpired: `invalid_grant`: the refresh token is revoked, expired or used.
            SignInFailed: Rupa refused the client.
            NetworkError, ServerError, RateLimited, MalformedResponse: as named.
        """
        extra: dict[str, str] = {}
        if self._environment.scope:
            extra["scope"] = self._environment.scope
        body = prepare_token_request("refresh_token", refresh_token=refresh_token, **extra)
        data = await self._post_form(self._environment.token_url, body, purpose="refresh")
        if "error" in data:
            raise _token_error(data, refreshing=True)
        return _token_response(data)

    async def revoke(self, token: str, token_type_hint: str) -> None:
        """Revoke a token (RFC 7009).

        Raises:
            RupaError: the revocation could not be confirmed.
        """
        body, _ = prepare_revoke_token_request(token, token_type_hint)
        data = await self._post_form(
            self._environment.revoke_url, body, purpose="revocation", expect_json=False
        )
        if "error" in data:
            raise _token_error(data, refreshing=False)

    async def _post_form(
        self, url: str, body: str, *, purpose: str, expect_json: bool = True
    ) -> dict[str, Any]:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
        }
        url, headers, body = self._client_auth.prepare("POST", url, headers, body)
        limits = self._environment.limits
        async for attempt in stamina.retry_context(
            on=_retry_unsent_or_429,
            attempts=_TOKEN_ENDPOINT_ATTEMPTS,
            timeout=limits.retry_timeout_s,
            wait_initial=limits.backoff_initial_s,
            wait_max=limits.backoff_max_s,
            wait_jitter=limits.backoff_jitter_s,
        ):
            with attempt:
                return await self._post_once(url, headers, body, purpose, expect_json)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _post_once(
        self, url: str, headers: Mapping[str, str], body: str, purpose: str, expect_json: bool
    ) -> dict[str, Any]:
        started = time.monotonic()
        try:
            response = await self._http.post(url, content=body.encode(), headers=dict(headers))
        except httpx.TransportError as exc:
            log.warning("OAuth %s failed: %s", purpose, type(exc).__name__)
            raise network_error(exc) from exc
        log.info(
            "OAuth %s → %s in %.0f ms",
            purpose,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        if response.status_code == 429:
            raise RateLimited(retry_after_seconds(response, self._environment.limits))
        if response.status_code >= 500:
            raise ServerError(response.status_code)
        try:
            data = response.json() if response.content else {}
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            if not expect_json and response.is_success:
                return {}
            raise MalformedResponse(status=response.status_code)
        if not response.is_success and "error" not in data:
            data = {**data, "error": f"http_{response.status_code}"}
        return data


def _retry_unsent_or_429(exc: Exception) -> bool | float:
    if isinstance(exc, RateLimited):
        return exc.retry_after
    return isinstance(exc, NetworkError) and not exc.request_sent


def network_error(exc: httpx.TransportError) -> NetworkError:
    """The typed error of an httpx transport failure (did the request leave?)."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Offline()
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout()
    return ConnectionDropped()


def retry_after_seconds(response: httpx.Response, limits: ClientLimits) -> float:
    """The wait a 429 asks for: `Retry-After` seconds (or HTTP date), bounded by the limits."""
    value = response.headers.get("Retry-After", "").strip()
    wait: float | None = None
    if value:
        try:
            wait = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
                wait = when.timestamp() - time.time()
            except (TypeError, ValueError):
                wait = None
    if wait is None or wait != wait:  # missing, unreadable or NaN
        wait = limits.retry_after_default_s
    return min(max(wait, 0.0), limits.retry_after_max_s)


def _token_response(data: Mapping[str, Any]) -> TokenResponse:
    access = data.get("access_token")
    refresh = data.get("refresh_token")
    expires_in = data.get("expires_in")
    scope = data.get("scope")
    if not isinstance(access, str) or not access:
        raise MalformedResponse()
    if refresh is not None and (not isinstance(refresh, str) or not refresh):
        raise MalformedResponse()
    if isinstance(expires_in, str):
        try:
            expires_in = float(expires_in)
        except ValueError:
            raise MalformedResponse() from None
    if expires_in is not None and (
        isinstance(expires_in, bool) or not isinstance(expires_in, int | float)
    ):
        raise MalformedResponse()
    return TokenResponse(
        access_token=access,
        refresh_token=refresh,
        expires_in=None if expires_in is None else float(expires_in),
        scope=scope if isinstance(scope, str) else None,
    )


def _token_error(data: Mapping[str, Any], *, refreshing: bool) -> RupaError:
    error = data.get("error")
    code = error if isinstance(error, str) else "unknown"
    log.warning("OAuth endpoint answered error=%s", code[:40])
    if code == "invalid_grant":
        if refreshing:
            return SessionExpired()
        return SignInFailed(
            "Rupa did not accept the sign-in code (it may have expired). Start sign-in again."
        )
    if code in ("invalid_client", "unauthorized_client"):
        return SignInFailed(
            "Rupa does not accept this app's client id or secret. Check them in Settings."
        )
    return SignInFailed()


# --- the loopback listener ------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackPage:
    """The page the browser shows after the redirect."""

    status: int
    title: str
    message: str

    def render(self) -> bytes:
        title = html.escape(self.title, quote=False)
        message = html.escape(self.message, quote=False)
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{title} – Rupa Desk</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;"
            "line-height:1.5;color:#222}h1{font-size:1.4em}</style></head>"
            f"<body><h1>{title}</h1><p>{message}</p></body></html>"
        ).encode()


SIGNED_IN_PAGE: Final = CallbackPage(
    200,
    "You're signed in",
    "Rupa Desk is signed in to Rupa. You can close this tab and return to Rupa Desk.",
)
CANCELLED_PAGE: Final = CallbackPage(
    200, "Sign-in cancelled", "Sign-in was cancelled in Rupa Desk. You can close this tab."
)
NOT_A_SIGN_IN_PAGE: Final = CallbackPage(
    400,
    "Not a sign-in answer",
    "This address is only for Rupa's answer to a sign-in. Return to Rupa Desk.",
)
_NOT_FOUND_PAGE: Final = CallbackPage(404, "Not found", "There is nothing here.")
_METHOD_PAGE: Final = CallbackPage(405, "Not allowed", "Only GET is answered here.")


def failure_page(error: RupaError) -> CallbackPage:
    """The page for a sign-in that did not work, with the same message the app shows."""
    return CallbackPage(
        400,
        "Sign-in did not work",
        f"{error.user_message} Return to Rupa Desk to try again.",
    )


@dataclass
class _Callback:
    """One request to the redirect path, waiting for the flow to decide its page."""

    params: dict[str, str]
    page: asyncio.Future[CallbackPage]

    def respond(self, page: CallbackPage) -> None:
        if not self.page.done():
            self.page.set_result(page)


class LoopbackListener:
    """A one-flow HTTP listener on a loopback address, answering only the redirect path.

    Args:
        path: the redirect path (exact match).
        hosts: addresses to try in order (127.0.0.1, then ::1).
        ports: ports to try in order; empty means "any free port" (port 0).
        response_timeout_s: how long a callback request waits for the flow's verdict.
    """

    def __init__(
        self,
        path: str,
        hosts: tuple[str, ...],
        ports: tuple[int, ...],
        *,
        response_timeout_s: float,
    ) -> None:
        self._path = path
        self._hosts = hosts
        self._ports = ports or (0,)
        self._response_timeout_s = response_timeout_s
        self._server: asyncio.Server | None = None
        self._host = ""
        self._port = 0
        self._callbacks: asyncio.Queue[_Callback] = asyncio.Queue()
        self._pending: list[_Callback] = []
        self._handlers: set[asyncio.Task[Any]] = set()
        self._final_page = CANCELLED_PAGE

    @property
    def redirect_uri(self) -> str:
        """The redirect URI this listener answers (valid once started)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}{self._path}"

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._port

    async def start(self) -> None:
        """Listen on the first host that exists here, on the first of its ports that is free.

        The IPv6 fallback is for machines without IPv4 loopback, not for busy ports: a
        redirect URI on [::1] may not be the one Rupa registered.

        Raises:
            NoFreePort: every configured port is taken (or none could be opened).
        """
        last_error: OSError | None = None
        for host in self._hosts:
            for port in self._ports:
                try:
                    self._server = await asyncio.start_server(self._handle, host=host, port=port)
                except OSError as exc:
                    last_error = exc
                    log.info("sign-in listener: %s port %s not usable (%s)", host, port, exc)
                    if exc.errno in _PORT_TAKEN_ERRNOS:
                        continue  # this port is taken: try the next one
                    break  # this address does not work here: try the next host
                sockname = self._server.sockets[0].getsockname()
                self._host, self._port = host, int(sockname[1])
                log.info("sign-in listener on %s port %s", host, self._port)
                return
            else:
                break  # the host works but all its ports are taken
        raise NoFreePort() from last_error

    async def next_callback(self) -> _Callback:
        """Wait for the next request to the redirect path."""
        return await self._callbacks.get()

    async def aclose(self, final_page: CallbackPage = CANCELLED_PAGE) -> None:
        """Stop listening; answer waiting requests with `final_page`; close connections."""
        self._final_page = final_page
        if self._server is not None:
            self._server.close()
        for callback in self._pending:
            callback.respond(final_page)
        if self._handlers:
            _, still_running = await asyncio.wait(
                set(self._handlers), timeout=_HANDLER_DRAIN_TIMEOUT_S
            )
            for task in still_running:  # idle pre-connects that never sent a request
                task.cancel()
            if still_running:
                await asyncio.wait(still_running)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._serve_one(reader, writer)
        except (OSError, h11.ProtocolError, TimeoutError):
            pass  # a browser that went away or spoke nonsense: nothing to answer
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_REQUEST_BYTES)
        async with asyncio.timeout(_REQUEST_READ_TIMEOUT_S):
            request = await _read_request(reader, connection)
        if request is None:
            return
        target = urlsplit(request.target.decode("ascii", "replace"))
        if target.path != self._path:
            page = _NOT_FOUND_PAGE
        elif request.method != b"GET":
            page = _METHOD_PAGE
        else:
            page = await self._callback_page(target.query)
        body = page.render()
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
            ("Referrer-Policy", "no-referrer"),
        ]
        reason = HTTPStatus(page.status).phrase.encode()
        response = h11.Response(status_code=page.status, headers=headers, reason=reason)
        writer.write(connection.send(response))
        writer.write(connection.send(h11.Data(data=body)))
        writer.write(connection.send(h11.EndOfMessage()))
        await writer.drain()

    async def _callback_page(self, query: str) -> CallbackPage:
        params: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(name, value)
        if self._server is None or not self._server.is_serving():
            return self._final_page
        callback = _Callback(params, asyncio.get_running_loop().create_future())
        self._pending.append(callback)
        self._callbacks.put_nowait(callback)
        try:
            async with asyncio.timeout(self._response_timeout_s):
                return await asyncio.shield(callback.page)
        except TimeoutError:
            return CallbackPage(
                200, "Return to Rupa Desk", "Rupa Desk is finishing sign-in. Return to it."
            )
        finally:
            self._pending.remove(callback)


async def _read_request(
    reader: asyncio.StreamReader, connection: h11.Connection
) -> h11.Request | None:
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(16 * 1024)
            connection.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            return event
        return None  # the connection closed before a request


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

    def cancel(self) -> None:
        """End the sign-in now: `result()` raises `SignInCancelled`, the listener closes."""
        if not self._task.done():
            self._request_cancel()
            self._task.cancel()

    async def result(self) -> SignedIn:
        """Wait for the outcome.

        Cancelling the task that awaits this cancels the sign-in too.

        Raises:
            AccessDenied, SignInTimedOut, SignInCancelled, StateMismatch, SignInFailed: the
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


class Authenticator:
    """Sign-in and the tokens of one environment; the `token_source` of a `RupaClient`.

    Args:
        environment: where to sign in.
        secret_store: where the refresh token lives (see `probe_secret_store`).
        opener: opens the system browser (default `webbrowser.open`); tests pass their own.
        transport: an httpx transport for the token endpoints (tests); None for the network.
        clock: a monotonic clock in seconds (tests can move time).

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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.environment = environment
        self._store = secret_store
        self._opener = opener
        self._clock = clock
        limits = environment.limits
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                connect=limits.connect_timeout_s,
                read=limits.read_timeout_s,
                write=limits.write_timeout_s,
                pool=limits.pool_timeout_s,
            ),
            headers={"User-Agent": "RupaDesk"},
            follow_redirects=False,
        )
        self._endpoints = OAuthEndpoints(environment, self._http)
        self._key = session_key(environment)
        self._access_token: str | None = None
        self._access_expires_at: float | None = None
        self._account_id: str | None = None
        self._has_session = False
        # Rupa ended the session (invalid_grant): every later caller hears SessionExpired
        # ("sign in again"), not just the one whose refresh found out, until a new sign-in.
        self._ended_by_rupa = False
        self._refresh_lock = asyncio.Lock()
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

    async def __aenter__(self) -> Authenticator:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- state --

    @property
    def account_id(self) -> str | None:
        """The id of the signed-in practitioner, once known (see `remember_account`)."""
        return self._account_id

    @property
    def has_session(self) -> bool:
        """True when there is a session (restored or signed in) that has not ended."""
        return self._has_session

    async def restore_session(self) -> bool:
        """Load the stored session at start-up, without using the network.

        Returns:
            True when a session was found (the first `access_token()` then refreshes it),
            False when the user has to sign in.

        Raises:
            SecretStoreUnavailable: the keychain refused to be read.
        """
        stored = await self._load()
        self._has_session = stored is not None
        self._account_id = stored.account_id if stored else None
        if stored is not None:
            self._ended_by_rupa = False
        return self._has_session

    async def remember_account(self, account_id: str) -> None:
        """Record whose session this is (the practitioner id from `RupaClient.me()`).

        Raises:
            NotSignedIn: there is no session.
        """
        async with self._refresh_lock:
            stored = await self._load()
            if stored is None:
                raise NotSignedIn()
            if stored.account_id != account_id:
                await self._persist(replace(stored, account_id=account_id))
            self._account_id = account_id

    # -- sign-in --

    async def start_sign_in(self, *, timeout_s: float | None = None) -> PendingSignIn:
        """Start a browser sign-in; returns once the listener listens and the browser opened.

        Args:
            timeout_s: how long to wait for the browser (default `ClientLimits.sign_in_timeout_s`).

        Raises:
            NoFreePort: no configured redirect port could be opened.
        """
        env = self.environment
        limits = env.limits
        hosts: tuple[str, ...] = (env.redirect_host,)
        if env.redirect_host != _IPV6_LOOPBACK:
            hosts += (_IPV6_LOOPBACK,)
        listener = LoopbackListener(
            env.redirect_path,
            hosts,
            env.redirect_ports,
            response_timeout_s=limits.callback_response_timeout_s,
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
        flow = _SignInFlow(
            self._complete_sign_in,
            listener,
            state=state,
            code_verifier=code_verifier,
            timeout_s=limits.sign_in_timeout_s if timeout_s is None else timeout_s,
        )
        task = asyncio.create_task(flow.run(), name=f"sign-in ({env.name})")
        try:
            opened = await self._open_browser(authorize_url)
        except BaseException:  # e.g. cancelled while the browser opened: stop the flow too
            flow.request_cancel()
            task.cancel()
            with contextlib.suppress(SignInCancelled, asyncio.CancelledError):
                await task
            raise
        pending = PendingSignIn(
            authorize_url=authorize_url,
            redirect_uri=listener.redirect_uri,
            browser_opened=opened,
            task=task,
            request_cancel=flow.request_cancel,
        )
        self._pending.add(pending)
        task.add_done_callback(lambda t: self._sign_in_ended(pending, t))
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

    async def _open_browser(self, url: str) -> bool:
        try:
            opened = bool(await asyncio.to_thread(self._opener, url))
        except (webbrowser.Error, OSError) as exc:
            log.warning("could not open the system browser: %s", type(exc).__name__)
            return False
        if not opened:
            log.warning("no system browser opened; the sign-in link is shown instead")
        return opened

    async def _complete_sign_in(self, code: str, redirect_uri: str, code_verifier: str) -> SignedIn:
        """Exchange the code; store the refresh token first, then keep the access token."""
        tokens = await self._endpoints.exchange_code(
            code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )
        if tokens.refresh_token is None:
            raise MalformedResponse()  # without it, the session could not outlive the hour
        async with self._refresh_lock:
            await self._persist(_StoredSession(tokens.refresh_token, None))
            self._set_access(tokens)
            self._account_id = None
            self._has_session = True
            self._ended_by_rupa = False
        return SignedIn(self.environment.name, tokens.scope)

    # -- tokens --

    async def access_token(self) -> str:
        """A valid access token, refreshing it first when it is about to expire.

        Single-flight: however many callers find the token expired at once, one refresh runs
        and all of them get its token.

        Raises:
            NotSignedIn: there is no session.
            SessionExpired: Rupa ended the session: sign in again.
            NetworkError, ServerError, RateLimited, MalformedResponse: the refresh failed
                (the session is kept: try again later).
        """
        token = self._fresh_access_token()
        if token is not None:
            return token
        async with self._refresh_lock:
            token = self._fresh_access_token()
            if token is not None:
                return token
            return await self._refresh()

    async def token_rejected(self, token: str) -> None:
        """Rupa answered 401 to `token`: the next `access_token()` refreshes (once, for all)."""
        if self._access_token == token:
            self._access_token = None
            self._access_expires_at = None

    def _fresh_access_token(self) -> str | None:
        if self._access_token is None:
            return None
        if self._access_expires_at is not None and self._clock() >= self._access_expires_at:
            return None
        return self._access_token

    def _set_access(self, tokens: TokenResponse) -> None:
        self._access_token = tokens.access_token
        if tokens.expires_in is None:
            self._access_expires_at = None  # unknown: used until Rupa answers 401
        else:
            leeway = min(self.environment.limits.token_refresh_leeway_s, tokens.expires_in / 4)
            self._access_expires_at = self._clock() + tokens.expires_in - leeway

    async def _refresh(self) -> str:
        stored = await self._load()
        if stored is None:
            self._forget_memory()
            raise SessionExpired() if self._ended_by_rupa else NotSignedIn()
        self.refresh_count += 1
        try:
            tokens = await self._endpoints.refresh(stored.refresh_token)
        except SessionExpired:
            log.info("the session ended on Rupa's side; forgetting it")
            await self._forget_stored()
            self._forget_memory()
            self._ended_by_rupa = True
            raise
        rotated = tokens.refresh_token or stored.refresh_token
        await self._persist(replace(stored, refresh_token=rotated))  # stored before use
        self._set_access(tokens)
        self._account_id = stored.account_id
        self._has_session = True
        assert self._access_token is not None
        return self._access_token

    # -- sign-out --

    async def sign_out(self) -> SignOutResult:
        """Revoke the session (best effort) and forget both tokens, whatever Rupa answers."""
        async with self._refresh_lock:
            try:
                stored = await self._load()
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
            await self._forget_stored()
            self._forget_memory()
            self._ended_by_rupa = False  # the user signed out: plain "not signed in" now
        return SignOutResult(had_session=had_session, revoked=revoked)

    # -- storage --

    async def _load(self) -> _StoredSession | None:
        value = await self._store.get(self._key)
        return None if value is None else _StoredSession.loads(value)

    async def _persist(self, stored: _StoredSession) -> None:
        try:
            await self._store.set(self._key, stored.dumps())
        except SecretStoreUnavailable:
            # The keychain refused now (e.g. it was locked). Losing the rotated refresh token
            # would end the session, so keep it in memory for this session and say so.
            log.warning("keychain refused the session; keeping it for this session only")
            self._store = MemorySecretStore()
            self.store_degraded = True
            await self._store.set(self._key, stored.dumps())

    async def _forget_stored(self) -> None:
        try:
            await self._store.delete(self._key)
        except SecretStoreUnavailable:
            log.warning("keychain refused to forget the session")

    def _forget_memory(self) -> None:
        self._access_token = None
        self._access_expires_at = None
        self._account_id = None
        self._has_session = False


class _SignInFlow:
    """One sign-in attempt: wait for the browser, check it, exchange the code."""

    def __init__(
        self,
        complete: Callable[[str, str, str], Awaitable[SignedIn]],
        listener: LoopbackListener,
        *,
        state: str,
        code_verifier: str,
        timeout_s: float,
    ) -> None:
        self._complete = complete
        self._listener = listener
        self._state = state
        self._code_verifier = code_verifier
        self._timeout_s = timeout_s
        self._cancel_requested = False
        self._final_page = CANCELLED_PAGE

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
        except RupaError as exc:
            callback.respond(failure_page(exc))
            raise
        callback.respond(SIGNED_IN_PAGE)
        return signed_in

    async def _wait_for_code(self) -> _Callback:
        try:
            async with asyncio.timeout(self._timeout_s):
                while True:
                    callback = await self._listener.next_callback()
                    if self._accept(callback):
                        return callback
        except TimeoutError:
            self._final_page = failure_page(SignInTimedOut())
            raise SignInTimedOut() from None

    def _accept(self, callback: _Callback) -> bool:
        """True for the answer with our code; raises for a wrong state or an error answer."""
        params = callback.params
        if not {"state", "code", "error"} & params.keys():
            callback.respond(NOT_A_SIGN_IN_PAGE)  # e.g. a reload without the query
            return False
        if not hmac.compare_digest(params.get("state", "").encode(), self._state.encode()):
            error: RupaError = StateMismatch()
        elif "error" in params:
            denied = params["error"] == "access_denied"
            error = AccessDenied() if denied else SignInFailed()
            log.info("authorize endpoint answered error=%s", params["error"][:40])
        elif not params.get("code"):
            error = SignInFailed()
        else:
            return True
        self._final_page = failure_page(error)
        callback.respond(self._final_page)
        raise error

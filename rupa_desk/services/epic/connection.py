"""Connecting to Epic: SMART discovery, the browser sign-in, and the tokens.

- Discovery reads `{fhir_base}/.well-known/smart-configuration`, and falls back to the OAuth
  URIs of the CapabilityStatement (`metadata`) when the server has none.
- Connecting is the authorization code flow with PKCE S256 through the system browser and the
  loopback listener, on Epic's own redirect path (`EpicSettings.redirect_path`), with
  `aud` = the FHIR base. The wait for the browser is Rupa's sign-in flow
  (`rupa_desk.services.auth.SignInFlow`): `state` is made for this attempt and checked
  against the one answer the listener of this server receives, and `iss` (RFC 9207) is
  checked when the server names its issuer; a server that says it always sends `iss` has an
  answer without it refused. Two authorization servers (Rupa, Epic) thus cannot be mixed up
  (RFC 9700 §4.4): distinct redirect paths, a `state` per attempt, and `iss`.
- Tokens: Epic issues refresh tokens only to some apps. One that comes back goes to the
  secret store (the OS keychain), bound to the token URL that issued it; without one, the
  access token is kept in memory only, for its lifetime, and `status()` says when the
  session ends so the app can say so instead of failing mid-task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from rupa_desk.core.checkout_navigation import is_loopback_host
from rupa_desk.core.fhir import (
    SmartConfiguration,
    parse_capability_oauth,
    parse_smart_configuration,
)
from rupa_desk.core.jsonapi import is_web_url
from rupa_desk.services.auth import (
    BrowserOpener,
    PendingSignIn,
    SignedIn,
    SignInFlow,
    loopback_listener,
    start_in_browser,
)
from rupa_desk.services.epic.errors import (
    EpicAnswerUnreadable,
    EpicNotConnected,
    EpicSessionEnded,
    epic_error,
    epic_errors,
)
from rupa_desk.services.errors import (
    MalformedResponse,
    RupaError,
    SecretStoreUnavailable,
    ServerError,
)
from rupa_desk.services.http_client import AsyncClosing, new_http_client
from rupa_desk.services.http_errors import network_error
from rupa_desk.services.loopback import CallbackPage
from rupa_desk.services.oauth_endpoints import OAuthEndpoints
from rupa_desk.services.secrets import SecretStore
from rupa_desk.settings import ClientLimits, EpicSettings

log = logging.getLogger(__name__)

CONNECTED_PAGE: Final = CallbackPage(
    200,
    "Connected to Epic",
    "Rupa Desk is connected to Epic. You can close this tab and return to Rupa Desk.",
)
_SMART_PATH: Final = ".well-known/smart-configuration"


def epic_session_key(settings: EpicSettings) -> str:
    """The SecretStore key of the Epic session of one FHIR base and client id."""
    return f"epic-session:{settings.fhir_base}:{settings.client_id}"


@dataclass(frozen=True)
class EpicStatus:
    """Where the Epic connection stands.

    Attributes:
        connected: a usable access token is held, or a refresh token can get one.
        ends_at: when the session ends, for a session without a refresh token (local time).
        lasting: a refresh token is kept: the session outlives its access token.
        scope: what Epic granted, when it said.
    """

    connected: bool
    ends_at: datetime | None = None
    lasting: bool = False
    scope: str | None = None


@dataclass(frozen=True)
class _TokenClient:
    """The OAuth client as `OAuthEndpoints` needs it (no revocation: Epic's is not SMART's)."""

    token_url: str
    client_id: str
    scope: str | None
    limits: ClientLimits
    revoke_url: str = ""
    client_secret: str | None = None


class EpicConnection(AsyncClosing):
    """Discovery, connecting and the tokens of one Epic FHIR base; an `EpicClient`'s
    `TokenSource`.

    Args:
        settings: the FHIR base, client id and scopes.
        secret_store: where a refresh token is kept.
        opener: opens the system browser (tests pass their own).
        transport: an httpx transport (tests); None for the network.
        clock: wall-clock time in epoch seconds.

    Attributes:
        store_degraded: the keychain refused the refresh token: it lasts this session only.
    """

    def __init__(
        self,
        settings: EpicSettings,
        secret_store: SecretStore,
        *,
        opener: BrowserOpener = webbrowser.open,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._store = secret_store
        self._opener = opener
        self._clock = clock
        self._http = new_http_client(settings.limits, transport=transport)
        self._smart: SmartConfiguration | None = None
        self._access_token: str | None = None
        self._access_until: float | None = None
        self._refresh_token: str | None = None
        self._refresh_token_url: str | None = None
        self._scope: str | None = None
        self._lock = asyncio.Lock()
        self._pending: set[PendingSignIn] = set()
        self.store_degraded = False

    async def aclose(self) -> None:
        """Cancel a connect in progress and close the HTTP client (a kept session stays)."""
        for pending in list(self._pending):
            pending.cancel()
            with contextlib.suppress(RupaError, asyncio.CancelledError):
                await pending.result()
        await self._http.aclose()

    # -- discovery --

    async def discover(self) -> SmartConfiguration:
        """Where Epic's sign-in is: the SMART configuration, else `metadata` (cached).

        Raises:
            EpicUnavailable, EpicOffline, EpicAnswerUnreadable: as named.
        """
        if self._smart is not None:
            return self._smart
        base = self.settings.fhir_base.rstrip("/") + "/"
        with epic_errors():
            found = await self._read(base + _SMART_PATH, parse_smart_configuration)
            if found is None:
                log.info("no SMART configuration; reading the OAuth URIs from metadata")
                found = await self._read(base + "metadata", parse_capability_oauth)
            if found is None:
                raise MalformedResponse()
        for url in (found.authorize_url, found.token_url):
            if not self._safe_endpoint(url):
                log.warning("refused a sign-in endpoint over plain http")
                raise EpicAnswerUnreadable()
        self._smart = found
        return found

    async def _read(
        self, url: str, parse: Callable[[object], SmartConfiguration]
    ) -> SmartConfiguration | None:
        """GET a discovery document; None when the server has none (404, not JSON)."""
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise network_error(exc) from exc
        if response.status_code >= 500:
            raise ServerError(response.status_code)
        if response.status_code != 200:
            log.info("discovery %s → %s", httpx.URL(url).path, response.status_code)
            return None
        try:
            return parse(response.json())
        except (ValueError, RecursionError) as exc:
            log.warning("unusable discovery document at %s: %s", httpx.URL(url).path, exc)
            return None

    def _safe_endpoint(self, url: str) -> bool:
        """https, or plain http only while the FHIR base itself is plain http on this PC."""
        target, base = httpx.URL(url), httpx.URL(self.settings.fhir_base)
        if target.scheme == "https":
            return True
        return (
            target.scheme == base.scheme == "http"
            and is_loopback_host(target.host)
            and is_web_url(url)
        )

    # -- connecting --

    async def start_connect(self, *, timeout_s: float | None = None) -> PendingSignIn:
        """Discover, listen on the loopback, open the browser; returns while it waits.

        A connect still waiting is cancelled first.

        Raises:
            EpicConnectFailed: no redirect port could be opened.
            EpicUnavailable, EpicOffline, EpicAnswerUnreadable: discovery failed.
        """
        for earlier in list(self._pending):
            earlier.cancel()
            with contextlib.suppress(RupaError, asyncio.CancelledError):
                await earlier.result()
        smart = await self.discover()
        settings, limits = self.settings, self.settings.limits
        listener = loopback_listener(
            settings.redirect_path, settings.redirect_host, settings.redirect_ports, limits
        )
        with epic_errors():
            await listener.start()
        verifier = generate_token(64)
        state = generate_token(32)
        authorize_url = prepare_grant_uri(
            smart.authorize_url,
            client_id=settings.client_id,
            response_type="code",
            redirect_uri=listener.redirect_uri,
            scope=settings.scope,
            state=state,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
            aud=settings.fhir_base,
        )
        flow = SignInFlow(
            self._complete,
            listener,
            state=state,
            code_verifier=verifier,
            issuer=smart.issuer,
            issuer_required=smart.iss_in_answer,
            timeout_s=limits.sign_in_timeout_s if timeout_s is None else timeout_s,
            signed_in_page=CONNECTED_PAGE,
        )
        pending = await start_in_browser(flow, authorize_url, self._opener, name="connect to Epic")
        self._pending.add(pending)
        pending.when_done(lambda _: self._pending.discard(pending))
        return pending

    async def connect(
        self,
        *,
        timeout_s: float | None = None,
        on_waiting: Callable[[PendingSignIn], None] | None = None,
    ) -> EpicStatus:
        """Connect and wait (`start_connect`, then its result), for callers without a UI.

        Raises:
            EpicConnectFailed: denied, timed out, cancelled, refused, or a mix-up.
            EpicError: discovery or the code exchange failed.
        """
        pending = await self.start_connect(timeout_s=timeout_s)
        if on_waiting is not None:
            on_waiting(pending)
        with epic_errors():
            await pending.result()
        return self.status()

    async def _complete(self, code: str, redirect_uri: str, verifier: str) -> SignedIn:
        """Exchange the code; keep the refresh token (keychain) or the access token only."""
        smart = await self.discover()
        try:
            tokens = await self._endpoints(smart.token_url).exchange_code(
                code, redirect_uri=redirect_uri, code_verifier=verifier
            )
        except RupaError as exc:
            raise epic_error(exc) from exc
        async with self._lock:
            key = epic_session_key(self.settings)
            if tokens.refresh_token is not None:
                entry = {"refresh_token": tokens.refresh_token, "token_url": smart.token_url}
                await self._put(key, json.dumps(entry))
            else:
                await self._forget_stored()
            self._refresh_token = tokens.refresh_token
            self._refresh_token_url = smart.token_url if tokens.refresh_token else None
            self._take(tokens.access_token, tokens.expires_in)
            self._scope = tokens.scope
        log.info("connected to Epic (%s)", "lasting" if tokens.refresh_token else "this session")
        return SignedIn("epic", tokens.scope)

    def _endpoints(self, token_url: str) -> OAuthEndpoints:
        client = _TokenClient(
            token_url, self.settings.client_id, self.settings.scope, self.settings.limits
        )
        return OAuthEndpoints(client, self._http)

    # -- tokens --

    async def restore(self) -> bool:
        """Take a kept Epic session (a refresh token) from the secret store; no network.

        Returns:
            True when one was found.
        """
        try:
            value = await self._store.get(epic_session_key(self.settings))
        except SecretStoreUnavailable:
            log.warning("the keychain refused to be read; the Epic session is not restored")
            return False
        if value is None:
            return False
        try:
            entry = json.loads(value)
            token, token_url = entry["refresh_token"], entry["token_url"]
        except (ValueError, KeyError, TypeError):
            log.warning("the kept Epic session is damaged; connect again")
            return False
        if not isinstance(token, str) or not token or not isinstance(token_url, str):
            return False
        self._refresh_token, self._refresh_token_url = token, token_url
        return True

    async def access_token(self) -> str:
        """A usable access token, refreshed first when a refresh token allows.

        Raises:
            EpicNotConnected: there is no session.
            EpicSessionEnded: the access token expired and there is no refresh token, or
                Epic refused the refresh token.
            EpicError: the refresh failed (the session is kept: try again later).
        """
        token = self._fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self._fresh()
            if token is not None:
                return token
            return await self._refresh()

    async def token_rejected(self, token: str) -> None:
        """Epic answered 401 to `token`: the next `access_token()` refreshes or says ended."""
        if token == self._access_token:
            self._access_token = None

    def status(self) -> EpicStatus:
        """Connected or not, and until when."""
        lasting = self._refresh_token is not None
        usable = self._fresh() is not None
        ends_at = None
        if not lasting and usable and self._access_until is not None:
            ends_at = datetime.fromtimestamp(self._access_until, UTC).astimezone()
        return EpicStatus(lasting or usable, ends_at, lasting, self._scope)

    async def disconnect(self) -> None:
        """Forget the session here and in the secret store."""
        async with self._lock:
            await self._forget_stored()
            self._refresh_token = self._refresh_token_url = None
            self._access_token = self._access_until = None
            self._scope = None

    def _fresh(self) -> str | None:
        if self._access_token is None or self._access_until is None:
            return None
        return self._access_token if self._clock() < self._access_until else None

    def _take(self, access_token: str, expires_in: float | None) -> None:
        self._access_token = access_token
        self._access_until = self._clock() + self.settings.limits.access_token_use_s(expires_in)

    async def _refresh(self) -> str:
        if self._refresh_token is None:
            if self._access_until is not None:
                ended = datetime.fromtimestamp(self._access_until, UTC).astimezone()
                self._access_token = self._access_until = None
                raise EpicSessionEnded(
                    f"Your Epic session ended at {ended:%H:%M}. Connect to Epic again."
                )
            raise EpicNotConnected()
        smart = await self.discover()
        if smart.token_url != self._refresh_token_url:
            log.warning("Epic's token URL changed; the kept session is not sent there")
            await self.disconnect()
            raise EpicSessionEnded()
        try:
            tokens = await self._endpoints(smart.token_url).refresh(self._refresh_token)
        except RupaError as exc:
            error = epic_error(exc)
            if isinstance(error, EpicSessionEnded):
                await self._forget_stored()
                self._refresh_token = self._refresh_token_url = None
            raise error from exc
        if tokens.refresh_token and tokens.refresh_token != self._refresh_token:
            entry = {"refresh_token": tokens.refresh_token, "token_url": smart.token_url}
            await self._put(epic_session_key(self.settings), json.dumps(entry))
            self._refresh_token = tokens.refresh_token
        self._take(tokens.access_token, tokens.expires_in)
        self._scope = tokens.scope or self._scope
        assert self._access_token is not None
        return self._access_token

    async def _put(self, key: str, value: str) -> None:
        try:
            await self._store.set(key, value)
        except SecretStoreUnavailable:
            log.warning("keychain refused the Epic session; it lasts this session only")
            self.store_degraded = True

    async def _forget_stored(self) -> None:
        try:
            await self._store.delete(epic_session_key(self.settings))
        except SecretStoreUnavailable:
            log.warning("keychain refused to forget the Epic session")

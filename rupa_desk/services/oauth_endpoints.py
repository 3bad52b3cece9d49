"""The token and revocation endpoints of one environment (RFC 6749, RFC 7009).

`OAuthEndpoints` exchanges an authorization code, refreshes and revokes; Authlib prepares
the request bodies and the client authentication, one `httpx.AsyncClient` sends them, and
every failure becomes a typed error (`rupa_desk.services.errors`). `TokenResponse` is a
successful answer (tokens hidden from repr).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import httpx
import stamina
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_token_request
from authlib.oauth2.rfc7009 import prepare_revoke_token_request

from rupa_desk.services.errors import (
    MalformedResponse,
    NetworkError,
    RateLimited,
    RupaError,
    ServerError,
    SessionExpired,
    SignInFailed,
    SignInServerMoved,
)
from rupa_desk.services.http_errors import network_error, retry_after_seconds
from rupa_desk.settings import ClientLimits

log = logging.getLogger(__name__)

_TOKEN_ENDPOINT_ATTEMPTS: Final = 3


@dataclass(frozen=True)
class TokenResponse:
    """A successful token endpoint answer (tokens hidden from repr)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    #: seconds; None when the answer gave none, or none usable (zero, negative, NaN)
    expires_in: float | None = None
    scope: str | None = None


class OAuthClient(Protocol):
    """What the endpoints need of a client: an `Environment` (Rupa), or Epic's connection."""

    @property
    def token_url(self) -> str: ...
    @property
    def revoke_url(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> str | None: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def limits(self) -> ClientLimits: ...


class OAuthEndpoints:
    """The token and revocation endpoints of one environment, over one httpx client.

    Request bodies and client authentication come from Authlib; failures become typed errors.
    A request is retried only when it surely did not reach the server (connect errors) or the
    server said 429: a refresh token rotates on use, so resending a refresh whose answer was
    lost would only burn it.
    """

    def __init__(self, environment: OAuthClient, http: httpx.AsyncClient) -> None:
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
            SignInServerMoved: the token URL answered with a redirect (a settings problem).
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
            SignInServerMoved: the token URL answered with a redirect (a settings problem).
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
            SignInServerMoved: the revocation URL answered with a redirect.
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
        if 300 <= response.status_code < 400:
            # Never followed: the body holds a code or a refresh token, and a Django server
            # that appends a slash (APPEND_SLASH) would have it resent as a GET anyway.
            log.warning("OAuth %s: the endpoint answered with a redirect", purpose)
            raise SignInServerMoved(url, response.status_code)
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


def _retry_unsent_or_429(exc: BaseException) -> bool | float:
    if isinstance(exc, RateLimited):
        return exc.retry_after
    return isinstance(exc, NetworkError) and not exc.request_sent


def _token_response(data: Mapping[str, Any]) -> TokenResponse:
    access = data.get("access_token")
    refresh = data.get("refresh_token")
    expires_in = data.get("expires_in")
    scope = data.get("scope")
    if not isinstance(access, str) or not access:
        raise MalformedResponse()
    if refresh is not None and (not isinstance(refresh, str) or not refresh):
        raise MalformedResponse()
    return TokenResponse(
        access_token=access,
        refresh_token=refresh,
        expires_in=_lifetime(expires_in),
        scope=scope if isinstance(scope, str) else None,
    )


def _lifetime(expires_in: Any) -> float | None:
    """`expires_in` in seconds; None when absent or unusable (zero, negative, NaN, infinite).

    Raises:
        MalformedResponse: it is neither a number nor a numeric string.
    """
    if expires_in is None:
        return None
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float | str):
        raise MalformedResponse()
    try:
        seconds = float(expires_in)
    except ValueError:
        raise MalformedResponse() from None
    except OverflowError:  # an integer too large for a float
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _token_error(data: Mapping[str, Any], *, refreshing: bool) -> RupaError:
    error = data.get("error")
    code = error if isinstance(error, str) else "unknown"
    log.warning("OAuth endpoint answered error=%r", code[:40])  # repr: no forged log lines
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

"""OAuth 2.0 as the simulated Rupa serves it: authorize pages, token and revoke endpoints.

- `GET /oauth/authorize`: unknown client or unregistered redirect URI → an HTML error page
  (never a redirect, RFC 6749 §4.1.2.1); other request errors → redirect with `error=`.
  Signed out → the sign-in page; signed in → the consent page (Approve / Deny).
- `POST /oauth/authorize`: the consent decision → 303 to `redirect_uri?code=…&state=…&iss=…`
  or `?error=access_denied&state=…&iss=…`. Every answer at the redirect URI names the issuer
  (RFC 9207), derived from the request's base URL as Django OAuth Toolkit does.
- `POST /oauth/token`: `authorization_code` (PKCE S256 checked, single-use codes that expire)
  and `refresh_token` (rotation; with `refresh_token_reuse_protection`, a rotated token used
  again revokes its chain). RFC 6749 §5.2 JSON errors.
- `POST /oauth/revoke_token`: RFC 7009, 200 for any token once the client is known.
- With `oauth_redirect_status` set, token and revoke POSTs are answered with that redirect
  to the path plus a slash, as a Django server with APPEND_SLASH does.

PKCE S256 is computed here with hashlib rather than with the library the app uses, so that
the app's implementation is checked against an independent one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from rupa_desk.sandbox import pages, tokens, web_session
from rupa_desk.sandbox.config import RegisteredClient
from rupa_desk.sandbox.forms import AUTHORIZE_PATH, REVOKE_PATH, TOKEN_PATH, ConsentForm
from rupa_desk.sandbox.request_log import annotate
from rupa_desk.sandbox.state import AuthorizationCode, SandboxState
from rupa_desk.sandbox.urls import add_query, redirect_uri_matches

PKCE_PATTERN: Final = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def s256(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class AuthorizePageError(Exception):
    """An authorize request that cannot be redirected back (bad client or redirect URI)."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


class AuthorizeRedirectError(Exception):
    """An authorize request error reported to the client at its redirect URI."""

    def __init__(self, redirect_url: str) -> None:
        super().__init__(redirect_url)
        self.redirect_url = redirect_url


class OAuthError(Exception):
    """A token or revoke endpoint error (RFC 6749 §5.2)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="rupa"'
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=headers,
        )


@dataclass(frozen=True)
class AuthorizeRequest:
    """A validated authorization request."""

    client: RegisteredClient
    redirect_uri: str
    state: str | None
    scope: str
    code_challenge: str | None
    parameters: dict[str, str]
    issuer: str | None = None

    def error_redirect(self, error: str, description: str | None = None) -> str:
        return add_query(
            self.redirect_uri,
            {
                "error": error,
                "error_description": description,
                "state": self.state,
                "iss": self.issuer,
            },
        )


def issuer_of(request: Request) -> str:
    """The issuer identifier the simulator names in authorization answers: its base URL."""
    return str(request.base_url).rstrip("/")


def validate_authorize(
    state: SandboxState, params: Mapping[str, str], issuer: str | None = None
) -> AuthorizeRequest:
    """Check an authorization request (query or consent form). Caller holds `state.lock`.

    `issuer` is named (`iss`, RFC 9207) in every answer at the redirect URI.

    Raises:
        AuthorizePageError: unknown client, missing or unregistered redirect URI.
        AuthorizeRedirectError: any other problem, reported at the redirect URI.
    """
    client_id = params.get("client_id", "")
    client = state.clients.get(client_id)
    if client is None:
        raise AuthorizePageError(
            "Unknown application",
            f"No application with client id {client_id!r} is registered with Rupa.",
        )
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        raise AuthorizePageError("Missing redirect URI", "The request has no redirect_uri.")
    if not any(redirect_uri_matches(r, redirect_uri) for r in client.redirect_uris):
        raise AuthorizePageError(
            "Redirect URI not registered",
            f"{redirect_uri} is not a registered redirect URI of {client.name}.",
        )
    request = AuthorizeRequest(
        client=client,
        redirect_uri=redirect_uri,
        state=params.get("state") or None,
        scope=params.get("scope", ""),
        code_challenge=params.get("code_challenge") or None,
        parameters={name: params.get(name, "") for name in ConsentForm.PARAMETERS},
        issuer=issuer,
    )
    response_type = params.get("response_type", "")
    if response_type != "code":
        error = "invalid_request" if not response_type else "unsupported_response_type"
        raise AuthorizeRedirectError(request.error_redirect(error, "response_type must be code"))
    if request.code_challenge is None:
        if client.require_pkce:
            raise AuthorizeRedirectError(
                request.error_redirect("invalid_request", "code_challenge (PKCE S256) is required")
            )
    else:
        if params.get("code_challenge_method") != "S256":
            raise AuthorizeRedirectError(
                request.error_redirect("invalid_request", "code_challenge_method must be S256")
            )
        if not re.fullmatch(r"[A-Za-z0-9\-_]{43}", request.code_challenge):
            raise AuthorizeRedirectError(
                request.error_redirect("invalid_request", "malformed code_challenge")
            )
    return request


def issue_code(state: SandboxState, request: AuthorizeRequest, practitioner_id: str) -> str:
    """Approve: a new code, and the redirect URL carrying it. Caller holds `state.lock`."""
    code = AuthorizationCode(
        code="ac_" + secrets.token_urlsafe(24),
        client_id=request.client.client_id,
        practitioner_id=practitioner_id,
        redirect_uri=request.redirect_uri,
        code_challenge=request.code_challenge,
        scope=request.scope,
        expires_at=time.monotonic() + state.config.code_ttl_s,
    )
    state.codes[code.code] = code
    return add_query(
        request.redirect_uri, {"code": code.code, "state": request.state, "iss": request.issuer}
    )


class OAuthEndpoints:
    """The authorize pages and the token and revoke endpoints."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route(AUTHORIZE_PATH, self.authorize, methods=["GET"]),
            Route(AUTHORIZE_PATH, self.decide, methods=["POST"]),
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(REVOKE_PATH, self.revoke, methods=["POST"]),
        ]

    # -- browser pages ------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        with self.state.lock:
            try:
                auth = validate_authorize(self.state, params, issuer_of(request))
            except AuthorizePageError as exc:
                return HTMLResponse(pages.error_page(exc.title, exc.message), status_code=400)
            except AuthorizeRedirectError as exc:
                return RedirectResponse(exc.redirect_url, status_code=302)
            signed_in = web_session.current(self.state, request)
            if signed_in is None:
                return web_session.login_response(web_session.here(request))
            session, practitioner = signed_in
            clinic = self.state.clinics[practitioner.clinic_id]
            page = pages.consent_page(
                client_name=auth.client.name,
                practitioner_name=practitioner.titled_full_name,
                clinic_name=clinic.name,
                redirect_uri=auth.redirect_uri,
                parameters=auth.parameters,
                csrf_token=session.csrf_token,
            )
        return HTMLResponse(page)

    async def decide(self, request: Request) -> Response:
        form = await request.form()
        params = {name: web_session.form_text(form, name) for name in ConsentForm.PARAMETERS}
        with self.state.lock:
            try:
                auth = validate_authorize(self.state, params, issuer_of(request))
            except AuthorizePageError as exc:
                return HTMLResponse(pages.error_page(exc.title, exc.message), status_code=400)
            except AuthorizeRedirectError as exc:
                return RedirectResponse(exc.redirect_url, status_code=303)
            signed_in = web_session.current(self.state, request)
            if signed_in is None:
                return web_session.login_response(add_query(AUTHORIZE_PATH, params))
            session, practitioner = signed_in
            if not secrets.compare_digest(
                session.csrf_token, web_session.form_text(form, ConsentForm.CSRF)
            ):
                page = pages.error_page(
                    "Please try again", "This consent form has expired. Start signing in again."
                )
                return HTMLResponse(page, status_code=400)
            decision = web_session.form_text(form, ConsentForm.DECISION)
            if decision == ConsentForm.APPROVE:
                location = issue_code(self.state, auth, practitioner.id)
            else:
                location = auth.error_redirect("access_denied", "The practitioner denied access.")
        return RedirectResponse(location, status_code=303)

    # -- token and revoke ---------------------------------------------------------------------

    def _client(self, form: FormData, authorization: str | None) -> RegisteredClient:
        """Authenticate the client (form fields or HTTP Basic). Caller holds the lock."""
        client_id = web_session.form_text(form, "client_id")
        secret: str | None = web_session.form_text(form, "client_secret") or None
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError(401, "invalid_client", "Malformed Basic credentials.") from exc
            basic_id, _, basic_secret = decoded.partition(":")
            basic_id, basic_secret = unquote(basic_id), unquote(basic_secret)
            if client_id and client_id != basic_id:
                raise OAuthError(
                    400, "invalid_request", "client_id differs from Basic credentials."
                )
            client_id, secret = basic_id, basic_secret
        if not client_id:
            raise OAuthError(401, "invalid_client", "No client_id was given.")
        client = self.state.clients.get(client_id)
        if client is None:
            raise OAuthError(401, "invalid_client", f"Unknown client {client_id!r}.")
        if client.client_secret is not None and (
            secret is None or not secrets.compare_digest(client.client_secret, secret)
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed.")
        return client

    def _moved(self, request: Request) -> Response | None:
        """The redirect of `oauth_redirect_status`, when it is set (caller holds no lock)."""
        with self.state.lock:
            status = self.state.faults.oauth_redirect_status
        if not status:
            return None
        annotate(request.scope, fault=f"redirect {status}")
        return RedirectResponse(request.url.path + "/", status_code=status)

    async def token(self, request: Request) -> Response:
        if (moved := self._moved(request)) is not None:
            return moved
        form = await request.form()
        grant_type = web_session.form_text(form, "grant_type")
        annotate(request.scope, grant_type=grant_type or None)
        try:
            with self.state.lock:
                client = self._client(form, request.headers.get("authorization"))
                if not grant_type:
                    raise OAuthError(400, "invalid_request", "grant_type is required.")
                if grant_type == "authorization_code":
                    body = self._exchange_code(form, client)
                elif grant_type == "refresh_token":
                    body = self._refresh(form, client)
                else:
                    raise OAuthError(
                        400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}."
                    )
        except OAuthError as exc:
            return exc.response()
        return JSONResponse(body, headers=NO_STORE)

    def _exchange_code(self, form: FormData, client: RegisteredClient) -> dict[str, Any]:
        code_value = web_session.form_text(form, "code")
        redirect_uri = web_session.form_text(form, "redirect_uri")
        verifier = web_session.form_text(form, "code_verifier")
        if not code_value:
            raise OAuthError(400, "invalid_request", "code is required.")
        if not redirect_uri:
            raise OAuthError(400, "invalid_request", "redirect_uri is required.")
        code = self.state.codes.get(code_value)
        if code is None or code.client_id != client.client_id:
            raise OAuthError(400, "invalid_grant", "The authorization code is not valid.")
        if code.used:
            # RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for.
            if code.refresh_token and code.refresh_token in self.state.refresh_tokens:
                tokens.revoke_refresh_token(
                    self.state, self.state.refresh_tokens[code.refresh_token]
                )
            raise OAuthError(400, "invalid_grant", "The authorization code was already used.")
        if code.code_challenge is not None:
            if not verifier:
                raise OAuthError(400, "invalid_request", "code_verifier is required (PKCE).")
            if not PKCE_PATTERN.fullmatch(verifier):
                raise OAuthError(400, "invalid_request", "Malformed code_verifier.")
        code.used = True
        if time.monotonic() >= code.expires_at:
            raise OAuthError(400, "invalid_grant", "The authorization code has expired.")
        if code.redirect_uri != redirect_uri:
            raise OAuthError(
                400, "invalid_grant", "redirect_uri differs from the authorization request."
            )
        if code.code_challenge is not None and not secrets.compare_digest(
            s256(verifier), code.code_challenge
        ):
            raise OAuthError(400, "invalid_grant", "code_verifier does not match code_challenge.")
        body, refresh = tokens.issue(
            self.state,
            client_id=client.client_id,
            practitioner_id=code.practitioner_id,
            scope=code.scope,
        )
        code.refresh_token = refresh.token
        return body

    def _refresh(self, form: FormData, client: RegisteredClient) -> dict[str, Any]:
        value = web_session.form_text(form, "refresh_token")
        if not value:
            raise OAuthError(400, "invalid_request", "refresh_token is required.")
        refresh = self.state.refresh_tokens.get(value)
        if refresh is None or refresh.client_id != client.client_id:
            raise OAuthError(400, "invalid_grant", "The refresh token is not valid.")
        if not refresh.active:
            if self.state.faults.refresh_token_reuse_protection:
                tokens.revoke_chain(self.state, refresh)
            raise OAuthError(400, "invalid_grant", "The refresh token is not valid.")
        return tokens.rotate(self.state, refresh)

    async def revoke(self, request: Request) -> Response:
        if (moved := self._moved(request)) is not None:
            return moved
        form = await request.form()
        try:
            with self.state.lock:
                client = self._client(form, request.headers.get("authorization"))
                token = web_session.form_text(form, "token")
                if not token:
                    raise OAuthError(400, "invalid_request", "token is required.")
                tokens.revoke(self.state, token, client.client_id)
        except OAuthError as exc:
            return exc.response()
        return Response(b"", status_code=200, headers=NO_STORE)

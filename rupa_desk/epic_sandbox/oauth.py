"""The simulator's SMART on FHIR authorization server.

- `{fhir}/.well-known/smart-configuration`: issuer, endpoints, PKCE S256, and
  `authorization_response_iss_parameter_supported` (RFC 9207).
- `/oauth2/authorize`: checks the app, its loopback redirect URI, PKCE S256 and that `aud` is
  this FHIR base, then shows the sign-in page (Epic's published test user); the answer goes
  back to the app with `code`, `state` and `iss`.
- `/oauth2/token`: the code with its PKCE verifier (single use), and refresh tokens for the
  apps registered to get them (not rotated, as on Epic).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from rupa_desk.epic_sandbox.config import FHIR_PATH, OAUTH_PATH, TEST_PASSWORD, TEST_USER
from rupa_desk.epic_sandbox.state import AccessGrant, EpicState, IssuedCode, PendingAuthorization

CODE_LIFETIME_S: Final = 300
REFRESH_LIFETIME_S: Final = 90 * 24 * 3600
#: Form and element names of the sign-in page (tests drive it with them).
FORM_ID: Final = "epic-signin"
LOOPBACK_HOSTS: Final = ("127.0.0.1", "[::1]", "localhost")


def root_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def issuer(request: Request) -> str:
    return root_url(request) + OAUTH_PATH


def fhir_base(request: Request) -> str:
    return root_url(request) + FHIR_PATH


def token_endpoints(request: Request) -> tuple[str, str]:
    """The authorize and token URLs."""
    return issuer(request) + "/authorize", issuer(request) + "/token"


def smart_configuration(request: Request) -> dict[str, Any]:
    """The SMART configuration document of this server."""
    return {
        "issuer": issuer(request),
        "authorization_endpoint": issuer(request) + "/authorize",
        "token_endpoint": issuer(request) + "/token",
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "fhirUser", "offline_access", "user/*.read"],
        "capabilities": [
            "launch-standalone",
            "client-public",
            "context-standalone-patient",
            "permission-user",
            "permission-offline",
            "sso-openid-connect",
        ],
        "authorization_response_iss_parameter_supported": True,
    }


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OAuthEndpoints:
    """The authorize page and the token endpoint."""

    def __init__(self, state: EpicState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route(OAUTH_PATH + "/authorize", self.authorize, methods=["GET"]),
            Route(OAUTH_PATH + "/authorize", self.decide, methods=["POST"]),
            Route(OAUTH_PATH + "/token", self.token, methods=["POST"]),
        ]

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        with self.state.lock:
            client = self.state.clients.get(client_id)
        if client is None:
            return _page("Unknown app", "This app is not registered with this organisation.", 400)
        parts = urlsplit(redirect_uri)
        if (
            parts.scheme != "http"
            or parts.netloc.rsplit(":", 1)[0] not in LOOPBACK_HOSTS
            or parts.path not in client.redirect_paths
        ):
            return _page("Wrong redirect", "The app's redirect address is not registered.", 400)
        answer_state = query.get("state", "")

        def refuse(error: str, description: str) -> Response:
            return self._back(
                request,
                redirect_uri,
                error=error,
                error_description=description,
                state=answer_state,
            )

        if query.get("response_type") != "code":
            return refuse("unsupported_response_type", "response_type must be code")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return refuse("invalid_request", "PKCE with S256 is required")
        if query.get("aud", "").rstrip("/") != fhir_base(request):
            return refuse("invalid_request", "aud must be this server's FHIR base URL")
        if not query.get("scope", "").strip():
            return refuse("invalid_scope", "no scope was asked for")
        pending = PendingAuthorization(
            client_id, redirect_uri, query["scope"], answer_state, query["code_challenge"]
        )
        with self.state.lock:
            request_id = self.state.new_id("req")
            self.state.pending[request_id] = pending
        return _page("Sign in to Epic", _sign_in_form(request_id, ""), 200, raw=True)

    async def decide(self, request: Request) -> Response:
        form = await request.form()
        request_id = str(form.get("request", ""))
        with self.state.lock:
            pending = self.state.pending.get(request_id)
        if pending is None:
            return _page("Expired", "This sign-in has expired. Start again in the app.", 400)
        if form.get("decision") != "allow":
            with self.state.lock:
                self.state.pending.pop(request_id, None)
            return self._back(
                request, pending.redirect_uri, error="access_denied", state=pending.state
            )
        user, password = str(form.get("username", "")), str(form.get("password", ""))
        if user.upper() != TEST_USER or password != TEST_PASSWORD:
            body = _sign_in_form(request_id, "The user name or password is not right.")
            return _page("Sign in to Epic", body, 200, raw=True)
        with self.state.lock:
            self.state.pending.pop(request_id, None)
            code = self.state.new_id("code")
            self.state.codes[code] = IssuedCode(pending, self.state.now() + CODE_LIFETIME_S)
        return self._back(request, pending.redirect_uri, code=code, state=pending.state)

    def _back(self, request: Request, redirect_uri: str, **params: str) -> Response:
        params["iss"] = issuer(request)
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + separator + urlencode(params), status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        grant = form.get("grant_type")
        client_id = str(form.get("client_id", ""))
        with self.state.lock:
            client = self.state.clients.get(client_id)
            if client is None:
                return _oauth_error("invalid_client", "unknown client", 401)
            if grant == "authorization_code":
                return self._exchange(request, client.refresh_tokens, client_id, form)
            if grant == "refresh_token":
                return self._refresh(client_id, str(form.get("refresh_token", "")))
        return _oauth_error("unsupported_grant_type", "grant_type not supported")

    def _exchange(self, request: Request, offline: bool, client_id: str, form: Any) -> Response:
        issued = self.state.codes.get(str(form.get("code", "")))
        if issued is None or issued.used or issued.expires_at < self.state.now():
            return _oauth_error("invalid_grant", "the code is unknown, used or expired")
        issued.used = True
        asked = issued.request
        if asked.client_id != client_id or asked.redirect_uri != form.get("redirect_uri"):
            return _oauth_error("invalid_grant", "client_id or redirect_uri does not match")
        verifier = str(form.get("code_verifier", ""))
        if not hmac.compare_digest(s256(verifier), asked.code_challenge):
            return _oauth_error("invalid_grant", "the PKCE verifier does not match")
        scopes = frozenset(asked.scope.split())
        body = self._issue(client_id, scopes)
        if offline:
            refresh = self.state.new_id("rt")
            self.state.refresh_tokens[refresh] = AccessGrant(
                client_id, scopes, self.state.now() + REFRESH_LIFETIME_S
            )
            body["refresh_token"] = refresh
        return _json(body)

    def _refresh(self, client_id: str, refresh_token: str) -> Response:
        grant = self.state.refresh_tokens.get(refresh_token)
        if grant is None or grant.client_id != client_id or grant.expires_at < self.state.now():
            return _oauth_error("invalid_grant", "the refresh token is unknown or expired")
        return _json(self._issue(client_id, grant.scopes))

    def _issue(self, client_id: str, scopes: frozenset[str]) -> dict[str, Any]:
        lifetime = self.state.config.access_token_lifetime_s
        token = self.state.new_id("at")
        self.state.access_tokens[token] = AccessGrant(
            client_id, scopes, self.state.now() + lifetime
        )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": " ".join(sorted(scopes)),
        }


def _json(body: dict[str, Any]) -> Response:
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _sign_in_form(request_id: str, problem: str) -> str:
    warning = f'<p class="problem">{html.escape(problem)}</p>' if problem else ""
    return (
        f'<form id="{FORM_ID}" method="post" action="{OAUTH_PATH}/authorize">{warning}'
        f'<input type="hidden" name="request" value="{html.escape(request_id)}">'
        f"<p>Epic's sandbox test user: {TEST_USER}, password {html.escape(TEST_PASSWORD)}</p>"
        f'<label>User <input name="username" value="{TEST_USER}"></label>'
        '<label>Password <input type="password" name="password" value=""></label>'
        '<button type="submit" name="decision" value="allow">Sign in and allow</button>'
        '<button type="submit" name="decision" value="deny">Deny</button></form>'
    )


def _page(title: str, body: str, status: int, *, raw: bool = False) -> Response:
    content = body if raw else f"<p>{html.escape(body)}</p>"
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{content}"
        "</body></html>",
        status_code=status,
    )

"""Access and refresh tokens: issue, rotate, revoke, expire, and check a Bearer header.

Refresh tokens rotate on use, as Django OAuth Toolkit does: the old one stops working at once,
and so does the access token issued with it. Revoking a refresh token also revokes the access
tokens issued with it. The refresh tokens of one sign-in form a chain (`family`); with reuse
protection, using a rotated one again revokes the whole chain (RFC 9700 §4.14.2). Tokens are
random (not seeded) and are never logged; logs use `fingerprint`. Callers hold `state.lock`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from rupa_desk.sandbox.jsonapi import ApiError
from rupa_desk.sandbox.state import AccessToken, RefreshToken, SandboxState


def fingerprint(token: str) -> str:
    """A short, stable, non-reversible name for a token, safe to log."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def issue(
    state: SandboxState,
    *,
    client_id: str,
    practitioner_id: str,
    scope: str,
    family: str | None = None,
) -> tuple[dict[str, Any], RefreshToken]:
    """A new refresh token and access token; returns the token response body and the refresh.

    `family` is the chain a rotated refresh token continues (None starts a new chain).
    """
    token = "rt_" + secrets.token_urlsafe(32)
    refresh = RefreshToken(
        token=token,
        client_id=client_id,
        practitioner_id=practitioner_id,
        scope=scope,
        family=family or token,
    )
    state.refresh_tokens[refresh.token] = refresh
    return _with_access_token(state, refresh), refresh


def rotate(state: SandboxState, refresh: RefreshToken) -> dict[str, Any]:
    """Use a refresh token: it and its access token stop working, and a new pair is issued."""
    revoke_refresh_token(state, refresh)
    body, _ = issue(
        state,
        client_id=refresh.client_id,
        practitioner_id=refresh.practitioner_id,
        scope=refresh.scope,
        family=refresh.family,
    )
    return body


def revoke_chain(state: SandboxState, refresh: RefreshToken) -> int:
    """Revoke every refresh token of `refresh`'s chain and their access tokens (a reused
    refresh token: the chain may be in a thief's hands). Returns how many were still live."""
    live = 0
    for member in state.refresh_tokens.values():
        if member.family == refresh.family:
            live += member.active
            revoke_refresh_token(state, member)
    return live


def _with_access_token(state: SandboxState, refresh: RefreshToken) -> dict[str, Any]:
    ttl = state.config.access_token_ttl_s
    access = AccessToken(
        token="at_" + secrets.token_urlsafe(32),
        client_id=refresh.client_id,
        practitioner_id=refresh.practitioner_id,
        scope=refresh.scope,
        expires_at=time.time() + ttl,
        refresh_token=refresh.token,
    )
    state.access_tokens[access.token] = access
    return {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": refresh.token,
        "scope": refresh.scope,
    }


def revoke_refresh_token(state: SandboxState, refresh: RefreshToken) -> None:
    """The refresh token and every access token issued with it stop working."""
    refresh.active = False
    for access in state.access_tokens.values():
        if access.refresh_token == refresh.token:
            access.active = False


def revoke(state: SandboxState, token: str, client_id: str) -> bool:
    """RFC 7009 revocation of either kind of token; False when unknown or another client's."""
    refresh = state.refresh_tokens.get(token)
    if refresh is not None and refresh.client_id == client_id:
        revoke_refresh_token(state, refresh)
        return True
    access = state.access_tokens.get(token)
    if access is not None and access.client_id == client_id:
        access.active = False
        return True
    return False


def expire_access_tokens(state: SandboxState) -> int:
    """Make every current access token expired (refresh tokens keep working)."""
    now = time.time()
    count = 0
    for access in state.access_tokens.values():
        if access.active and access.expires_at > now:
            access.expires_at = now - 1
            count += 1
    return count


def _unauthorized(detail: str, code: str, error: str | None) -> ApiError:
    challenge = 'Bearer realm="rupa"'
    if error:
        challenge += f', error="{error}", error_description="{detail}"'
    return ApiError(401, code, detail, headers={"WWW-Authenticate": challenge})


def authenticate(state: SandboxState, authorization: str | None) -> AccessToken:
    """The access token of a request's Authorization header, or a 401 ApiError."""
    if not authorization:
        raise _unauthorized(
            "Authentication credentials were not provided.", "not_authenticated", None
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized(
            "Use an 'Authorization: Bearer <access token>' header.",
            "not_authenticated",
            "invalid_request",
        )
    access = state.access_tokens.get(token)
    if access is None or not access.active:
        raise _unauthorized("The access token is not valid.", "invalid_token", "invalid_token")
    if access.expires_at <= time.time():
        raise _unauthorized("The access token has expired.", "token_expired", "invalid_token")
    return access

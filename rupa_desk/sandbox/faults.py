"""Injected faults on the API: latency, random 429s and 5xxs, dropped connections.

Applied to the API paths (and to /oauth/token and revoke when `faults_on_token_endpoint`),
never to the web pages or to the control API. Settings are read live from `state.faults`.

A dropped connection sends the response head (with its Content-Length) and part of the body,
then raises `SimulatedDrop`: uvicorn closes the socket, and the client sees a protocol error
(incomplete body). A logging filter keeps uvicorn from reporting these as server errors.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rupa_desk.sandbox.jsonapi import ApiError, json_bytes
from rupa_desk.sandbox.request_log import annotate
from rupa_desk.sandbox.state import SandboxState

API_PREFIXES: Final = (
    "/practitioners",
    "/patients",
    "/lab_companies",
    "/lab_tests",
    "/order_intents",
    "/orders",
    "/ordered_tests",
)
TOKEN_PATHS: Final = ("/oauth/token", "/oauth/revoke_token")


class SimulatedDrop(Exception):
    """Raised mid-response to make the server close the connection (an injected fault)."""


class DropFilter(logging.Filter):
    """Hides uvicorn's traceback for injected drops (they are not server bugs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedDrop))


def is_api_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


class FaultMiddleware:
    """Adds latency and random failures to API requests."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(scope["path"]):
            await self.app(scope, receive, send)
            return
        with self.state.lock:
            settings = self.state.faults
            latency_s = settings.latency_ms / 1000
            draw = self.state.fault_rng.random()
            p429, p5xx, pdrop = settings.fault_429_rate, settings.fault_5xx_rate, settings.drop_rate
            pick_500 = self.state.fault_rng.random() < 0.3
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        if draw < p429:
            annotate(scope, fault="429")
            error = ApiError(
                429,
                "throttled",
                "Request was throttled (injected fault). Expected available in 1 second.",
                headers={"Retry-After": "1"},
            )
            await _send_error(send, error)
        elif draw < p429 + p5xx:
            annotate(scope, fault="5xx")
            if pick_500:
                error = ApiError(500, "server_error", "A server error occurred (injected fault).")
            else:
                error = ApiError(
                    503, "service_unavailable", "Service temporarily unavailable (injected fault)."
                )
            await _send_error(send, error)
        elif draw < p429 + p5xx + pdrop:
            annotate(scope, fault="drop")
            await self.app(scope, receive, _dropping(send))
        else:
            await self.app(scope, receive, send)

    def _applies(self, path: str) -> bool:
        if is_api_path(path):
            return True
        return path in TOKEN_PATHS and self.state.faults.faults_on_token_endpoint


async def _send_error(send: Send, error: ApiError) -> None:
    body = json_bytes({"errors": error.errors})
    headers = [
        (b"content-type", b"application/vnd.api+json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _dropping(send: Send) -> Send:
    """A `send` that forwards the head and half the body, then breaks the connection."""

    async def send_then_drop(message: Message) -> None:
        if message["type"] == "http.response.start":
            await send(message)
            return
        if message["type"] == "http.response.body":
            body: bytes = message.get("body", b"")
            if len(body) > 1:
                await send(
                    {
                        "type": "http.response.body",
                        "body": body[: len(body) // 2],
                        "more_body": True,
                    }
                )
            raise SimulatedDrop("connection dropped (injected fault)")
        await send(message)

    return send_then_drop

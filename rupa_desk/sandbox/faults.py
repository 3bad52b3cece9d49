"""Injected faults on the API: latency, answer delay, random 429s and 5xxs, dropped connections,
and lists whose next link points to the page itself (`self_referencing_next`).

Applied to the API paths (and to /oauth/token and revoke when `faults_on_token_endpoint`),
never to the web pages or to the control API. Settings are read live from `state.faults`.

A dropped connection sends the response head (with its Content-Length) and part of the body,
then raises `SimulatedDrop`: uvicorn closes the socket, and the client sees a protocol error
(incomplete body). A logging filter keeps uvicorn from reporting these as server errors.

Latency is waited out before a request is handled: a client that gives up meanwhile leaves
nothing behind. An answer delay is waited out after the request is handled and before its
answer is sent: a client that gives up meanwhile has still changed things (e.g. created an
order intent) without learning so. If it hangs up during the delay, nothing is sent and the
request log records 499 (the answer it never got as `handled_status`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rupa_desk.sandbox.jsonapi import ApiError, json_bytes
from rupa_desk.sandbox.request_log import CLIENT_CLOSED_REQUEST, annotate
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
    """Adds latency, answer delays and random failures to API requests."""

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
            answer_delay_ms = settings.answer_delay_ms
            draw = self.state.fault_rng.random()
            p429, p5xx, pdrop = settings.fault_429_rate, settings.fault_5xx_rate, settings.drop_rate
            pick_500 = self.state.fault_rng.random() < 0.3
            next_to_itself = settings.self_referencing_next
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        if answer_delay_ms > 0:
            send = _holding_answer(scope, receive, send, answer_delay_ms)
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
        elif next_to_itself:
            await self.app(scope, receive, _next_to_itself(scope, send))
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


def _holding_answer(scope: Scope, receive: Receive, send: Send, delay_ms: int) -> Send:
    """A `send` that holds the answer back `delay_ms` once it is ready, and drops it if the
    client hangs up meanwhile (nothing to send it to, and no server error either)."""
    client_gone = False

    async def send_later(message: Message) -> None:
        nonlocal client_gone
        if message["type"] == "http.response.start":
            annotate(scope, answer_delay_ms=delay_ms)
            if await _hangs_up_within(receive, delay_ms / 1000):
                client_gone = True
                annotate(scope, status=CLIENT_CLOSED_REQUEST, handled_status=message["status"])
        if not client_gone:
            await send(message)

    return send_later


async def _hangs_up_within(receive: Receive, seconds: float) -> bool:
    """Whether the client disconnects within `seconds` (any request body left is discarded:
    the answer is already decided)."""
    try:
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return False
    return True


def _next_to_itself(scope: Scope, send: Send) -> Send:
    """A `send` that makes a list document's `links.next` the page's own `links.self` (the
    body is held until complete, then sent with its new Content-Length)."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def send_rewritten(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        rewritten = _pointing_next_to_self(body)
        if rewritten != body:
            annotate(scope, fault="self_referencing_next")
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(rewritten)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": rewritten})

    return send_rewritten


def _pointing_next_to_self(body: bytes) -> bytes:
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        return body
    links = document.get("links")
    if not isinstance(links, dict) or not links.get("self"):
        return body
    links["next"] = links["self"]
    return json_bytes(document)


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

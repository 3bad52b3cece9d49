"""The log of served requests behind `GET /_sim/requests`, for end-to-end assertions.

Each entry: `seq, time, method, path, query, status, duration_ms, token` (a fingerprint of the
Bearer token, never the token), `fault` (`429`, `5xx`, `drop` when injected) and, for
/oauth/token, `grant_type`. `time` is when the request arrived (ISO 8601, microseconds) and
`duration_ms` how long it took until answered (latency and answer delay included), so entries
show which requests were in flight together. With an answer delay, `answer_delay_ms` is set,
and when the client left before its answer was sent, `status` is 499 and `handled_status` is
the answer it never got. Control requests (`/_sim/...`) are not logged.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rupa_desk.sandbox.clock import iso, wall_now
from rupa_desk.sandbox.state import SandboxState
from rupa_desk.sandbox.tokens import fingerprint

SCOPE_KEY: Final = "rupa_sim.log"
#: The status logged for a request whose client hung up before it was answered (as nginx's
#: "client closed request").
CLIENT_CLOSED_REQUEST: Final = 499
CONTROL_PREFIX: Final = "/_sim/"


def annotate(scope: MutableMapping[str, Any], **fields: Any) -> None:
    """Add fields to the log entry of the request being served (no-op if not logged)."""
    entry = scope.get(SCOPE_KEY)
    if isinstance(entry, dict):
        entry.update(fields)


def _token_fingerprint(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return fingerprint(token.strip())
    return None


class RequestLogMiddleware:
    """Outermost middleware: records every non-control HTTP request once it is answered."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        entry: dict[str, Any] = {
            "time": iso(wall_now()),
            "method": scope["method"],
            "path": scope["path"],
            "query": scope.get("query_string", b"").decode("latin-1"),
            "status": None,
            "token": _token_fingerprint(scope),
            "fault": None,
        }
        scope[SCOPE_KEY] = entry

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
            self._append(entry)

    def _append(self, entry: dict[str, Any]) -> None:
        with self.state.lock:
            self.state.request_seq += 1
            entry["seq"] = self.state.request_seq
            log = self.state.request_log
            log.append(entry)
            while len(log) > self.state.config.request_log_size:
                log.popleft()

"""Serve the Epic simulator: the ASGI app, and uvicorn on 127.0.0.1 in a background thread.

    with EpicServer(EpicConfig()) as epic:
        epic.fhir_base   # "http://127.0.0.1:PORT/api/FHIR/R4"

`EpicServer(config)` binds and serves before the constructor returns (`start=False` to only
bind); `stop()` shuts uvicorn down and joins its thread.
"""

from __future__ import annotations

from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rupa_desk.epic_sandbox.config import FHIR_PATH, EpicConfig
from rupa_desk.epic_sandbox.fhir_api import FhirEndpoints, FhirError, error_response
from rupa_desk.epic_sandbox.oauth import OAuthEndpoints
from rupa_desk.epic_sandbox.state import EpicState
from rupa_desk.sandbox.faults import SimulatedDrop

# Served as the Rupa simulator is: bound at once, a thread of its own, stopped and joined.
from rupa_desk.sandbox.server import LoopbackServer

_LOSE_HEADER: Final = b"x-sim-lose-answer"


def create_app(state: EpicState) -> ASGIApp:
    """The simulator's ASGI app for `state`: OAuth, discovery and the FHIR API."""

    async def fhir_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FhirError)
        return error_response(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = "not-found" if exc.status_code == 404 else "not-supported"
        return error_response(FhirError(exc.status_code, code, str(exc.detail)))

    app = Starlette(
        routes=[*OAuthEndpoints(state).routes(), *FhirEndpoints(state).routes()],
        exception_handlers={FhirError: fhir_error, HTTPException: http_error},
    )
    return _LosingAnswers(app)


class _LosingAnswers:
    """Drops the connection instead of sending an answer the app marked to be lost (the
    server acted, the client never hears)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        losing = False

        async def sending(message: Message) -> None:
            nonlocal losing
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                losing = any(name == _LOSE_HEADER for name, _ in headers)
                kept = [(name, value) for name, value in headers if name != _LOSE_HEADER]
                await send({**message, "headers": kept})
                return
            if losing and message["type"] == "http.response.body":
                raise SimulatedDrop("answer lost (injected fault)")  # uvicorn hangs up
            await send(message)

        await self.app(scope, receive, sending)


class EpicServer(LoopbackServer):
    """The Epic simulator served over real HTTP on 127.0.0.1, in a background thread.

    Attributes:
        epic: its in-memory world; hold `epic.lock` when touching it from another thread.
        url: its root URL; `fhir_base` is the FHIR API's base URL below it.
    """

    def __init__(self, config: EpicConfig | None = None, *, start: bool = True) -> None:
        self.config = config or EpicConfig()
        self.epic = EpicState(self.config)
        app = create_app(self.epic)
        super().__init__(app, self.config.port, "Epic simulator", "epic-sandbox", start=start)

    @property
    def fhir_base(self) -> str:
        """The FHIR API's base URL (what the app's settings name)."""
        return self.url + FHIR_PATH

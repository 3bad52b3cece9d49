"""Run the simulator: the ASGI app, and a uvicorn server on 127.0.0.1 in a background thread.

    with SandboxServer(SandboxConfig(lab_tests=300)) as sandbox:
        httpx.get(sandbox.url + "/_sim/info")

`SandboxServer(config)` binds its socket and starts serving before the constructor returns
(`start=False` to only bind), so `.url` is usable at once. `.stop()` shuts uvicorn down and
joins its thread; it is idempotent and is called on leaving the `with` block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import threading
from types import TracebackType
from typing import Final, Self

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from rupa_desk.sandbox import pages, web_session
from rupa_desk.sandbox.api import ApiEndpoints
from rupa_desk.sandbox.checkout import CheckoutPages
from rupa_desk.sandbox.config import SandboxConfig
from rupa_desk.sandbox.control import ControlEndpoints
from rupa_desk.sandbox.faults import DropFilter, FaultMiddleware, is_api_path
from rupa_desk.sandbox.forms import STYLESHEET_PATH
from rupa_desk.sandbox.jsonapi import ApiError, error_response
from rupa_desk.sandbox.oauth import OAuthEndpoints
from rupa_desk.sandbox.request_log import CLIENT_CLOSED_REQUEST, RequestLogMiddleware
from rupa_desk.sandbox.seed import build_state
from rupa_desk.sandbox.state import SandboxState

HOST: Final = "127.0.0.1"
START_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 10.0
_DROP_FILTER: Final = DropFilter()

logger = logging.getLogger(__name__)


class SandboxStartError(Exception):
    """The simulator could not start (e.g. its port is taken)."""


def create_app(state: SandboxState) -> ASGIApp:
    """The simulator's ASGI app for `state`: pages, OAuth, API and control API."""
    stylesheet = pages.stylesheet().encode("utf-8")

    async def home(request: Request) -> Response:
        with state.lock:
            signed_in = web_session.current(state, request)
        name = signed_in[1].titled_full_name if signed_in else None
        body = (
            '<div class="card"><h1>Rupa simulator</h1>'
            '<p class="lead">A local stand-in for Rupa Health, for Rupa Desk demo mode and '
            "tests.</p><p>Sign-in, consent and checkout pages open from Rupa Desk. The control "
            'API is at <a href="/_sim/info">/_sim/info</a>.</p></div>'
        )
        return HTMLResponse(pages.layout("Rupa simulator", body, signed_in_as=name))

    async def css(request: Request) -> Response:
        return Response(stylesheet, media_type="text/css")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        if is_api_path(path):
            code = "not_found" if exc.status_code == 404 else "method_not_allowed"
            return error_response(ApiError(exc.status_code, code, str(exc.detail)))
        if path.startswith(("/_sim/", "/oauth/token", "/oauth/revoke_token")):
            code = "not_found" if exc.status_code == 404 else "method_not_allowed"
            return JSONResponse({"error": code, "detail": str(exc.detail)}, exc.status_code)
        page = pages.error_page("Page not found", "There is nothing at this address.")
        return HTMLResponse(page, status_code=exc.status_code)

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def client_gone(request: Request, exc: Exception) -> Response:
        # The client hung up before its request body arrived (e.g. its read timed out while
        # latency was injected): nobody is left to answer, and it is not a server error.
        # 499 ("client closed request", as nginx says) is what the request log records.
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    routes = [
        Route("/", home, methods=["GET"]),
        Route(STYLESHEET_PATH, css, methods=["GET"]),
        *web_session.WebSessionPages(state).routes(),
        *OAuthEndpoints(state).routes(),
        *CheckoutPages(state).routes(),
        *ApiEndpoints(state).routes(),
        *ControlEndpoints(state).routes(),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: http_error,
            ApiError: api_error,
            ClientDisconnect: client_gone,
        },
    )
    return RequestLogMiddleware(FaultMiddleware(app, state), state)


def _bind(port: int, name: str) -> socket.socket:
    # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on each connection (with proto 0 it does
    # not, and Nagle + delayed ACK add ~40 ms to every response).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if sys.platform != "win32":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise SandboxStartError(
            f"The {name} cannot listen on {HOST}:{port} ({exc.strerror}). "
            "Is another simulator running? Pick another port, or 0 for any free one."
        ) from exc
    # Listening at once: a client that connects as soon as the address is printed waits in
    # the backlog instead of being refused while the server thread starts (asyncio's own
    # listen() later only sets the backlog again).
    sock.listen(128)
    return sock


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, telling another thread when it accepts connections, and stopping as
    soon as asked (uvicorn's own loop only notices `should_exit` on its next 0.1 s tick)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await super().startup(sockets=sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        assert self._wake is not None
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    def request_exit(self) -> None:
        """Ask the server to shut down (from any thread)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(wake.set)


class LoopbackServer:
    """An ASGI app served over real HTTP on 127.0.0.1 in a background thread (both
    simulators): bound and listening before the constructor returns, started (`start`,
    unless `start=False`), stopped and joined (`stop`, safe to call twice). `name` is how
    messages call it; its thread is "`thread`-PORT".

    Attributes:
        port: the TCP port it listens on.
        url: its base URL, e.g. "http://127.0.0.1:54321".
    """

    def __init__(
        self, app: ASGIApp, port: int, name: str, thread: str, *, start: bool = True
    ) -> None:
        self._name = name
        self._thread_name = thread
        self._socket = _bind(port, name)
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"
        self._server = _Uvicorn(
            uvicorn.Config(
                app,
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
                http="h11",
                ws="none",
                loop="asyncio",
                timeout_graceful_shutdown=2,
            )
        )
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        logging.getLogger("uvicorn.error").addFilter(_DROP_FILTER)
        if start:
            self.start()

    def start(self) -> None:
        """Serve in a background thread; returns once connections are accepted."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._serve, name=f"{self._thread_name}-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._server.ready.wait(START_TIMEOUT_S) or self._failure is not None:
            self.stop()
            raise SandboxStartError(f"The {self._name} did not start: {self._failure!r}")

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except Exception as exc:  # the thread's last words, reported by start()
            self._failure = exc
            logger.exception("The %s stopped with an error", self._name)
        finally:
            self._server.ready.set()

    def serve_forever(self) -> None:
        """Serve in the calling thread until Ctrl+C (for the command line)."""
        self._server.run(sockets=[self._socket])

    def stop(self) -> None:
        """Stop serving and join the server thread (safe to call twice)."""
        thread = self._thread
        if thread is None:
            self._socket.close()
            return
        self._server.request_exit()
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            self._server.force_exit = True
            thread.join(STOP_TIMEOUT_S)
        self._socket.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SandboxServer(LoopbackServer):
    """The Rupa simulator served over real HTTP on 127.0.0.1.

    Attributes:
        config: the configuration it was built from.
        state: its in-memory world; hold `state.lock` when touching it from another thread.
        port: the TCP port it listens on.
        url: its base URL, e.g. "http://127.0.0.1:54321" (API base, OAuth and pages).
    """

    def __init__(self, config: SandboxConfig | None = None, *, start: bool = True) -> None:
        self.config = config or SandboxConfig()
        self.state = build_state(self.config)
        self.app = create_app(self.state)
        super().__init__(self.app, self.config.port, "Rupa simulator", "rupa-sandbox", start=start)

    def __repr__(self) -> str:
        return f"SandboxServer(url={self.url!r}, running={self.running})"

"""A one-flow HTTP listener on a loopback address, and the pages it shows the browser.

Used by sign-in (the OAuth redirect, RFC 8252 §7.3) and by checkout linking (Rupa's return
to the app): `LoopbackListener` binds 127.0.0.1 (or [::1]) on port 0 or the first free
configured port *before* the browser is sent there, answers only its exact path (404 for
anything else, so a favicon request does not end the flow) and hands each request to the
flow as a `Callback`, which holds the browser's request until the flow decides the
`CallbackPage` to show. It closes in every outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import h11

from rupa_desk.core.errors import KnownError
from rupa_desk.services.errors import NoFreePort

log = logging.getLogger(__name__)

_PORT_TAKEN_ERRNOS: Final = frozenset({errno.EADDRINUSE, errno.EACCES})
_MAX_REQUEST_BYTES: Final = 64 * 1024
_REQUEST_READ_TIMEOUT_S: Final = 10.0
_HANDLER_DRAIN_TIMEOUT_S: Final = 2.0


@dataclass(frozen=True)
class CallbackPage:
    """The page the browser shows after the redirect."""

    status: int
    title: str
    message: str

    def render(self) -> bytes:
        """The page as UTF-8 HTML (title and message escaped)."""
        title = html.escape(self.title, quote=False)
        message = html.escape(self.message, quote=False)
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{title} – Rupa Desk</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;"
            "line-height:1.5;color:#222}h1{font-size:1.4em}</style></head>"
            f"<body><h1>{title}</h1><p>{message}</p></body></html>"
        ).encode()


SIGNED_IN_PAGE: Final = CallbackPage(
    200,
    "You're signed in",
    "Rupa Desk is signed in to Rupa. You can close this tab and return to Rupa Desk.",
)
CANCELLED_PAGE: Final = CallbackPage(
    200, "Sign-in cancelled", "Sign-in was cancelled in Rupa Desk. You can close this tab."
)
NOT_A_SIGN_IN_PAGE: Final = CallbackPage(
    400,
    "Not a sign-in answer",
    "This address is only for Rupa's answer to a sign-in. Return to Rupa Desk.",
)
NOT_THIS_SIGN_IN_PAGE: Final = CallbackPage(
    400,
    "Not this sign-in",
    "This answer does not belong to the sign-in Rupa Desk is waiting for (it may come from "
    "an older tab), so it was ignored. Finish signing in in the tab Rupa Desk opened last.",
)
_NOT_FOUND_PAGE: Final = CallbackPage(404, "Not found", "There is nothing here.")
_METHOD_PAGE: Final = CallbackPage(405, "Not allowed", "Only GET is answered here.")


def failure_page(error: KnownError) -> CallbackPage:
    """The page for a sign-in that did not work, with the same message the app shows."""
    return CallbackPage(
        400,
        "Sign-in did not work",
        f"{error.user_message} Return to Rupa Desk to try again.",
    )


@dataclass
class Callback:
    """One request to the listener's path, waiting for the flow to decide its page.

    Attributes:
        params: the query parameters (the first value of each name).
        page: resolved with the page to answer; see `respond`.
    """

    params: dict[str, str]
    page: asyncio.Future[CallbackPage]

    def respond(self, page: CallbackPage) -> None:
        """Answer the waiting browser with `page` (the first answer wins)."""
        if not self.page.done():
            self.page.set_result(page)


class LoopbackListener:
    """A one-flow HTTP listener on a loopback address, answering only the redirect path.

    Args:
        path: the redirect path (exact match).
        hosts: addresses to try in order (127.0.0.1, then ::1).
        ports: ports to try in order; empty means "any free port" (port 0).
        response_timeout_s: how long a callback request waits for the flow's verdict.
    """

    def __init__(
        self,
        path: str,
        hosts: tuple[str, ...],
        ports: tuple[int, ...],
        *,
        response_timeout_s: float,
    ) -> None:
        self._path = path
        self._hosts = hosts
        self._ports = ports or (0,)
        self._response_timeout_s = response_timeout_s
        self._server: asyncio.Server | None = None
        self._host = ""
        self._port = 0
        self._callbacks: asyncio.Queue[Callback] = asyncio.Queue()
        self._pending: list[Callback] = []
        self._handlers: set[asyncio.Task[Any]] = set()
        self._final_page = CANCELLED_PAGE

    @property
    def redirect_uri(self) -> str:
        """The redirect URI this listener answers (valid once started)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}{self._path}"

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._port

    async def start(self) -> None:
        """Listen on the first host that exists here, on the first of its ports that is free.

        The IPv6 fallback is for machines without IPv4 loopback, not for busy ports: a
        redirect URI on [::1] may not be the one Rupa registered.

        Raises:
            NoFreePort: every configured port is taken (or none could be opened).
        """
        last_error: OSError | None = None
        for host in self._hosts:
            for port in self._ports:
                try:
                    self._server = await asyncio.start_server(self._handle, host=host, port=port)
                except OSError as exc:
                    last_error = exc
                    log.info("sign-in listener: %s port %s not usable (%s)", host, port, exc)
                    if exc.errno in _PORT_TAKEN_ERRNOS:
                        continue  # this port is taken: try the next one
                    break  # this address does not work here: try the next host
                sockname = self._server.sockets[0].getsockname()
                self._host, self._port = host, int(sockname[1])
                log.info("sign-in listener on %s port %s", host, self._port)
                return
            else:
                break  # the host works but all its ports are taken
        raise NoFreePort() from last_error

    async def next_callback(self) -> Callback:
        """Wait for the next request to the redirect path."""
        return await self._callbacks.get()

    async def aclose(self, final_page: CallbackPage = CANCELLED_PAGE) -> None:
        """Stop listening; answer waiting requests with `final_page`; close connections."""
        self._final_page = final_page
        if self._server is not None:
            self._server.close()
        for callback in self._pending:
            callback.respond(final_page)
        if self._handlers:
            _, still_running = await asyncio.wait(
                set(self._handlers), timeout=_HANDLER_DRAIN_TIMEOUT_S
            )
            for task in still_running:  # idle pre-connects that never sent a request
                task.cancel()
            if still_running:
                await asyncio.wait(still_running)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._serve_one(reader, writer)
        except (OSError, h11.ProtocolError, TimeoutError):
            pass  # a browser that went away or spoke nonsense: nothing to answer
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_REQUEST_BYTES)
        async with asyncio.timeout(_REQUEST_READ_TIMEOUT_S):
            request = await _read_request(reader, connection)
        if request is None:
            return
        target = urlsplit(request.target.decode("ascii", "replace"))
        if target.path != self._path:
            page = _NOT_FOUND_PAGE
        elif request.method != b"GET":
            page = _METHOD_PAGE
        else:
            page = await self._callback_page(target.query)
        body = page.render()
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
            ("Referrer-Policy", "no-referrer"),
        ]
        reason = HTTPStatus(page.status).phrase.encode()
        response = h11.Response(status_code=page.status, headers=headers, reason=reason)
        writer.write(connection.send(response))
        writer.write(connection.send(h11.Data(data=body)))
        writer.write(connection.send(h11.EndOfMessage()))
        await writer.drain()

    async def _callback_page(self, query: str) -> CallbackPage:
        params: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(name, value)
        if self._server is None or not self._server.is_serving():
            return self._final_page
        callback = Callback(params, asyncio.get_running_loop().create_future())
        self._pending.append(callback)
        self._callbacks.put_nowait(callback)
        try:
            async with asyncio.timeout(self._response_timeout_s):
                return await asyncio.shield(callback.page)
        except TimeoutError:
            return CallbackPage(
                200, "Return to Rupa Desk", "Rupa Desk is finishing sign-in. Return to it."
            )
        finally:
            self._pending.remove(callback)


async def _read_request(
    reader: asyncio.StreamReader, connection: h11.Connection
) -> h11.Request | None:
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(16 * 1024)
            connection.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            return event
        return None  # the connection closed before a request

"""The one way Rupa Desk builds an `httpx.AsyncClient` for a Rupa backend.

The API client (`RupaClient`) and the OAuth endpoints (`Authenticator`) each keep one
long-lived client; both get the same explicit timeouts (`ClientLimits`), the same User-Agent
and no automatic redirects (a redirect from Rupa is an answer to look at, not to follow).
Building one also guards httpx's and httpcore's own logs (`guard_http_library_logs`): they
would otherwise log request URLs, and with them patient emails from the query. It also routes
stamina's retry notes (both clients retry with stamina) to our log (`route_retry_logs`):
stamina's own hook logs a raw `stamina.retry_scheduled` WARNING with the exception's repr,
which, with no handler on its logger, Python prints on stderr.

Every client verifies TLS with one shared `ssl.SSLContext` (`shared_tls_context`): httpx
would otherwise build a context per client and load the whole CA bundle each time (twice
while the window says "Starting…", and again at each sign-in).
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Final, Self

import httpx
import stamina
from stamina.instrumentation import RetryDetails

from rupa_desk.logs import guard_http_library_logs
from rupa_desk.settings import ClientLimits

log = logging.getLogger(__name__)

USER_AGENT: Final = "RupaDesk"


class AsyncClosing:
    """`async with` for an object that holds connections: `aclose()` on the way out."""

    async def aclose(self) -> None:
        """Close what the object holds (its HTTP connections)."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The TLS settings of every client: httpx's defaults (certificates and host names
    verified against the CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR when set), built once."""
    return httpx.create_ssl_context()


def new_http_client(
    limits: ClientLimits,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """A new `httpx.AsyncClient` with the timeouts of `limits`; the caller closes it.

    Args:
        limits: the connect, read, write and pool timeouts.
        transport: an httpx transport (tests); None for the network.
        headers: headers sent with every request, besides the User-Agent.
    """
    client = httpx.AsyncClient(
        transport=transport,
        verify=shared_tls_context(),
        timeout=httpx.Timeout(
            connect=limits.connect_timeout_s,
            read=limits.read_timeout_s,
            write=limits.write_timeout_s,
            pool=limits.pool_timeout_s,
        ),
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        follow_redirects=False,
    )
    guard_http_library_logs()  # after the client: its transport created httpcore's loggers
    route_retry_logs()
    return client


def route_retry_logs() -> None:
    """Send stamina's retry notes to our log (`log_retry`) instead of its own hooks.

    stamina keeps its hooks in one process-wide setting; setting them again is harmless.
    """
    stamina.instrumentation.set_on_retry_hooks([log_retry])


def log_retry(details: RetryDetails) -> None:
    """One line per scheduled retry, at INFO: which retry, the wait, and the failure's type
    only (its message or arguments could carry a URL with patient data)."""
    log.info(
        "retry %d in %.1f s after %s",
        details.retry_num,
        details.wait_for,
        type(details.caused_by).__name__,
    )

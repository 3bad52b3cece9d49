"""`ApiTransport`: how Rupa Desk talks to an HTTP API with bearer tokens, whichever API it is.

`RupaClient` (JSON:API) is a thin layer on it, and a client of another API (an EHR's FHIR
API) can be one too: what differs between APIs is passed in, never written here.

- `media_type`: the `Accept` header, and the `Content-Type` of request bodies.
- `error_format`: reads the body of a 400/422 answer into a `ValidationFailed`.
- `refusal_details` (optional): reads what a 403/404 answer's body says about it.
- a `PageFormat` per list: reads a page body into a `Page` (items, next link, counts).

For every request:
- a bearer token from a `TokenSource`; a 401 makes it refresh (single-flight in the source)
  and the request is sent once more.
- one `aiolimiter.AsyncLimiter` paces every request of the transport (`ClientLimits`).
- retries with stamina (exponential backoff with jitter) by `RetryPolicy`: 429 (waiting at
  least `Retry-After`), 5xx and network errors for SAFE requests; only 429 and connect errors
  for UNSENT_ONLY ones, which otherwise raise `OutcomeUnknown`.
- typed errors (`rupa_desk.services.errors`); nothing returns None for a failure.
- logs name the method, the path, the query KEYS (values such as `filter[email]` can be
  patient data), the status and the duration. Never a token, never a body.

Links the server sends are checked before they are followed: a next page only on the API's
own origin, a file only over https (plain http only to this computer, and only when the API
itself is plain http: the demo simulator). A chain of next links ends with `EndlessPages`
when a link comes back, or when it runs longer than the first page's counts allow (or than
`ClientLimits.max_pages_per_list`). Downloads are streamed to a temporary file, flushed and
renamed (atomic), and stop at `ClientLimits.max_download_bytes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import json
import logging
import math
import os
import random
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, BinaryIO, Final, Generic, Protocol, TypeAlias, TypeVar

import httpx
import stamina
from aiolimiter import AsyncLimiter

from rupa_desk.core.checkout_navigation import is_loopback_host
from rupa_desk.core.models import Page
from rupa_desk.services.errors import (
    DiskFull,
    DownloadFailed,
    EndlessPages,
    FileTooLarge,
    Forbidden,
    MalformedResponse,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RefusedLink,
    RequestRejected,
    RupaError,
    ServerError,
    SessionExpired,
    ValidationFailed,
)
from rupa_desk.services.http_client import AsyncClosing, new_http_client
from rupa_desk.services.http_errors import network_error, retry_after_seconds
from rupa_desk.settings import ClientLimits

log = logging.getLogger(__name__)

T = TypeVar("T")

_DISK_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: Pages a chain may run past the count its first page announced (a list can grow a little
#: while it is read, e.g. a new order pushes the others one place down).
SPARE_PAGES: Final = 1

#: Reads the body of a 400/422 answer (decoded JSON; None when it is not JSON) into the
#: typed error with the API's messages per field. Never raises.
ErrorFormat: TypeAlias = Callable[[object, int], ValidationFailed]
#: Reads what a 403/404 body says (checked, shortened, no secrets); () when nothing usable.
RefusalDetails: TypeAlias = Callable[[object], tuple[str, ...]]
#: Reads one page body (decoded JSON) into a `Page`: its items, its next link and counts.
#: Raises ValueError, with a message that names places and never values, for anything else.
PageFormat: TypeAlias = Callable[[object], Page[T]]


class TokenSource(Protocol):
    """Where the transport gets its bearer token (an `Authenticator`, or a test's fake)."""

    async def access_token(self) -> str:
        """A valid access token (refreshed when needed)."""
        ...

    async def token_rejected(self, token: str) -> None:
        """The API answered 401 to `token`: the next `access_token()` must refresh."""
        ...


class RetryPolicy(enum.Enum):
    """When a failed request may be sent again."""

    #: Reads, updates and idempotent creates: sending twice has the effect of sending once.
    SAFE = "safe"
    #: A create that could duplicate: only when it surely never arrived (connect, 429).
    UNSENT_ONLY = "unsent only"


class _TokenUnavailable(Exception):
    """The token source failed: its own retries are done, so the request is not retried."""

    def __init__(self, error: RupaError) -> None:
        super().__init__(str(error))
        self.error = error


class _RetryDecision:
    """stamina's backoff hook for one request: what to retry, and how long to wait.

    429s are retried up to `max_rate_limited_attempts` times, waiting at least `Retry-After`
    (plus jitter, so that concurrent requests do not come back in lockstep); 5xx and network
    errors up to `max_attempts` times with stamina's exponential backoff and jitter.
    """

    def __init__(self, policy: RetryPolicy, limits: ClientLimits) -> None:
        self._policy = policy
        self._limits = limits
        self._rate_limited = 0
        self._other_failures = 0

    def __call__(self, exc: BaseException) -> bool | float:
        if isinstance(exc, RateLimited):  # refused before anything happened: always safe
            self._rate_limited += 1
            if self._rate_limited >= self._limits.max_rate_limited_attempts:
                return False
            return exc.retry_after + random.uniform(0, self._limits.backoff_jitter_s)
        if self._policy is RetryPolicy.SAFE:
            retryable = isinstance(exc, ServerError | NetworkError)
        else:
            retryable = isinstance(exc, NetworkError) and not exc.request_sent
        if not retryable:
            return False
        self._other_failures += 1
        return self._other_failures < self._limits.max_attempts


#: A link as the guards compare it: the query as sorted pairs, so that two spellings of the
#: same address (`page[size]` or `page%5Bsize%5D`, another order) are one link.
_LinkKey: TypeAlias = tuple[str, str, int | None, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class _Chain(Generic[T]):
    """Where a chain of next links stands: how its pages are read and what it may still do."""

    read: PageFormat[T]
    followed: frozenset[_LinkKey]
    fetched: int
    allowed: int


@dataclass(frozen=True, slots=True)
class FetchedPage(Page[T]):
    """A `Page` as the transport fetched it, carrying what `next_page` needs to go on safely
    (a copy made with `dataclasses.replace` keeps it)."""

    chain: _Chain[T] | None = field(default=None, compare=False, repr=False)


class ApiTransport(AsyncClosing):
    """Bearer-token requests to one API: paced, retried, typed, logged without secrets.

    Args:
        api_base: the API's base URL; paths are joined below it, links must share its origin.
        token_source: gives bearer tokens.
        limits: timeouts, pacing, retries, page and download limits.
        media_type: the API's media type (`Accept`, and `Content-Type` of bodies).
        error_format: reads a 400/422 body into `ValidationFailed`.
        refusal_details: reads a 403/404 body into the error's `details` (None: not read).
        transport: an httpx transport (tests); None for the network.

    Use as `async with ApiTransport(...) as api:` or call `aclose()` when done.

    Attributes:
        request_count: requests sent so far, retries included (diagnostics).
    """

    def __init__(
        self,
        api_base: str,
        token_source: TokenSource,
        limits: ClientLimits,
        *,
        media_type: str,
        error_format: ErrorFormat,
        refusal_details: RefusalDetails | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._tokens = token_source
        self._refusal_details = refusal_details
        self._limits = limits
        self._media_type = media_type
        self._error_format = error_format
        self._base = httpx.URL(api_base.rstrip("/") + "/")
        self._http = new_http_client(limits, transport=transport, headers={"Accept": media_type})
        # A leaky bucket of `burst` requests draining at `rate_per_second`.
        self._limiter = AsyncLimiter(limits.burst, limits.burst / limits.rate_per_second)
        self.request_count = 0

    async def aclose(self) -> None:
        """Close the HTTP client (its connections)."""
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        """True once `aclose()` has run (no request can be sent any more)."""
        return self._http.is_closed

    # -- requests --------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        target: str | httpx.URL,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        policy: RetryPolicy,
    ) -> httpx.Response:
        """Send one request with pacing, the 401 refresh, typed errors and retries.

        Args:
            target: a path below the API base (str), or a link the API sent (`httpx.URL`).
            body: sent as JSON with the API's media type.

        Raises:
            RupaError: the typed error of the failure (`OutcomeUnknown` for an UNSENT_ONLY
                request that may have arrived).
        """
        url = self._url(target)
        content = None if body is None else json.dumps(body).encode()
        try:
            async for attempt in self._retrying(policy):
                with attempt:
                    return await self._send_once(method, url, params, content)
        except _TokenUnavailable as exc:
            raise exc.error from exc.__cause__
        except (NetworkError, ServerError) as exc:
            if policy is RetryPolicy.UNSENT_ONLY and (
                isinstance(exc, ServerError) or exc.request_sent
            ):
                raise OutcomeUnknown(exc) from exc
            raise
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def read(self, response: httpx.Response, reader: Callable[[object], T]) -> T:
        """The JSON body of `response` read by `reader`.

        Raises:
            MalformedResponse: the body is not JSON, or `reader` raised ValueError.
        """
        body = _json_body(response)
        try:
            return reader(body)
        except ValueError as exc:
            raise _malformed(response, str(exc)) from exc

    async def get(
        self,
        target: str,
        reader: Callable[[object], T],
        *,
        params: Mapping[str, str] | None = None,
    ) -> T:
        """GET `target` (retried: SAFE) and read its body with `reader`."""
        response = await self.send("GET", target, params=params, policy=RetryPolicy.SAFE)
        return self.read(response, reader)

    # -- pages -----------------------------------------------------------------------------

    async def first_page(
        self, target: str, params: Mapping[str, str] | None, read: PageFormat[T]
    ) -> Page[T]:
        """The first page of a list; continue with `next_page(page)`."""
        response = await self.send("GET", target, params=params, policy=RetryPolicy.SAFE)
        page = self.read(response, read)
        chain = _Chain(
            read, frozenset({_link_key(response.request.url)}), 1, self._pages_allowed(page)
        )
        return _fetched(page, chain)

    async def next_page(self, page: Page[T]) -> Page[T]:
        """The page after `page` (one this transport fetched), by its `next_url`.

        Raises:
            ValueError: `page` is the last page (`next_url` is None), or was not fetched here.
            EndlessPages: the link was followed before in this chain, or the chain has run
                longer than its first page said it would.
            RefusedLink: the link leads to another origin.
        """
        if page.next_url is None:
            raise ValueError("this is the last page")
        chain = page.chain if isinstance(page, FetchedPage) else None
        if chain is None:
            raise ValueError("next_page needs a page this transport fetched")
        url = self._url(httpx.URL(page.next_url))
        key = _link_key(url)
        if key in chain.followed:
            raise _endless(url, "a next link came back")
        if chain.fetched >= chain.allowed:
            raise _endless(url, f"more than {chain.allowed} pages")
        response = await self.send("GET", url, policy=RetryPolicy.SAFE)
        following = self.read(response, chain.read)
        return _fetched(
            following,
            _Chain(chain.read, chain.followed | {key}, chain.fetched + 1, chain.allowed),
        )

    async def page_at(self, link: str, read: PageFormat[T]) -> Page[T]:
        """A page of a list by a link this API sent before and the caller kept (a download
        resumed where it stopped); continue with `next_page(page)`.

        Raises:
            RefusedLink: the link leads to another origin.
        """
        url = self._url(httpx.URL(link))
        response = await self.send("GET", url, policy=RetryPolicy.SAFE)
        page = self.read(response, read)
        return _fetched(
            page, _Chain(read, frozenset({_link_key(url)}), 1, self._pages_allowed(page))
        )

    async def iterate(
        self, target: str, params: Mapping[str, str] | None, read: PageFormat[T]
    ) -> AsyncIterator[T]:
        """Every item of a list, page after page, following the next links."""
        page = await self.first_page(target, params, read)
        while True:
            for item in page.items:
                yield item
            if page.next_url is None:
                return
            page = await self.next_page(page)

    def _pages_allowed(self, first: Page[Any]) -> int:
        """How many pages a chain may have: what its first page announced (the page count,
        or the item count over this page's items), a spare one, and never past the ceiling."""
        ceiling = self._limits.max_pages_per_list
        announced = first.pages
        if announced is None and first.count is not None and first.items:
            announced = math.ceil(first.count / len(first.items))
        if announced is None:
            return ceiling
        return min(ceiling, max(1, announced) + SPARE_PAGES)

    # -- files -----------------------------------------------------------------------------

    async def download(self, url: str, destination: Path) -> Path:
        """Download a file the API linked to, to `destination`, atomically.

        The body is streamed into a temporary file beside `destination`, flushed to disk and
        renamed over it: `destination` is either the whole file or untouched. The bearer
        token is sent only to the API's own origin (a pre-signed storage URL gets none).

        Returns:
            `destination`.

        Raises:
            RefusedLink: not an https link (nor a plain-http one to this computer while the
                API itself is plain http); nothing was requested.
            FileTooLarge: the file is larger than `ClientLimits.max_download_bytes`.
            DiskFull: no space left; nothing was written.
            DownloadFailed: the file could not be written there.
            NotFound, Forbidden, NetworkError, ...: the download itself failed.
        """
        target = self._file_link(url)
        same_origin = _same_origin(target, self._base)
        try:
            async for attempt in self._retrying(RetryPolicy.SAFE):
                with attempt:
                    return await self._download_once(target, same_origin, destination)
        except _TokenUnavailable as exc:
            raise exc.error from exc.__cause__
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _file_link(self, url: str) -> httpx.URL:
        try:
            target = self._base.join(url)
        except httpx.InvalidURL as exc:
            log.warning("refused a file link that is not a URL (%s)", type(exc).__name__)
            raise RefusedLink() from exc
        plain_http_allowed = self._base.scheme == "http" and is_loopback_host(target.host)
        if target.scheme == "https" or (target.scheme == "http" and plain_http_allowed):
            return target
        log.warning("refused a file link (%s://%s)", target.scheme or "no scheme", target.host)
        raise RefusedLink()

    async def _download_once(self, target: httpx.URL, authorized: bool, destination: Path) -> Path:
        for first_try in (True, False):
            headers = {"Accept": "*/*"}
            token = ""
            if authorized:
                token = await self._token()
                headers["Authorization"] = f"Bearer {token}"
                await self._limiter.acquire()
            started = time.monotonic()
            try:
                async with self._http.stream("GET", target, headers=headers) as response:
                    self._log("GET", target, response.status_code, started)
                    if response.status_code == 401 and authorized and first_try:
                        await self._tokens.token_rejected(token)
                        continue
                    if not response.is_success:
                        await response.aread()
                        self._raise_for_status(response)
                    return await _save_stream(response, destination, self._limits)
            except httpx.TransportError as exc:
                self._log("GET", target, type(exc).__name__, started)
                raise network_error(exc) from exc
        raise SessionExpired()

    # -- the machinery ---------------------------------------------------------------------

    def _retrying(self, policy: RetryPolicy) -> AsyncIterable[stamina.Attempt]:
        limits = self._limits
        return stamina.retry_context(
            on=_RetryDecision(policy, limits),
            attempts=limits.max_attempts + limits.max_rate_limited_attempts,
            timeout=limits.retry_timeout_s,
            wait_initial=limits.backoff_initial_s,
            wait_max=limits.backoff_max_s,
            wait_jitter=limits.backoff_jitter_s,
        )

    async def _token(self) -> str:
        try:
            return await self._tokens.access_token()
        except RupaError as exc:
            raise _TokenUnavailable(exc) from exc

    async def _send_once(
        self,
        method: str,
        url: httpx.URL,
        params: Mapping[str, str] | None,
        content: bytes | None,
    ) -> httpx.Response:
        for first_try in (True, False):
            token = await self._token()
            headers = {"Authorization": f"Bearer {token}"}
            if content is not None:
                headers["Content-Type"] = self._media_type
            await self._limiter.acquire()
            self.request_count += 1
            started = time.monotonic()
            try:
                response = await self._http.request(
                    method, url, params=params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                self._log(method, url, type(exc).__name__, started, params)
                raise network_error(exc) from exc
            self._log(method, url, response.status_code, started, params)
            if response.status_code == 401 and first_try:
                await self._tokens.token_rejected(token)
                continue
            self._raise_for_status(response)
            return response
        raise AssertionError("unreachable: the second 401 raised")  # pragma: no cover

    def _raise_for_status(self, response: httpx.Response) -> None:
        """Raise the typed error of a non-2xx response."""
        status = response.status_code
        if response.is_success:
            return
        if status == 429:
            raise RateLimited(retry_after_seconds(response, self._limits))
        if status >= 500:
            raise ServerError(status)
        if status in (400, 422):
            raise self._error_format(_json_or_none(response), status)
        if status == 401:
            raise SessionExpired(status=401)
        if status in (403, 404):
            details: tuple[str, ...] = ()
            if self._refusal_details is not None:
                details = self._refusal_details(_json_or_none(response))
            if status == 403:
                raise Forbidden(status=403, details=details)
            raise NotFound(status=404, details=details)
        raise RequestRejected(status=status)

    def _url(self, target: str | httpx.URL) -> httpx.URL:
        """A path (a str) or a link from the API (an `httpx.URL`), made absolute; only URLs of
        the API's own origin are accepted."""
        if isinstance(target, str):
            url = self._base.join(target.lstrip("/"))  # below the API base, whatever its path
        else:
            url = self._base.join(target)  # a link: resolved like a browser would
        if not _same_origin(url, self._base):
            log.warning("refused a link to another origin (%s)", url.host)
            raise RefusedLink()
        return url

    def _log(
        self,
        method: str,
        url: httpx.URL,
        outcome: int | str,
        started: float,
        params: Mapping[str, str] | None = None,
    ) -> None:
        keys = sorted({*(params or {}), *(k for k, _ in url.params.multi_items())})
        query = ("?" + "&".join(f"{k}=…" for k in keys)) if keys else ""
        elapsed_ms = (time.monotonic() - started) * 1000
        if isinstance(outcome, int) and outcome < 400:
            log.debug("%s %s%s → %s in %.0f ms", method, url.path, query, outcome, elapsed_ms)
        else:
            log.info("%s %s%s → %s in %.0f ms", method, url.path, query, outcome, elapsed_ms)


def _fetched(page: Page[T], chain: _Chain[T]) -> FetchedPage[T]:
    values = {f.name: getattr(page, f.name) for f in fields(page) if f.name != "chain"}
    return FetchedPage(**values, chain=chain)


def _link_key(url: httpx.URL) -> _LinkKey:
    query = tuple(sorted(url.params.multi_items()))
    return (url.scheme, url.host, url.port, url.path, query)


def _endless(url: httpx.URL, why: str) -> EndlessPages:
    log.warning("stopped following the pages of %s: %s", url.path, why)
    return EndlessPages()


def _json_or_none(response: httpx.Response) -> object:
    """An error answer's JSON body; None when it is not JSON (or was not read: a stream)."""
    try:
        return response.json()
    except (ValueError, RecursionError, httpx.ResponseNotRead):
        return None


def _same_origin(url: httpx.URL, base: httpx.URL) -> bool:
    return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)


def _json_body(response: httpx.Response) -> object:
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:  # not JSON, bad UTF-8, absurdly nested
        raise _malformed(response, type(exc).__name__) from exc


def _malformed(response: httpx.Response, why: str) -> MalformedResponse:
    request = response.request
    log.warning("malformed answer to %s %s: %s", request.method, request.url.path, why)
    return MalformedResponse(status=response.status_code)


async def _save_stream(response: httpx.Response, destination: Path, limits: ClientLimits) -> Path:
    """Write a streamed body to `destination` atomically (temp file, fsync, rename), or
    nothing at all when it is larger than `limits.max_download_bytes`.

    File-system calls that can block (create, fsync, rename, unlink) run in a worker thread;
    chunk writes go to the page cache and return at once.
    """
    cap = limits.max_download_bytes
    announced = response.headers.get("Content-Length", "")
    if announced.isdigit() and int(announced) > cap:
        raise _too_large(response, cap)
    try:
        handle, temp_path = await asyncio.to_thread(_open_temporary_beside, destination)
    except OSError as exc:
        raise _file_error(exc) from exc
    try:
        written = 0
        async for chunk in response.aiter_bytes(limits.download_chunk_bytes):
            written += len(chunk)
            if written > cap:
                raise _too_large(response, cap)
            handle.write(chunk)
        await asyncio.to_thread(_commit, handle, temp_path, destination)
    except OSError as exc:
        await asyncio.to_thread(_discard, handle, temp_path)
        raise _file_error(exc) from exc
    except BaseException:
        await asyncio.to_thread(_discard, handle, temp_path)
        raise
    return destination


def _too_large(response: httpx.Response, cap: int) -> FileTooLarge:
    log.warning("stopped a download over %d bytes (%s)", cap, response.request.url.path)
    return FileTooLarge(cap)


def _open_temporary_beside(destination: Path) -> tuple[BinaryIO, Path]:
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    return os.fdopen(fd, "wb"), Path(name)


def _commit(handle: BinaryIO, temp_path: Path, destination: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(temp_path, destination)


def _discard(handle: BinaryIO, temp_path: Path) -> None:
    with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
        handle.close()
    temp_path.unlink(missing_ok=True)


def _file_error(exc: OSError) -> RupaError:
    log.warning("could not save a download: %s (errno %s)", type(exc).__name__, exc.errno)
    if exc.errno in _DISK_FULL_ERRNOS:
        return DiskFull()
    return DownloadFailed()

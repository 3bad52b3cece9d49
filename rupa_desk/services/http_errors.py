"""Typed errors of HTTP failures, shared by the API client and the OAuth endpoints.

- `network_error`: an httpx transport failure as `Offline`, `RequestTimeout` or
  `ConnectionDropped` (which also says whether the request may have reached the server).
- `retry_after_seconds`: the wait a 429 asks for, bounded by the client's limits.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx

from rupa_desk.services.errors import ConnectionDropped, NetworkError, Offline, RequestTimeout
from rupa_desk.settings import ClientLimits


def network_error(exc: httpx.TransportError) -> NetworkError:
    """The typed error of an httpx transport failure (did the request leave?)."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Offline()
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout()
    return ConnectionDropped()


def retry_after_seconds(response: httpx.Response, limits: ClientLimits) -> float:
    """The wait a 429 asks for: `Retry-After` seconds (or HTTP date), bounded by the limits."""
    value = response.headers.get("Retry-After", "").strip()
    wait: float | None = None
    if value:
        try:
            wait = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
                wait = when.timestamp() - time.time()
            except (TypeError, ValueError):
                wait = None
    if wait is None or wait != wait:  # missing, unreadable or NaN
        wait = limits.retry_after_default_s
    return min(max(wait, 0.0), limits.retry_after_max_s)

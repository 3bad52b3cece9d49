"""URL handling: adding query parameters, and RFC 8252 loopback redirect URI matching."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})


def add_query(url: str, params: Mapping[str, str | None]) -> str:
    """`url` with `params` added to its query; existing parameters and the fragment are kept.

    Parameters whose value is None are left out.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def redirect_uri_matches(registered: str, given: str) -> bool:
    """Whether `given` is the registered redirect URI.

    Exact match, except that for a loopback registration (127.0.0.1, [::1], localhost over
    http) the port is ignored: native apps listen on whatever port is free (RFC 8252 §7.3).
    """
    if registered == given:
        return True
    try:
        reg, giv = urlsplit(registered), urlsplit(given)
        giv_port = giv.port
    except ValueError:
        return False
    if giv.fragment or reg.hostname not in LOOPBACK_HOSTS or reg.scheme != "http":
        return False
    return (
        giv.scheme == reg.scheme
        and giv.hostname == reg.hostname
        and (giv.path or "/") == (reg.path or "/")
        and giv.query == reg.query
        and giv.username is None
        and (giv_port is None or 0 < giv_port < 65536)
    )

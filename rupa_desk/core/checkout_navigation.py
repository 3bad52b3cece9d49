"""Where the checkout may go: Rupa's own web origins, and nowhere else.

The checkout page runs under the words "Finish the order on Rupa's page". Whatever the page,
a redirect or a hostile `checkout_url` asks for, the embedded view (every main-frame
navigation, the first load included) and "Open in browser" only go to a URL whose origin is
one of the environment's web origins (`Environment.checkout_origins`). Local files,
`javascript:`, `data:`, `about:` and every other origin are refused. Frames and resources
inside Rupa's page (a payment provider's iframe, fonts) are not navigations of the page and are
not judged here.

An origin is allowed over `https`, or over plain `http` only on a loopback host (the
simulator of demo mode): a misconfigured plain-http origin never lets anything through.
The check is pure and strict: URLs with userinfo, whitespace, control characters or a
malformed host are refused, so that this parser and the browser's cannot disagree on the host.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

#: Longest URL considered (the checkout URL Rupa sends is short).
MAX_URL_CHARS: Final = 8192

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: host[:port]: a DNS name or IPv4 address, or a bracketed IPv6 address; nothing else.
_NETLOC_RE: Final = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_UNSAFE_CHARS_RE: Final = re.compile(r"[\x00-\x20\x7f\\]")


class NavigationRefused(ValueError):
    """The checkout tried to open an address that is not Rupa's; the message is for the user."""


@dataclass(frozen=True, slots=True)
class WebOrigin:
    """A web origin: scheme, lower-case host (no brackets) and port (the default filled in)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> WebOrigin:
        """The origin of an http(s) URL.

        Raises:
            ValueError: not an http(s) URL with a plain host, or it has userinfo, whitespace,
                control characters or backslashes.
        """
        if len(url) > MAX_URL_CHARS or _UNSAFE_CHARS_RE.search(url):
            raise ValueError("not a plain URL")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"not a web address: {scheme or 'no'} scheme")
        if not _NETLOC_RE.fullmatch(parts.netloc):
            raise ValueError("not a plain host")
        port = parts.port  # the regex leaves only the range to check: ValueError above 65535
        host = parts.hostname or ""
        if not host or host.startswith(".") or ".." in host:
            raise ValueError("not a plain host")
        return cls(scheme, host, port if port is not None else _DEFAULT_PORTS[scheme])

    @property
    def is_secure(self) -> bool:
        """https, or http on a loopback host (nothing leaves the computer)."""
        return self.scheme == "https" or (self.scheme == "http" and is_loopback_host(self.host))


def is_loopback_host(host: str) -> bool:
    """True for a host name or address of this computer ("localhost", 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CheckoutOrigins:
    """The web origins the checkout may navigate to (an environment's own)."""

    def __init__(self, urls: Iterable[str]) -> None:
        """Args:
        urls: URLs (or bare origins) of the environment's web app and API; those that are
            not https or loopback http are left out (they are never safe to show).

        Raises:
            ValueError: one of them is not a web address (a broken environment).
        """
        origins = (WebOrigin.of(url) for url in urls)
        self._origins = frozenset(origin for origin in origins if origin.is_secure)

    @property
    def origins(self) -> frozenset[WebOrigin]:
        return self._origins

    def check(self, url: str) -> None:
        """Pass silently when `url` may be opened as the checkout page; raise otherwise.

        Raises:
            NavigationRefused: the URL is not on one of Rupa's origins; the message says
                what kind of address it was and what to do.
        """
        try:
            origin = WebOrigin.of(url)
        except ValueError:
            origin = None
        if origin is not None and origin.is_secure and origin in self._origins:
            return
        raise NavigationRefused(
            f"Rupa Desk stopped the checkout from opening {_what(url, origin)}: only Rupa's "
            "own pages open here. The draft is safe: check it out again; if this happens "
            "again, tell whoever looks after Rupa Desk."
        )

    def allows(self, url: str) -> bool:
        """True when `url` may be opened as the checkout page (see `check`)."""
        try:
            self.check(url)
        except NavigationRefused:
            return False
        return True


def _what(url: str, origin: WebOrigin | None) -> str:
    """A few words on the kind of address, for the user (never the address itself)."""
    if origin is not None:
        return "a page of another web site"
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    if scheme == "file":
        return "a file on this computer"
    if scheme in ("javascript", "data", "blob", "about"):
        return "a page made up by the page itself"
    return "an address that is not a web page"

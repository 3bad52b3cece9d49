"""The checkout `return_url`: building it with the draft id in it, and recognising it again.

Rupa sends the practitioner to the order intent's `return_url` after checkout [C] and the
simulator appends `order=ord_…` to it [A]. Rupa Desk puts its own draft id in that URL, so
that whatever Rupa appends, the app knows which draft came back. Two endpoints exist:

- the embedded checkout view's: an `https://….invalid` address (RFC 2606: never resolves),
  caught by the web view before any request is made;
- the "Open in browser" one: the app's loopback listener on 127.0.0.1.

`parse_return_url` is the one place that decides "is this navigation our return URL, and for
which draft?". It is pure and strict: userinfo, other hosts, ports, schemes or paths are not
ours; a URL that is ours but broken raises `InvalidReturnUrl`. The `order` parameter is only
a hint (anything can navigate to a URL): the caller checks the order belongs to the draft's
order intent before linking them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from rupa_desk.core.drafts import is_draft_id
from rupa_desk.core.errors import InvalidInput

#: Query parameter carrying the draft id in our return URLs.
DRAFT_PARAM: Final = "draft"
#: Query parameter the simulator (and maybe Rupa) appends with the new order's id.
ORDER_PARAM: Final = "order"
#: Longest URL considered (browsers cap around 2 MB; ours are short).
MAX_URL_CHARS: Final = 8192
_MAX_QUERY_FIELDS: Final = 64

_ORDER_ID_RE: Final = re.compile(r"ord_[0-9A-Za-z]{7}")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

EMBEDDED_HOST: Final = "checkout-return.rupa-desk.invalid"
RETURN_PATH: Final = "/rupa-desk/checkout-return"


class InvalidReturnUrl(InvalidInput):
    """The URL is our return URL, but it cannot say which draft came back."""


def is_order_id(value: str) -> bool:
    """True for an order id: `ord_` and 7 base62 characters."""
    return _ORDER_ID_RE.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class ReturnEndpoint:
    """Where a return URL points: scheme, host, port and path, matched exactly.

    Attributes:
        scheme: "http" or "https".
        host: lower-case host name or IP address (no brackets).
        port: the port; the scheme's default port when the URL does not say.
        path: the exact path.
    """

    scheme: str
    host: str
    port: int
    path: str = RETURN_PATH

    @classmethod
    def embedded(cls) -> ReturnEndpoint:
        """The endpoint the embedded checkout view catches (never reaches the network)."""
        return cls(scheme="https", host=EMBEDDED_HOST, port=443)

    @classmethod
    def loopback(cls, port: int, host: str = "127.0.0.1") -> ReturnEndpoint:
        """The app's loopback listener, for checkout in the system browser."""
        if not 0 < port < 65536:
            raise ValueError(f"not a port: {port}")
        return cls(scheme="http", host=host, port=port)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = _DEFAULT_PORTS.get(self.scheme)
        netloc = host if self.port == default else f"{host}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"

    def url_for(self, draft_id: str) -> str:
        """The return URL for one draft."""
        if not is_draft_id(draft_id):
            raise ValueError(f"not a draft id: {draft_id!r}")
        return f"{self.base_url}?{urlencode({DRAFT_PARAM: draft_id})}"

    def matches(self, parts: SplitResult) -> bool:
        """True when a split URL points exactly at this endpoint."""
        try:
            port = parts.port
        except ValueError:
            return False
        if parts.username is not None or parts.password is not None:
            return False
        scheme = parts.scheme.lower()
        return (
            scheme == self.scheme
            and (parts.hostname or "") == self.host
            and (port if port is not None else _DEFAULT_PORTS.get(scheme)) == self.port
            and parts.path in (self.path, self.path + "/")
        )


@dataclass(frozen=True, slots=True)
class CheckoutReturn:
    """What a return URL says.

    Attributes:
        draft_id: the draft whose checkout finished.
        order_id: the new order, when Rupa appended a well-formed `order` parameter; None
            means "read the order intent to find it".
    """

    draft_id: str
    order_id: str | None


def parse_return_url(url: str, endpoints: Iterable[ReturnEndpoint]) -> CheckoutReturn | None:
    """Recognise one of our return URLs.

    Args:
        url: any URL the web view or the loopback listener saw.
        endpoints: the return endpoints of this app run.

    Returns:
        The draft (and order, if given) the URL names, or None when the URL is not ours.

    Raises:
        InvalidReturnUrl: the URL points at one of our endpoints but names no single valid
            draft (the caller stops the navigation and tells the user).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not any(endpoint.matches(parts) for endpoint in endpoints):
        return None
    if len(url) > MAX_URL_CHARS:
        raise InvalidReturnUrl(f"The return address is longer than {MAX_URL_CHARS} characters.")
    try:
        fields = parse_qsl(
            parts.query,
            keep_blank_values=True,
            max_num_fields=_MAX_QUERY_FIELDS,
            errors="strict",
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidReturnUrl("The return address has a malformed query.") from exc
    drafts = {value for name, value in fields if name == DRAFT_PARAM}
    if len(drafts) != 1:
        raise InvalidReturnUrl("The return address does not name exactly one draft.")
    (draft_id,) = drafts
    if not is_draft_id(draft_id):
        raise InvalidReturnUrl("The return address names no valid draft.")
    orders = {value for name, value in fields if name == ORDER_PARAM and is_order_id(value)}
    order_id = orders.pop() if len(orders) == 1 else None
    return CheckoutReturn(draft_id=draft_id, order_id=order_id)

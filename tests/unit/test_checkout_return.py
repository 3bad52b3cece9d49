"""Building the checkout return URL and recognising it again, hostile inputs included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rupa_desk.core.checkout_return import (
    MAX_URL_CHARS,
    CheckoutReturn,
    InvalidReturnUrl,
    ReturnEndpoint,
    is_order_id,
    parse_return_url,
)
from rupa_desk.core.drafts import new_draft_id

DRAFT = "draft_" + "0123456789abcdef" * 2
EMBEDDED = ReturnEndpoint.embedded()
LOOPBACK = ReturnEndpoint.loopback(51234)
ENDPOINTS = (EMBEDDED, LOOPBACK)


def test_the_embedded_return_url_names_the_draft_and_never_resolves() -> None:
    url = EMBEDDED.url_for(DRAFT)
    assert (
        url == f"https://checkout-return.rupa-desk.invalid/rupa-desk/checkout-return?draft={DRAFT}"
    )
    assert parse_return_url(url, ENDPOINTS) == CheckoutReturn(draft_id=DRAFT, order_id=None)


def test_the_loopback_return_url_names_port_and_draft() -> None:
    url = LOOPBACK.url_for(DRAFT)
    assert url == f"http://127.0.0.1:51234/rupa-desk/checkout-return?draft={DRAFT}"
    assert parse_return_url(url, ENDPOINTS) == CheckoutReturn(DRAFT, None)
    assert ReturnEndpoint.loopback(8080, "::1").url_for(DRAFT).startswith("http://[::1]:8080/")


def test_the_order_rupa_appends_is_picked_up() -> None:
    url = EMBEDDED.url_for(DRAFT) + "&order=ord_Ab3dE9z"
    assert parse_return_url(url, ENDPOINTS) == CheckoutReturn(DRAFT, "ord_Ab3dE9z")
    reordered = f"http://127.0.0.1:51234/rupa-desk/checkout-return/?order=ord_Ab3dE9z&draft={DRAFT}"
    assert parse_return_url(reordered, ENDPOINTS) == CheckoutReturn(DRAFT, "ord_Ab3dE9z")


@pytest.mark.parametrize(
    "order_part",
    [
        "order=ord_short",
        "order=ord_Ab3dE9zX",  # 8 characters
        "order=ORD_Ab3dE9z",
        "order=ord_Ab3dE9%21",
        "order=",
        "order=ord_Ab3dE9z&order=ord_Zz9yY8x",  # two different orders: ambiguous
        "order=ord_Ab3d%C3%A9z",
    ],
)
def test_a_malformed_or_ambiguous_order_is_ignored_not_trusted(order_part: str) -> None:
    url = f"{EMBEDDED.url_for(DRAFT)}&{order_part}"
    assert parse_return_url(url, ENDPOINTS) == CheckoutReturn(DRAFT, None)


def test_the_same_order_twice_is_still_that_order() -> None:
    url = f"{EMBEDDED.url_for(DRAFT)}&order=ord_Ab3dE9z&order=ord_Ab3dE9z#frag"
    assert parse_return_url(url, ENDPOINTS) == CheckoutReturn(DRAFT, "ord_Ab3dE9z")


def test_scheme_and_host_are_case_insensitive_and_default_ports_match() -> None:
    url = f"HTTPS://Checkout-Return.RUPA-DESK.invalid:443/rupa-desk/checkout-return?draft={DRAFT}"
    assert parse_return_url(url, ENDPOINTS) == CheckoutReturn(DRAFT, None)


@pytest.mark.parametrize(
    "url",
    [
        "https://labs.rupahealth.com/checkout/ordin_AAAAAAA",
        f"http://checkout-return.rupa-desk.invalid/rupa-desk/checkout-return?draft={DRAFT}",
        f"https://checkout-return.rupa-desk.invalid:444/rupa-desk/checkout-return?draft={DRAFT}",
        f"https://checkout-return.rupa-desk.invalid/rupa-desk/checkout-return2?draft={DRAFT}",
        f"https://checkout-return.rupa-desk.invalid/RUPA-DESK/checkout-return?draft={DRAFT}",
        f"https://evil.example/rupa-desk/checkout-return?draft={DRAFT}",
        f"https://checkout-return.rupa-desk.invalid.evil.example/rupa-desk/checkout-return?draft={DRAFT}",
        f"https://checkout-return.rupa-desk.invalid@evil.example/rupa-desk/checkout-return?draft={DRAFT}",
        f"https://user:pw@checkout-return.rupa-desk.invalid/rupa-desk/checkout-return?draft={DRAFT}",
        f"http://127.0.0.1:51235/rupa-desk/checkout-return?draft={DRAFT}",
        f"http://127.0.0.1/rupa-desk/checkout-return?draft={DRAFT}",
        f"http://localhost:51234/rupa-desk/checkout-return?draft={DRAFT}",
        f"http://127.0.0.1:99999/rupa-desk/checkout-return?draft={DRAFT}",
        f"http://[::1/rupa-desk/checkout-return?draft={DRAFT}",
        f"javascript:location='https://checkout-return.rupa-desk.invalid/?draft={DRAFT}'",
        f"data:text/html,https://checkout-return.rupa-desk.invalid/rupa-desk/checkout-return?draft={DRAFT}",
        "about:blank",
        "",
        "\x00\x01\x02",
    ],
)
def test_urls_that_are_not_ours(url: str) -> None:
    assert parse_return_url(url, ENDPOINTS) is None


@pytest.mark.parametrize(
    "query",
    [
        "",
        "draft=",
        "draft=draft_nothex",
        f"draft={DRAFT}&draft={new_draft_id()}",
        "order=ord_Ab3dE9z",
        "draft=draft_0123456789abcdef0123456789abcdeF",
        "draft=" + "draft_%2e%2e%2f" * 3,
        "draft=%ff%fe",
        "&".join(f"x{i}=1" for i in range(100)) + f"&draft={DRAFT}",
    ],
)
def test_our_url_without_a_single_valid_draft_raises(query: str) -> None:
    url = f"{EMBEDDED.base_url}?{query}"
    with pytest.raises(InvalidReturnUrl):
        parse_return_url(url, ENDPOINTS)


def test_the_same_draft_twice_is_still_that_draft() -> None:
    url = f"{EMBEDDED.url_for(DRAFT)}&draft={DRAFT}"
    assert parse_return_url(url, ENDPOINTS) == CheckoutReturn(DRAFT, None)


def test_an_overlong_return_url_raises() -> None:
    url = EMBEDDED.url_for(DRAFT) + "&pad=" + "x" * MAX_URL_CHARS
    with pytest.raises(InvalidReturnUrl, match="longer"):
        parse_return_url(url, ENDPOINTS)


def test_without_endpoints_nothing_is_ours() -> None:
    assert parse_return_url(EMBEDDED.url_for(DRAFT), ()) is None


def test_building_refuses_what_is_not_a_draft_id_or_port() -> None:
    with pytest.raises(ValueError, match="draft"):
        EMBEDDED.url_for("draft_1&order=ord_Ab3dE9z")
    with pytest.raises(ValueError, match="port"):
        ReturnEndpoint.loopback(0)


def test_order_ids() -> None:
    assert is_order_id("ord_0aZ9bY8")
    assert not is_order_id("ord_0aZ9bY8\n")
    assert not is_order_id("ordin_0aZ9bY8")


_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@given(
    draft_hex=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    order=st.none() | st.text(alphabet=_BASE62, min_size=7, max_size=7),
    extra=st.dictionaries(
        st.text(min_size=1).filter(lambda k: k not in ("draft", "order")), st.text(), max_size=5
    ),
    endpoint=st.sampled_from(ENDPOINTS),
)
def test_round_trip_with_whatever_else_rupa_appends(
    draft_hex: str, order: str | None, extra: dict[str, str], endpoint: ReturnEndpoint
) -> None:
    from urllib.parse import urlencode

    draft_id = f"draft_{draft_hex}"
    params = dict(extra)
    if order is not None:
        params["order"] = f"ord_{order}"
    url = endpoint.url_for(draft_id) + ("&" + urlencode(params) if params else "")
    result = parse_return_url(url, ENDPOINTS)
    assert result == CheckoutReturn(draft_id, None if order is None else f"ord_{order}")


@given(st.text(max_size=300))
def test_arbitrary_text_is_either_not_ours_or_a_clear_error(text: str) -> None:
    for url in (text, f"{EMBEDDED.base_url}?{text}", f"{LOOPBACK.base_url}{text}"):
        try:
            result = parse_return_url(url, ENDPOINTS)
        except InvalidReturnUrl:
            continue
        assert result is None or (result.order_id is None or is_order_id(result.order_id))


@given(st.text(max_size=100))
def test_a_foreign_host_is_never_ours(text: str) -> None:
    assert parse_return_url(f"https://evil.example/{text}", ENDPOINTS) is None

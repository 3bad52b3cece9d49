"""Where the checkout may go: only the environment's own web origins, hostile inputs included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rupa_desk.core.checkout_navigation import CheckoutOrigins, NavigationRefused, WebOrigin
from rupa_desk.settings import demo, production, rupa_sandbox

RUPA = CheckoutOrigins(["https://labs.rupahealth.com", "https://api.rupahealth.com/"])
DEMO = CheckoutOrigins(["http://127.0.0.1:8765"])


@pytest.mark.parametrize(
    "url",
    [
        "https://labs.rupahealth.com/checkout/ordin_1234567",
        "https://labs.rupahealth.com:443/checkout?x=1#top",
        "HTTPS://LABS.RupaHealth.com/login",
        "https://api.rupahealth.com/checkout/ordin_1234567",
    ],
)
def test_rupas_own_pages_are_allowed(url: str) -> None:
    assert RUPA.allows(url)
    RUPA.check(url)


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("https://evil.example/checkout", "another web site"),
        ("https://labs.rupahealth.com.evil.example/", "another web site"),
        ("https://evil-labs.rupahealth.com/", "another web site"),
        ("http://labs.rupahealth.com/checkout", "another web site"),  # not https
        ("https://labs.rupahealth.com:8443/checkout", "another web site"),
        ("file:///etc/passwd", "a file on this computer"),
        ("FILE:///C:/Users/reception/Documents", "a file on this computer"),
        ("javascript:alert(document.cookie)", "made up by the page itself"),
        ("data:text/html,<h1>Pay here</h1>", "made up by the page itself"),
        ("blob:https://labs.rupahealth.com/1234", "made up by the page itself"),
        ("about:blank", "made up by the page itself"),
        ("ftp://labs.rupahealth.com/", "not a web page"),
        ("mailto:help@rupahealth.com", "not a web page"),
        ("", "not a web page"),
        ("/checkout/relative", "not a web page"),
        # userinfo, backslashes and whitespace: parsers disagree on the host, so never ours
        ("https://labs.rupahealth.com@evil.example/", "not a web page"),
        ("https://user:pw@labs.rupahealth.com/", "not a web page"),
        ("https://labs.rupahealth.com\\@evil.example/", "not a web page"),
        ("https://evil.example\\labs.rupahealth.com/", "not a web page"),
        ("https://labs.rupahealth.com\n.evil.example/", "not a web page"),
        (" https://labs.rupahealth.com/", "not a web page"),
        ("https://labs.rupahealth.com:99999/", "not a web page"),
        ("https://labs..rupahealth.com/", "not a web page"),
        ("https://labs.rupahealth.com/" + "a" * 9000, "not a web page"),
    ],
)
def test_anything_else_is_refused_with_a_message_for_the_user(url: str, what: str) -> None:
    assert not RUPA.allows(url)
    with pytest.raises(NavigationRefused) as refused:
        RUPA.check(url)
    message = str(refused.value)
    assert what in message
    assert "The draft is safe" in message
    assert "evil" not in message  # never echoes the address
    assert "passwd" not in message


def test_plain_http_is_allowed_only_for_the_loopback_simulator() -> None:
    assert DEMO.allows("http://127.0.0.1:8765/checkout/ordin_1234567")
    assert not DEMO.allows("http://127.0.0.1:8766/checkout/ordin_1234567")  # another origin
    assert not DEMO.allows("http://localhost:8765/checkout/ordin_1234567")  # another origin
    assert not DEMO.allows("https://127.0.0.1:8765/checkout/ordin_1234567")
    assert CheckoutOrigins(["http://[::1]:8765"]).allows("http://[::1]:8765/checkout")
    assert CheckoutOrigins(["http://localhost:8765"]).allows("http://localhost:8765/checkout")


def test_a_plain_http_origin_off_this_computer_lets_nothing_through() -> None:
    """A sandbox authorize address mistyped as http:// must not open the door to it."""
    careless = CheckoutOrigins(["http://labs-sandbox.rupahealth.com"])
    assert careless.origins == frozenset()
    assert not careless.allows("http://labs-sandbox.rupahealth.com/checkout")


def test_an_origin_that_is_no_web_address_is_a_broken_environment() -> None:
    with pytest.raises(ValueError, match="not a web address"):
        CheckoutOrigins(["file:///"])


def test_each_environment_names_its_web_app_and_api_origins() -> None:
    assert production("client").checkout_origins == (
        "https://labs.rupahealth.com",
        "https://api.rupahealth.com",
    )
    assert rupa_sandbox("client").checkout_origins == (
        "https://labs-sandbox.rupahealth.com",
        "https://api-sandbox.rupahealth.com",
    )
    assert demo("http://127.0.0.1:8765/").checkout_origins == ("http://127.0.0.1:8765",)
    simulator = CheckoutOrigins(demo("http://127.0.0.1:8765").checkout_origins)
    assert simulator.origins == {WebOrigin("http", "127.0.0.1", 8765)}


@given(st.text(max_size=200))
def test_no_text_is_allowed_unless_it_is_on_one_of_the_origins(text: str) -> None:
    url = text
    if RUPA.allows(url):
        assert WebOrigin.of(url) in RUPA.origins
        assert url.lower().startswith("https://")


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=60))
def test_a_path_never_changes_the_origin(path: str) -> None:
    url = "https://labs.rupahealth.com/" + path
    if RUPA.allows(url):
        assert WebOrigin.of(url) == WebOrigin("https", "labs.rupahealth.com", 443)

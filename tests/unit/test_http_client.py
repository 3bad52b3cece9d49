"""The shared HTTP plumbing: one way to build an httpx client, one mapping of its failures."""

from __future__ import annotations

import email.utils
import ssl
import time

import httpx
import pytest

from rupa_desk.services.errors import ConnectionDropped, Offline, RequestTimeout
from rupa_desk.services.http_client import USER_AGENT, new_http_client, shared_tls_context
from rupa_desk.services.http_errors import network_error, retry_after_seconds
from rupa_desk.settings import ClientLimits

LIMITS = ClientLimits(
    connect_timeout_s=1.5,
    read_timeout_s=2.5,
    write_timeout_s=3.5,
    pool_timeout_s=4.5,
    retry_after_default_s=7.0,
    retry_after_max_s=60.0,
)


async def test_a_new_client_has_the_limits_timeouts_our_agent_and_no_redirects() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://elsewhere.test/"})

    async with new_http_client(
        LIMITS, transport=httpx.MockTransport(answer), headers={"Accept": "application/x-test"}
    ) as http:
        assert http.timeout == httpx.Timeout(connect=1.5, read=2.5, write=3.5, pool=4.5)
        response = await http.get("http://127.0.0.1:9/somewhere")
    assert response.status_code == 302  # answered, not followed
    assert len(seen) == 1
    assert seen[0].headers["User-Agent"] == USER_AGENT
    assert seen[0].headers["Accept"] == "application/x-test"


async def test_clients_share_one_tls_context_that_verifies_certificates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[ssl.SSLContext] = []
    real = httpx.create_ssl_context

    def counted() -> ssl.SSLContext:
        built.append(real())
        return built[-1]

    monkeypatch.setattr(httpx, "create_ssl_context", counted)
    shared_tls_context.cache_clear()
    try:
        for _ in range(3):
            async with new_http_client(LIMITS):
                pass
        assert len(built) == 1  # the CA bundle is loaded once, not once per client
        context = shared_tls_context()
        assert context is built[0]
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.check_hostname
    finally:
        shared_tls_context.cache_clear()


@pytest.mark.parametrize(
    ("failure", "expected", "request_sent"),
    [
        (httpx.ConnectError("refused"), Offline, False),
        (httpx.ConnectTimeout("slow"), Offline, False),
        (httpx.PoolTimeout("busy"), Offline, False),
        (httpx.ReadTimeout("slow"), RequestTimeout, True),
        (httpx.RemoteProtocolError("cut"), ConnectionDropped, True),
        (httpx.ReadError("reset"), ConnectionDropped, True),
    ],
)
def test_transport_failures_become_typed_errors_that_know_if_the_request_left(
    failure: httpx.TransportError, expected: type[Exception], request_sent: bool
) -> None:
    error = network_error(failure)
    assert type(error) is expected
    assert error.request_sent is request_sent


def limited(retry_after: str | None) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return httpx.Response(429, headers=headers)


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("3", 3.0),
        ("0.25", 0.25),
        ("-5", 0.0),  # never negative
        ("3600", 60.0),  # bounded by retry_after_max_s
        (None, 7.0),  # missing: the default
        ("soon", 7.0),  # unreadable: the default
        ("nan", 7.0),
    ],
)
def test_retry_after_seconds_reads_and_bounds_the_header(header: str | None, wait: float) -> None:
    assert retry_after_seconds(limited(header), LIMITS) == wait


def test_retry_after_may_be_an_http_date() -> None:
    in_ten_seconds = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8.0 <= retry_after_seconds(limited(in_ten_seconds), LIMITS) <= 10.0

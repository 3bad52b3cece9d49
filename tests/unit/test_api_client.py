"""RupaClient against small in-process fakes (httpx.MockTransport): error mapping, retries,
the 401 refresh, pagination, pacing, downloads and log hygiene."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rupa_desk.services import listings
from rupa_desk.services.api import RupaClient
from rupa_desk.services.errors import (
    ConnectionDropped,
    DiskFull,
    DownloadFailed,
    FileTooLarge,
    Forbidden,
    MalformedResponse,
    NetworkError,
    NotFound,
    Offline,
    OutcomeUnknown,
    RateLimited,
    RefusedLink,
    RequestRejected,
    RequestTimeout,
    ServerError,
    SessionExpired,
    ValidationFailed,
)
from tests.fixtures.fake_rupa import (
    FAKE_BASE_URL,
    FakeTokenSource,
    fast_environment,
    lab_test_resource,
    order_intent_resource,
    patient_resource,
)

Handler = Callable[[httpx.Request], httpx.Response]
ROOT = Path(__file__).resolve().parents[2]


def client_for(
    handler: Handler, tokens: FakeTokenSource | None = None, **limits: Any
) -> RupaClient:
    return RupaClient(
        fast_environment(**limits),
        tokens or FakeTokenSource(),
        transport=httpx.MockTransport(handler),
    )


def document(data: Any, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"data": data, **extra})


class Script:
    """A handler that answers each request with the next scripted answer, and records them."""

    def __init__(self, *answers: httpx.Response | type[Exception]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, type):
            raise answer("scripted failure", request=request)  # type: ignore[call-arg]
        return answer


ME = {
    "id": "pra_1",
    "type": "practitioner",
    "attributes": {"first_name": "Grace", "last_name": "Hopper", "email": "g@x.test"},
}


# --- status codes → typed errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, Forbidden), (404, NotFound), (409, RequestRejected), (418, RequestRejected)],
)
async def test_statuses_become_typed_errors(status: int, error: type[Exception]) -> None:
    script = Script(httpx.Response(status, json={"errors": [{"detail": "no"}]}))
    async with client_for(script) as client:
        with pytest.raises(error) as caught:
            await client.me()
    assert getattr(caught.value, "status", None) == status
    assert len(script.requests) == 1  # not retried


async def test_validation_errors_are_keyed_by_attribute_and_str_has_no_patient_data() -> None:
    body = {
        "errors": [
            {
                "status": "400",
                "code": "invalid",
                "detail": "'ada@' is not a valid email.",
                "source": {"pointer": "/data/attributes/email"},
            },
            {"detail": "Required.", "source": {"pointer": "/data/attributes/last_name"}},
            {"detail": "Something about the whole request."},
        ]
    }
    script = Script(httpx.Response(400, json=body))
    async with client_for(script) as client:
        with pytest.raises(ValidationFailed) as caught:
            await client.create_patient("Ada", "", "ada@")
    error = caught.value
    assert error.field_errors == {
        "email": ("'ada@' is not a valid email.",),
        "last_name": ("Required.",),
    }
    assert error.general_errors == ("Something about the whole request.",)
    assert "not a valid email" in error.user_message
    assert "ada@" not in str(error)
    assert "email" in str(error)
    assert len(script.requests) == 1


async def test_a_401_refreshes_once_and_retries_with_the_new_token() -> None:
    script = Script(httpx.Response(401), document(ME))
    tokens = FakeTokenSource()
    async with client_for(script, tokens) as client:
        me = await client.me()
    assert me.first_name == "Grace"
    assert [r.headers["Authorization"] for r in script.requests] == [
        "Bearer token-1",
        "Bearer token-2",
    ]


async def test_a_second_401_means_the_session_expired() -> None:
    script = Script(httpx.Response(401))
    tokens = FakeTokenSource()
    async with client_for(script, tokens) as client:
        with pytest.raises(SessionExpired, match="Sign in again"):
            await client.me()
    assert len(script.requests) == 2
    assert tokens.rejections == 1


# --- retries ---------------------------------------------------------------------------------


async def test_429_is_retried_after_at_least_retry_after() -> None:
    limited = httpx.Response(429, headers={"Retry-After": "0.1"})
    script = Script(limited, limited, document(ME))
    started = time.monotonic()
    async with client_for(script) as client:
        await client.me()
    assert time.monotonic() - started >= 0.2
    assert len(script.requests) == 3


async def test_a_429_that_never_ends_raises_rate_limited_with_the_wait() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "0"}))
    async with client_for(script, max_rate_limited_attempts=4) as client:
        with pytest.raises(RateLimited) as caught:
            await client.me()
    assert caught.value.retry_after == 0
    assert len(script.requests) == 4


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        (0, "1 second."),
        (0.4, "1 second."),
        (1, "1 second."),
        (1.6, "2 seconds."),
        (30, "30 seconds."),
    ],
)
def test_rate_limited_says_how_long_to_wait_in_plain_words(retry_after: float, wait: str) -> None:
    assert RateLimited(retry_after).user_message == f"Rupa is busy. Try again in {wait}"


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.Response(503), ServerError),
        (httpx.ConnectError, Offline),
        (httpx.ReadTimeout, RequestTimeout),
        (httpx.RemoteProtocolError, ConnectionDropped),
    ],
)
async def test_gets_retry_5xx_and_network_errors(
    failure: httpx.Response | type[Exception], error: type[Exception]
) -> None:
    recovering = Script(failure, failure, document(ME))
    async with client_for(recovering) as client:
        assert (await client.me()).id == "pra_1"
    assert len(recovering.requests) == 3

    failing = Script(failure)
    async with client_for(failing, max_attempts=3) as client:
        with pytest.raises(error):
            await client.me()
    assert len(failing.requests) == 3


async def test_patch_is_retried() -> None:
    script = Script(httpx.Response(502), document(order_intent_resource("ordin_1", "d1")))
    async with client_for(script) as client:
        intent = await client.update_order_intent("ordin_1", notes="")
    assert intent.id == "ordin_1"
    assert [r.method for r in script.requests] == ["PATCH", "PATCH"]
    sent = json.loads(script.requests[0].content)
    assert sent == {"data": {"type": "order_intent", "id": "ordin_1", "attributes": {"notes": ""}}}


async def test_create_patient_is_retried_and_reports_whether_it_was_new() -> None:
    existing = httpx.Response(200, json={"data": patient_resource("pat_1")})
    script = Script(httpx.ReadTimeout, existing)
    async with client_for(script) as client:
        patient, created = await client.create_patient("Ada", "Lovelace", "ada@example.test")
    assert (patient.id, created) == ("pat_1", False)
    assert len(script.requests) == 2
    assert script.requests[0].headers["Content-Type"] == "application/vnd.api+json"
    assert json.loads(script.requests[0].content)["data"]["attributes"] == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.test",
    }

    new = Script(httpx.Response(201, json={"data": patient_resource("pat_2")}))
    async with client_for(new) as client:
        assert (await client.create_patient("A", "B", "c@d.test"))[1] is True


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.Response(500)]
)
async def test_create_order_intent_is_not_resent_when_it_may_have_arrived(
    failure: httpx.Response | type[Exception],
) -> None:
    script = Script(failure, document(order_intent_resource("ordin_1", "d1")))
    async with client_for(script) as client:
        with pytest.raises(OutcomeUnknown, match="not known whether it arrived") as caught:
            await client.create_order_intent(
                "pat_1", ["labts_1"], "http://127.0.0.1/r?draft=d1", {"draft_id": "d1"}
            )
    assert len(script.requests) == 1
    assert caught.value.cause is not None


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError, httpx.Response(429, headers={"Retry-After": "0"})]
)
async def test_create_order_intent_is_resent_when_it_surely_did_not_arrive(
    failure: httpx.Response | type[Exception],
) -> None:
    script = Script(failure, document(order_intent_resource("ordin_1", "d1")))
    async with client_for(script) as client:
        intent = await client.create_order_intent(
            "pat_1", ["labts_1"], "http://127.0.0.1/r?draft=d1", {"draft_id": "d1"}, "note"
        )
    assert intent.id == "ordin_1"
    assert len(script.requests) == 2
    sent = json.loads(script.requests[-1].content)["data"]
    assert sent["attributes"] == {
        "return_url": "http://127.0.0.1/r?draft=d1",
        "metadata": {"draft_id": "d1"},
        "notes": "note",
    }
    assert sent["relationships"] == {
        "patient": {"data": {"type": "patient", "id": "pat_1"}},
        "lab_tests": {"data": [{"type": "lab_test", "id": "labts_1"}]},
    }


async def test_create_order_intent_offline_is_offline_not_unknown() -> None:
    script = Script(httpx.ConnectError)
    async with client_for(script, max_attempts=2) as client:
        with pytest.raises(Offline):
            await client.create_order_intent("pat_1", [], "http://127.0.0.1/r", {})


async def test_order_intents_for_draft_uses_the_filter_and_checks_the_match() -> None:
    page = {
        "data": [order_intent_resource("ordin_1", "d1"), order_intent_resource("ordin_2", "d2")],
        "links": {"next": None},
    }
    script = Script(httpx.Response(200, json=page))
    async with client_for(script) as client:
        found = await client.order_intents_for_draft("d1")
    assert [i.id for i in found] == ["ordin_1"]  # d2 dropped: the server ignored the filter
    assert script.requests[0].url.params["filter[metadata.draft_id]"] == "d1"


# --- pagination ------------------------------------------------------------------------------


class PagedCatalog:
    """Serves `count` lab tests in pages, with absolute or relative `links.next`."""

    def __init__(self, count: int, *, relative_links: bool = False) -> None:
        self.count = count
        self.relative_links = relative_links
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        size = int(request.url.params.get("page[size]", "50"))
        number = int(request.url.params.get("page[number]", "1"))
        start = (number - 1) * size
        items = [
            lab_test_resource(f"labts_{i}") for i in range(start, min(start + size, self.count))
        ]
        next_link = None
        if start + size < self.count:
            query = f"page[number]={number + 1}&page[size]={size}"
            next_link = (
                f"/lab_tests?{query}"
                if self.relative_links
                else (f"{FAKE_BASE_URL}/lab_tests?{query}")
            )
        return httpx.Response(
            200,
            json={
                "data": items,
                "links": {"next": next_link},
                "meta": {"pagination": {"page": number, "count": self.count}},
            },
        )


@pytest.mark.parametrize("relative_links", [False, True])
async def test_lists_follow_links_next_to_the_end(relative_links: bool) -> None:
    catalog = PagedCatalog(250, relative_links=relative_links)
    async with client_for(catalog) as client:
        ids = [test.id async for test in client.iterate(listings.lab_tests(page_size=100))]
    assert ids == [f"labts_{i}" for i in range(250)]
    assert len(catalog.requests) == 3
    assert catalog.requests[0].url.params["page[size]"] == "100"
    assert "page[number]" not in catalog.requests[0].url.params  # never computed by us


async def test_one_page_at_a_time() -> None:
    catalog = PagedCatalog(120)
    async with client_for(catalog) as client:
        first = await client.first_page(listings.lab_tests(page_size=100, include_company=True))
        assert len(first.items) == 100
        assert first.next_url is not None
        second = await client.next_page(first)
        assert [t.id for t in second.items] == [f"labts_{i}" for i in range(100, 120)]
        assert second.next_url is None
        with pytest.raises(ValueError, match="last page"):
            await client.next_page(second)
    assert catalog.requests[0].url.params["include"] == "lab_company"


async def test_page_size_is_capped_at_the_servers_maximum() -> None:
    catalog = PagedCatalog(10)
    async with client_for(catalog) as client:
        await client.first_page(listings.lab_tests(page_size=10_000))
    assert catalog.requests[0].url.params["page[size]"] == "100"


async def test_a_next_link_to_another_origin_is_refused() -> None:
    script = Script(
        httpx.Response(200, json={"data": [], "links": {"next": "http://evil.test/steal"}})
    )
    async with client_for(script) as client:
        with pytest.raises(MalformedResponse):
            [p async for p in client.iterate(listings.patients())]
    assert len(script.requests) == 1


async def test_orders_filters_are_sent_and_checked_again() -> None:
    def order(order_id: str, status: str) -> dict[str, Any]:
        return {
            "id": order_id,
            "type": "order",
            "attributes": {"status": status},
            "relationships": {"patient": {"data": {"type": "patient", "id": "pat_1"}}},
        }

    page = {"data": [order("ord_1", "Paid"), order("ord_2", "Complete")], "links": {}}
    script = Script(httpx.Response(200, json=page))
    async with client_for(script) as client:
        orders = [
            o.id async for o in client.iterate(listings.orders(patient="pat_1", status="Paid"))
        ]
    assert orders == ["ord_1"]
    params = script.requests[0].url.params
    assert params["filter[patient]"] == "pat_1"
    assert params["filter[status]"] == "Paid"


# --- malformed answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"<html>proxy login</html>"),
        httpx.Response(200, content=b"\xff\xfe not utf-8"),
        httpx.Response(200, json={"data": {"id": "pra_1", "type": "patient"}}),
        httpx.Response(200, json=[]),
    ],
)
async def test_malformed_answers_raise_malformed_response(answer: httpx.Response) -> None:
    async with client_for(Script(answer)) as client:
        with pytest.raises(MalformedResponse):
            await client.me()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=json_values | st.binary(max_size=40).map(lambda b: {"raw": b.hex()}))
def test_any_json_answer_to_a_list_gives_items_or_malformed_response(body: Any) -> None:
    async def run() -> None:
        script = Script(httpx.Response(200, content=json.dumps(body).encode()))
        async with client_for(script) as client:
            with contextlib.suppress(MalformedResponse):
                [item async for item in client.iterate(listings.lab_tests())]

    asyncio.run(run())


# --- pacing ----------------------------------------------------------------------------------


async def test_the_rate_limiter_keeps_every_window_within_the_bucket() -> None:
    """40 concurrent requests at 20/s, burst 20: ~1 s, never more than 20 + 20·T in T s."""
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(time.monotonic())
        return document(ME)

    async with client_for(handler, rate_per_second=20.0, burst=20) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.me() for _ in range(40)))
        elapsed = time.monotonic() - started
    assert elapsed >= 0.9
    sent.sort()
    for i, start in enumerate(sent):
        for end_index in range(i, len(sent)):
            window = sent[end_index] - start
            assert end_index - i + 1 <= 20 + 20 * window + 1


# --- downloads -------------------------------------------------------------------------------


PDF = b"%PDF-1.4\n" + b"x" * 200_000


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


async def test_download_is_streamed_to_the_destination(tmp_path: Path) -> None:
    script = Script(httpx.Response(200, content=PDF))
    destination = tmp_path / "results" / "ordts_1.pdf"
    async with client_for(script) as client:
        saved = await client.download("/files/ordts_1/results.pdf", destination)
    assert saved == destination
    assert destination.read_bytes() == PDF
    assert list(destination.parent.iterdir()) == [destination]
    assert script.requests[0].headers["Authorization"] == "Bearer token-1"


async def test_a_download_from_another_origin_gets_no_token(tmp_path: Path) -> None:
    script = Script(httpx.Response(200, content=PDF))
    async with client_for(script) as client:
        await client.download("https://storage.example.test/signed?sig=1", tmp_path / "r.pdf")
    assert "Authorization" not in script.requests[0].headers


async def test_a_failed_download_leaves_nothing(tmp_path: Path) -> None:
    destination = tmp_path / "r.pdf"
    async with client_for(Script(httpx.Response(404))) as client:
        with pytest.raises(NotFound):
            await client.download("/files/x.pdf", destination)
    assert files_in(tmp_path) == []


async def test_a_destination_that_cannot_be_written_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    async with client_for(Script(httpx.Response(200, content=PDF))) as client:
        with pytest.raises(DownloadFailed) as caught:
            await client.download("/files/x.pdf", blocker / "r.pdf")
    assert not isinstance(caught.value, DiskFull)


@pytest.mark.parametrize(
    "link",
    [
        "file:///etc/passwd",
        "ftp://files.example.test/results.pdf",
        "data:application/pdf;base64,JVBERi0=",
        "http://storage.example.test/results.pdf",  # plain http, not to this computer
    ],
)
async def test_a_link_that_is_not_https_is_refused_and_not_requested(
    tmp_path: Path, link: str
) -> None:
    script = Script(httpx.Response(200, content=PDF))
    async with client_for(script) as client:
        with pytest.raises(RefusedLink, match="will not open") as caught:
            await client.download(link, tmp_path / "r.pdf")
    assert not isinstance(caught.value, NetworkError)
    assert script.requests == []
    assert files_in(tmp_path) == []


async def test_plain_http_is_refused_even_to_this_computer_when_the_api_is_https(
    tmp_path: Path,
) -> None:
    script = Script(httpx.Response(200, content=PDF))
    client = RupaClient(
        fast_environment("https://api.example.test"),
        FakeTokenSource(),
        transport=httpx.MockTransport(script),
    )
    async with client:
        with pytest.raises(RefusedLink):
            await client.download("http://127.0.0.1:9/files/r.pdf", tmp_path / "r.pdf")
        await client.download("https://storage.example.test/r.pdf", tmp_path / "r.pdf")
    assert [r.url.host for r in script.requests] == ["storage.example.test"]


async def test_plain_http_to_this_computer_is_fine_when_the_api_is_too(tmp_path: Path) -> None:
    """The demo simulator: the API and its result links are http://127.0.0.1."""
    script = Script(httpx.Response(200, content=PDF))
    async with client_for(script) as client:
        await client.download("http://localhost:9/files/r.pdf", tmp_path / "a.pdf")
        await client.download(f"{FAKE_BASE_URL}/files/r.pdf", tmp_path / "b.pdf")
    assert (tmp_path / "b.pdf").read_bytes() == PDF


async def streamed(data: bytes, chunk: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "chunked"])
async def test_a_download_over_the_size_cap_is_refused_and_leaves_nothing(
    tmp_path: Path, announced: bool
) -> None:
    destination = tmp_path / "r.pdf"
    destination.write_bytes(b"the old file")
    answer = (
        httpx.Response(200, content=PDF)
        if announced
        else httpx.Response(200, content=streamed(PDF))
    )
    script = Script(answer)
    async with client_for(script, max_download_bytes=100_000) as client:
        with pytest.raises(FileTooLarge, match="larger than") as caught:
            await client.download("/files/x.pdf", destination)
    assert isinstance(caught.value, DownloadFailed)
    assert destination.read_bytes() == b"the old file"  # untouched
    assert files_in(tmp_path) == [destination]  # no partial file left
    assert len(script.requests) == 1  # not retried


async def test_a_download_at_the_size_cap_is_saved(tmp_path: Path) -> None:
    script = Script(httpx.Response(200, content=streamed(PDF)))
    async with client_for(script, max_download_bytes=len(PDF)) as client:
        await client.download("/files/x.pdf", tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes() == PDF


@pytest.fixture
def small_file_size_limit() -> Iterator[int]:
    """Files this process writes may not grow beyond 64 KiB (the kernel refuses: EFBIG)."""
    limit = 64 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous_handler)


async def test_a_full_disk_is_disk_full_and_leaves_nothing_half_written(
    tmp_path: Path, small_file_size_limit: int
) -> None:
    destination = tmp_path / "r.pdf"
    destination.write_bytes(b"the old file")
    async with client_for(Script(httpx.Response(200, content=PDF))) as client:
        with pytest.raises(DiskFull, match="disk is full"):
            await client.download("/files/x.pdf", destination)
    assert destination.read_bytes() == b"the old file"  # untouched
    assert files_in(tmp_path) == [destination]  # no temporary file left


# --- logs ------------------------------------------------------------------------------------


async def test_logs_name_the_path_but_no_token_and_no_query_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every logger at DEBUG, as a root handler sees it: httpx's own request lines too."""
    caplog.set_level(logging.DEBUG)  # the root logger: httpx, httpcore and the rest
    caplog.set_level(logging.DEBUG, logger="rupa_desk")  # (the harness set it to INFO)
    script = Script(
        httpx.Response(404),
        httpx.Response(200, json={"data": [patient_resource("pat_1")], "links": {}}),
    )
    async with client_for(script) as client:
        with pytest.raises(NotFound):
            await client.get_patient("pat_9")
        [p async for p in client.iterate(listings.patients("ada@example.test"))]
    text = caplog.text
    assert "/patients/pat_9" in text
    assert "filter[email]=…" in text
    assert "example.test" not in text  # neither ada@example.test nor ada%40example.test
    assert "token-1" not in text


async def test_retries_are_logged_by_us_and_not_by_stamina(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One line per retry in our log (the failure's type only), none on stamina's logger."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="rupa_desk")
    script = Script(httpx.Response(503), httpx.Response(200, json={"data": [], "links": {}}))
    async with client_for(script) as client:
        [p async for p in client.iterate(listings.patients("ada@example.test"))]
    assert [r for r in caplog.records if r.name.startswith("stamina")] == []
    retries = [r for r in caplog.records if r.getMessage().startswith("retry ")]
    assert len(retries) == 1
    assert retries[0].levelno == logging.INFO
    assert retries[0].name.startswith("rupa_desk.")
    assert retries[0].getMessage().endswith("after ServerError")
    assert "example.test" not in caplog.text


RETRIED_REQUEST = """
import asyncio, httpx
from rupa_desk.services.api import RupaClient
from tests.fixtures.fake_rupa import FakeTokenSource, fast_environment

answers = [httpx.Response(503), httpx.Response(200, json={"data": {
    "id": "pra_1", "type": "practitioner", "attributes": {}}})]

async def main() -> None:
    transport = httpx.MockTransport(lambda request: answers.pop(0))
    async with RupaClient(fast_environment(), FakeTokenSource(), transport=transport) as client:
        print((await client.me()).id)

asyncio.run(main())
"""


def test_a_retry_prints_nothing_on_stderr() -> None:
    """A program without logging set up (the command line before `log_to_stderr`): stamina's
    own hook would print `stamina.retry_scheduled` there through Python's last resort."""
    done = subprocess.run(
        [sys.executable, "-c", RETRIED_REQUEST],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "pra_1\n"
    assert done.stderr == ""


class FailingTokenSource(FakeTokenSource):
    """A token source whose refresh fails (it has already retried on its own)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.calls = 0

    async def access_token(self) -> str:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize("error", [Offline(), SessionExpired()])
async def test_a_token_source_failure_is_raised_as_is_and_not_retried(error: Exception) -> None:
    tokens = FailingTokenSource(error)
    script = Script(document(ME))
    async with client_for(script, tokens) as client:
        with pytest.raises(type(error)):
            await client.me()
    assert tokens.calls == 1
    assert script.requests == []


async def test_absurdly_nested_json_is_malformed_not_a_crash() -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    async with client_for(Script(httpx.Response(200, content=nested))) as client:
        with pytest.raises(MalformedResponse):
            await client.me()
    async with client_for(Script(httpx.Response(404, content=nested))) as client:
        with pytest.raises(NotFound):
            await client.me()

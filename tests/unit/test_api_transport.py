"""ApiTransport on its own, driven as another API's client would drive it (a FHIR-shaped API
with its own page and error formats), and the guards of its next-link pagination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from rupa_desk.core.models import Page
from rupa_desk.services.api_transport import ApiTransport, RetryPolicy
from rupa_desk.services.errors import EndlessPages, ValidationFailed
from rupa_desk.settings import ClientLimits
from tests.fixtures.fake_rupa import FakeTokenSource

BASE = "https://ehr.example.test/fhir/R4"
FHIR_JSON = "application/fhir+json"

Handler = Callable[[httpx.Request], httpx.Response]


def bundle_page(body: object) -> Page[str]:
    """A FHIR searchset Bundle: resource ids, the `next` link and `total`."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise ValueError("not a Bundle")
    ids = tuple(str(entry["resource"]["id"]) for entry in body.get("entry", []))
    following = [link["url"] for link in body.get("link", []) if link["relation"] == "next"]
    return Page(ids, following[0] if following else None, count=body.get("total"))


def operation_outcome(body: object, status: int) -> ValidationFailed:
    """FHIR's OperationOutcome: issues by `expression`, else general."""
    fields: dict[str, tuple[str, ...]] = {}
    general: list[str] = []
    issues = body.get("issue", []) if isinstance(body, dict) else []
    for issue in issues:
        text = issue.get("diagnostics", "Not valid.")
        for expression in issue.get("expression", []) or [None]:
            if expression is None:
                general.append(text)
            else:
                fields[expression] = (*fields.get(expression, ()), text)
    return ValidationFailed(fields, tuple(general), status=status)


def transport_for(handler: Handler, **limits: Any) -> ApiTransport:
    quick = replace(
        ClientLimits(),
        backoff_initial_s=0.001,
        backoff_max_s=0.005,
        backoff_jitter_s=0.001,
        rate_per_second=1000.0,
        burst=1000,
        **limits,
    )
    return ApiTransport(
        BASE,
        FakeTokenSource(),
        quick,
        media_type=FHIR_JSON,
        error_format=operation_outcome,
        transport=httpx.MockTransport(handler),
    )


class Bundles:
    """Serves Patient bundles; `next_of(page)` says which page number each one links to."""

    def __init__(
        self, pages: int, *, total: int | None, next_of: Callable[[int], int | None]
    ) -> None:
        self.pages = pages
        self.total = total
        self.next_of = next_of
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        number = int(request.url.params.get("_page", "1"))
        body: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {"resource": {"resourceType": "Patient", "id": f"p{number}-{i}"}} for i in (1, 2)
            ],
            "link": [],
        }
        if self.total is not None:
            body["total"] = self.total
        following = self.next_of(number)
        if following is not None:
            body["link"].append({"relation": "next", "url": f"{BASE}/Patient?_page={following}"})
        return httpx.Response(200, json=body, headers={"Content-Type": FHIR_JSON})


def asked(requests: list[httpx.Request]) -> list[str]:
    return [r.url.params.get("_page", "1") for r in requests]


async def test_another_apis_pages_are_followed_with_its_own_page_format() -> None:
    bundles = Bundles(3, total=6, next_of=lambda n: n + 1 if n < 3 else None)
    async with transport_for(bundles) as api:
        ids = [i async for i in api.iterate("Patient", {"_count": "2"}, bundle_page)]
    assert ids == ["p1-1", "p1-2", "p2-1", "p2-2", "p3-1", "p3-2"]
    assert asked(bundles.requests) == ["1", "2", "3"]
    assert str(bundles.requests[0].url) == f"{BASE}/Patient?_count=2"
    assert all(r.headers["Accept"] == FHIR_JSON for r in bundles.requests)
    assert all(r.headers["Authorization"] == "Bearer token-1" for r in bundles.requests)


async def test_another_apis_error_format_gives_the_field_messages() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "diagnostics": "Required.", "expression": ["Patient.name"]},
            {"severity": "error", "diagnostics": "Try later."},
        ],
    }
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(422, json=outcome)

    async with transport_for(handler) as api:
        with pytest.raises(ValidationFailed) as caught:
            await api.send(
                "POST", "Patient", body={"resourceType": "Patient"}, policy=RetryPolicy.SAFE
            )
    assert caught.value.field_errors == {"Patient.name": ("Required.",)}
    assert caught.value.general_errors == ("Try later.",)
    assert caught.value.status == 422
    assert requests[0].headers["Content-Type"] == FHIR_JSON


async def test_a_chain_longer_than_its_total_allows_ends_with_endless_pages() -> None:
    """Fresh links forever, but `total` 6 at 2 a page is 3 pages: one spare, then stop."""
    bundles = Bundles(10**6, total=6, next_of=lambda n: n + 1)
    async with transport_for(bundles) as api:
        with pytest.raises(EndlessPages, match="more pages than it said it had"):
            [i async for i in api.iterate("Patient", None, bundle_page)]
    assert asked(bundles.requests) == ["1", "2", "3", "4"]


async def test_a_chain_without_counts_stops_at_the_ceiling() -> None:
    bundles = Bundles(10**6, total=None, next_of=lambda n: n + 1)
    async with transport_for(bundles, max_pages_per_list=7) as api:
        with pytest.raises(EndlessPages):
            [i async for i in api.iterate("Patient", None, bundle_page)]
    assert len(bundles.requests) == 7


async def test_a_next_link_that_comes_back_ends_with_endless_pages() -> None:
    """1 → 2 → 3 → 2: the second visit to page 2 is never asked for."""
    bundles = Bundles(3, total=None, next_of=lambda n: 2 if n == 3 else n + 1)
    async with transport_for(bundles) as api:
        first = await api.first_page("Patient", {"_page": "1"}, bundle_page)
        second = await api.next_page(first)
        third = await api.next_page(second)
        with pytest.raises(EndlessPages):
            await api.next_page(third)
        again = await api.next_page(first)  # a chain is a value: going on from page 1 is fine
    assert again.items == second.items
    assert asked(bundles.requests) == ["1", "2", "3", "2"]


async def test_the_same_link_spelled_differently_is_the_same_link() -> None:
    """`a=1&b=2` and `b=2&a=1` (or `%5B` for `[`) are one page."""

    def handler(request: httpx.Request) -> httpx.Response:
        following = f"{BASE}/Patient?b=2&page%5Bn%5D=1&a=1"
        body = {
            "resourceType": "Bundle",
            "entry": [],
            "link": [{"relation": "next", "url": following}],
        }
        return httpx.Response(200, json=body)

    async with transport_for(handler) as api:
        first = await api.first_page("Patient", {"a": "1", "page[n]": "1", "b": "2"}, bundle_page)
        with pytest.raises(EndlessPages):
            await api.next_page(first)


async def test_next_page_of_a_page_it_did_not_fetch_is_a_bug() -> None:
    async with transport_for(Bundles(1, total=None, next_of=lambda n: None)) as api:
        with pytest.raises(ValueError, match="fetched"):
            await api.next_page(Page(("x",), f"{BASE}/Patient?_page=2"))

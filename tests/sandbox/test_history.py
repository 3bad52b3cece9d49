"""The clinic history the reports need: thousands of orders over two years, read over HTTP."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import httpx

from rupa_desk.sandbox.config import SandboxConfig
from rupa_desk.sandbox.seed import build_state
from tests.fixtures.sandbox import SandboxControl, SandboxFactory, small_config

ALL_STATUSES = {
    "Pending Payment",
    "Paid",
    "In Progress",
    "Sample Received",
    "Partial Results",
    "Complete",
    "Canceled",
}


def _orders(config: SandboxConfig) -> list[tuple[Any, ...]]:
    state = build_state(config)
    return [
        (o.id, o.status, o.patient_id, o.total_price, o.date_paid is None, len(o.ordered_test_ids))
        for o in state.orders.values()
    ]


def test_the_history_is_the_same_for_the_same_seed_and_leaves_the_rest_alone() -> None:
    plain = _orders(small_config())
    with_history = _orders(small_config(history_orders=300))
    again = _orders(small_config(history_orders=300))
    assert [o[1:] for o in with_history] == [o[1:] for o in again]
    assert with_history[: len(plain)] == plain
    assert len(with_history) == len(plain) + 300


def _read_all(http: httpx.Client) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], int]:
    orders: list[dict[str, Any]] = []
    included: dict[str, dict[str, Any]] = {}
    url: str | None = "/orders?page[size]=100&include=ordered_tests"
    pages = 0
    while url is not None:
        body = http.get(url).raise_for_status().json()
        pages += 1
        orders += body["data"]
        for resource in body.get("included", []):
            included[resource["id"]] = resource
        url = body["links"]["next"]
    return orders, included, pages


def test_history_orders_are_listed_page_by_page_in_every_status_with_lab_spreads(
    sandbox_factory: SandboxFactory,
) -> None:
    server = sandbox_factory(
        small_config(history_orders=2500, rate_limit_per_s=1000, rate_burst=1000)
    )
    with SandboxControl(server.url) as control:
        token = control.issue_tokens()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30.0) as http:
        orders, included, pages = _read_all(http)
        catalog: dict[str, dict[str, Any]] = {}
        url: str | None = "/lab_tests?page[size]=100"
        while url is not None:
            body = http.get(url).raise_for_status().json()
            catalog.update({t["id"]: t for t in body["data"]})
            url = body["links"]["next"]

    assert len(orders) == 2500 + 21
    assert pages == 26
    assert {o["attributes"]["status"] for o in orders} == ALL_STATUSES
    submitted = [datetime.fromisoformat(o["attributes"]["date_submitted"]) for o in orders]
    assert submitted == sorted(submitted, reverse=True)  # newest first
    assert max(submitted) - min(submitted) > timedelta(days=700)

    # per lab company: days from payment to results, against the advertised turnaround
    ratios: dict[str, list[float]] = defaultdict(list)
    for order in orders:
        attributes = order["attributes"]
        if attributes["status"] == "Canceled":
            tests = order["relationships"]["ordered_tests"]["data"]
            assert all(included[t["id"]]["attributes"]["results_pdf"] is None for t in tests), (
                "a canceled order has no results"
            )
            continue
        if attributes["date_paid"] is None:
            continue
        paid = datetime.fromisoformat(attributes["date_paid"])
        for link in order["relationships"]["ordered_tests"]["data"]:
            test = included[link["id"]]
            received = test["attributes"]["date_results_received_from_lab"]
            if received is None:
                continue
            lab_test = catalog[test["relationships"]["lab_test"]["data"]["id"]]
            days = (datetime.fromisoformat(received) - paid).total_seconds() / 86400
            assert days > 0
            company = lab_test["relationships"]["lab_company"]["data"]["id"]
            ratios[company].append(days / lab_test["attributes"]["estimated_days_for_results"])
    medians = [statistics.median(r) for r in ratios.values() if len(r) >= 20]
    assert len(medians) >= 5
    assert max(medians) - min(medians) > 0.2, "labs differ in pace"
    every = [x for r in ratios.values() for x in r]
    late = sum(1 for x in every if x > 2.0)
    assert 0 < late < len(every) * 0.1, "some, not most, results come far later than advertised"

"""Each practice report over a simulator clinic's history, checked against the simulator's
own data read over its API with plain httpx and json (not through the app's parser)."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from rupa_desk.core.reports import ReportFilters
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.order_history import OrderHistoryDownload
from rupa_desk.services.reports import PracticeReports
from rupa_desk.services.store import Store
from rupa_desk.services.sync import CatalogSync
from tests.fixtures.orders_env import client_for
from tests.fixtures.sandbox import SandboxControl, small_config

ZONE = ZoneInfo("America/Los_Angeles")
OPEN = {"Pending Payment", "Paid", "In Progress", "Sample Received", "Partial Results"}


@dataclass
class Clinic:
    """The simulator's data as its API serves it, and a store that downloaded it."""

    orders: list[dict[str, Any]]
    tests: dict[str, dict[str, Any]]  # ordered tests by id
    catalog: dict[str, dict[str, Any]]  # lab tests by id
    companies: dict[str, str]  # lab company names by id
    store: Store
    reports: PracticeReports
    today: date


def _read(http: httpx.Client, path: str) -> tuple[list[Any], list[Any]]:
    data: list[Any] = []
    included: list[Any] = []
    link: str | None = path
    while link is not None:
        body = http.get(link).raise_for_status().json()
        data += body["data"]
        included += body.get("included", [])
        link = body["links"]["next"]
    return data, included


async def _download(url: str, store: Store) -> None:
    async with client_for(url, rate_per_second=1000, burst=1000) as client:
        await CatalogSync(client, store.path, account_db=store.db).run()
        await OrderHistoryDownload(
            client, store.orders, store.order_history, patients=store.patients
        ).run()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    config = small_config(history_orders=1200, rate_limit_per_s=1000, rate_burst=1000)
    with SandboxServer(config) as server:
        with SandboxControl(server.url) as control:
            token = control.issue_tokens()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            orders, included = _read(http, "/orders?page[size]=100&include=ordered_tests")
            lab_tests, _ = _read(http, "/lab_tests?page[size]=100")
            companies, _ = _read(http, "/lab_companies?page[size]=100")
        paths = AppPaths.under(tmp_path_factory.mktemp("reports"))
        with Store.for_account(paths, "demo", "pra_demo") as store:
            asyncio.run(_download(server.url, store))
            reports = PracticeReports(store, zone=ZONE)
            yield Clinic(
                orders=orders,
                tests={t["id"]: t for t in included if t["type"] == "ordered_test"},
                catalog={t["id"]: t for t in lab_tests},
                companies={c["id"]: c["attributes"]["name"] for c in companies},
                store=store,
                reports=reports,
                today=datetime.now(ZONE).date(),
            )


def _day(text: str) -> date:
    return datetime.fromisoformat(text).astimezone(ZONE).date()


def _whole(clinic: Clinic) -> ReportFilters:
    return ReportFilters(clinic.today - timedelta(days=800), clinic.today)


def _in_range(order: dict[str, Any], filters: ReportFilters, field: str = "date_submitted") -> bool:
    value = order["attributes"][field]
    return value is not None and filters.start <= _day(value) <= filters.end


def _tests_of(clinic: Clinic, order: dict[str, Any]) -> list[dict[str, Any]]:
    return [clinic.tests[t["id"]] for t in order["relationships"]["ordered_tests"]["data"]]


def _lab_test(clinic: Clinic, ordered: dict[str, Any]) -> dict[str, Any]:
    return clinic.catalog[ordered["relationships"]["lab_test"]["data"]["id"]]


def test_the_pipeline_counts_open_orders_by_status(clinic: Clinic) -> None:
    filters = _whole(clinic)
    expected = Counter(
        o["attributes"]["status"]
        for o in clinic.orders
        if o["attributes"]["status"] in OPEN and _in_range(o, filters)
    )
    rows = clinic.reports.pipeline(filters)
    assert {r.status: r.orders for r in rows} == dict(expected)
    assert [r.status for r in rows] == [s for s in OPEN_ORDER if s in expected]
    paid = clinic.reports.pipeline_orders(filters, "Paid")
    assert set(paid) == {
        o["id"]
        for o in clinic.orders
        if o["attributes"]["status"] == "Paid" and _in_range(o, filters)
    }


OPEN_ORDER = ["Pending Payment", "Paid", "In Progress", "Sample Received", "Partial Results"]


def test_late_and_unpaid_orders_need_a_follow_up_until_one_is_noted(clinic: Clinic) -> None:
    filters = _whole(clinic)
    expected: dict[str, tuple[str, int]] = {}
    for order in clinic.orders:
        attributes = order["attributes"]
        if attributes["status"] not in OPEN or not _in_range(order, filters):
            continue
        if attributes["date_paid"] is None:
            due = _day(attributes["date_submitted"]) + timedelta(days=7)
            if due < clinic.today:
                expected[order["id"]] = ("unpaid", (clinic.today - due).days)
            continue
        waiting = [
            _lab_test(clinic, t)["attributes"]["estimated_days_for_results"]
            for t in _tests_of(clinic, order)
            if t["attributes"]["date_results_received_from_lab"] is None
        ]
        if waiting:
            due = _day(attributes["date_paid"]) + timedelta(days=max(waiting))
            if due < clinic.today:
                expected[order["id"]] = ("late", (clinic.today - due).days)
    rows = clinic.reports.late(filters)
    assert {r.order_id: (r.reason, r.days_late) for r in rows} == expected
    assert {r.reason for r in rows} == {"late", "unpaid"}
    assert [r.days_late for r in rows] == sorted((r.days_late for r in rows), reverse=True)
    assert all(r.patient_name for r in rows), "each row names the patient"

    count = clinic.reports.follow_up_count()
    assert count == len(expected)
    clinic.reports.mark_followed_up(rows[0].order_id, "Front desk (Sam)")
    assert clinic.reports.follow_up_count() == count - 1
    [marked] = [r for r in clinic.reports.late(filters) if r.order_id == rows[0].order_id]
    assert marked.followed_up_by == "Front desk (Sam)"
    assert marked.followed_up_at is not None


def test_turnaround_per_lab_company_leaves_out_canceled_orders_and_missing_results(
    clinic: Clinic,
) -> None:
    filters = _whole(clinic)
    days: dict[str, list[int]] = defaultdict(list)
    advertised: dict[str, list[int]] = defaultdict(list)
    for order in clinic.orders:
        attributes = order["attributes"]
        if attributes["status"] == "Canceled" or attributes["date_paid"] is None:
            continue
        if not _in_range(order, filters):
            continue
        for ordered in _tests_of(clinic, order):
            received = ordered["attributes"]["date_results_received_from_lab"]
            if received is None:
                continue  # partial results: only the tests that have theirs count
            lab_test = _lab_test(clinic, ordered)
            name = clinic.companies[lab_test["relationships"]["lab_company"]["data"]["id"]]
            days[name].append((_day(received) - _day(attributes["date_paid"])).days)
            advertised[name].append(lab_test["attributes"]["estimated_days_for_results"])
    rows = {r.lab_company: r for r in clinic.reports.turnaround(filters)}
    assert set(rows) == set(days)
    for name, taken in days.items():
        ranked = sorted(taken)
        assert rows[name].tests == len(taken)
        assert rows[name].median_days == statistics.median(taken)
        assert rows[name].p90_days == ranked[math.ceil(0.9 * len(ranked)) - 1]
        assert rows[name].advertised_days == statistics.median(advertised[name])


def test_popularity_counts_each_test_of_the_orders_not_canceled(clinic: Clinic) -> None:
    filters = _whole(clinic)
    counts: Counter[tuple[str, str]] = Counter()
    for order in clinic.orders:
        if order["attributes"]["status"] == "Canceled" or not _in_range(order, filters):
            continue
        for ordered in _tests_of(clinic, order):
            lab_test = _lab_test(clinic, ordered)
            company = clinic.companies[lab_test["relationships"]["lab_company"]["data"]["id"]]
            counts[lab_test["attributes"]["name"], company] += 1
    rows = clinic.reports.popularity(filters, limit=10)
    assert len(rows) == 10
    assert [r.orders for r in rows] == sorted(counts.values(), reverse=True)[:10]
    assert all(counts[r.lab_test, r.lab_company] == r.orders for r in rows)


def test_revenue_by_month_paid_in_cents_for_one_practitioner(clinic: Clinic) -> None:
    practitioner = clinic.orders[0]["relationships"]["patients_practitioner"]["data"]["id"]
    filters = ReportFilters(
        clinic.today - timedelta(days=200), clinic.today - timedelta(days=20), practitioner
    )
    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for order in clinic.orders:
        attributes = order["attributes"]
        mine = order["relationships"]["patients_practitioner"]["data"]["id"] == practitioner
        if not mine or attributes["status"] == "Canceled":
            continue
        if not _in_range(order, filters, "date_paid"):
            continue
        month = _day(attributes["date_paid"]).strftime("%Y-%m")
        expected[month][0] += 1
        expected[month][1] += int(Decimal(str(attributes["total_price"])) * 100)
    rows = clinic.reports.revenue(filters)
    assert {r.month: [r.orders, r.total_cents] for r in rows} == dict(expected)
    assert all(isinstance(r.total_cents, int) for r in rows)
    assert len(rows) >= 6


def test_a_lab_company_filter_keeps_only_its_tests(clinic: Clinic) -> None:
    whole = _whole(clinic)
    busiest = clinic.reports.turnaround(whole)[0]
    [company_id] = [k for k, v in clinic.companies.items() if v == busiest.lab_company]
    filters = ReportFilters(whole.start, whole.end, lab_company_id=company_id)
    assert [r.lab_company for r in clinic.reports.turnaround(filters)] == [busiest.lab_company]
    assert {r.lab_company for r in clinic.reports.popularity(filters)} == {busiest.lab_company}
    assert sum(r.orders for r in clinic.reports.pipeline(filters)) <= sum(
        r.orders for r in clinic.reports.pipeline(whole)
    )


def test_csv_has_a_header_one_row_per_item_and_iso_dates(clinic: Clinic) -> None:
    filters = _whole(clinic)
    text = clinic.reports.csv("late", filters)
    lines = text.splitlines()
    assert lines[0].startswith("order_id,patient_name,status,reason,submitted,due,days_late")
    assert len(lines) == 1 + len(clinic.reports.late(filters))
    first = lines[1].split(",")
    date.fromisoformat(first[4])
    date.fromisoformat(first[5])

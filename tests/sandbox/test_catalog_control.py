"""Catalog changes through the control API, seen by the next listing; deterministic data."""

from __future__ import annotations

import time
from typing import Any

import httpx

from rupa_desk.sandbox.server import SandboxServer
from tests.fixtures.sandbox import SandboxControl, SandboxFactory


def all_tests(api: httpx.Client, **params: Any) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    url: str | None = "/lab_tests"
    query: dict[str, Any] | None = {"page[size]": 100, **params}
    while url:
        body = api.get(url, params=query).json()
        found.update({t["id"]: t for t in body["data"]})
        url, query = body["links"]["next"], None
    return found


def test_catalog_changes_show_in_the_next_listing(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    before = all_tests(api)
    assert len(before) == 300
    ids = list(before)
    renamed, removed = ids[0], ids[1]
    company = before[ids[2]]["relationships"]["lab_company"]["data"]["id"]

    result = sandbox_control.change_catalog(
        add=[{"name": "Zonulin Family Panel", "price": 149.5, "lab_company": company}],
        change={renamed: {"name": "Hemoglobin A1c (renamed)", "price": 19.0}},
        remove=[removed],
    )
    [added] = result["added"]
    assert result["changed"] == [renamed]
    assert result["removed"] == [removed]
    assert result["count"] == 300

    after = all_tests(api)
    assert set(after) == (set(before) - {removed}) | {added}
    assert after[renamed]["attributes"]["name"] == "Hemoglobin A1c (renamed)"
    assert after[renamed]["attributes"]["price"] == 19.0
    assert after[renamed]["attributes"]["updated_at"] > before[renamed]["attributes"]["updated_at"]
    assert after[added]["attributes"]["name"] == "Zonulin Family Panel"
    assert after[added]["relationships"]["lab_company"]["data"]["id"] == company
    assert api.get(f"/lab_tests/{removed}").status_code == 404

    by_company = all_tests(api, **{"filter[lab_company]": company})
    assert added in by_company


def test_adding_many_tests_and_deactivating_one(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    result = sandbox_control.change_catalog(add=25)
    assert len(result["added"]) == 25
    assert result["count"] == 325
    some = result["added"][0]
    sandbox_control.change_catalog(change={some: {"is_active": False}})
    listed = api.get(f"/lab_tests/{some}").json()["data"]["attributes"]
    assert listed["is_active"] is False
    active = all_tests(api, **{"filter[is_active]": "true"})
    assert some not in active


def test_catalog_changes_are_all_or_nothing(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    before = all_tests(api)
    some = next(iter(before))
    response = sandbox_control.client.post(
        "/_sim/catalog",
        json={"change": {some: {"name": "Changed"}}, "remove": ["labts_0000000"]},
    )
    assert response.status_code == 404
    assert response.json()["ids"] == ["labts_0000000"]
    assert all_tests(api)[some]["attributes"]["name"] == before[some]["attributes"]["name"]

    bad = sandbox_control.client.post("/_sim/catalog", json={"change": {some: {"color": "red"}}})
    assert bad.status_code == 400


def test_the_same_seed_gives_the_same_data(sandbox_factory: SandboxFactory) -> None:
    first, second, other = (
        sandbox_factory(),
        sandbox_factory(),
        sandbox_factory(seed=8),
    )

    def snapshot(server: SandboxServer) -> list[Any]:
        with SandboxControl(server.url) as control, httpx.Client(base_url=server.url) as http:
            headers = {"Authorization": f"Bearer {control.issue_tokens()['access_token']}"}
            tests = http.get("/lab_tests", params={"page[size]": 100}, headers=headers).json()
            patients = http.get("/patients", headers=headers).json()
            return [tests["data"], patients["data"], control.info()["demo_practitioner_id"]]

    assert snapshot(first) == snapshot(second)
    assert snapshot(first) != snapshot(other)


def test_a_100000_test_catalog_starts_fast_and_pages_fast(
    sandbox_factory: SandboxFactory,
) -> None:
    started = time.perf_counter()
    server = sandbox_factory(lab_tests=100_000)
    startup = time.perf_counter() - started
    assert startup < 20, f"startup took {startup:.1f}s (a few seconds expected)"
    with SandboxControl(server.url) as control, httpx.Client(base_url=server.url) as http:
        headers = {"Authorization": f"Bearer {control.issue_tokens()['access_token']}"}
        started = time.perf_counter()
        body = http.get(
            "/lab_tests", params={"page[number]": 1000, "page[size]": 100}, headers=headers
        ).json()
        elapsed = time.perf_counter() - started
    assert body["meta"]["pagination"] == {"page": 1000, "pages": 1000, "count": 100_000}
    assert body["links"]["next"] is None
    assert len({t["attributes"]["name"] for t in body["data"]}) > 50
    assert elapsed < 2, f"the last page took {elapsed:.2f}s"

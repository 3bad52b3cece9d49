"""Every read endpoint's shape, filters, includes and pagination, over real HTTP.

These tests only read, so they share one simulator per module (it is stopped at the end).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from rupa_desk.sandbox.server import SandboxServer
from tests.fixtures.sandbox import SandboxControl, small_config
from tests.sandbox.documents import JSONAPI, assert_error, assert_resource

LIFECYCLE = ["Pending Payment", "Paid", "In Progress", "Sample Received", "Partial Results"]
ALL_STATUSES = [*LIFECYCLE, "Complete", "Canceled"]


@pytest.fixture(scope="module")
def shared() -> Iterator[SandboxServer]:
    with SandboxServer(small_config(rate_limit_per_s=1000, rate_burst=1000)) as server:
        yield server


@pytest.fixture(scope="module")
def info(shared: SandboxServer) -> dict[str, Any]:
    with SandboxControl(shared.url) as control:
        return control.info()


@pytest.fixture
def client(shared: SandboxServer) -> Iterator[httpx.Client]:
    with SandboxControl(shared.url) as control:
        token = control.issue_tokens()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=shared.url, headers=headers, timeout=10.0) as http:
        yield http


def get(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSONAPI
    body: dict[str, Any] = response.json()
    return body


def walk(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every resource of a list, following links.next to the end."""
    body = get(client, path, **params)
    items = list(body["data"])
    pages = 1
    while body["links"]["next"]:
        response = client.get(body["links"]["next"])
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["data"])
        pages += 1
    assert pages == body["meta"]["pagination"]["pages"]
    assert len(items) == body["meta"]["pagination"]["count"]
    return items


def is_timestamp(value: str) -> bool:
    moment = datetime.fromisoformat(value)
    return moment.tzinfo is not None


def test_every_api_request_needs_a_valid_bearer_token(shared: SandboxServer) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = httpx.get(shared.url + "/practitioners/me", headers=headers)
        assert_error(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_practitioner_me_includes_the_clinic(client: httpx.Client, info: dict[str, Any]) -> None:
    body = get(client, "/practitioners/me")
    me = body["data"]
    assert_resource(me, "practitioner", "pra")
    assert me["id"] == info["demo_practitioner_id"]
    attributes = me["attributes"]
    assert set(attributes) == {"first_name", "last_name", "titled_full_name", "email", "phone"}
    assert attributes["titled_full_name"] == "Dr. Morgan Demo"
    clinic_link = me["relationships"]["clinic"]["data"]
    assert clinic_link == {"type": "clinic", "id": info["clinic_id"]}
    [clinic] = body["included"]
    assert_resource(clinic, "clinic", "cli")
    assert clinic["id"] == info["clinic_id"]
    assert clinic["attributes"]["name"]


def test_practitioners_lists_the_clinic_only(client: httpx.Client, info: dict[str, Any]) -> None:
    practitioners = walk(client, "/practitioners")
    assert len(practitioners) == 4
    for practitioner in practitioners:
        assert_resource(practitioner, "practitioner", "pra")
        assert practitioner["relationships"]["clinic"]["data"]["id"] == info["clinic_id"]
    assert "other@rupa-desk.test" not in {p["attributes"]["email"] for p in practitioners}


def test_patients_shape_filter_and_get(client: httpx.Client) -> None:
    patients = walk(client, "/patients", **{"page[size]": 7})
    assert len(patients) == 30
    first = patients[0]
    assert_resource(first, "patient", "pat")
    attributes = first["attributes"]
    assert set(attributes) == {
        "first_name",
        "last_name",
        "email",
        "birthday",
        "phone",
        "gender",
        "address",
    }
    assert set(attributes["address"]) == {"street_1", "street_2", "city", "state", "zip"}
    datetime.strptime(attributes["birthday"], "%Y-%m-%d")

    found = get(client, "/patients", **{"filter[email]": attributes["email"].upper()})
    assert [p["id"] for p in found["data"]] == [first["id"]]
    assert get(client, "/patients", **{"filter[email]": "nobody@example.com"})["data"] == []

    assert get(client, f"/patients/{first['id']}")["data"] == first
    assert_error(client.get("/patients/pat_0000000"), 404, code="not_found")


def test_another_clinics_resources_are_forbidden(
    client: httpx.Client, shared: SandboxServer
) -> None:
    with shared.state.lock:
        other_patient = next(
            p.id
            for p in shared.state.patients.values()
            if p.clinic_id == shared.state.other_clinic_id
        )
        other_order = next(
            o.id
            for o in shared.state.orders.values()
            if o.clinic_id == shared.state.other_clinic_id
        )
        other_practitioner = next(
            p.id
            for p in shared.state.practitioners.values()
            if p.clinic_id == shared.state.other_clinic_id
        )
    assert_error(client.get(f"/patients/{other_patient}"), 403, code="permission_denied")
    assert_error(client.get(f"/orders/{other_order}"), 403, code="permission_denied")
    assert_error(
        client.get("/orders", params={"filter[practitioner]": other_practitioner}),
        403,
        code="permission_denied",
    )


def test_lab_companies_are_specialty_labs(client: httpx.Client) -> None:
    companies = walk(client, "/lab_companies")
    assert len(companies) == 35
    names = {c["attributes"]["name"] for c in companies}
    assert {"Genova Diagnostics", "Doctor's Data", "Quest Diagnostics", "Labcorp"} <= names
    for company in companies:
        assert_resource(company, "lab_company", "labco")
        assert set(company["attributes"]) == {"name", "short_name"}
    one = get(client, f"/lab_companies/{companies[0]['id']}")["data"]
    assert one == companies[0]
    assert_error(client.get("/lab_companies/labco_0000000"), 404)


def test_lab_tests_shape_and_include(client: httpx.Client) -> None:
    body = get(client, "/lab_tests", include="lab_company", **{"page[size]": 20})
    assert len(body["data"]) == 20
    for test in body["data"]:
        assert_resource(test, "lab_test", "labts")
        attributes = test["attributes"]
        assert set(attributes) == {
            "name",
            "price",
            "sample_types",
            "biomarkers",
            "estimated_days_for_results",
            "categories",
            "is_active",
            "updated_at",
        }
        assert isinstance(attributes["price"], int | float)
        assert attributes["price"] > 0
        assert attributes["sample_types"]
        assert set(attributes["sample_types"]) <= {
            "Blood",
            "Urine",
            "Stool",
            "Saliva",
            "Dried Blood Spot",
            "Breath",
        }
        assert attributes["biomarkers"]
        assert attributes["categories"]
        assert attributes["estimated_days_for_results"] >= 1
        assert is_timestamp(attributes["updated_at"])
    company_ids = {t["relationships"]["lab_company"]["data"]["id"] for t in body["data"]}
    included = {c["id"]: c for c in body["included"]}
    assert set(included) == company_ids
    assert all(c["type"] == "lab_company" for c in included.values())

    one = get(client, f"/lab_tests/{body['data'][0]['id']}", include="lab_company")
    assert one["data"] == body["data"][0]
    assert one["included"][0]["id"] == body["data"][0]["relationships"]["lab_company"]["data"]["id"]
    assert_error(client.get("/lab_tests/labts_0000000"), 404)


def test_lab_test_names_are_plausible(client: httpx.Client) -> None:
    names = {t["attributes"]["name"] for t in walk(client, "/lab_tests", **{"page[size]": 100})}
    known = {"Hemoglobin A1c", "Vitamin D, 25-OH", "Lipid Panel", "Comprehensive Stool Analysis"}
    assert any(any(k in name for k in known) for name in names)


def test_pagination_walks_the_whole_catalog(client: httpx.Client) -> None:
    first = get(client, "/lab_tests", **{"page[size]": 100})
    assert first["meta"]["pagination"] == {"page": 1, "pages": 3, "count": 300}
    links = first["links"]
    assert set(links) == {"self", "first", "last", "prev", "next"}
    assert links["prev"] is None
    assert links["next"]
    assert "page[number]=3" in links["last"]

    items = walk(client, "/lab_tests", **{"page[size]": 100})
    assert len({t["id"] for t in items}) == 300

    last = client.get(links["last"]).json()
    assert last["links"]["next"] is None
    assert "page[number]=2" in last["links"]["prev"]


def test_default_page_size_is_50_and_at_most_100(client: httpx.Client) -> None:
    assert len(get(client, "/lab_tests")["data"]) == 50
    big = get(client, "/lab_tests", **{"page[size]": 1000})
    assert len(big["data"]) == 100
    assert big["meta"]["pagination"]["pages"] == 3


def test_bad_page_parameters(client: httpx.Client) -> None:
    error = assert_error(client.get("/lab_tests", params={"page[size]": "zero"}), 400)
    assert error["source"] == {"parameter": "page[size]"}
    assert_error(client.get("/lab_tests", params={"page[number]": 0}), 400)
    assert_error(client.get("/lab_tests", params={"page[number]": 99}), 404)


def test_unknown_filters_and_includes_are_rejected(client: httpx.Client) -> None:
    error = assert_error(client.get("/lab_tests", params={"filter[company]": "x"}), 400)
    assert error["source"] == {"parameter": "filter[company]"}
    error = assert_error(client.get("/lab_tests", params={"include": "patient"}), 400)
    assert error["source"] == {"parameter": "include"}


def test_lab_tests_by_company_walk_to_the_end(client: httpx.Client) -> None:
    companies = walk(client, "/lab_companies")
    seen: set[str] = set()
    for company in companies:
        tests = walk(
            client, "/lab_tests", **{"filter[lab_company]": company["id"], "page[size]": 5}
        )
        for test in tests:
            assert test["relationships"]["lab_company"]["data"]["id"] == company["id"]
        seen.update(t["id"] for t in tests)
    assert len(seen) == 300


def test_orders_newest_first_in_every_status(client: httpx.Client) -> None:
    orders = walk(client, "/orders", **{"page[size]": 10})
    assert len(orders) == 21
    assert {o["attributes"]["status"] for o in orders} == set(ALL_STATUSES)
    submitted = [datetime.fromisoformat(o["attributes"]["date_submitted"]) for o in orders]
    assert submitted == sorted(submitted, reverse=True)
    for order in orders:
        assert_resource(order, "order", "ord")
        attributes = order["attributes"]
        assert set(attributes) == {
            "status",
            "payer",
            "total_price",
            "notes_to_patient",
            "date_submitted",
            "date_paid",
            "date_completed",
            "date_canceled",
        }
        assert set(order["relationships"]) == {
            "patient",
            "patients_practitioner",
            "signing_practitioner",
            "order_intent",
            "ordered_tests",
            "line_items",
        }
        ordered = order["relationships"]["ordered_tests"]
        assert ordered["meta"]["count"] == len(ordered["data"]) >= 1
        status = attributes["status"]
        assert (attributes["date_completed"] is not None) == (status == "Complete")
        assert (attributes["date_canceled"] is not None) == (status == "Canceled")
        if status in ("Paid", "In Progress", "Sample Received", "Partial Results", "Complete"):
            assert is_timestamp(attributes["date_paid"])


def test_order_filters(client: httpx.Client, info: dict[str, Any]) -> None:
    orders = walk(client, "/orders")
    paid = walk(client, "/orders", **{"filter[status]": "Paid"})
    assert paid
    assert {o["attributes"]["status"] for o in paid} == {"Paid"}
    open_orders = walk(client, "/orders", **{"filter[status]": ",".join(LIFECYCLE)})
    assert len(open_orders) == sum(o["attributes"]["status"] in LIFECYCLE for o in orders)

    patient_id = orders[0]["relationships"]["patient"]["data"]["id"]
    mine = walk(client, "/orders", **{"filter[patient]": patient_id})
    assert mine
    assert all(o["relationships"]["patient"]["data"]["id"] == patient_id for o in mine)

    demo = info["demo_practitioner_id"]
    by_demo = walk(client, "/orders", **{"filter[practitioner]": demo})
    assert 0 < len(by_demo) < len(orders)
    assert all(
        demo
        in (
            o["relationships"]["patients_practitioner"]["data"]["id"],
            o["relationships"]["signing_practitioner"]["data"]["id"],
        )
        for o in by_demo
    )
    assert_error(client.get("/orders", params={"filter[status]": "Lost"}), 400)


def test_order_with_ordered_tests_and_patient_included(client: httpx.Client) -> None:
    complete = walk(client, "/orders", **{"filter[status]": "Complete"})[0]
    body = get(client, f"/orders/{complete['id']}", include="ordered_tests.lab_test,patient")
    assert body["data"] == complete
    included = body["included"]
    types = {r["type"] for r in included}
    assert types == {"ordered_test", "lab_test", "patient"}
    ordered_tests = [r for r in included if r["type"] == "ordered_test"]
    assert len(ordered_tests) == complete["relationships"]["ordered_tests"]["meta"]["count"]
    for ordered in ordered_tests:
        assert_resource(ordered, "ordered_test", "ordts")
        attributes = ordered["attributes"]
        assert set(attributes) == {
            "requisition",
            "results_pdf",
            "results_hl7",
            "date_results_received_from_lab",
        }
        assert attributes["results_pdf"].endswith(".pdf")
        assert is_timestamp(attributes["date_results_received_from_lab"])
    assert_error(client.get("/orders/ord_0000000"), 404)


def test_unknown_api_paths_answer_json_api_errors(client: httpx.Client) -> None:
    assert_error(client.get("/lab_tests/x/y/z"), 404)
    assert_error(client.delete("/lab_tests"), 405)

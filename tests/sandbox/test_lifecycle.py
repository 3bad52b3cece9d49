"""Order lifecycle: on-demand and clock-driven steps, dates, results and the result PDFs."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.fixtures.sandbox import SandboxControl
from tests.sandbox.documents import assert_error

STEPS = ["Paid", "In Progress", "Sample Received", "Partial Results", "Complete"]


def order_with_tests(
    api: httpx.Client, control: SandboxControl, count: int, **fields: Any
) -> dict[str, Any]:
    tests = api.get("/lab_tests", params={"page[size]": 30}).json()["data"]
    ids = [t["id"] for t in tests if t["attributes"]["is_active"]][:count]
    return control.create_order(lab_tests=ids, **fields)


def fetch(api: httpx.Client, order_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    body = api.get(f"/orders/{order_id}", params={"include": "ordered_tests"}).json()
    ordered = [r for r in body["included"] if r["type"] == "ordered_test"]
    return body["data"]["attributes"], ordered


def test_advance_step_by_step_to_complete_with_results(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    order = order_with_tests(api, sandbox_control, 4)
    assert order["attributes"]["status"] == "Pending Payment"
    order_id = order["id"]

    seen = []
    for expected in STEPS:
        advanced = sandbox_control.advance_order(order_id)
        assert advanced["attributes"]["status"] == expected
        attributes, ordered = fetch(api, order_id)
        assert attributes["status"] == expected
        seen.append((attributes, ordered))

    paid, ordered_at_paid = seen[0]
    assert paid["date_paid"] is not None
    assert all(o["attributes"]["requisition"] for o in ordered_at_paid)
    assert all(o["attributes"]["results_pdf"] is None for o in ordered_at_paid)

    partial, ordered_at_partial = seen[3]
    with_results = [o for o in ordered_at_partial if o["attributes"]["results_pdf"]]
    assert len(with_results) == 2, "half of the tests have results at Partial Results"
    assert all(o["attributes"]["date_results_received_from_lab"] for o in with_results)
    assert partial["date_completed"] is None

    complete, ordered_at_complete = seen[4]
    assert complete["date_completed"] is not None
    assert all(o["attributes"]["results_pdf"] for o in ordered_at_complete)
    dates = [datetime.fromisoformat(complete[k]) for k in ("date_submitted", "date_paid")]
    assert dates[0] <= dates[1] <= datetime.fromisoformat(complete["date_completed"])

    with pytest.raises(httpx.HTTPStatusError):
        sandbox_control.advance_order(order_id)  # nothing after Complete


def test_results_pdf_is_a_real_pdf_behind_the_bearer_token(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    order = order_with_tests(api, sandbox_control, 2)
    sandbox_control.advance_order(order["id"], to="Complete")
    _, ordered = fetch(api, order["id"])
    url = ordered[0]["attributes"]["results_pdf"]

    response = api.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert 1000 < len(response.content) < 200_000

    assert_error(httpx.get(url), 401)
    requisition = api.get(ordered[0]["attributes"]["requisition"])
    assert requisition.content.startswith(b"%PDF")


def test_results_are_404_until_there_are_results(
    api: httpx.Client, sandbox_control: SandboxControl, sandbox: Any
) -> None:
    order = order_with_tests(api, sandbox_control, 1)
    _, [ordered] = fetch(api, order["id"])
    assert_error(api.get(f"{sandbox.url}/ordered_tests/{ordered['id']}/results.pdf"), 404)


def test_a_single_test_gets_a_preliminary_then_a_final_result(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    order = order_with_tests(api, sandbox_control, 1)
    sandbox_control.advance_order(order["id"], to="Partial Results")
    _, [partial] = fetch(api, order["id"])
    assert partial["attributes"]["results_pdf"]
    first_date = partial["attributes"]["date_results_received_from_lab"]
    preliminary = api.get(partial["attributes"]["results_pdf"]).content

    time.sleep(0.01)
    sandbox_control.advance_order(order["id"])
    _, [final] = fetch(api, order["id"])
    assert final["attributes"]["date_results_received_from_lab"] > first_date
    assert api.get(final["attributes"]["results_pdf"]).content != preliminary


def test_cancel_before_complete_but_not_after(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    order = order_with_tests(api, sandbox_control, 1, status="Paid")
    canceled = sandbox_control.advance_order(order["id"], to="Canceled")
    assert canceled["attributes"]["status"] == "Canceled"
    assert canceled["attributes"]["date_canceled"] is not None
    assert canceled["attributes"]["date_completed"] is None

    done = order_with_tests(api, sandbox_control, 1, status="Complete")
    response = sandbox_control.client.post(
        f"/_sim/orders/{done['id']}/advance", json={"to": "Canceled"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_transition"
    back = sandbox_control.client.post(f"/_sim/orders/{done['id']}/advance", json={"to": "Paid"})
    assert back.status_code == 400


def test_jumping_the_clock_completes_open_orders(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    order = order_with_tests(api, sandbox_control, 2)
    before = api.get(f"/orders/{order['id']}").json()["data"]["attributes"]["status"]
    assert before == "Pending Payment", "with the clock stopped nothing moves by itself"

    result = sandbox_control.set_clock(advance_s=60 * 86400)
    assert result["steps"] >= 5

    attributes, ordered = fetch(api, order["id"])
    assert attributes["status"] == "Complete"
    assert attributes["date_paid"]
    assert attributes["date_completed"]
    assert all(o["attributes"]["results_pdf"] for o in ordered)
    open_orders = api.get(
        "/orders", params={"filter[status]": "Pending Payment,Paid,In Progress"}
    ).json()
    assert open_orders["data"] == []


def test_a_running_clock_moves_orders_along(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    order = order_with_tests(api, sandbox_control, 1)
    sandbox_control.set_clock(speed=10 * 86400)  # ten simulated days per second
    time.sleep(0.3)
    status = api.get(f"/orders/{order['id']}").json()["data"]["attributes"]["status"]
    assert status != "Pending Payment"
    assert sandbox_control.set_clock(speed=0)["speed"] == 0

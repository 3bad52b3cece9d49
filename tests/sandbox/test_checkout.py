"""Checkout over HTTP: sign in, review, add/remove tests, submit, back to return_url."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rupa_desk.sandbox.forms import CheckoutForm
from rupa_desk.sandbox.server import SandboxServer
from tests.fixtures.browser import BrowserError, Page, PractitionerBrowser
from tests.sandbox.documents import JSONAPI, jsonapi_body, link, links

RETURN_URL = "http://127.0.0.1:40123/rupa-desk/checkout-done?draft=d-42#top"


def new_intent(api: httpx.Client, test_count: int = 2) -> dict[str, Any]:
    patient = api.get("/patients", params={"page[size]": 1}).json()["data"][0]
    tests = api.get("/lab_tests", params={"page[size]": 50}).json()["data"]
    test_ids = [t["id"] for t in tests if t["attributes"]["is_active"]][:test_count]
    document = jsonapi_body(
        "order_intent",
        {"return_url": RETURN_URL, "metadata": {"draft_id": "d-42"}, "notes": "Fast first"},
        patient=link("patient", patient["id"]),
        lab_tests=links("lab_test", test_ids),
    )
    response = api.post("/order_intents", json=document, headers={"Content-Type": JSONAPI})
    assert response.status_code == 201, response.text
    intent: dict[str, Any] = response.json()["data"]
    return intent


def test_checkout_signs_in_first_then_submits_an_order(
    api: httpx.Client, practitioner_browser: PractitionerBrowser
) -> None:
    intent = new_intent(api)
    checkout_url = intent["attributes"]["checkout_url"]
    test_ids = [t["id"] for t in intent["relationships"]["lab_tests"]["data"]]

    first = Page.parse(practitioner_browser.get(checkout_url))
    assert first.is_login, "without a web session the sign-in page comes first"

    page = practitioner_browser.open_checkout(checkout_url)
    assert page.cart == test_ids
    patient_id = intent["relationships"]["patient"]["data"]["id"]
    patient = api.get(f"/patients/{patient_id}").json()["data"]["attributes"]
    assert page.patient_name == f"{patient['first_name']} {patient['last_name']}"
    assert f'id="{CheckoutForm.SUBMIT_ID}"' in page.html
    assert "Fast first" in page.html

    location = practitioner_browser.submit_checkout(checkout_url, payer="clinic")

    url = httpx.URL(location)
    assert location.startswith("http://127.0.0.1:40123/rupa-desk/checkout-done?")
    assert url.params["draft"] == "d-42"
    assert url.fragment == "top"
    order_id = url.params["order"]

    order = api.get(f"/orders/{order_id}", params={"include": "ordered_tests"}).json()
    attributes = order["data"]["attributes"]
    assert attributes["status"] == "Pending Payment"
    assert attributes["payer"] == "clinic"
    assert attributes["date_submitted"]
    assert attributes["date_paid"] is None
    assert attributes["notes_to_patient"] == "Fast first"
    relationships = order["data"]["relationships"]
    assert relationships["order_intent"]["data"]["id"] == intent["id"]
    assert relationships["patient"]["data"]["id"] == patient_id
    ordered = [r for r in order["included"] if r["type"] == "ordered_test"]
    assert [o["relationships"]["lab_test"]["data"]["id"] for o in ordered] == test_ids
    prices = [api.get(f"/lab_tests/{t}").json()["data"]["attributes"]["price"] for t in test_ids]
    assert attributes["total_price"] == pytest.approx(sum(prices))

    resolved = api.get(f"/order_intents/{intent['id']}").json()["data"]
    assert resolved["attributes"]["status"] == "completed"
    assert resolved["relationships"]["order"]["data"] == {"type": "order", "id": order_id}

    newest = api.get("/orders", params={"page[size]": 1}).json()["data"][0]
    assert newest["id"] == order_id


def test_adding_and_removing_tests_changes_the_order(
    api: httpx.Client, practitioner_browser: PractitionerBrowser
) -> None:
    intent = new_intent(api, test_count=1)
    checkout_url = intent["attributes"]["checkout_url"]
    [kept] = [t["id"] for t in intent["relationships"]["lab_tests"]["data"]]

    found = practitioner_browser.search(checkout_url, "vitamin")
    assert found, "the catalog search finds tests"
    added = next(t for t in found if t != kept)
    page = practitioner_browser.add_test(checkout_url, added)
    assert page.cart == [kept, added]

    page = practitioner_browser.remove_test(checkout_url, kept)
    assert page.cart == [added]
    # The intent follows the page.
    rel = api.get(f"/order_intents/{intent['id']}").json()["data"]["relationships"]
    assert [t["id"] for t in rel["lab_tests"]["data"]] == [added]

    order_id = httpx.URL(practitioner_browser.submit_checkout(checkout_url)).params["order"]
    order = api.get(f"/orders/{order_id}", params={"include": "ordered_tests"}).json()
    [ordered] = order["included"]
    assert ordered["relationships"]["lab_test"]["data"]["id"] == added


def test_submitting_twice_gives_the_same_order(
    api: httpx.Client, practitioner_browser: PractitionerBrowser, sandbox: SandboxServer
) -> None:
    intent = new_intent(api)
    checkout_url = intent["attributes"]["checkout_url"]
    page = practitioner_browser.open_checkout(checkout_url)
    form = page.page.form(CheckoutForm.SUBMIT_FORM_ID)
    assert form is not None
    first = practitioner_browser.submit(page.page, form)
    second = practitioner_browser.submit(page.page, form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    orders = api.get("/orders", params={"page[size]": 100}).json()["data"]
    assert sum(o["relationships"]["order_intent"]["data"] is not None for o in orders) == 1

    done = practitioner_browser.get(checkout_url)
    assert done.status_code == 200
    assert "already submitted" in done.text


def test_a_checked_out_intent_cannot_change(
    api: httpx.Client, practitioner_browser: PractitionerBrowser
) -> None:
    intent = new_intent(api)
    practitioner_browser.submit_checkout(intent["attributes"]["checkout_url"])
    patch = {"data": {"type": "order_intent", "id": intent["id"], "attributes": {"notes": "x"}}}
    response = api.patch(f"/order_intents/{intent['id']}", json=patch)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "order_intent_completed"


def test_an_empty_order_cannot_be_submitted(
    api: httpx.Client, practitioner_browser: PractitionerBrowser
) -> None:
    intent = new_intent(api, test_count=0)
    with pytest.raises(BrowserError) as caught:
        practitioner_browser.submit_checkout(intent["attributes"]["checkout_url"])
    assert caught.value.response.status_code == 400
    assert "Add at least one test" in caught.value.response.text


def test_another_clinics_practitioner_cannot_open_the_checkout(
    api: httpx.Client, sandbox: SandboxServer
) -> None:
    intent = new_intent(api)
    with (
        PractitionerBrowser(sandbox.url, email="other@rupa-desk.test") as other,
        pytest.raises(BrowserError) as caught,
    ):
        other.open_checkout(intent["attributes"]["checkout_url"])
    assert caught.value.response.status_code == 403


def test_unknown_checkout_is_a_404_page(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    practitioner_browser.login()
    response = practitioner_browser.get(sandbox.url + "/checkout/ordin_0000000")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_pages_have_a_stylesheet(sandbox: SandboxServer) -> None:
    css = httpx.get(sandbox.url + "/assets/rupa.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "--brand" in css.text

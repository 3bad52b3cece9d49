"""Creating patients and order intents: validation with pointers, de-duplication, updates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from rupa_desk.sandbox.server import SandboxServer
from tests.sandbox.documents import (
    JSONAPI,
    assert_error,
    assert_resource,
    jsonapi_body,
    link,
    links,
)

NEW_PATIENT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada.lovelace@example.com",
    "birthday": "1985-12-10",
    "phone": "+1 (503) 555-0142",
    "gender": "female",
    "address": {
        "street_1": "1 Analytical Way",
        "street_2": "",
        "city": "Portland",
        "state": "OR",
        "zip": "97201",
    },
}


def post(api: httpx.Client, path: str, document: dict[str, Any]) -> httpx.Response:
    return api.post(path, json=document, headers={"Content-Type": JSONAPI})


def create_patient(api: httpx.Client, **changes: Any) -> httpx.Response:
    return post(api, "/patients", jsonapi_body("patient", {**NEW_PATIENT, **changes}))


def active_test_ids(api: httpx.Client, count: int) -> list[str]:
    tests = api.get("/lab_tests", params={"page[size]": 100}).json()["data"]
    return [t["id"] for t in tests if t["attributes"]["is_active"]][:count]


def test_create_patient_then_the_same_patient_again(api: httpx.Client) -> None:
    created = create_patient(api)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == JSONAPI
    patient = created.json()["data"]
    assert_resource(patient, "patient", "pat")
    assert patient["attributes"]["birthday"] == "1985-12-10"
    assert patient["attributes"]["address"]["city"] == "Portland"
    assert created.headers["location"].endswith(f"/patients/{patient['id']}")
    assert api.get(f"/patients/{patient['id']}").json()["data"] == patient

    # Same first + last + email (any case, other fields different): the existing patient, 200.
    again = create_patient(
        api, first_name="ADA", email="Ada.Lovelace@Example.com", phone="503-555-0199"
    )
    assert again.status_code == 200
    assert again.json()["data"]["id"] == patient["id"]
    assert again.json()["data"]["attributes"]["phone"] == NEW_PATIENT["phone"]

    other = create_patient(api, email="ada@example.org")
    assert other.status_code == 201
    assert other.json()["data"]["id"] != patient["id"]


@pytest.mark.parametrize(
    ("changes", "pointer", "code"),
    [
        ({"first_name": ""}, "/data/attributes/first_name", "required"),
        ({"last_name": None}, "/data/attributes/last_name", "required"),
        ({"email": "  "}, "/data/attributes/email", "required"),
        ({"email": "not-an-email"}, "/data/attributes/email", "invalid"),
        ({"email": "a@b"}, "/data/attributes/email", "invalid"),
        ({"birthday": "12/10/1985"}, "/data/attributes/birthday", "invalid"),
        ({"birthday": "1985-02-30"}, "/data/attributes/birthday", "invalid"),
        (
            {"birthday": (date.today() + timedelta(days=2)).isoformat()},
            "/data/attributes/birthday",
            "invalid",
        ),
        ({"phone": "call me"}, "/data/attributes/phone", "invalid"),
        ({"phone": "555-01"}, "/data/attributes/phone", "invalid"),
        ({"first_name": 42}, "/data/attributes/first_name", "invalid"),
        ({"address": {"city": 7}}, "/data/attributes/address/city", "invalid"),
    ],
)
def test_patient_validation_points_at_the_field(
    api: httpx.Client, changes: dict[str, Any], pointer: str, code: str
) -> None:
    assert_error(create_patient(api, **changes), 400, pointer=pointer, code=code)


def test_every_invalid_field_is_reported_at_once(api: httpx.Client) -> None:
    response = post(
        api,
        "/patients",
        jsonapi_body("patient", {"first_name": "Ada", "email": "nope", "birthday": "tomorrow"}),
    )
    assert response.status_code == 400
    pointers = {e["source"]["pointer"] for e in response.json()["errors"]}
    assert pointers == {
        "/data/attributes/last_name",
        "/data/attributes/email",
        "/data/attributes/birthday",
    }


def test_malformed_documents_are_400(api: httpx.Client) -> None:
    bad_json = api.post("/patients", content=b"{not json", headers={"Content-Type": JSONAPI})
    assert_error(bad_json, 400)
    assert_error(post(api, "/patients", {"patient": {}}), 400, pointer="/data")
    assert_error(
        post(api, "/patients", jsonapi_body("person", NEW_PATIENT)), 400, pointer="/data/type"
    )


def intent_document(patient_id: str, test_ids: list[str], **attributes: Any) -> dict[str, Any]:
    return jsonapi_body(
        "order_intent",
        {"return_url": "http://127.0.0.1:1/checkout-done?draft=d-1", **attributes},
        patient=link("patient", patient_id),
        lab_tests=links("lab_test", test_ids),
    )


def test_order_intent_create_get_update_and_find_by_draft_id(
    api: httpx.Client, sandbox: SandboxServer
) -> None:
    patient_id = create_patient(api).json()["data"]["id"]
    test_ids = active_test_ids(api, 3)
    created = post(
        api,
        "/order_intents",
        intent_document(
            patient_id, test_ids[:2], metadata={"draft_id": "d-1", "pc": "front-1"}, notes="Fast"
        ),
    )
    assert created.status_code == 201, created.text
    intent = created.json()["data"]
    assert_resource(intent, "order_intent", "ordin")
    attributes = intent["attributes"]
    assert attributes["checkout_url"] == f"{sandbox.url}/checkout/{intent['id']}"
    assert attributes["status"] == "open"
    assert attributes["metadata"] == {"draft_id": "d-1", "pc": "front-1"}
    assert attributes["notes"] == "Fast"
    assert attributes["created_at"]
    relationships = intent["relationships"]
    assert relationships["patient"]["data"] == {"type": "patient", "id": patient_id}
    assert [t["id"] for t in relationships["lab_tests"]["data"]] == test_ids[:2]
    assert relationships["lab_tests"]["meta"] == {"count": 2}
    assert relationships["order"]["data"] is None

    fetched = api.get(f"/order_intents/{intent['id']}", params={"include": "patient,lab_tests"})
    assert fetched.json()["data"] == intent
    assert {r["type"] for r in fetched.json()["included"]} == {"patient", "lab_test"}

    patch = {
        "data": {
            "type": "order_intent",
            "id": intent["id"],
            "attributes": {"notes": "Fasting 12 h", "metadata": {"draft_id": "d-1", "v": 2}},
            "relationships": {"lab_tests": links("lab_test", [test_ids[2]])},
        }
    }
    updated = api.patch(
        f"/order_intents/{intent['id']}", json=patch, headers={"Content-Type": JSONAPI}
    )
    assert updated.status_code == 200, updated.text
    data = updated.json()["data"]
    assert data["attributes"]["notes"] == "Fasting 12 h"
    assert data["attributes"]["metadata"] == {"draft_id": "d-1", "v": 2}
    assert [t["id"] for t in data["relationships"]["lab_tests"]["data"]] == [test_ids[2]]
    assert data["attributes"]["return_url"] == attributes["return_url"]

    post(api, "/order_intents", intent_document(patient_id, [], metadata={"draft_id": "d-2"}))
    found = api.get("/order_intents", params={"filter[metadata.draft_id]": "d-1"}).json()
    assert [i["id"] for i in found["data"]] == [intent["id"]]
    assert found["meta"]["pagination"]["count"] == 1
    none = api.get("/order_intents", params={"filter[metadata.draft_id]": "d-404"}).json()
    assert none["data"] == []


def test_order_intents_are_listed_per_practitioner(
    api: httpx.Client, sandbox: SandboxServer
) -> None:
    patient_id = create_patient(api).json()["data"]["id"]
    post(api, "/order_intents", intent_document(patient_id, [], metadata={"draft_id": "mine"}))
    with httpx.Client(base_url=sandbox.url) as control:
        colleague = control.post(
            "/_sim/tokens", json={"practitioner": "priya.raman@rupa-desk.test"}
        ).json()
    headers = {"Authorization": f"Bearer {colleague['access_token']}"}
    theirs = httpx.get(
        sandbox.url + "/order_intents",
        params={"filter[metadata.draft_id]": "mine"},
        headers=headers,
    )
    assert theirs.status_code == 200
    assert theirs.json()["data"] == []


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda d: d["data"]["attributes"].pop("return_url"), "/data/attributes/return_url"),
        (
            lambda d: d["data"]["attributes"].update(return_url="/relative"),
            "/data/attributes/return_url",
        ),
        (lambda d: d["data"]["attributes"].update(metadata=[1]), "/data/attributes/metadata"),
        (lambda d: d["data"]["relationships"].pop("patient"), "/data/relationships/patient"),
        (
            lambda d: d["data"]["relationships"].update(patient=link("patient", "pat_0000000")),
            "/data/relationships/patient/data",
        ),
        (
            lambda d: d["data"]["relationships"].update(
                lab_tests=links("lab_test", ["labts_0000000"])
            ),
            "/data/relationships/lab_tests/data/0",
        ),
    ],
)
def test_order_intent_validation(api: httpx.Client, mutate: Any, pointer: str) -> None:
    patient_id = create_patient(api).json()["data"]["id"]
    document = intent_document(patient_id, active_test_ids(api, 1))
    mutate(document)
    assert_error(post(api, "/order_intents", document), 400, pointer=pointer)


def test_inactive_tests_cannot_be_ordered(api: httpx.Client, sandbox: SandboxServer) -> None:
    test_id = active_test_ids(api, 1)[0]
    with httpx.Client(base_url=sandbox.url) as control:
        control.post("/_sim/catalog", json={"change": {test_id: {"is_active": False}}})
    patient_id = create_patient(api).json()["data"]["id"]
    response = post(api, "/order_intents", intent_document(patient_id, [test_id]))
    assert_error(response, 400, pointer="/data/relationships/lab_tests/data/0", code="inactive")


def test_unknown_order_intent_is_404(api: httpx.Client) -> None:
    assert_error(api.get("/order_intents/ordin_0000000"), 404)
    patch = {"data": {"type": "order_intent", "attributes": {"notes": "x"}}}
    assert_error(api.patch("/order_intents/ordin_0000000", json=patch), 404)

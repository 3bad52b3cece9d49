"""Rate limiting, injected faults and the request log, over real HTTP."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest

from rupa_desk.sandbox.config import SandboxConfig
from rupa_desk.sandbox.server import SandboxServer
from tests.fixtures.sandbox import SandboxControl, SandboxFactory
from tests.sandbox.documents import JSONAPI, assert_error, jsonapi_body, link


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_over_the_rate_limit_answers_429_with_retry_after(
    sandbox_factory: SandboxFactory,
) -> None:
    server = sandbox_factory(rate_limit_per_s=0.5, rate_burst=5)
    with SandboxControl(server.url) as control, httpx.Client(base_url=server.url) as http:
        mine, theirs = control.issue_tokens(), control.issue_tokens()
        statuses = [http.get("/lab_companies", headers=bearer(mine)).status_code for _ in range(5)]
        assert statuses == [200] * 5

        limited = http.get("/lab_companies", headers=bearer(mine))
        assert_error(limited, 429, code="throttled")
        retry_after = limited.headers["retry-after"]
        assert retry_after.isdigit()
        assert int(retry_after) >= 1

        # The limit is per access token.
        assert http.get("/lab_companies", headers=bearer(theirs)).status_code == 200
        # The control API is never limited.
        assert control.info()["faults"]["rate_burst"] == 5


def test_default_limit_allows_a_burst_of_40(sandbox: SandboxServer, api: httpx.Client) -> None:
    statuses = [api.get("/lab_companies", params={"page[size]": 1}).status_code for _ in range(40)]
    assert statuses == [200] * 40
    extra = [api.get("/lab_companies").status_code for _ in range(10)]
    assert 429 in extra


def test_retry_after_is_honest(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(rate_limit_per_s=2, rate_burst=1)
    with SandboxControl(server.url) as control, httpx.Client(base_url=server.url) as http:
        headers = bearer(control.issue_tokens())
        assert http.get("/lab_companies", headers=headers).status_code == 200
        limited = http.get("/lab_companies", headers=headers)
        assert limited.status_code == 429
        time.sleep(int(limited.headers["retry-after"]))
        assert http.get("/lab_companies", headers=headers).status_code == 200


def test_injected_5xx(sandbox_control: SandboxControl, api: httpx.Client) -> None:
    sandbox_control.set_faults(fault_5xx_rate=1.0)
    statuses = {api.get("/practitioners/me").status_code for _ in range(12)}
    assert statuses <= {500, 503}
    assert statuses
    response = api.get("/practitioners/me")
    assert response.json()["errors"][0]["status"] == str(response.status_code)

    sandbox_control.set_faults(fault_5xx_rate=0.0)
    assert api.get("/practitioners/me").status_code == 200


def test_injected_429(sandbox_control: SandboxControl, api: httpx.Client) -> None:
    sandbox_control.set_faults(fault_429_rate=1.0)
    response = api.get("/lab_tests")
    assert_error(response, 429)
    assert int(response.headers["retry-after"]) >= 1


def test_dropped_connections_break_mid_response(
    sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    sandbox_control.set_faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/lab_tests", params={"page[size]": 100})
    sandbox_control.set_faults(drop_rate=0.0)
    assert api.get("/lab_tests").status_code == 200


def test_latency_is_added_to_api_answers(
    sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    sandbox_control.set_faults(latency_ms=250)
    started = time.perf_counter()
    assert api.get("/practitioners/me").status_code == 200
    assert time.perf_counter() - started >= 0.25
    started = time.perf_counter()
    sandbox_control.info()
    assert time.perf_counter() - started < 0.25, "the control API has no latency"


def intent_for_draft(api: httpx.Client, draft_id: str) -> dict[str, Any]:
    """An order-intent request document for the first patient, tagged with `draft_id`."""
    patient_id = api.get("/patients", params={"page[size]": 1}).json()["data"][0]["id"]
    return jsonapi_body(
        "order_intent",
        {"return_url": "http://127.0.0.1:1/checkout-done", "metadata": {"draft_id": draft_id}},
        patient=link("patient", patient_id),
    )


def intent_ids_for_draft(api: httpx.Client, draft_id: str) -> list[str]:
    found = api.get("/order_intents", params={"filter[metadata.draft_id]": draft_id}).json()
    return [intent["id"] for intent in found["data"]]


def logged_when_done(control: SandboxControl, method: str, path: str, since: int) -> dict[str, Any]:
    """The request log entry of a request, once the simulator is done with it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done = [e for e in control.requests(since) if (e["method"], e["path"]) == (method, path)]
        if done:
            [entry] = done
            return entry
        time.sleep(0.02)
    raise AssertionError(f"{method} {path} was not logged")


def test_an_answer_delay_holds_back_the_answer_of_a_handled_request(
    sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    document = intent_for_draft(api, "d-slow-answer")
    sandbox_control.set_faults(answer_delay_ms=400)
    since = sandbox_control.requests()[-1]["seq"]
    started = time.perf_counter()
    created = api.post("/order_intents", json=document, headers={"Content-Type": JSONAPI})
    assert time.perf_counter() - started >= 0.4
    assert created.status_code == 201, created.text
    entry = logged_when_done(sandbox_control, "POST", "/order_intents", since)
    assert (entry["status"], entry["answer_delay_ms"]) == (201, 400)
    assert entry["duration_ms"] >= 400
    assert "handled_status" not in entry

    sandbox_control.set_faults(answer_delay_ms=0)
    assert intent_ids_for_draft(api, "d-slow-answer") == [created.json()["data"]["id"]]
    started = time.perf_counter()
    sandbox_control.info()
    assert time.perf_counter() - started < 0.4, "the control API has no answer delay"


def test_a_client_that_gives_up_during_the_answer_delay_still_created_the_intent(
    sandbox: SandboxServer, sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    """Unlike latency, the answer delay comes after the work: the client times out, yet its
    order intent exists. The simulator sends nothing to the gone client, stops waiting when it
    hangs up, and logs no server error (the harness fails on uvicorn.error records)."""
    document = intent_for_draft(api, "d-timed-out")
    sandbox_control.set_faults(answer_delay_ms=1500)
    since = sandbox_control.requests()[-1]["seq"]
    with (
        httpx.Client(base_url=sandbox.url, headers=api.headers, timeout=0.3) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.post("/order_intents", json=document, headers={"Content-Type": JSONAPI})
    entry = logged_when_done(sandbox_control, "POST", "/order_intents", since)
    assert (entry["status"], entry["handled_status"]) == (499, 201)
    assert entry["duration_ms"] < 1500, "the simulator stopped waiting once the client left"

    sandbox_control.set_faults(answer_delay_ms=0)
    assert len(intent_ids_for_draft(api, "d-timed-out")) == 1
    assert api.get("/practitioners/me").status_code == 200


def test_a_client_that_gives_up_during_latency_created_nothing(
    sandbox: SandboxServer, sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    """Latency comes before the work: a client that times out leaves no intent behind."""
    document = intent_for_draft(api, "d-never-handled")
    sandbox_control.set_faults(latency_ms=1000)
    since = sandbox_control.requests()[-1]["seq"]
    with (
        httpx.Client(base_url=sandbox.url, headers=api.headers, timeout=0.3) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.post("/order_intents", json=document, headers={"Content-Type": JSONAPI})
    assert logged_when_done(sandbox_control, "POST", "/order_intents", since)["status"] == 499

    sandbox_control.set_faults(latency_ms=0)
    assert intent_ids_for_draft(api, "d-never-handled") == []


def test_faults_leave_pages_and_token_endpoint_alone_by_default(
    sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    sandbox_control.set_faults(fault_5xx_rate=1.0)
    assert httpx.get(sandbox.url + "/login").status_code == 200
    token = httpx.post(
        sandbox.url + "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": "rupa-desk-demo", "refresh_token": "x"},
    )
    assert token.status_code == 400

    sandbox_control.set_faults(faults_on_token_endpoint=True)
    token = httpx.post(sandbox.url + "/oauth/token", data={"grant_type": "refresh_token"})
    assert token.status_code in (500, 503)


def test_fault_settings_are_validated(sandbox_control: SandboxControl) -> None:
    for body in (
        {"drop_rate": 2},
        {"unknown": 1},
        {"latency_ms": "slow"},
        {"rate_burst": 0},
        {"answer_delay_ms": -1},
        {"answer_delay_ms": "later"},
    ):
        response = sandbox_control.client.post("/_sim/faults", json=body)
        assert response.status_code == 400, body
    assert sandbox_control.set_faults(latency_ms=5)["latency_ms"] == 5
    assert sandbox_control.set_faults(answer_delay_ms=7)["answer_delay_ms"] == 7
    assert sandbox_control.info()["faults"]["answer_delay_ms"] == 7
    with pytest.raises(ValueError, match="answer_delay_ms must not be negative"):
        SandboxConfig(answer_delay_ms=-1)


def test_the_request_log_records_what_was_served(
    sandbox: SandboxServer, sandbox_control: SandboxControl, tokens: dict[str, Any]
) -> None:
    start = sandbox_control.info()  # control requests are not logged
    assert sandbox_control.requests() == []
    with httpx.Client(base_url=sandbox.url) as http:
        http.get("/lab_tests", params={"page[size]": 2}, headers=bearer(tokens))
        http.get("/orders/ord_0000000", headers=bearer(tokens))
        http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": "rupa-desk-demo",
            },
        )
        sandbox_control.set_faults(fault_5xx_rate=1.0)
        http.get("/practitioners/me", headers=bearer(tokens))

    entries = sandbox_control.requests()
    assert [e["path"] for e in entries] == [
        "/lab_tests",
        "/orders/ord_0000000",
        "/oauth/token",
        "/practitioners/me",
    ]
    assert [e["status"] for e in entries[:3]] == [200, 404, 200]
    assert entries[0]["query"] == "page%5Bsize%5D=2"
    assert entries[0]["method"] == "GET"
    assert entries[2]["grant_type"] == "refresh_token"
    assert entries[3]["fault"] == "5xx"
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 4
    fingerprint = entries[0]["token"]
    assert fingerprint
    assert fingerprint not in tokens["access_token"]
    text = str(entries)
    assert tokens["access_token"] not in text
    assert tokens["refresh_token"] not in text

    assert [e["seq"] for e in sandbox_control.requests(since=seqs[1])] == seqs[2:]
    assert start["counts"]["lab_tests"] == 300


def test_ignore_company_filter_lists_every_test(
    sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    company = api.get("/lab_companies").json()["data"][0]["id"]
    params = {"filter[lab_company]": company, "page[size]": 100}
    filtered = api.get("/lab_tests", params=params).json()
    assert {t["relationships"]["lab_company"]["data"]["id"] for t in filtered["data"]} == {company}

    sandbox_control.set_faults(ignore_company_filter=True)
    ignored = api.get("/lab_tests", params=params).json()
    everything = api.get("/lab_tests", params={"page[size]": 100}).json()
    assert ignored["meta"]["pagination"]["count"] == everything["meta"]["pagination"]["count"]
    assert len({t["relationships"]["lab_company"]["data"]["id"] for t in ignored["data"]}) > 1


def test_unlisted_lab_companies_are_left_out_of_the_listing_only(
    sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    listed = [c["id"] for c in api.get("/lab_companies", params={"page[size]": 100}).json()["data"]]
    tests_before = api.get("/lab_tests").json()["meta"]["pagination"]["count"]

    sandbox_control.set_faults(unlisted_lab_companies=2)
    now = api.get("/lab_companies", params={"page[size]": 100}).json()
    assert [c["id"] for c in now["data"]] == listed[:-2]
    assert now["meta"]["pagination"]["count"] == len(listed) - 2
    assert api.get(f"/lab_companies/{listed[-1]}").status_code == 200
    params = {"filter[lab_company]": listed[-1], "include": "lab_company"}
    hidden = api.get("/lab_tests", params=params).json()
    assert hidden["data"]
    assert hidden["included"][0]["id"] == listed[-1]
    assert api.get("/lab_tests").json()["meta"]["pagination"]["count"] == tests_before
    assert (
        sandbox_control.client.post("/_sim/faults", json={"unlisted_lab_companies": -1}).status_code
        == 400
    )


def test_a_client_that_hangs_up_mid_body_is_not_a_server_error(sandbox: SandboxServer) -> None:
    """E.g. the app's read timed out during injected latency and it closed the connection.
    (A server error would fail this test: the harness fails on uvicorn.error records.)"""
    with SandboxControl(sandbox.url) as control:
        token = control.issue_tokens()["access_token"]
        since = control.requests()[-1]["seq"] if control.requests() else 0
        host, port = sandbox.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(
                b"POST /patients HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\n"
                b"Content-Type: application/vnd.api+json\r\nContent-Length: 500\r\n\r\n"
                b'{"data": {"type": "pat'
            )
        deadline = time.monotonic() + 10
        while not (entries := control.requests(since)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [(e["method"], e["path"], e["status"]) for e in entries] == [
            ("POST", "/patients", 499)
        ]


def test_self_referencing_next_points_every_list_page_to_itself(
    sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    params = {"page[size]": 100}
    honest = api.get("/lab_tests", params=params).json()
    assert honest["links"]["next"] != honest["links"]["self"]

    sandbox_control.set_faults(self_referencing_next=True)
    first = api.get("/lab_tests", params=params)
    document = first.json()
    assert document["links"]["next"] == document["links"]["self"]
    assert document["data"] == honest["data"]  # the page itself is unchanged
    assert int(first.headers["content-length"]) == len(first.content)
    last = api.get("/lab_tests", params={**params, "page[number]": 3}).json()
    assert last["links"]["next"] == last["links"]["self"]  # even the last page goes on
    one = api.get(f"/lab_tests/{honest['data'][0]['id']}").json()
    assert "next" not in one.get("links", {})  # a single resource is left alone

    sandbox_control.set_faults(self_referencing_next=False)
    assert api.get("/lab_tests", params=params).json()["links"]["next"] != document["links"]["self"]


# --- hostile values (issue 18): what a compromised or broken Rupa could send ----------------


def test_hostile_values_give_some_lab_tests_out_of_range_values(
    sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    honest = api.get("/lab_tests", params={"page[size]": 6}).json()["data"]
    sandbox_control.set_faults(hostile_values=5)
    response = api.get("/lab_tests", params={"page[size]": 6})
    assert response.status_code == 200
    assert b"\\ud800" in response.content  # a lone surrogate, as JSON escapes it
    hostile = response.json()["data"]
    assert [t["id"] for t in hostile] == [t["id"] for t in honest]
    attributes = [t["attributes"] for t in hostile]
    assert attributes[0]["price"] == 1e30
    assert attributes[1]["estimated_days_for_results"] == 2**70
    assert attributes[2]["name"] == "Vitamin \ud800D"
    assert attributes[3]["price"] == "1e999999"
    assert attributes[4]["name"] == "Vitamin\x00D"
    assert attributes[5] == honest[5]["attributes"]  # only the first five
    single = api.get(f"/lab_tests/{hostile[0]['id']}").json()["data"]
    assert single["attributes"]["price"] == 1e30
    sandbox_control.set_faults(hostile_values=0)
    assert api.get("/lab_tests", params={"page[size]": 6}).json()["data"] == honest


def test_hostile_lab_companies_have_a_name_that_is_not_text(
    sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    sandbox_control.set_faults(hostile_lab_companies=1)
    first, second = api.get("/lab_companies", params={"page[size]": 2}).json()["data"]
    assert first["attributes"]["name"] == "Labs \udc80\x07"
    assert "\udc80" not in second["attributes"]["name"]
    included = api.get(
        "/lab_tests", params={"filter[lab_company]": first["id"], "include": "lab_company"}
    ).json()["included"]
    assert included[0]["attributes"]["name"] == "Labs \udc80\x07"


def test_hostile_ordered_test_ids_climb_folders_and_results_still_download(
    sandbox_control: SandboxControl, api: httpx.Client
) -> None:
    complete = api.get("/orders", params={"filter[status]": "Complete"}).json()["data"][0]
    sandbox_control.set_faults(hostile_ordered_test_ids=True)
    order = api.get(f"/orders/{complete['id']}", params={"include": "ordered_tests"}).json()
    ids = [r["id"] for r in order["data"]["relationships"]["ordered_tests"]["data"]]
    assert ids
    assert all(i.startswith("x/../../../ordts_") for i in ids)
    included = order["included"]
    assert [t["id"] for t in included] == ids
    pdf = api.get(included[0]["attributes"]["results_pdf"])
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(document.cookie)"])
def test_a_hostile_checkout_url_is_sent_for_every_order_intent(
    sandbox_control: SandboxControl, api: httpx.Client, url: str
) -> None:
    patient = api.get("/patients").json()["data"][0]["id"]
    sandbox_control.set_faults(hostile_checkout_url=url)
    created = api.post(
        "/order_intents",
        json=jsonapi_body(
            "order_intent",
            {"return_url": "http://127.0.0.1:9/back"},
            patient=link("patient", patient),
        ),
        headers={"Content-Type": JSONAPI},
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["attributes"]["checkout_url"] == url
    intent_id = created.json()["data"]["id"]
    read = api.get(f"/order_intents/{intent_id}").json()["data"]
    assert read["attributes"]["checkout_url"] == url
    sandbox_control.set_faults(hostile_checkout_url="")
    honest = api.get(f"/order_intents/{intent_id}").json()["data"]["attributes"]["checkout_url"]
    assert honest.endswith(f"/checkout/{intent_id}")


def test_hostile_settings_are_validated(sandbox_control: SandboxControl) -> None:
    for body in (
        {"hostile_values": -1},
        {"hostile_lab_companies": -2},
        {"hostile_checkout_url": 5},
        {"hostile_ordered_test_ids": "yes"},
    ):
        response = sandbox_control.client.post("/_sim/faults", json=body)
        assert response.status_code == 400, body
    faults = sandbox_control.set_faults(hostile_checkout_url="data:text/html,x")
    assert faults["hostile_checkout_url"] == "data:text/html,x"

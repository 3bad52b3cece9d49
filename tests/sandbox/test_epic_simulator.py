"""The Epic simulator over real HTTP: discovery, SMART sign-in, Epic's patient search rule,
today's schedule, documents, paging and errors; every resource it serves is valid FHIR R4
by an independent model library."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from rupa_desk.epic_sandbox.config import (
    OAUTH_PATH,
    REFRESH_CLIENT_ID,
    EpicConfig,
)
from rupa_desk.epic_sandbox.resources import MRN_SYSTEM
from rupa_desk.epic_sandbox.server import EpicServer
from tests.fixtures.epic import (
    REDIRECT_URI,
    EpicBrowser,
    authorize_url,
    pkce_pair,
    token_response,
    validated,
)


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    validated(bundle)
    return [entry["resource"] for entry in bundle.get("entry", [])]


def test_smart_configuration_names_the_endpoints_pkce_and_iss(epic: EpicServer) -> None:
    config = httpx.get(epic.fhir_base + "/.well-known/smart-configuration").json()
    assert config["issuer"] == epic.url + OAUTH_PATH
    assert config["authorization_endpoint"] == epic.url + OAUTH_PATH + "/authorize"
    assert config["token_endpoint"] == epic.url + OAUTH_PATH + "/token"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["authorization_response_iss_parameter_supported"] is True


def test_metadata_is_a_capability_statement_with_the_oauth_uris(epic: EpicServer) -> None:
    statement = httpx.get(epic.fhir_base + "/metadata").json()
    model = validated(statement)
    assert model.fhirVersion == "4.0.1"
    uris = statement["rest"][0]["security"]["extension"][0]["extension"]
    assert {u["url"]: u["valueUri"] for u in uris} == {
        "authorize": epic.url + OAUTH_PATH + "/authorize",
        "token": epic.url + OAUTH_PATH + "/token",
    }


def test_without_smart_configuration_only_metadata_is_served() -> None:
    with EpicServer(EpicConfig(generated_patients=0, smart_configuration=False)) as server:
        missing = httpx.get(server.fhir_base + "/.well-known/smart-configuration")
        assert missing.status_code == 404
        validated(missing.json())  # an OperationOutcome
        assert httpx.get(server.fhir_base + "/metadata").status_code == 200


def test_sign_in_answers_with_code_state_and_iss(epic: EpicServer) -> None:
    _, challenge = pkce_pair()
    with EpicBrowser() as browser:
        location = browser.sign_in(authorize_url(epic, challenge))
    assert location.startswith(REDIRECT_URI + "?")
    params = parse_qs(urlsplit(location).query)
    assert params["state"] == ["s1"]
    assert params["iss"] == [epic.url + OAUTH_PATH]
    assert params["code"][0]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"aud": "https://fhir.example.org/R4"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_a_wrong_audience_or_no_s256_is_refused_back_to_the_app(
    epic: EpicServer, change: dict[str, str], error: str
) -> None:
    _, challenge = pkce_pair()
    with EpicBrowser() as browser:
        location = browser.sign_in(authorize_url(epic, challenge, **change))
    params = parse_qs(urlsplit(location).query)
    assert params["error"] == [error]
    assert params["state"] == ["s1"]
    assert params["iss"] == [epic.url + OAUTH_PATH]


def test_deny_answers_access_denied(epic: EpicServer) -> None:
    _, challenge = pkce_pair()
    with EpicBrowser() as browser:
        location = browser.sign_in(authorize_url(epic, challenge), decision="deny")
    assert parse_qs(urlsplit(location).query)["error"] == ["access_denied"]


def test_the_code_needs_its_verifier_and_works_once(epic: EpicServer) -> None:
    verifier, challenge = pkce_pair()
    with EpicBrowser() as browser:
        location = browser.sign_in(authorize_url(epic, challenge))
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": "rupa-desk-epic-demo",
        "code_verifier": "x" * 50,
    }
    wrong = httpx.post(epic.url + OAUTH_PATH + "/token", data=form)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    again = httpx.post(epic.url + OAUTH_PATH + "/token", data={**form, "code_verifier": verifier})
    assert again.json()["error"] == "invalid_grant"  # the first try used the code up


def test_refresh_tokens_only_for_apps_registered_for_them(epic: EpicServer) -> None:
    plain = token_response(epic)
    assert "refresh_token" not in plain
    assert plain["expires_in"] == 3600
    offline = token_response(epic, client_id=REFRESH_CLIENT_ID)
    refreshed = httpx.post(
        epic.url + OAUTH_PATH + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": offline["refresh_token"],
            "client_id": REFRESH_CLIENT_ID,
        },
    ).json()
    assert refreshed["access_token"] not in (offline["access_token"], plain["access_token"])


def test_camila_lopez_is_found_by_name_and_birthdate(fhir: httpx.Client) -> None:
    params = {"family": "Lopez", "given": "Camila", "birthdate": "1987-09-12"}
    patients = entries(fhir.get("Patient", params=params).json())
    assert len(patients) == 1
    camila = validated(patients[0])
    assert camila.id == "erXuFYUfucBZaryVksYEcMg3"
    assert camila.name[0].family == "Lopez"
    mrn = [
        i for i in camila.identifier if i.type and i.type.coding and i.type.coding[0].code == "MR"
    ]
    assert mrn[0].value == "203713"


def test_a_bare_last_name_finds_nobody(fhir: httpx.Client) -> None:
    answer = fhir.get("Patient", params={"family": "Lopez"})
    assert answer.status_code == 200
    assert entries(answer.json()) == []


def test_mrn_and_phone_each_find_their_patient(fhir: httpx.Client) -> None:
    by_mrn = entries(fhir.get("Patient", params={"identifier": f"{MRN_SYSTEM}|203713"}).json())
    by_bare_mrn = entries(fhir.get("Patient", params={"identifier": "203713"}).json())
    phone = by_mrn[0]["telecom"][0]["value"]
    by_phone = entries(fhir.get("Patient", params={"telecom": phone}).json())
    assert (
        [p["id"] for p in by_mrn] == [p["id"] for p in by_bare_mrn] == [p["id"] for p in by_phone]
    )


def test_a_search_without_parameters_is_an_operation_outcome(fhir: httpx.Client) -> None:
    answer = fhir.get("Patient")
    assert answer.status_code == 400
    outcome = validated(answer.json())
    assert outcome.issue[0].diagnostics == "A patient search needs search parameters."


def test_todays_schedule_pages_with_next_links(epic: EpicServer, fhir: httpx.Client) -> None:
    today = epic.epic.today.isoformat()
    seen: list[dict[str, Any]] = []
    bundle = fhir.get("Appointment", params={"date": today, "_count": "5"}).json()
    assert bundle["total"] == epic.config.appointments_today
    while True:
        seen += entries(bundle)
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        bundle = fhir.get(following[0]).json()
    assert len(seen) == epic.config.appointments_today
    assert len({a["id"] for a in seen}) == len(seen)
    assert all(a["start"].startswith(today) for a in seen)
    assert seen[0]["participant"][0]["actor"]["display"] == "Camila Lopez"
    tomorrow = date.fromordinal(epic.epic.today.toordinal() + 1).isoformat()
    assert entries(fhir.get("Appointment", params={"date": tomorrow}).json()) == []


def document(patient_id: str, ordered_test_id: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "identifier": [{"system": "urn:rupa:ordered-test", "value": ordered_test_id}],
        "type": {"coding": [{"system": "http://loinc.org", "code": "11502-2"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "data": base64.b64encode(b"%PDF-1.4 result").decode(),
                }
            }
        ],
    }


def test_a_document_is_created_and_found_by_its_identifier(fhir: httpx.Client) -> None:
    sent = document("erXuFYUfucBZaryVksYEcMg3", "otst_1")
    validated(sent)
    created = fhir.post("DocumentReference", json=sent)
    assert created.status_code == 201
    doc_id = created.json()["id"]
    assert created.headers["Location"].endswith(f"/DocumentReference/{doc_id}")
    found = entries(
        fhir.get("DocumentReference", params={"identifier": "urn:rupa:ordered-test|otst_1"}).json()
    )
    assert [d["id"] for d in found] == [doc_id]
    assert entries(fhir.get("DocumentReference", params={"identifier": "otst_2"}).json()) == []
    validated(fhir.get(f"DocumentReference/{doc_id}").json())


def test_a_document_for_an_unknown_patient_is_refused(fhir: httpx.Client) -> None:
    answer = fhir.post("DocumentReference", json=document("nobody", "otst_1"))
    assert answer.status_code == 422
    assert "known Patient" in validated(answer.json()).issue[0].diagnostics


def test_a_lost_create_answer_still_created_the_document(
    epic: EpicServer, fhir: httpx.Client
) -> None:
    epic.epic.faults.lose_create_answers = 1
    with pytest.raises(httpx.RemoteProtocolError):
        fhir.post("DocumentReference", json=document("erXuFYUfucBZaryVksYEcMg3", "otst_9"))
    assert len(epic.epic.documents) == 1


def test_no_token_is_401_and_a_missing_scope_is_403(epic: EpicServer) -> None:
    anonymous = httpx.get(epic.fhir_base + "/Patient", params={"identifier": "203713"})
    assert anonymous.status_code == 401
    validated(anonymous.json())
    token = token_response(epic, scope="openid user/Patient.read")["access_token"]
    answer = httpx.get(
        epic.fhir_base + "/Appointment",
        params={"date": "2026-01-01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 403
    assert validated(answer.json()).issue[0].code == "forbidden"


def test_an_expired_token_is_401(epic: EpicServer, fhir: httpx.Client) -> None:
    epic.epic.advance(3601)
    assert fhir.get("Patient", params={"identifier": "203713"}).status_code == 401


def test_rate_limit_answers_429_with_retry_after(epic: EpicServer, fhir: httpx.Client) -> None:
    epic.epic.faults.rate_limited = 1
    answer = fhir.get("Patient", params={"identifier": "203713"})
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    assert validated(answer.json()).issue[0].code == "throttled"
    assert fhir.get("Patient", params={"identifier": "203713"}).status_code == 200


def test_every_seeded_patient_is_valid_fhir(epic: EpicServer, fhir: httpx.Client) -> None:
    for patient_id in list(epic.epic.patients):
        validated(fhir.get(f"Patient/{patient_id}").json())


@pytest.mark.timeout(120)
def test_the_command_serves_the_epic_simulator_until_stopped() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "rupa_desk.epic_sandbox", "--port", "0", "--patients", "5"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", first_line)
        assert match, first_line
        assert "FHIR base:" in process.stdout.readline()
        metadata = httpx.get(match.group(0) + "/api/FHIR/R4/metadata", timeout=10).json()
        validated(metadata)
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode is not None


def test_the_epic_simulator_on_a_busy_port_says_which_simulator() -> None:
    from rupa_desk.epic_sandbox.config import EpicConfig
    from rupa_desk.epic_sandbox.server import EpicServer
    from rupa_desk.sandbox.server import SandboxStartError

    with (
        EpicServer(EpicConfig()) as epic,
        pytest.raises(SandboxStartError, match="The Epic simulator cannot listen"),
    ):
        EpicServer(EpicConfig(port=epic.port))
    assert not epic.running

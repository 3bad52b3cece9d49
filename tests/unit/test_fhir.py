"""FHIR resources from Epic read into Rupa Desk's values, every value checked where parsed."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from rupa_desk.core.fhir import (
    bundle_reader,
    outcome_diagnostics,
    parse_appointment,
    parse_capability_oauth,
    parse_patient,
    parse_smart_configuration,
    patient_form,
)
from rupa_desk.core.validation import PatientForm, patient_form_errors
from rupa_desk.epic_sandbox.resources import operation_outcome

CAMILA: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "erXuFYUfucBZaryVksYEcMg3",
    "identifier": [
        {"use": "usual", "type": {"text": "EPI"}, "system": "urn:oid:1.2", "value": "E1"},
        {
            "use": "usual",
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                ]
            },
            "value": "203713",
        },
    ],
    "name": [
        {"use": "usual", "family": "L", "given": ["Cami"]},
        {"use": "official", "family": "Lopez", "given": ["Camila", "Maria"]},
    ],
    "telecom": [
        {"system": "email", "value": "camila@example.com"},
        {"system": "phone", "value": "608-555-1000", "use": "home"},
    ],
    "gender": "female",
    "birthDate": "1987-09-12",
    "address": [
        {"use": "work", "city": "Elsewhere"},
        {
            "use": "home",
            "line": ["100 Oak St", ""],
            "city": "Madison",
            "state": "WI",
            "postalCode": "53703",
        },
    ],
}


def test_a_patient_reads_the_official_name_mrn_telecom_and_home_address() -> None:
    patient = parse_patient(CAMILA)
    assert (patient.family, patient.given) == ("Lopez", "Camila Maria")
    assert patient.mrn == "203713"
    assert (patient.phone, patient.email) == ("608-555-1000", "camila@example.com")
    assert patient.birth_date == date(1987, 9, 12)
    assert patient.address.lines == ("100 Oak St",)
    assert (patient.address.city, patient.address.postal_code) == ("Madison", "53703")


def test_a_year_alone_is_no_birth_date_but_a_bad_date_is_refused() -> None:
    assert parse_patient({**CAMILA, "birthDate": "1987"}).birth_date is None
    for bad in ("1987-02-30", "12/09/1987", 19870912):
        with pytest.raises(ValueError, match="birthDate"):
            parse_patient({**CAMILA, "birthDate": bad})


@pytest.mark.parametrize(
    ("change", "place"),
    [
        ({"id": "../etc"}, "Patient.id"),
        ({"gender": "robot"}, "Patient.gender"),
        ({"name": "Lopez"}, "Patient.name"),
        ({"resourceType": "Practitioner"}, "not a Patient"),
    ],
)
def test_a_patient_with_a_bad_value_is_refused_naming_the_place(
    change: dict[str, Any], place: str
) -> None:
    with pytest.raises(ValueError, match=place):
        parse_patient({**CAMILA, **change})


def test_control_characters_in_a_name_are_refused() -> None:
    patient = copy.deepcopy(CAMILA)
    patient["name"][1]["family"] = "Lo\x1bpez"
    with pytest.raises(ValueError, match="family"):
        parse_patient(patient)


def test_a_bundle_keeps_its_readable_matches_and_its_next_link() -> None:
    bad = {**CAMILA, "id": "bad id"}
    body = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 3,
        "link": [{"relation": "next", "url": "https://fhir.example.org/R4/Patient?_offset=2"}],
        "entry": [
            {"resource": CAMILA, "search": {"mode": "match"}},
            {"resource": bad, "search": {"mode": "match"}},
            {"resource": operation_outcome("informational", "x", "information")},
            {"resource": CAMILA, "search": {"mode": "include"}},
        ],
    }
    page = bundle_reader("Patient", parse_patient)(body)
    assert [p.id for p in page.items] == [CAMILA["id"]]
    assert page.skipped == 1
    assert page.count == 3
    assert page.next_url == "https://fhir.example.org/R4/Patient?_offset=2"
    with pytest.raises(ValueError, match="next"):
        bundle_reader("Patient", parse_patient)(
            {**body, "link": [{"relation": "next", "url": "file:///etc/passwd"}]}
        )


def test_an_appointment_names_its_patient() -> None:
    visit = parse_appointment(
        {
            "resourceType": "Appointment",
            "id": "eAppt1",
            "status": "booked",
            "start": "2026-12-07T08:00:00-06:00",
            "reasonCode": [{"text": "Lab review"}],
            "participant": [
                {"actor": {"reference": "Practitioner/p1", "display": "Dr"}, "status": "accepted"},
                {
                    "actor": {"reference": "Patient/erXu", "display": "Camila Lopez"},
                    "status": "accepted",
                },
            ],
        }
    )
    assert (visit.patient_id, visit.patient_name, visit.reason) == (
        "erXu",
        "Camila Lopez",
        "Lab review",
    )
    assert visit.start is not None
    assert visit.start.hour == 8


def test_outcome_diagnostics_are_short_clean_and_few() -> None:
    outcome = operation_outcome("invalid", "line one\nline two")
    outcome["issue"] += [{"severity": "error", "code": "x", "details": {"text": "d" * 999}}] * 5
    found = outcome_diagnostics(outcome)
    assert found[0] == "line one line two"
    assert len(found) == 3
    assert len(found[1]) == 300
    assert outcome_diagnostics({"error": "x"}) == ()
    assert outcome_diagnostics("<html>") == ()


def test_smart_configuration_needs_web_endpoints_and_s256() -> None:
    good = {
        "issuer": "https://fhir.example.org/oauth2",
        "authorization_endpoint": "https://fhir.example.org/oauth2/authorize",
        "token_endpoint": "https://fhir.example.org/oauth2/token",
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }
    config = parse_smart_configuration(good)
    assert config.issuer == "https://fhir.example.org/oauth2"
    assert config.iss_in_answer
    with pytest.raises(ValueError, match="S256"):
        parse_smart_configuration({**good, "code_challenge_methods_supported": ["plain"]})
    with pytest.raises(ValueError, match="token_endpoint"):
        parse_smart_configuration({**good, "token_endpoint": "javascript:alert(1)"})
    with pytest.raises(ValueError, match="OAuth URIs"):
        parse_capability_oauth({"resourceType": "CapabilityStatement", "rest": [{}]})


def test_use_for_rupa_fills_the_new_patient_form_from_epic() -> None:
    patient = parse_patient(
        {
            **CAMILA,
            "address": [
                {
                    "use": "home",
                    "line": ["100 Oak St", "Apt 2", "Rear"],
                    "city": "Madison",
                    "state": "WI",
                    "postalCode": "53703",
                }
            ],
        }
    )
    form = patient_form(patient)
    assert form == PatientForm(
        first_name="Camila Maria",
        last_name="Lopez",
        email="camila@example.com",
        birthday="1987-09-12",
        phone="608-555-1000",
        gender="female",
        street_1="100 Oak St",
        street_2="Apt 2, Rear",
        city="Madison",
        state="WI",
        zip="53703",
    )
    assert patient_form(replace(patient, sex="unknown", birth_date=None)).gender == ""
    assert patient_form_errors(form, today=date(2026, 12, 7)) == {}  # Rupa Desk's checks pass

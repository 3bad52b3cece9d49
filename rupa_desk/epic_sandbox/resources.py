"""The simulator's records as FHIR R4 JSON: Patient, Appointment, Bundle, OperationOutcome and
the CapabilityStatement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from rupa_desk.epic_sandbox.seed import AppointmentRecord, PatientRecord

#: The system of the simulated organisation's MRNs (an Epic-style OID).
MRN_SYSTEM: Final = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"
#: The simulated organisation's Epic patient ids (an Epic-style OID).
EPI_SYSTEM: Final = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0"
_IDENTIFIER_TYPES: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"
PRACTITIONER: Final = {"reference": "Practitioner/eSimPrac0001", "display": "Ana Rivera, MD"}
LOCATION: Final = {"reference": "Location/eSimLoc0001", "display": "Main Street Clinic"}


def patient(record: PatientRecord) -> dict[str, Any]:
    """A Patient as Epic serves one: MRN identifier, official name, telecom, address."""
    return {
        "resourceType": "Patient",
        "id": record.id,
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [{"system": _IDENTIFIER_TYPES, "code": "MR"}],
                    "text": "MRN",
                },
                "system": MRN_SYSTEM,
                "value": record.mrn,
            },
            {"use": "usual", "type": {"text": "EPI"}, "system": EPI_SYSTEM, "value": record.id},
        ],
        "active": True,
        "name": [
            {
                "use": "official",
                "text": f"{' '.join(record.given)} {record.family}",
                "family": record.family,
                "given": list(record.given),
            }
        ],
        "telecom": [
            {"system": "phone", "value": record.phone, "use": "home"},
            {"system": "email", "value": record.email, "rank": 1},
        ],
        "gender": record.gender,
        "birthDate": record.birth_date.isoformat(),
        "address": [
            {
                "use": "home",
                "line": [record.line],
                "city": record.city,
                "state": record.state,
                "postalCode": record.postal_code,
                "country": "USA",
            }
        ],
    }


def appointment(record: AppointmentRecord, patient_record: PatientRecord) -> dict[str, Any]:
    """An Appointment of today's schedule, naming its patient and practitioner."""
    end = record.start + timedelta(minutes=record.minutes)
    name = f"{' '.join(patient_record.given)} {patient_record.family}"
    return {
        "resourceType": "Appointment",
        "id": record.id,
        "status": record.status,
        "serviceType": [{"text": "Office Visit"}],
        "reasonCode": [{"text": record.reason}],
        "start": record.start.isoformat(timespec="seconds"),
        "end": end.isoformat(timespec="seconds"),
        "minutesDuration": record.minutes,
        "participant": [
            {
                "actor": {"reference": f"Patient/{patient_record.id}", "display": name},
                "required": "required",
                "status": "accepted",
            },
            {"actor": dict(PRACTITIONER), "required": "required", "status": "accepted"},
            {"actor": dict(LOCATION), "required": "required", "status": "accepted"},
        ],
    }


def bundle(
    base: str, self_url: str, resources: list[dict[str, Any]], total: int, next_url: str | None
) -> dict[str, Any]:
    """A searchset Bundle: one page of matches, with its self and next links."""
    links = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome with one issue, as FHIR servers answer errors."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": code,
                "details": {"text": diagnostics},
                "diagnostics": diagnostics,
            }
        ],
    }


def capability_statement(base: str, authorize_url: str, token_url: str) -> dict[str, Any]:
    """The server's CapabilityStatement (`metadata`), with its OAuth URIs (SMART)."""
    resources = {
        "Patient": ("read", "search-type"),
        "Appointment": ("read", "search-type"),
        "DocumentReference": ("read", "search-type", "create"),
    }
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "Epic simulator (Rupa Desk)"},
        "implementation": {"description": "Epic on FHIR simulator", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [
                                {"url": "authorize", "valueUri": authorize_url},
                                {"url": "token", "valueUri": token_url},
                            ],
                        }
                    ],
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                },
                "resource": [
                    {"type": name, "interaction": [{"code": code} for code in codes]}
                    for name, codes in resources.items()
                ],
            }
        ],
    }

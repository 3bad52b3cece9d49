"""`EpicClient`: the FHIR R4 requests Rupa Desk makes of Epic, on the shared `ApiTransport`
(pacing, retries, redacted logs, guarded Bundle paging by `link[relation=next]`).

Every answer is read by `rupa_desk.core.fhir`; every failure is an `EpicError`, with Epic's
OperationOutcome diagnostics when it sent them with a 400/422, 403 or 404 (a 403 or 404 also
says what was asked for, in the desk's words).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

import httpx

from rupa_desk.core.fhir import (
    EhrPatient,
    ScheduledVisit,
    bundle_reader,
    capability_name,
    is_fhir_id,
    outcome_diagnostics,
    parse_appointment,
    parse_patient,
)
from rupa_desk.services.api_transport import ApiTransport, RetryPolicy, TokenSource
from rupa_desk.services.epic.errors import EpicAnswerUnreadable, epic_errors
from rupa_desk.services.errors import ValidationFailed
from rupa_desk.services.http_client import AsyncClosing
from rupa_desk.settings import EpicSettings

FHIR_JSON: Final = "application/fhir+json"
#: The most patients one search returns (Epic's matches are few; a long list helps nobody).
MAX_PATIENT_MATCHES: Final = 50
#: What each request needs access to, as a 403 says it ("may lack access to …").
PATIENTS: Final = "patient records"
SCHEDULE: Final = "the schedule"
DOCUMENTS: Final = "the documents in patients' charts"
FILING: Final = "adding documents to patients' charts"
SERVER: Final = "Epic's description of its server"


def _outcome_error(body: object, status: int) -> ValidationFailed:
    """A 400/422 answer's OperationOutcome, as the transport's typed error."""
    return ValidationFailed(general_errors=outcome_diagnostics(body), status=status)


def _document_id(body: object) -> str:
    if not isinstance(body, Mapping) or body.get("resourceType") != "DocumentReference":
        raise ValueError("not a DocumentReference")
    if not is_fhir_id(body.get("id")):
        raise ValueError("DocumentReference.id is not a FHIR id")
    return str(body["id"])


class EpicClient(AsyncClosing):
    """Patient search, the day's schedule and documents in the chart, at one FHIR base.

    Args:
        settings: the FHIR base and limits.
        tokens: the bearer tokens (an `EpicConnection`).
        transport: an httpx transport (tests); None for the network.
    """

    def __init__(
        self,
        settings: EpicSettings,
        tokens: TokenSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api = ApiTransport(
            settings.fhir_base,
            tokens,
            settings.limits,
            media_type=FHIR_JSON,
            error_format=_outcome_error,
            refusal_details=outcome_diagnostics,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._api.aclose()

    async def server_name(self) -> str:
        """What Epic's CapabilityStatement calls the server ("" when it does not say)."""
        with epic_errors(SERVER):
            return await self._api.get("metadata", capability_name)

    async def search_patients(
        self,
        *,
        family: str | None = None,
        given: str | None = None,
        birth_date: date | None = None,
        mrn: str | None = None,
        phone: str | None = None,
    ) -> list[EhrPatient]:
        """Epic's matches (at most `MAX_PATIENT_MATCHES`).

        Epic returns strong matches only: family + given + birth date together, an MRN, or a
        phone. Less (a last name alone) usually finds nobody, which is not an error.
        """
        params = {
            name: value
            for name, value in (
                ("family", family),
                ("given", given),
                ("birthdate", birth_date.isoformat() if birth_date else None),
                ("identifier", mrn),
                ("telecom", phone),
            )
            if value
        }
        found: list[EhrPatient] = []
        with epic_errors(PATIENTS):
            async for patient in self._api.iterate(
                "Patient", params, bundle_reader("Patient", parse_patient)
            ):
                found.append(patient)
                if len(found) == MAX_PATIENT_MATCHES:
                    break
        return found

    async def patient(self, patient_id: str) -> EhrPatient:
        """One patient by Epic's FHIR id."""
        if not is_fhir_id(patient_id):
            raise ValueError("not a FHIR id")
        with epic_errors(PATIENTS, missing="this patient"):
            return await self._api.get(f"Patient/{patient_id}", parse_patient)

    async def schedule(self, day: date) -> list[ScheduledVisit]:
        """The appointments of `day`, every page, in Epic's order."""
        with epic_errors(SCHEDULE):
            return [
                visit
                async for visit in self._api.iterate(
                    "Appointment",
                    {"date": day.isoformat()},
                    bundle_reader("Appointment", parse_appointment),
                )
            ]

    async def documents_with_identifier(self, system: str, value: str) -> list[str]:
        """The ids of the DocumentReferences that carry this identifier."""
        read = bundle_reader("DocumentReference", _document_id)
        with epic_errors(DOCUMENTS):
            return [
                doc_id
                async for doc_id in self._api.iterate(
                    "DocumentReference", {"identifier": f"{system}|{value}"}, read
                )
            ]

    async def create_document(self, resource: Mapping[str, Any]) -> str:
        """Create a DocumentReference; its id.

        Sent once unless it surely never arrived: a lost answer raises `EpicOutcomeUnknown`,
        and the caller looks it up by its identifier before creating it again.
        """
        with epic_errors(FILING):
            response = await self._api.send(
                "POST", "DocumentReference", body=resource, policy=RetryPolicy.UNSENT_ONLY
            )
            if response.content:
                return self._api.read(response, _document_id)
        location = response.headers.get("Location", "")
        doc_id = location.rstrip("/").split("/DocumentReference/")[-1].split("/")[0]
        if not is_fhir_id(doc_id):
            raise EpicAnswerUnreadable()
        return doc_id


def lab_report_document(
    *,
    patient_id: str,
    identifier_system: str,
    identifier_value: str,
    title: str,
    pdf: bytes,
    when: str,
) -> dict[str, Any]:
    """A DocumentReference of a lab report PDF (LOINC 11502-2) for `patient_id`."""
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "identifier": [{"system": identifier_system, "value": identifier_value}],
        "type": {
            "coding": [
                {"system": "http://loinc.org", "code": "11502-2", "display": "Laboratory report"}
            ],
            "text": "Laboratory report",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": when,
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "data": base64.b64encode(pdf).decode("ascii"),
                    "title": title,
                }
            }
        ],
    }

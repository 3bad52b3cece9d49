"""FHIR R4 resources as Rupa Desk reads them from Epic: Patient, Appointment, searchset
Bundles, OperationOutcome and the SMART configuration. Pure functions; no I/O.

Every value is checked where it is parsed: ids against FHIR's id rule, texts for length and
control characters, dates as dates, links as web URLs. A reader raises ValueError (naming the
place, never the value: messages are logged) for a resource it cannot use; a Bundle leaves
out such entries and counts them (`Page.skipped`), keeping the rest of the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, TypeVar

from rupa_desk.core.jsonapi import is_clean_text, is_web_url
from rupa_desk.core.models import Page
from rupa_desk.core.redaction import redact
from rupa_desk.core.validation import PatientForm

T = TypeVar("T")

#: FHIR's id rule: letters, digits, "-" and ".", 1 to 64 of them.
_FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_TEXT_LENGTH: Final = 200
_DIAGNOSTICS_LENGTH: Final = 300
_MAX_DIAGNOSTICS: Final = 3
#: The HL7 v2 identifier type of a medical record number.
_IDENTIFIER_TYPES: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"
_GENDERS: Final = frozenset({"male", "female", "other", "unknown"})


def is_fhir_id(value: object) -> bool:
    """True for a FHIR logical id (safe in a URL path as it is)."""
    return isinstance(value, str) and _FHIR_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class Address:
    """A postal address (the home one when there are several)."""

    lines: tuple[str, ...] = ()
    city: str = ""
    state: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class EhrPatient:
    """A patient as Epic has her: what the front desk needs to recognise and register her.

    Attributes:
        id: Epic's FHIR id of the patient.
        mrn: the medical record number ("" when Epic sent none).
        family, given: the official name (given names joined by spaces).
        birth_date: None when Epic sent none or only a year or month.
        sex: FHIR's administrative gender ("" when not sent).
    """

    id: str
    mrn: str
    family: str
    given: str
    birth_date: date | None
    sex: str = ""
    phone: str = ""
    email: str = ""
    address: Address = Address()

    @property
    def display_name(self) -> str:
        return f"{self.given} {self.family}".strip()


@dataclass(frozen=True)
class ScheduledVisit:
    """One appointment of a day's schedule.

    Attributes:
        patient_id: Epic's FHIR id of the patient ("" when the appointment names none).
        patient_name: the patient's name as the appointment shows it.
    """

    id: str
    start: datetime | None
    status: str
    reason: str
    patient_id: str
    patient_name: str


@dataclass(frozen=True)
class SmartConfiguration:
    """Where a FHIR server's sign-in is: from `.well-known/smart-configuration` or `metadata`.

    Attributes:
        issuer: the authorization server's issuer (None when only `metadata` said where).
        iss_in_answer: the server says it sends `iss` with its answers (RFC 9207).
    """

    authorize_url: str
    token_url: str
    issuer: str | None = None
    iss_in_answer: bool = False


# -- helpers --------------------------------------------------------------------------------


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} is not an object")
    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where} is not a list")
    return value


def _text(value: object, where: str, max_length: int = _TEXT_LENGTH) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not is_clean_text(value, max_length):
        raise ValueError(f"{where} is not a short text")
    return value.strip()


def _resource(body: object, kind: str) -> Mapping[str, Any]:
    resource = _object(body, kind)
    if resource.get("resourceType") != kind:
        raise ValueError(f"not a {kind}")
    if not is_fhir_id(resource.get("id")):
        raise ValueError(f"{kind}.id is not a FHIR id")
    return resource


# -- Patient --------------------------------------------------------------------------------


def parse_patient(body: object) -> EhrPatient:
    """A Patient resource.

    Raises:
        ValueError: it is not a Patient, or a value has the wrong type or shape.
    """
    resource = _resource(body, "Patient")
    family, given = _name(_list(resource.get("name"), "Patient.name"))
    phone = email = ""
    for index, item in enumerate(_list(resource.get("telecom"), "Patient.telecom")):
        point = _object(item, f"Patient.telecom[{index}]")
        system = point.get("system")
        value = _text(point.get("value"), f"Patient.telecom[{index}].value")
        if system == "phone" and not phone:
            phone = value
        elif system == "email" and not email:
            email = value
    sex = _text(resource.get("gender"), "Patient.gender")
    if sex and sex not in _GENDERS:
        raise ValueError("Patient.gender is not an administrative gender")
    return EhrPatient(
        id=resource["id"],
        mrn=_mrn(_list(resource.get("identifier"), "Patient.identifier")),
        family=family,
        given=given,
        birth_date=_birth_date(resource.get("birthDate")),
        sex=sex,
        phone=phone,
        email=email,
        address=_address(_list(resource.get("address"), "Patient.address")),
    )


def _name(names: list[Any]) -> tuple[str, str]:
    """(family, given) of the official name, else the usual one, else the first."""
    parsed = [_object(n, f"Patient.name[{i}]") for i, n in enumerate(names)]
    if not parsed:
        return "", ""
    chosen = next(
        (n for use in ("official", "usual") for n in parsed if n.get("use") == use), parsed[0]
    )
    family = _text(chosen.get("family"), "Patient.name.family")
    given = " ".join(
        _text(g, "Patient.name.given") for g in _list(chosen.get("given"), "Patient.name.given")
    )
    return family, given.strip()


def _mrn(identifiers: list[Any]) -> str:
    """The value of the identifier typed MR (medical record number), or "MRN" by its text."""
    for index, item in enumerate(identifiers):
        identifier = _object(item, f"Patient.identifier[{index}]")
        kind = identifier.get("type")
        if not isinstance(kind, Mapping):
            continue
        codings = [c for c in _list(kind.get("coding"), "identifier.type.coding")]
        is_mr = any(
            isinstance(c, Mapping)
            and c.get("code") == "MR"
            and c.get("system") in (None, _IDENTIFIER_TYPES)
            for c in codings
        )
        if is_mr or kind.get("text") == "MRN":
            return _text(identifier.get("value"), "Patient.identifier.value", 64)
    return ""


def _birth_date(value: object) -> date | None:
    """A full birth date; a year or year-month alone (allowed by FHIR) reads as None."""
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}(-\d{2})?", value):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("Patient.birthDate is not a date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("Patient.birthDate is not a date") from None


def _address(addresses: list[Any]) -> Address:
    parsed = [_object(a, f"Patient.address[{i}]") for i, a in enumerate(addresses)]
    if not parsed:
        return Address()
    chosen = next((a for a in parsed if a.get("use") == "home"), parsed[0])
    lines = tuple(
        _text(line, "Patient.address.line") for line in _list(chosen.get("line"), "address.line")
    )
    return Address(
        lines=tuple(line for line in lines if line),
        city=_text(chosen.get("city"), "Patient.address.city"),
        state=_text(chosen.get("state"), "Patient.address.state"),
        postal_code=_text(chosen.get("postalCode"), "Patient.address.postalCode", 20),
    )


# -- Appointment ----------------------------------------------------------------------------


def parse_appointment(body: object) -> ScheduledVisit:
    """An Appointment resource.

    Raises:
        ValueError: it is not an Appointment, or a value has the wrong type or shape.
    """
    resource = _resource(body, "Appointment")
    start_text = _text(resource.get("start"), "Appointment.start", 40)
    try:
        start = datetime.fromisoformat(start_text) if start_text else None
    except ValueError:
        raise ValueError("Appointment.start is not an instant") from None
    reasons = _list(resource.get("reasonCode"), "Appointment.reasonCode")
    reason = ""
    if reasons:
        first = _object(reasons[0], "Appointment.reasonCode[0]")
        reason = _text(first.get("text"), "Appointment.reasonCode[0].text")
    patient_id = patient_name = ""
    for index, item in enumerate(_list(resource.get("participant"), "Appointment.participant")):
        actor = _object(item, f"Appointment.participant[{index}]").get("actor")
        if not isinstance(actor, Mapping):
            continue
        reference = actor.get("reference")
        if isinstance(reference, str) and reference.startswith("Patient/"):
            candidate = reference.removeprefix("Patient/")
            if not is_fhir_id(candidate):
                raise ValueError("Appointment.participant.actor is not a patient reference")
            patient_id = candidate
            patient_name = _text(actor.get("display"), "Appointment.participant.actor.display")
            break
    return ScheduledVisit(
        id=resource["id"],
        start=start,
        status=_text(resource.get("status"), "Appointment.status", 40),
        reason=reason,
        patient_id=patient_id,
        patient_name=patient_name,
    )


# -- Bundle ---------------------------------------------------------------------------------


def bundle_reader(kind: str, read: Callable[[object], T]) -> Callable[[object], Page[T]]:
    """A reader of one searchset Bundle page of `kind` resources (a `PageFormat`)."""

    def read_page(body: object) -> Page[T]:
        bundle = _object(body, "Bundle")
        if bundle.get("resourceType") != "Bundle":
            raise ValueError("not a Bundle")
        items: list[T] = []
        skipped = 0
        for index, item in enumerate(_list(bundle.get("entry"), "Bundle.entry")):
            entry = _object(item, f"Bundle.entry[{index}]")
            resource = entry.get("resource")
            search = entry.get("search")
            mode = search.get("mode") if isinstance(search, Mapping) else None
            if not isinstance(resource, Mapping) or resource.get("resourceType") != kind:
                continue  # an OperationOutcome of warnings, or an included resource
            if mode not in (None, "match"):
                continue
            try:
                items.append(read(resource))
            except ValueError:
                skipped += 1
        next_url = None
        for index, item in enumerate(_list(bundle.get("link"), "Bundle.link")):
            link = _object(item, f"Bundle.link[{index}]")
            if link.get("relation") == "next":
                url = link.get("url")
                if not isinstance(url, str) or not is_web_url(url):
                    raise ValueError("Bundle.link next is not a web URL")
                next_url = url
        total = bundle.get("total")
        count = total if isinstance(total, int) and not isinstance(total, bool) else None
        if count is not None and count < 0:
            raise ValueError("Bundle.total is negative")
        return Page(tuple(items), next_url, count=count, resource_type=kind, skipped=skipped)

    return read_page


# -- OperationOutcome -----------------------------------------------------------------------


def outcome_diagnostics(body: object) -> tuple[str, ...]:
    """The diagnostics of an OperationOutcome (or each issue's details text), at most a few,
    each shortened, with anything like a token, a secret or an email address taken out;
    () for anything else. Never raises: it reads error answers."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "OperationOutcome":
        return ()
    issues = body.get("issue")
    found: list[str] = []
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, Mapping):
            continue
        details = issue.get("details")
        text = issue.get("diagnostics")
        if not isinstance(text, str) and isinstance(details, Mapping):
            text = details.get("text")
        if isinstance(text, str) and text.strip():
            text = " ".join(text.split())  # no line breaks or tabs
            if is_clean_text(text, 10 * _DIAGNOSTICS_LENGTH):
                found.append(redact(text)[:_DIAGNOSTICS_LENGTH])
        if len(found) == _MAX_DIAGNOSTICS:
            break
    return tuple(found)


# -- SMART configuration --------------------------------------------------------------------


def parse_smart_configuration(body: object) -> SmartConfiguration:
    """`.well-known/smart-configuration`.

    Raises:
        ValueError: an endpoint is missing or not a web URL, or PKCE S256 is not offered.
    """
    config = _object(body, "smart-configuration")
    authorize = config.get("authorization_endpoint")
    token = config.get("token_endpoint")
    if not isinstance(authorize, str) or not is_web_url(authorize):
        raise ValueError("authorization_endpoint is not a web URL")
    if not isinstance(token, str) or not is_web_url(token):
        raise ValueError("token_endpoint is not a web URL")
    methods = config.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ValueError("code_challenge_methods_supported lacks S256")
    issuer = config.get("issuer")
    if issuer is not None and (not isinstance(issuer, str) or not is_web_url(issuer)):
        raise ValueError("issuer is not a web URL")
    return SmartConfiguration(
        authorize,
        token,
        issuer,
        config.get("authorization_response_iss_parameter_supported") is True,
    )


def capability_name(body: object) -> str:
    """What a CapabilityStatement calls the server (its software's name, else its
    description); "" when it says nothing usable. Never raises."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "CapabilityStatement":
        return ""
    for part, key in (("software", "name"), ("implementation", "description")):
        section = body.get(part)
        value = section.get(key) if isinstance(section, Mapping) else None
        if isinstance(value, str) and value.strip() and is_clean_text(value, _TEXT_LENGTH):
            return " ".join(value.split())
    return ""


_OAUTH_URIS: Final = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def parse_capability_oauth(body: object) -> SmartConfiguration:
    """The OAuth URIs in a CapabilityStatement's `rest[].security` (`metadata`).

    Raises:
        ValueError: it is not a CapabilityStatement, or names no authorize and token URLs.
    """
    statement = _object(body, "CapabilityStatement")
    if statement.get("resourceType") != "CapabilityStatement":
        raise ValueError("not a CapabilityStatement")
    for rest in _list(statement.get("rest"), "CapabilityStatement.rest"):
        security = _object(rest, "rest").get("security")
        if not isinstance(security, Mapping):
            continue
        for extension in _list(security.get("extension"), "security.extension"):
            extension = _object(extension, "security.extension")
            if extension.get("url") != _OAUTH_URIS:
                continue
            uris = {
                e.get("url"): e.get("valueUri")
                for e in _list(extension.get("extension"), "oauth-uris")
                if isinstance(e, Mapping)
            }
            return parse_smart_configuration(
                {
                    "authorization_endpoint": uris.get("authorize"),
                    "token_endpoint": uris.get("token"),
                }
            )
    raise ValueError("the CapabilityStatement names no OAuth URIs")


# -- Epic → Rupa ----------------------------------------------------------------------------


def patient_form(patient: EhrPatient) -> PatientForm:
    """The new-patient form filled from an Epic patient ("Use for Rupa").

    The official name, the first phone and email, the birth date, the administrative gender
    where Rupa has it (female, male; other), and the home address: the first address line
    goes to street 1, the rest joined to street 2. The form is checked as typed afterwards,
    like anything else in it.
    """
    address = patient.address
    sex = patient.sex if patient.sex in ("female", "male", "other") else ""
    return PatientForm(
        first_name=patient.given,
        last_name=patient.family,
        email=patient.email,
        birthday=patient.birth_date.isoformat() if patient.birth_date else "",
        phone=patient.phone,
        gender=sex,
        street_1=address.lines[0] if address.lines else "",
        street_2=", ".join(address.lines[1:]),
        city=address.city,
        state=address.state,
        zip=address.postal_code,
    )

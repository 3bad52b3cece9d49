"""The simulator's FHIR R4 endpoints below `/api/FHIR/R4`.

- `metadata` and `.well-known/smart-configuration` (no token needed).
- `Patient` read and search with Epic's strong-match rule: an MRN (`identifier`), a phone
  (`telecom`/`phone`), or family + given + birthdate together; anything less (a bare last
  name) finds nothing. No search parameter at all is an error.
- `Appointment` search by `date` (`eq`, `ge`, `gt`, `le`, `lt` on days), optionally by
  `patient`.
- `DocumentReference` create (checked), read, and search by `identifier` or `patient`.

Every answer other than 2xx is an `OperationOutcome`; a missing, unknown or expired token is
401, a scope that does not allow the interaction 403, an empty rate bucket 429. Searches are
Bundles paged with `_count` and `link[relation=next]`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import date
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rupa_desk.epic_sandbox import resources
from rupa_desk.epic_sandbox.config import FHIR_PATH
from rupa_desk.epic_sandbox.oauth import fhir_base, smart_configuration, token_endpoints
from rupa_desk.epic_sandbox.seed import PatientRecord
from rupa_desk.epic_sandbox.state import AccessGrant, EpicState

FHIR_JSON: Final = "application/fhir+json"
MAX_COUNT: Final = 100
_DOCUMENT_STATUSES: Final = frozenset({"current", "superseded", "entered-in-error"})


class FhirError(Exception):
    """An error answer: its status, and the OperationOutcome issue code and diagnostics."""

    def __init__(
        self, status: int, code: str, diagnostics: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics = status, code, diagnostics
        self.headers = headers or {}


def fhir_response(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(
        json.dumps(body), status_code=status, media_type=FHIR_JSON, headers=headers or None
    )


def error_response(error: FhirError) -> Response:
    outcome = resources.operation_outcome(error.code, error.diagnostics)
    return fhir_response(outcome, error.status, **error.headers)


def scope_allows(scopes: frozenset[str], resource: str, interaction: str) -> bool:
    """True when a SMART scope (v1 `.read`/`.write`, v2 `.cruds`) allows `interaction`
    ("r", "s", "c", "u" or "d") on `resource`, for the user or the patient."""
    for scope in scopes:
        context, _, rest = scope.partition("/")
        name, _, action = rest.partition(".")
        if context not in ("user", "patient", "system") or name not in (resource, "*"):
            continue
        if action == "*" or (action == "read" and interaction in "rs"):
            return True
        if action == "write" and interaction in "cud":
            return True
        if action and set(action) <= set("cruds") and interaction in action:
            return True
    return False


class FhirEndpoints:
    """Patient, Appointment and DocumentReference, behind the bearer-token checks."""

    def __init__(self, state: EpicState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        base = FHIR_PATH
        routes = [
            Route(base + "/metadata", self.metadata, methods=["GET"]),
            Route(base + "/Patient", self.search_patients, methods=["GET"]),
            Route(base + "/Patient/{id}", self.read_patient, methods=["GET"]),
            Route(base + "/Appointment", self.search_appointments, methods=["GET"]),
            Route(base + "/DocumentReference", self.search_documents, methods=["GET"]),
            Route(base + "/DocumentReference", self.create_document, methods=["POST"]),
            Route(base + "/DocumentReference/{id}", self.read_document, methods=["GET"]),
        ]
        if self.state.config.smart_configuration:
            path = base + "/.well-known/smart-configuration"
            routes.append(Route(path, self.smart_configuration, methods=["GET"]))
        return routes

    # -- discovery --

    async def smart_configuration(self, request: Request) -> Response:
        return JSONResponse(smart_configuration(request))

    async def metadata(self, request: Request) -> Response:
        authorize, token = token_endpoints(request)
        return fhir_response(resources.capability_statement(fhir_base(request), authorize, token))

    # -- the guard --

    def _guard(self, request: Request, resource: str, interaction: str) -> AccessGrant:
        """The grant of the request's token, after the rate limit and the fault switches.

        Raises:
            FhirError: 401, 403, 429 or an injected failure.
        """
        header = request.headers.get("Authorization", "")
        token = header[7:] if header[:7].lower() == "bearer " else ""
        with self.state.lock:
            self.state.requests.append((request.method, request.url.path))
            grant = self.state.access_tokens.get(token)
            if grant is None or grant.expires_at <= self.state.now():
                raise FhirError(
                    401,
                    "login",
                    "The access token is missing, unknown or expired.",
                    {"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            faults = self.state.faults
            if faults.rate_limited > 0 or not self.state.take_token(token):
                faults.rate_limited = max(0, faults.rate_limited - 1)
                raise FhirError(
                    429,
                    "throttled",
                    "Too many requests.",
                    {"Retry-After": str(faults.retry_after_s)},
                )
            if faults.fail_status:
                status = faults.fail_status.pop(0)
                raise FhirError(status, "transient", "The server failed (injected fault).")
        if not scope_allows(grant.scopes, resource, interaction):
            raise FhirError(
                403, "forbidden", f"The granted scopes do not allow this on {resource}."
            )
        return grant

    # -- Patient --

    async def read_patient(self, request: Request) -> Response:
        self._guard(request, "Patient", "r")
        with self.state.lock:
            record = self.state.patients.get(request.path_params["id"])
        if record is None:
            raise FhirError(404, "not-found", "No patient has this id.")
        return fhir_response(resources.patient(record))

    async def search_patients(self, request: Request) -> Response:
        self._guard(request, "Patient", "s")
        query = request.query_params
        criteria = {k for k in query if not k.startswith("_")}
        if not criteria:
            raise FhirError(400, "required", "A patient search needs search parameters.")
        unknown = criteria - {
            "family",
            "given",
            "birthdate",
            "identifier",
            "telecom",
            "phone",
            "gender",
        }
        if unknown:
            raise FhirError(400, "not-supported", f"Unknown search parameter: {sorted(unknown)[0]}")
        birthdate = _day(query.get("birthdate")) if "birthdate" in query else None
        with self.state.lock:
            records = list(self.state.patients.values())
        matches = [r for r in records if _strong_match(r, query, birthdate)]
        return self._page(request, [resources.patient(r) for r in matches])

    # -- Appointment --

    async def search_appointments(self, request: Request) -> Response:
        self._guard(request, "Appointment", "s")
        query = request.query_params
        tests = [_day_test(value) for value in query.getlist("date")]
        patient = query.get("patient", "").removeprefix("Patient/")
        if not tests and not patient:
            raise FhirError(400, "required", "An appointment search needs a date or a patient.")
        with self.state.lock:
            found = [
                resources.appointment(a, self.state.patients[a.patient_id])
                for a in self.state.schedule
                if all(test(a.start.date()) for test in tests)
                and (not patient or a.patient_id == patient)
            ]
        return self._page(request, found)

    # -- DocumentReference --

    async def create_document(self, request: Request) -> Response:
        self._guard(request, "DocumentReference", "c")
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise FhirError(400, "structure", "The body is not JSON.") from None
        document = self._checked_document(body)
        with self.state.lock:
            document["id"] = self.state.new_id("eDoc")
            document["meta"] = {"versionId": "1"}
            self.state.documents[document["id"]] = document
            lose = self.state.faults.lose_create_answers > 0
            if lose:
                self.state.faults.lose_create_answers -= 1
        location = f"{fhir_base(request)}/DocumentReference/{document['id']}"
        response = fhir_response(document, 201, Location=location)
        if lose:
            response.headers["X-Sim-Lose-Answer"] = "1"  # the server-level filter drops it
        return response

    def _checked_document(self, body: Any) -> dict[str, Any]:
        def refuse(text: str) -> FhirError:
            return FhirError(422, "invalid", text)

        if not isinstance(body, dict) or body.get("resourceType") != "DocumentReference":
            raise FhirError(400, "structure", "The body is not a DocumentReference.")
        if body.get("status") not in _DOCUMENT_STATUSES:
            raise refuse("DocumentReference.status must be current or superseded.")
        if not isinstance(body.get("type"), dict):
            raise refuse("DocumentReference.type is required.")
        subject = body.get("subject")
        reference = subject.get("reference") if isinstance(subject, dict) else None
        with self.state.lock:
            known = isinstance(reference, str) and reference.removeprefix("Patient/") in (
                self.state.patients
            )
        if not known:
            raise refuse("DocumentReference.subject must reference a known Patient.")
        content = body.get("content")
        if not isinstance(content, list) or not content:
            raise refuse("DocumentReference.content is required.")
        for item in content:
            attachment = item.get("attachment") if isinstance(item, dict) else None
            if not isinstance(attachment, dict) or not attachment.get("contentType"):
                raise refuse("Each attachment needs a contentType.")
            try:
                base64.b64decode(str(attachment.get("data", "")), validate=True)
            except (binascii.Error, ValueError):
                raise refuse("The attachment data is not base64.") from None
            if not attachment.get("data"):
                raise refuse("The attachment has no data.")
        return dict(body)

    async def read_document(self, request: Request) -> Response:
        self._guard(request, "DocumentReference", "r")
        with self.state.lock:
            document = self.state.documents.get(request.path_params["id"])
        if document is None:
            raise FhirError(404, "not-found", "No document has this id.")
        return fhir_response(document)

    async def search_documents(self, request: Request) -> Response:
        self._guard(request, "DocumentReference", "s")
        query = request.query_params
        identifier = query.get("identifier")
        patient = (query.get("patient") or query.get("subject") or "").removeprefix("Patient/")
        if identifier is None and not patient:
            raise FhirError(400, "required", "A document search needs an identifier or patient.")
        with self.state.lock:
            documents = list(self.state.documents.values())
        found = [
            d
            for d in documents
            if (identifier is None or _has_identifier(d.get("identifier"), identifier))
            and (not patient or d["subject"]["reference"].removeprefix("Patient/") == patient)
        ]
        return self._page(request, found)

    # -- paging --

    def _page(self, request: Request, matches: list[dict[str, Any]]) -> Response:
        query = request.query_params
        count = _whole(query.get("_count"), self.state.config.page_size)
        count = max(1, min(count, MAX_COUNT))
        offset = max(0, _whole(query.get("_offset"), 0))
        page = matches[offset : offset + count]
        base = fhir_base(request)
        path = f"{base}/{request.url.path.rsplit('/', 1)[-1]}"
        kept = [(k, v) for k, v in query.multi_items() if k != "_offset"]
        self_url = f"{path}?{urlencode(kept)}"
        next_url = None
        if offset + count < len(matches):
            next_url = f"{path}?{urlencode([*kept, ('_offset', str(offset + count))])}"
        return fhir_response(resources.bundle(base, self_url, page, len(matches), next_url))


def _whole(text: str | None, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit():
        raise FhirError(400, "invalid", "_count and _offset must be whole numbers.")
    return int(text)


def _day(text: str | None) -> date:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        raise FhirError(400, "invalid", "A date must be YYYY-MM-DD.") from None


def _day_test(value: str) -> Callable[[date], bool]:
    prefix, text = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
    day = _day(text[:10])
    tests: dict[str, Callable[[date], bool]] = {
        "eq": lambda d: d == day,
        "ge": lambda d: d >= day,
        "gt": lambda d: d > day,
        "le": lambda d: d <= day,
        "lt": lambda d: d < day,
    }
    if prefix not in tests:
        raise FhirError(400, "not-supported", f"The date prefix {prefix!r} is not supported.")
    return tests[prefix]


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _strong_match(record: PatientRecord, query: Any, birthdate: date | None) -> bool:
    """Epic's rule: an MRN, a phone, or family + given + birthdate; other parameters narrow."""
    identifier = query.get("identifier")
    phone = query.get("telecom") or query.get("phone")
    family, given = query.get("family"), query.get("given")
    strong = False
    if identifier is not None:
        value = identifier.rsplit("|", 1)[-1]
        if value not in (record.mrn, record.id):
            return False
        strong = True
    if phone is not None:
        if _digits(phone.rsplit("|", 1)[-1]) != _digits(record.phone):
            return False
        strong = True
    if family is not None and not record.family.lower().startswith(family.lower()):
        return False
    if given is not None and not any(g.lower().startswith(given.lower()) for g in record.given):
        return False
    if birthdate is not None and record.birth_date != birthdate:
        return False
    gender = query.get("gender")
    if gender is not None and gender != record.gender:
        return False
    return strong or (family is not None and given is not None and birthdate is not None)


def _has_identifier(identifiers: Any, wanted: str) -> bool:
    system, _, value = wanted.rpartition("|")
    if not isinstance(identifiers, list):
        return False
    return any(
        isinstance(i, dict)
        and i.get("value") == value
        and (not system or i.get("system") == system)
        for i in identifiers
    )

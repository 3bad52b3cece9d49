"""The Rupa JSON:API endpoints (RUPA_API.md, "Endpoints"), plus order-intent lookup by draft id.

Every request needs a valid Bearer access token (401 otherwise), is counted against that
token's rate limit (429 with Retry-After), and first lets the order lifecycle catch up with
the simulated clock. Handlers run under `state.lock` and never await inside it.

Beyond RUPA_API.md (our assumption): `GET /order_intents?filter[metadata.draft_id]=X` lists
the practitioner's order intents whose metadata has that draft id.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rupa_desk.sandbox import lifecycle, tokens, validation
from rupa_desk.sandbox.clock import wall_now
from rupa_desk.sandbox.ids import ORDER_INTENT, PATIENT
from rupa_desk.sandbox.jsonapi import (
    ApiError,
    Serializer,
    document_response,
    error_object,
    error_response,
    list_document,
    parse_filters,
    parse_include,
)
from rupa_desk.sandbox.results_hl7 import HL7Facts, HL7Faults, render_oru
from rupa_desk.sandbox.results_pdf import ReportFacts, render_requisition, render_results
from rupa_desk.sandbox.state import (
    ALL_STATUSES,
    INTENT_OPEN,
    AccessToken,
    LabTest,
    Order,
    OrderedTest,
    OrderIntent,
    Patient,
    Practitioner,
    SandboxState,
)


@dataclass(frozen=True)
class Call:
    """One authenticated API request, as a handler sees it."""

    request: Request
    practitioner: Practitioner
    token: AccessToken
    body: Any
    serializer: Serializer

    @property
    def clinic_id(self) -> str:
        return self.practitioner.clinic_id

    def path_id(self) -> str:
        return str(self.request.path_params["id"])


Handler = Callable[[Call], Response]


def _not_found(type_name: str, entity_id: str) -> ApiError:
    return ApiError(404, "not_found", f"No {type_name} with id {entity_id!r}.")


def _forbidden(detail: str) -> ApiError:
    return ApiError(403, "permission_denied", detail)


class ApiEndpoints:
    """Every API route of the simulator."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        e = self._endpoint
        return [
            Route("/practitioners/me", e(self.practitioner_me), methods=["GET"]),
            Route("/practitioners", e(self.list_practitioners), methods=["GET"]),
            Route("/patients", e(self.list_patients), methods=["GET"]),
            Route("/patients", e(self.create_patient), methods=["POST"]),
            Route("/patients/{id}", e(self.get_patient), methods=["GET"]),
            Route("/lab_companies", e(self.list_lab_companies), methods=["GET"]),
            Route("/lab_companies/{id}", e(self.get_lab_company), methods=["GET"]),
            Route("/lab_tests", e(self.list_lab_tests), methods=["GET"]),
            Route("/lab_tests/{id}", e(self.get_lab_test), methods=["GET"]),
            Route("/order_intents", e(self.list_order_intents), methods=["GET"]),
            Route("/order_intents", e(self.create_order_intent), methods=["POST"]),
            Route("/order_intents/{id}", e(self.get_order_intent), methods=["GET"]),
            Route("/order_intents/{id}", e(self.update_order_intent), methods=["PATCH"]),
            Route("/orders", e(self.list_orders), methods=["GET"]),
            Route("/orders/{id}", e(self.get_order), methods=["GET"]),
            Route("/ordered_tests/{id}/results.pdf", e(self.results_pdf), methods=["GET"]),
            Route("/ordered_tests/{id}/results.hl7", e(self.results_hl7), methods=["GET"]),
            Route("/ordered_tests/{id}/requisition.pdf", e(self.requisition_pdf), methods=["GET"]),
        ]

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler with authentication, rate limiting, body parsing and the lock."""

        async def endpoint(request: Request) -> Response:
            raw = await request.body() if request.method in ("POST", "PATCH") else b""
            try:
                with self.state.lock:
                    access = tokens.authenticate(self.state, request.headers.get("authorization"))
                    retry_after = self.state.rate_limiter.take(tokens.fingerprint(access.token))
                    if retry_after is not None:
                        raise ApiError(
                            429,
                            "throttled",
                            f"Request was throttled. Expected available in {retry_after} second"
                            f"{'s' if retry_after != 1 else ''}.",
                            headers={"Retry-After": str(retry_after)},
                        )
                    practitioner = self.state.practitioners[access.practitioner_id]
                    lifecycle.catch_up(self.state)
                    call = Call(
                        request=request,
                        practitioner=practitioner,
                        token=access,
                        body=_parse_body(raw) if request.method in ("POST", "PATCH") else None,
                        serializer=Serializer(self.state, str(request.base_url)),
                    )
                    return handler(call)
            except ApiError as exc:
                return error_response(exc)

        endpoint.__name__ = handler.__name__
        return endpoint

    # -- practitioners ------------------------------------------------------------------------

    def practitioner_me(self, call: Call) -> Response:
        include = parse_include(call.request, "practitioner")
        return document_response(
            call.serializer.single(call.practitioner, include, always=[("clinic",)])
        )

    def list_practitioners(self, call: Call) -> Response:
        include = parse_include(call.request, "practitioner")
        parse_filters(call.request, set())
        items = [p for p in self.state.practitioners.values() if p.clinic_id == call.clinic_id]
        return document_response(list_document(call.request, call.serializer, items, include))

    # -- patients -----------------------------------------------------------------------------

    def list_patients(self, call: Call) -> Response:
        include = parse_include(call.request, "patient")
        filters = parse_filters(call.request, {"email"})
        items = [p for p in self.state.patients.values() if p.clinic_id == call.clinic_id]
        if "email" in filters:
            wanted = filters["email"].strip().casefold()
            items = [p for p in items if p.email.casefold() == wanted]
        return document_response(list_document(call.request, call.serializer, items, include))

    def _patient(self, call: Call, patient_id: str) -> Patient:
        patient = self.state.patients.get(patient_id)
        if patient is None:
            raise _not_found("patient", patient_id)
        if patient.clinic_id != call.clinic_id:
            raise _forbidden("This patient belongs to another clinic.")
        return patient

    def get_patient(self, call: Call) -> Response:
        include = parse_include(call.request, "patient")
        return document_response(
            call.serializer.single(self._patient(call, call.path_id()), include)
        )

    def create_patient(self, call: Call) -> Response:
        data = validation.resource_data(call.body, "patient")
        clean = validation.patient_attributes(data)
        key = _dedupe_key(clean["first_name"], clean["last_name"], clean["email"])
        for existing in self.state.patients.values():
            if existing.clinic_id == call.clinic_id and key == _dedupe_key(
                existing.first_name, existing.last_name, existing.email
            ):
                return document_response(call.serializer.single(existing, []), 200)
        patient = Patient(
            id=self.state.ids.new(PATIENT),
            clinic_id=call.clinic_id,
            first_name=clean["first_name"],
            last_name=clean["last_name"],
            email=clean["email"],
            birthday=clean["birthday"],
            phone=clean["phone"],
            gender=clean["gender"],
            address=clean["address"],
            created_at=wall_now(),
        )
        self.state.patients[patient.id] = patient
        return document_response(
            call.serializer.single(patient, []),
            201,
            headers={"Location": f"{call.serializer.base_url}/patients/{patient.id}"},
        )

    # -- catalog ------------------------------------------------------------------------------

    def list_lab_companies(self, call: Call) -> Response:
        include = parse_include(call.request, "lab_company")
        parse_filters(call.request, set())
        items = list(self.state.lab_companies.values())
        unlisted = self.state.faults.unlisted_lab_companies
        if unlisted:
            items = items[: max(0, len(items) - unlisted)]
        return document_response(list_document(call.request, call.serializer, items, include))

    def get_lab_company(self, call: Call) -> Response:
        company = self.state.lab_companies.get(call.path_id())
        if company is None:
            raise _not_found("lab_company", call.path_id())
        include = parse_include(call.request, "lab_company")
        return document_response(call.serializer.single(company, include))

    def list_lab_tests(self, call: Call) -> Response:
        include = parse_include(call.request, "lab_test")
        filters = parse_filters(call.request, {"lab_company", "is_active"})
        tests = self.state.lab_tests
        items: list[LabTest]
        if "lab_company" in filters and not self.state.faults.ignore_company_filter:
            ids = self.state.lab_tests_by_company.get(filters["lab_company"], {})
            items = [tests[i] for i in ids]
        else:
            items = list(tests.values())
        if "is_active" in filters:
            wanted = filters["is_active"].strip().lower()
            if wanted not in ("true", "false"):
                raise ApiError(
                    400,
                    "invalid_filter",
                    "filter[is_active] is true or false.",
                    parameter="filter[is_active]",
                )
            items = [t for t in items if t.is_active == (wanted == "true")]
        return document_response(list_document(call.request, call.serializer, items, include))

    def get_lab_test(self, call: Call) -> Response:
        test = self.state.lab_tests.get(call.path_id())
        if test is None:
            raise _not_found("lab_test", call.path_id())
        include = parse_include(call.request, "lab_test")
        return document_response(call.serializer.single(test, include))

    # -- order intents ------------------------------------------------------------------------

    def _intent(self, call: Call, intent_id: str) -> OrderIntent:
        intent = self.state.order_intents.get(intent_id)
        if intent is None:
            raise _not_found("order_intent", intent_id)
        if intent.clinic_id != call.clinic_id:
            raise _forbidden("This order intent belongs to another clinic.")
        return intent

    def list_order_intents(self, call: Call) -> Response:
        include = parse_include(call.request, "order_intent")
        filters = parse_filters(call.request, {"status", "patient"}, prefixes=("metadata.",))
        items = [
            i
            for i in self.state.order_intents.values()
            if i.practitioner_id == call.practitioner.id
        ]
        for name, value in filters.items():
            if name.startswith("metadata."):
                key = name[len("metadata.") :]
                items = [
                    i for i in items if key in i.metadata and _filter_text(i.metadata[key]) == value
                ]
            elif name == "status":
                items = [i for i in items if i.status == value]
            elif name == "patient":
                items = [i for i in items if i.patient_id == value]
        items.sort(key=lambda i: i.created_at, reverse=True)
        return document_response(list_document(call.request, call.serializer, items, include))

    def get_order_intent(self, call: Call) -> Response:
        include = parse_include(call.request, "order_intent")
        return document_response(
            call.serializer.single(self._intent(call, call.path_id()), include)
        )

    def create_order_intent(self, call: Call) -> Response:
        data = validation.resource_data(call.body, "order_intent")
        fields = self._intent_fields(call, data, creating=True)
        intent = OrderIntent(
            id=self.state.ids.new(ORDER_INTENT),
            clinic_id=call.clinic_id,
            practitioner_id=call.practitioner.id,
            patient_id=fields["patient_id"],
            lab_test_ids=fields.get("lab_test_ids", []),
            return_url=fields["return_url"],
            metadata=fields.get("metadata", {}),
            notes=fields.get("notes", ""),
            status=INTENT_OPEN,
            created_at=wall_now(),
        )
        self.state.order_intents[intent.id] = intent
        return document_response(
            call.serializer.single(intent, []),
            201,
            headers={"Location": f"{call.serializer.base_url}/order_intents/{intent.id}"},
        )

    def update_order_intent(self, call: Call) -> Response:
        intent = self._intent(call, call.path_id())
        data = validation.resource_data(call.body, "order_intent", resource_id=intent.id)
        if intent.status != INTENT_OPEN:
            raise ApiError(
                400,
                "order_intent_completed",
                "This order intent was already checked out and can no longer change.",
                pointer="/data",
            )
        fields = self._intent_fields(call, data, creating=False)
        if "return_url" in fields:
            intent.return_url = fields["return_url"]
        if "metadata" in fields:
            intent.metadata = fields["metadata"]
        if "notes" in fields:
            intent.notes = fields["notes"]
        if "patient_id" in fields:
            intent.patient_id = fields["patient_id"]
        if "lab_test_ids" in fields:
            intent.lab_test_ids = fields["lab_test_ids"]
        return document_response(call.serializer.single(intent, []))

    def _intent_fields(self, call: Call, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        """Validated order-intent fields present in `data` (all errors at once)."""
        attrs = data.get("attributes") or {}
        rels = data.get("relationships") or {}
        problems: list[dict[str, Any]] = []
        fields: dict[str, Any] = {}
        if creating or "return_url" in attrs:
            url = validation.return_url(attrs.get("return_url"), problems, required=True)
            if url is not None:
                fields["return_url"] = url
        if "metadata" in attrs:
            metadata = attrs["metadata"]
            if metadata is None:
                fields["metadata"] = {}
            elif isinstance(metadata, dict):
                fields["metadata"] = metadata
            else:
                problems.append(
                    _pointer_problem("metadata must be an object.", "/data/attributes/metadata")
                )
        if "notes" in attrs:
            notes = attrs["notes"]
            if notes is None or isinstance(notes, str):
                fields["notes"] = notes or ""
            else:
                problems.append(
                    _pointer_problem("notes must be a string.", "/data/attributes/notes")
                )
        if creating or "patient" in rels:
            pointer = "/data/relationships/patient"
            linkage = rels.get("patient")
            if not isinstance(linkage, dict) or linkage.get("data") is None:
                problems.append(
                    error_object(400, "required", "patient is required.", pointer=pointer)
                )
            else:
                patient_id = validation.linkage_id(
                    linkage["data"], "patient", pointer + "/data", problems
                )
                if patient_id is not None:
                    patient = self.state.patients.get(patient_id)
                    if patient is None or patient.clinic_id != call.clinic_id:
                        problems.append(
                            error_object(
                                400,
                                "does_not_exist",
                                "This patient is not in your clinic.",
                                pointer=pointer + "/data",
                            )
                        )
                    else:
                        fields["patient_id"] = patient_id
        if "lab_tests" in rels:
            fields["lab_test_ids"] = self._lab_test_ids(rels["lab_tests"], problems)
        if problems:
            raise ApiError.many(400, problems)
        return fields

    def _lab_test_ids(self, linkage: Any, problems: list[dict[str, Any]]) -> list[str]:
        pointer = "/data/relationships/lab_tests/data"
        data = linkage.get("data") if isinstance(linkage, dict) else None
        if data is None:
            data = []
        if not isinstance(data, list):
            problems.append(_pointer_problem("lab_tests.data must be a list.", pointer))
            return []
        ids: list[str] = []
        for index, item in enumerate(data):
            test_id = validation.linkage_id(item, "lab_test", f"{pointer}/{index}", problems)
            if test_id is None:
                continue
            test = self.state.lab_tests.get(test_id)
            if test is None:
                problems.append(
                    error_object(
                        400,
                        "does_not_exist",
                        f"No lab test {test_id!r}.",
                        pointer=f"{pointer}/{index}",
                    )
                )
            elif not test.is_active:
                problems.append(
                    error_object(
                        400,
                        "inactive",
                        f"Lab test {test_id!r} cannot be ordered now.",
                        pointer=f"{pointer}/{index}",
                    )
                )
            elif test_id not in ids:
                ids.append(test_id)
        return ids

    # -- orders -------------------------------------------------------------------------------

    def _order(self, call: Call, order_id: str) -> Order:
        order = self.state.orders.get(order_id)
        if order is None:
            raise _not_found("order", order_id)
        if order.clinic_id != call.clinic_id:
            raise _forbidden("This order belongs to another clinic.")
        return order

    def list_orders(self, call: Call) -> Response:
        include = parse_include(call.request, "order")
        filters = parse_filters(call.request, {"patient", "status", "practitioner"})
        items = [o for o in self.state.orders.values() if o.clinic_id == call.clinic_id]
        if "practitioner" in filters:
            wanted = filters["practitioner"]
            other = self.state.practitioners.get(wanted)
            if other is not None and other.clinic_id != call.clinic_id:
                raise _forbidden("That practitioner belongs to another clinic.")
            items = [
                o
                for o in items
                if wanted in (o.patients_practitioner_id, o.signing_practitioner_id)
            ]
        if "patient" in filters:
            items = [o for o in items if o.patient_id == filters["patient"]]
        if "status" in filters:
            wanted_statuses = {
                s.strip().casefold() for s in filters["status"].split(",") if s.strip()
            }
            known = {s.casefold() for s in ALL_STATUSES}
            unknown = wanted_statuses - known
            if unknown:
                raise ApiError(
                    400,
                    "invalid_filter",
                    f"Unknown status {sorted(unknown)[0]!r}; statuses: {', '.join(ALL_STATUSES)}.",
                    parameter="filter[status]",
                )
            items = [o for o in items if o.status.casefold() in wanted_statuses]
        items.sort(key=lambda o: o.date_submitted, reverse=True)
        return document_response(list_document(call.request, call.serializer, items, include))

    def get_order(self, call: Call) -> Response:
        include = parse_include(call.request, "order")
        return document_response(call.serializer.single(self._order(call, call.path_id()), include))

    # -- documents ----------------------------------------------------------------------------

    def _ordered_test(self, call: Call) -> tuple[OrderedTest, ReportFacts]:
        ordered = self.state.ordered_tests.get(call.path_id())
        if ordered is None:
            raise _not_found("ordered_test", call.path_id())
        order = self._order(call, ordered.order_id)
        test = (
            self.state.lab_tests.get(ordered.lab_test_id)
            or self.state.retired_lab_tests[ordered.lab_test_id]
        )
        patient = self.state.patients[order.patient_id]
        practitioner = self.state.practitioners[order.signing_practitioner_id]
        facts = ReportFacts(
            ordered_test_id=ordered.id,
            order_id=order.id,
            test_name=test.name,
            lab_name=self.state.lab_companies[test.lab_company_id].name,
            biomarkers=test.biomarkers,
            sample_types=test.sample_types,
            patient_name=patient.full_name,
            patient_birthday=patient.birthday,
            practitioner_name=practitioner.titled_full_name,
            clinic_name=self.state.clinics[order.clinic_id].name,
            date_submitted=order.date_submitted,
            date_reported=ordered.date_results_received_from_lab,
            final=ordered.results_final,
        )
        return ordered, facts

    def results_pdf(self, call: Call) -> Response:
        ordered, facts = self._ordered_test(call)
        if not ordered.has_results:
            raise ApiError(404, "not_found", "This ordered test has no results yet.")
        if self.state.faults.results_not_pdf:
            return Response(_NOT_A_PDF, media_type="text/html")
        return _pdf(render_results(facts), f"results-{ordered.id}.pdf")

    def results_hl7(self, call: Call) -> Response:
        ordered, facts = self._ordered_test(call)
        if not ordered.has_results:
            raise ApiError(404, "not_found", "This ordered test has no results yet.")
        order = self.state.orders[ordered.order_id]
        patient = self.state.patients[order.patient_id]
        faults = self.state.faults
        message = render_oru(
            HL7Facts(
                ordered_test_id=ordered.id,
                order_id=order.id,
                test_name=facts.test_name,
                lab_name=facts.lab_name,
                biomarkers=facts.biomarkers,
                patient_id=patient.id,
                patient_first_name=patient.first_name,
                patient_last_name=patient.last_name,
                patient_birthday=patient.birthday,
                collected=order.date_paid or order.date_submitted,
                reported=ordered.date_results_received_from_lab,
                final=ordered.results_final,
                corrected=ordered.results_corrected,
            ),
            HL7Faults(
                malformed=faults.hl7_malformed,
                unknown_segments=faults.hl7_unknown_segments,
                wrong_charset=faults.hl7_wrong_charset,
            ),
        )
        return Response(message, media_type="x-application/hl7-v2+er7")

    def requisition_pdf(self, call: Call) -> Response:
        ordered, facts = self._ordered_test(call)
        if not ordered.has_requisition:
            raise ApiError(404, "not_found", "This ordered test has no requisition yet.")
        if self.state.faults.requisition_not_pdf:
            return Response(_NOT_A_PDF, media_type="text/html")
        return _pdf(render_requisition(facts), f"requisition-{ordered.id}.pdf")


#: What a PDF link answers with under the `*_not_pdf` faults (a web page, as a misconfigured
#: proxy or an expired link might give).
_NOT_A_PDF = b"<html><body>Sign in to see this page.</body></html>"


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(400, "invalid", "The request body is empty.", pointer="")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, "parse_error", f"The request body is not valid JSON: {exc}", pointer=""
        ) from exc


def _dedupe_key(first: str, last: str, email: str) -> tuple[str, str, str]:
    return (first.strip().casefold(), last.strip().casefold(), email.strip().casefold())


def _filter_text(value: Any) -> str:
    """How a metadata value compares with a filter string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _pointer_problem(detail: str, pointer: str) -> dict[str, Any]:
    return error_object(400, "invalid", detail, pointer=pointer)

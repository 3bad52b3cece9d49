"""JSON:API documents: resource objects, relationships, `include=`, pagination and errors.

Resource shapes follow RUPA_API.md ("Attributes"): singular snake_case types, to-many
relationships with `meta.count`, ISO 8601 timestamps with offset, prices as numbers.
Callers hold `state.lock` while serializing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from rupa_desk.sandbox import hostile_values
from rupa_desk.sandbox.clock import iso
from rupa_desk.sandbox.state import (
    Clinic,
    LabCompany,
    LabTest,
    Order,
    OrderedTest,
    OrderIntent,
    Patient,
    Practitioner,
    SandboxState,
)

MEDIA_TYPE: Final = "application/vnd.api+json"
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 100

Entity = Clinic | Practitioner | Patient | LabCompany | LabTest | OrderIntent | Order | OrderedTest
T = TypeVar("T")

#: relationship name -> related type, per resource type (drives `include=` validation)
RELATIONSHIPS: Final[dict[str, dict[str, str]]] = {
    "clinic": {},
    "practitioner": {"clinic": "clinic"},
    "patient": {},
    "lab_company": {},
    "lab_test": {"lab_company": "lab_company"},
    "order_intent": {"patient": "patient", "lab_tests": "lab_test", "order": "order"},
    "order": {
        "patient": "patient",
        "patients_practitioner": "practitioner",
        "signing_practitioner": "practitioner",
        "order_intent": "order_intent",
        "ordered_tests": "ordered_test",
        "line_items": "line_item",
    },
    "ordered_test": {"lab_test": "lab_test"},
    "line_item": {},
}


class ApiError(Exception):
    """An error answered as a JSON:API error document.

    Args:
        status: the HTTP status.
        code: a short machine-readable code (`invalid`, `required`, `not_found`, ...).
        detail: a human-readable explanation.
        pointer: JSON pointer into the request document (validation errors).
        parameter: the query parameter at fault.
        headers: extra response headers (e.g. Retry-After, WWW-Authenticate).
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.headers = dict(headers or {})
        self.errors = [error_object(status, code, detail, pointer=pointer, parameter=parameter)]

    @classmethod
    def many(cls, status: int, errors: list[dict[str, Any]]) -> ApiError:
        """One error response carrying several error objects (e.g. every invalid field)."""
        error = cls(status, "invalid", "invalid")
        error.errors = errors
        return error


def error_object(
    status: int,
    code: str,
    detail: str,
    *,
    pointer: str | None = None,
    parameter: str | None = None,
) -> dict[str, Any]:
    """One JSON:API error object."""
    obj: dict[str, Any] = {"status": str(status), "code": code, "detail": detail}
    if pointer is not None:
        obj["source"] = {"pointer": pointer}
    elif parameter is not None:
        obj["source"] = {"parameter": parameter}
    return obj


def json_bytes(document: Any) -> bytes:
    try:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (a hostile value): sent escaped
        return json.dumps(document, separators=(",", ":")).encode("ascii")


def document_response(
    document: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON:API response."""
    return Response(
        json_bytes(document), status_code=status, headers=headers, media_type=MEDIA_TYPE
    )


def error_response(error: ApiError) -> Response:
    return document_response({"errors": error.errors}, error.status, error.headers)


def to_one(type_name: str, entity_id: str | None) -> dict[str, Any]:
    return {"data": None if entity_id is None else {"type": type_name, "id": entity_id}}


def to_many(type_name: str, ids: Sequence[str]) -> dict[str, Any]:
    return {
        "data": [{"type": type_name, "id": i} for i in ids],
        "meta": {"count": len(ids)},
    }


class Serializer:
    """Turns the simulator's entities into JSON:API resource objects."""

    def __init__(self, state: SandboxState, base_url: str) -> None:
        self.state = state
        self.base_url = base_url.rstrip("/")
        self._hostile_values = hostile_values.hostile_lab_test_values(state)
        self._hostile_companies = hostile_values.hostile_lab_company_values(state)

    def checkout_url(self, intent_id: str) -> str:
        return f"{self.base_url}/checkout/{intent_id}"

    def _served_checkout_url(self, intent_id: str) -> str:
        return self.state.faults.hostile_checkout_url or self.checkout_url(intent_id)

    def _served_ordered_test_id(self, ordered_test_id: str) -> str:
        return hostile_values.served_ordered_test_id(self.state, ordered_test_id)

    def results_url(self, ordered_test_id: str) -> str:
        return f"{self.base_url}/ordered_tests/{ordered_test_id}/results.pdf"

    def results_hl7_url(self, ordered_test_id: str) -> str:
        return f"{self.base_url}/ordered_tests/{ordered_test_id}/results.hl7"

    def requisition_url(self, ordered_test_id: str) -> str:
        return f"{self.base_url}/ordered_tests/{ordered_test_id}/requisition.pdf"

    def resource(self, entity: Entity) -> dict[str, Any]:
        """The resource object for `entity`."""
        type_name, attributes, relationships = self._parts(entity)
        served_id = entity.id
        if type_name == "ordered_test":
            served_id = self._served_ordered_test_id(entity.id)
        return {
            "id": served_id,
            "type": type_name,
            "attributes": attributes,
            "relationships": relationships,
        }

    def _parts(self, e: Entity) -> tuple[str, dict[str, Any], dict[str, Any]]:
        if isinstance(e, LabTest):
            return (
                "lab_test",
                {
                    "name": e.name,
                    "price": e.price,
                    "sample_types": list(e.sample_types),
                    "biomarkers": list(e.biomarkers),
                    "estimated_days_for_results": e.estimated_days_for_results,
                    "categories": list(e.categories),
                    "is_active": e.is_active,
                    "updated_at": iso(e.updated_at),
                    **self._hostile_values.get(e.id, {}),
                },
                {"lab_company": to_one("lab_company", e.lab_company_id)},
            )
        if isinstance(e, LabCompany):
            attributes = {"name": e.name, "short_name": e.short_name}
            return "lab_company", attributes | self._hostile_companies.get(e.id, {}), {}
        if isinstance(e, Clinic):
            return "clinic", {"name": e.name}, {}
        if isinstance(e, Practitioner):
            return (
                "practitioner",
                {
                    "first_name": e.first_name,
                    "last_name": e.last_name,
                    "titled_full_name": e.titled_full_name,
                    "email": e.email,
                    "phone": e.phone,
                },
                {"clinic": to_one("clinic", e.clinic_id)},
            )
        if isinstance(e, Patient):
            return (
                "patient",
                {
                    "first_name": e.first_name,
                    "last_name": e.last_name,
                    "email": e.email,
                    "birthday": e.birthday,
                    "phone": e.phone,
                    "gender": e.gender,
                    "address": dict(e.address) if e.address is not None else None,
                },
                {},
            )
        if isinstance(e, OrderIntent):
            return (
                "order_intent",
                {
                    "return_url": e.return_url,
                    "checkout_url": self._served_checkout_url(e.id),
                    "metadata": e.metadata,
                    "notes": e.notes,
                    "status": e.status,
                    "created_at": iso(e.created_at),
                },
                {
                    "patient": to_one("patient", e.patient_id),
                    "lab_tests": to_many("lab_test", e.lab_test_ids),
                    "order": to_one("order", e.order_id),
                },
            )
        if isinstance(e, Order):
            served_test_ids = [self._served_ordered_test_id(t) for t in e.ordered_test_ids]
            return (
                "order",
                {
                    "status": e.status,
                    "payer": e.payer,
                    "total_price": e.total_price,
                    "notes_to_patient": e.notes_to_patient,
                    "date_submitted": iso(e.date_submitted),
                    "date_paid": iso(e.date_paid),
                    "date_completed": iso(e.date_completed),
                    "date_canceled": iso(e.date_canceled),
                },
                {
                    "patient": to_one("patient", e.patient_id),
                    "patients_practitioner": to_one("practitioner", e.patients_practitioner_id),
                    "signing_practitioner": to_one("practitioner", e.signing_practitioner_id),
                    "order_intent": to_one("order_intent", e.order_intent_id),
                    "ordered_tests": to_many("ordered_test", served_test_ids),
                    "line_items": to_many("line_item", []),
                },
            )
        return (
            "ordered_test",
            {
                "requisition": self.requisition_url(e.id) if e.has_requisition else None,
                "results_pdf": self.results_url(e.id) if e.has_results else None,
                "results_hl7": self.results_hl7_url(e.id) if e.has_results else None,
                "date_results_received_from_lab": iso(e.date_results_received_from_lab),
            },
            {"lab_test": to_one("lab_test", e.lab_test_id)},
        )

    def lookup(self, type_name: str, entity_id: str) -> Entity | None:
        """The entity of a type and id, if the simulator has it (retired tests included)."""
        state = self.state
        tables: dict[str, Mapping[str, Entity]] = {
            "clinic": state.clinics,
            "practitioner": state.practitioners,
            "patient": state.patients,
            "lab_company": state.lab_companies,
            "order_intent": state.order_intents,
            "order": state.orders,
            "ordered_test": state.ordered_tests,
        }
        if type_name == "ordered_test":
            entity_id = hostile_values.real_ordered_test_id(entity_id)
        if type_name == "lab_test":
            return state.lab_tests.get(entity_id) or state.retired_lab_tests.get(entity_id)
        table = tables.get(type_name)
        return None if table is None else table.get(entity_id)

    def related(self, entity: Entity, name: str) -> list[Entity]:
        """The entities a relationship of `entity` points at (those that exist)."""
        _, _, relationships = self._parts(entity)
        data = relationships.get(name, {}).get("data")
        linkages = data if isinstance(data, list) else [data] if data else []
        found = []
        for linkage in linkages:
            target = self.lookup(linkage["type"], linkage["id"])
            if target is not None:
                found.append(target)
        return found

    def included(self, primary: Sequence[Entity], paths: list[tuple[str, ...]]) -> list[Any]:
        """Resource objects for `include=` paths, each once, primary data left out."""
        seen = {(type(e), e.id) for e in primary}
        out: list[dict[str, Any]] = []
        for path in paths:
            level: list[Entity] = list(primary)
            for name in path:
                next_level: list[Entity] = []
                for entity in level:
                    for target in self.related(entity, name):
                        next_level.append(target)
                        if (type(target), target.id) not in seen:
                            seen.add((type(target), target.id))
                            out.append(self.resource(target))
                level = next_level
        return out

    def single(
        self,
        entity: Entity,
        paths: list[tuple[str, ...]],
        *,
        always: Sequence[tuple[str, ...]] = (),
    ) -> dict[str, Any]:
        """A document with one resource as primary data."""
        document: dict[str, Any] = {"data": self.resource(entity)}
        wanted = list(dict.fromkeys([*always, *paths]))
        if wanted:
            document["included"] = self.included([entity], wanted)
        return document


def parse_include(request: Request, type_name: str) -> list[tuple[str, ...]]:
    """The validated `include=` paths (e.g. `ordered_tests.lab_test`) for a resource type."""
    raw = request.query_params.get("include", "")
    paths: list[tuple[str, ...]] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        current = type_name
        path = tuple(item.split("."))
        for name in path:
            target = RELATIONSHIPS.get(current, {}).get(name)
            if target is None:
                raise ApiError(
                    400,
                    "invalid_include",
                    f"{item!r} is not a relationship path of {type_name}.",
                    parameter="include",
                )
            current = target
        paths.append(path)
    return paths


def parse_filters(
    request: Request, allowed: set[str], *, prefixes: tuple[str, ...] = ()
) -> dict[str, str]:
    """`filter[name]=value` parameters; unknown filter names are a 400."""
    filters: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if not key.startswith("filter["):
            continue
        if not key.endswith("]"):
            raise ApiError(400, "invalid_filter", f"Malformed filter {key!r}.", parameter=key)
        name = key[len("filter[") : -1]
        if name not in allowed and not any(name.startswith(p) for p in prefixes):
            raise ApiError(
                400,
                "invalid_filter",
                f"Unknown filter {name!r}; supported: {', '.join(sorted(allowed)) or 'none'}.",
                parameter=key,
            )
        filters[name] = value
    return filters


@dataclass(frozen=True)
class PageRequest:
    number: int
    size: int


def parse_page(request: Request) -> PageRequest:
    """`page[number]` (1-based) and `page[size]` (default 50, at most 100)."""
    values = {}
    for key, default in (("page[number]", 1), ("page[size]", DEFAULT_PAGE_SIZE)):
        raw = request.query_params.get(key)
        if raw is None:
            values[key] = default
            continue
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise ApiError(400, "invalid_page", f"{key} must be a positive integer.", parameter=key)
        values[key] = number
    return PageRequest(values["page[number]"], min(values["page[size]"], MAX_PAGE_SIZE))


def _page_link(request: Request, number: int, size: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if not k.startswith("page[")]
    params += [("page[number]", str(number)), ("page[size]", str(size))]
    base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    return base + "?" + urlencode(params, safe="[],.:")


def paginate(request: Request, items: Sequence[T]) -> tuple[Sequence[T], dict[str, Any]]:
    """One page of `items` and the list document's `links` and `meta`."""
    page = parse_page(request)
    count = len(items)
    pages = max(1, math.ceil(count / page.size))
    if page.number > pages:
        raise ApiError(
            404,
            "not_found",
            f"Page {page.number} does not exist; there are {pages} pages.",
            parameter="page[number]",
        )
    start = (page.number - 1) * page.size
    chunk = items[start : start + page.size]

    def link(number: int) -> str:
        return _page_link(request, number, page.size)

    parts = {
        "links": {
            "self": link(page.number),
            "first": link(1),
            "last": link(pages),
            "prev": link(page.number - 1) if page.number > 1 else None,
            "next": link(page.number + 1) if page.number < pages else None,
        },
        "meta": {"pagination": {"page": page.number, "pages": pages, "count": count}},
    }
    return chunk, parts


def list_document(
    request: Request,
    serializer: Serializer,
    items: Sequence[Entity],
    include: list[tuple[str, ...]],
) -> dict[str, Any]:
    """A paginated list document with `links`, `meta.pagination` and `included`."""
    chunk, parts = paginate(request, items)
    document: dict[str, Any] = {"data": [serializer.resource(e) for e in chunk], **parts}
    if include:
        document["included"] = serializer.included(chunk, include)
    return document

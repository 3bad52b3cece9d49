"""JSON:API documents from Rupa, parsed into the dataclasses of `rupa_desk.core.models`.

Pure functions, no I/O. What they promise (RUPA_API.md, "Client rules"):

- Any body that is not the document expected raises `MalformedDocument`, never another
  exception: the API client turns it into its `MalformedResponse` error.
- Unknown attributes and relationships are ignored; each model keeps its resource object in
  `raw`. Missing optional attributes get the model's default; a present attribute of the
  wrong JSON type is malformed (a number where a name should be is not something to guess).
- Relationships give the related id, and the related object when it is in `included`.
- `status` stays an open string (see `rupa_desk.core.status`).

It also builds the request documents the client sends (`resource_document`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from rupa_desk.core.models import (
    Address,
    Clinic,
    LabCompany,
    LabTest,
    Order,
    OrderedTest,
    OrderIntent,
    Page,
    Patient,
    Practitioner,
)

T = TypeVar("T")

# Resource types (RUPA_API.md: singular snake_case [C]; clinic and lab_company ids [A]).
PRACTITIONER: Final = "practitioner"
CLINIC: Final = "clinic"
PATIENT: Final = "patient"
LAB_COMPANY: Final = "lab_company"
LAB_TEST: Final = "lab_test"
ORDER_INTENT: Final = "order_intent"
ORDER: Final = "order"
ORDERED_TEST: Final = "ordered_test"


class MalformedDocument(ValueError):
    """The body is not the JSON:API document expected (the message says what is wrong).

    Messages name the place (`data.attributes.price`), never the values, so they are safe to
    log.
    """


@dataclass(frozen=True, slots=True)
class Identifier:
    """A resource identifier object: `{type, id}`."""

    type: str
    id: str


@dataclass(frozen=True, slots=True)
class Relationship:
    """One relationship of a resource: to-one (`one`), to-many (`many`), or data absent.

    Attributes:
        one: the related identifier of a to-one relationship (None when null or absent).
        many: the related identifiers of a to-many relationship.
        is_to_many: True when `data` was a list.
        meta: the relationship's `meta` (e.g. `{count}` on to-many relationships).
    """

    one: Identifier | None = None
    many: tuple[Identifier, ...] = ()
    is_to_many: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource object: type, id, attributes, relationships, and the object itself."""

    type: str
    id: str
    attributes: Mapping[str, Any]
    relationships: Mapping[str, Relationship]
    raw: Mapping[str, Any]


Included = Mapping[tuple[str, str], Resource]
Parser = Callable[[Resource, Included], T]


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed top-level document.

    Attributes:
        data: one resource, a list of them, or None (`data: null`).
        is_list: True when `data` was a list.
        included: the `included` resources by (type, id).
        links: the top-level links (values are URLs or None).
        meta: the top-level meta object.
    """

    data: Resource | tuple[Resource, ...] | None
    is_list: bool
    included: Included
    links: Mapping[str, str | None]
    meta: Mapping[str, Any]


# --- reading the document structure ---------------------------------------------------------


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedDocument(f"{where} is not a JSON object")
    return value


def _optional_object(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    return _object(value, where)


def _identifier(value: object, where: str) -> Identifier:
    obj = _object(value, where)
    type_, id_ = obj.get("type"), obj.get("id")
    if not isinstance(type_, str) or not type_:
        raise MalformedDocument(f"{where}.type is not a non-empty string")
    if not isinstance(id_, str) or not id_:
        raise MalformedDocument(f"{where}.id is not a non-empty string")
    return Identifier(type_, id_)


def _relationship(value: object, where: str) -> Relationship:
    obj = _object(value, where)
    meta = _optional_object(obj.get("meta"), f"{where}.meta")
    if "data" not in obj or obj["data"] is None:
        return Relationship(meta=meta)
    data = obj["data"]
    if isinstance(data, list):
        many = tuple(_identifier(item, f"{where}.data[{i}]") for i, item in enumerate(data))
        return Relationship(many=many, is_to_many=True, meta=meta)
    return Relationship(one=_identifier(data, f"{where}.data"), meta=meta)


def parse_resource(value: object, where: str = "data") -> Resource:
    """Read one resource object.

    Raises:
        MalformedDocument: it is not a resource object.
    """
    obj = _object(value, where)
    ident = _identifier(obj, where)
    attributes = _optional_object(obj.get("attributes"), f"{where}.attributes")
    rels_obj = _optional_object(obj.get("relationships"), f"{where}.relationships")
    relationships = {
        str(name): _relationship(rel, f"{where}.relationships.{name}")
        for name, rel in rels_obj.items()
    }
    return Resource(ident.type, ident.id, attributes, relationships, obj)


def parse_document(body: object) -> Document:
    """Read the top level of a JSON:API document (`data`, `included`, `links`, `meta`).

    Raises:
        MalformedDocument: the body is not a JSON:API data document.
    """
    top = _object(body, "the document")
    if "data" not in top:
        raise MalformedDocument("the document has no data member")
    raw_data = top["data"]
    data: Resource | tuple[Resource, ...] | None
    if raw_data is None:
        data, is_list = None, False
    elif isinstance(raw_data, list):
        data = tuple(parse_resource(item, f"data[{i}]") for i, item in enumerate(raw_data))
        is_list = True
    else:
        data, is_list = parse_resource(raw_data), False
    raw_included = top.get("included")
    if raw_included is None:
        raw_included = []
    if not isinstance(raw_included, list):
        raise MalformedDocument("included is not a list")
    included: dict[tuple[str, str], Resource] = {}
    for i, item in enumerate(raw_included):
        resource = parse_resource(item, f"included[{i}]")
        included[(resource.type, resource.id)] = resource
    links: dict[str, str | None] = {}
    for name, link in _optional_object(top.get("links"), "links").items():
        links[str(name)] = _link(link, f"links.{name}")
    meta = _optional_object(top.get("meta"), "meta")
    return Document(data, is_list, included, links, meta)


def _link(value: object, where: str) -> str | None:
    """A link is a URL string, null, or a link object `{href, meta}`."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        href = value.get("href")
        if href is None or isinstance(href, str):
            return href
    raise MalformedDocument(f"{where} is not a URL")


# --- reading attributes ---------------------------------------------------------------------


class _Fields:
    """Typed access to one resource's attributes; a wrong type is a MalformedDocument."""

    def __init__(self, resource: Resource) -> None:
        self._attributes = resource.attributes
        self._where = f"{resource.type} attributes"

    def _get(self, name: str) -> object:
        return self._attributes.get(name)

    def _bad(self, name: str, expected: str) -> MalformedDocument:
        return MalformedDocument(f"{self._where}: {name} is not {expected}")

    def text(self, name: str, default: str = "") -> str:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._bad(name, "a string")
        return value

    def optional_text(self, name: str) -> str | None:
        value = self._get(name)
        if value is None or isinstance(value, str):
            return value
        raise self._bad(name, "a string")

    def decimal(self, name: str) -> Decimal | None:
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self._bad(name, "a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise self._bad(name, "a finite number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise self._bad(name, "a number") from None
        if not number.is_finite():
            raise self._bad(name, "a finite number")
        return number

    def integer(self, name: str) -> int | None:
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._bad(name, "a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self._bad(name, "a whole number")

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def timestamp(self, name: str) -> datetime | None:
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(name, "an ISO 8601 timestamp")
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise self._bad(name, "an ISO 8601 timestamp") from None

    def day(self, name: str) -> date | None:
        value = self._get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._bad(name, "a date")
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
        try:  # tolerate a full timestamp where a date is expected
            return datetime.fromisoformat(value).date()
        except ValueError:
            raise self._bad(name, "a date (YYYY-MM-DD)") from None

    def strings(self, name: str) -> tuple[str, ...]:
        value = self._get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._bad(name, "a list of strings")
        return tuple(value)

    def mapping(self, name: str) -> Mapping[str, Any]:
        value = self._get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._bad(name, "an object")
        return value


def _to_one(resource: Resource, name: str) -> Identifier | None:
    rel = resource.relationships.get(name)
    if rel is None:
        return None
    if rel.is_to_many:
        raise MalformedDocument(f"{resource.type} relationship {name} is a list, not one")
    return rel.one


def _to_many(resource: Resource, name: str) -> tuple[Identifier, ...]:
    rel = resource.relationships.get(name)
    if rel is None:
        return ()
    if rel.one is not None:
        raise MalformedDocument(f"{resource.type} relationship {name} is one, not a list")
    return rel.many


def _related(
    included: Included, ident: Identifier | None, expected_type: str, parser: Parser[T]
) -> T | None:
    if ident is None or ident.type != expected_type:
        return None
    resource = included.get((ident.type, ident.id))
    return None if resource is None else parser(resource, included)


def _id_of(ident: Identifier | None) -> str | None:
    return None if ident is None else ident.id


# --- one parser per resource type -----------------------------------------------------------


def parse_clinic(resource: Resource, included: Included) -> Clinic:
    """A `clinic` resource."""
    return Clinic(id=resource.id, name=_Fields(resource).text("name"), raw=resource.raw)


def parse_practitioner(resource: Resource, included: Included) -> Practitioner:
    """A `practitioner` resource; `clinic` resolved when included."""
    f = _Fields(resource)
    first, last = f.text("first_name"), f.text("last_name")
    clinic_ref = _to_one(resource, "clinic")
    return Practitioner(
        id=resource.id,
        first_name=first,
        last_name=last,
        titled_full_name=f.text("titled_full_name") or f"{first} {last}".strip(),
        email=f.text("email"),
        phone=f.optional_text("phone"),
        clinic_id=_id_of(clinic_ref),
        clinic=_related(included, clinic_ref, CLINIC, parse_clinic),
        raw=resource.raw,
    )


def _address(f: _Fields, name: str) -> Address | None:
    value = f.mapping(name)
    if not value:
        return None
    parts: dict[str, str] = {}
    for key in ("street_1", "street_2", "city", "state", "zip"):
        part = value.get(key)
        if part is None:
            part = ""
        if not isinstance(part, str):
            raise MalformedDocument(f"{name}.{key} is not a string")
        parts[key] = part
    return Address(**parts)


def parse_patient(resource: Resource, included: Included) -> Patient:
    """A `patient` resource."""
    f = _Fields(resource)
    return Patient(
        id=resource.id,
        first_name=f.text("first_name"),
        last_name=f.text("last_name"),
        email=f.text("email"),
        birthday=f.day("birthday"),
        phone=f.optional_text("phone"),
        gender=f.optional_text("gender"),
        address=_address(f, "address"),
        raw=resource.raw,
    )


def parse_lab_company(resource: Resource, included: Included) -> LabCompany:
    """A `lab_company` resource."""
    f = _Fields(resource)
    return LabCompany(
        id=resource.id, name=f.text("name"), short_name=f.text("short_name"), raw=resource.raw
    )


def parse_lab_test(resource: Resource, included: Included) -> LabTest:
    """A `lab_test` resource; `lab_company` resolved when included."""
    f = _Fields(resource)
    company_ref = _to_one(resource, "lab_company")
    return LabTest(
        id=resource.id,
        name=f.text("name"),
        price=f.decimal("price"),
        lab_company_id=_id_of(company_ref),
        sample_types=f.strings("sample_types"),
        biomarkers=f.strings("biomarkers"),
        categories=f.strings("categories"),
        estimated_days_for_results=f.integer("estimated_days_for_results"),
        is_active=f.boolean("is_active", True),
        updated_at=f.timestamp("updated_at"),
        lab_company=_related(included, company_ref, LAB_COMPANY, parse_lab_company),
        raw=resource.raw,
    )


def parse_order_intent(resource: Resource, included: Included) -> OrderIntent:
    """An `order_intent` resource (`order` is set once the practitioner checked out)."""
    f = _Fields(resource)
    return OrderIntent(
        id=resource.id,
        return_url=f.text("return_url"),
        checkout_url=f.text("checkout_url"),
        status=f.text("status"),
        patient_id=_id_of(_to_one(resource, "patient")),
        lab_test_ids=tuple(ref.id for ref in _to_many(resource, "lab_tests")),
        metadata=f.mapping("metadata"),
        notes=f.text("notes"),
        created_at=f.timestamp("created_at"),
        order_id=_id_of(_to_one(resource, "order")),
        raw=resource.raw,
    )


def parse_ordered_test(resource: Resource, included: Included) -> OrderedTest:
    """An `ordered_test` resource; `lab_test` resolved when included."""
    f = _Fields(resource)
    test_ref = _to_one(resource, "lab_test")
    return OrderedTest(
        id=resource.id,
        lab_test_id=_id_of(test_ref),
        requisition=f.optional_text("requisition"),
        results_pdf=f.optional_text("results_pdf"),
        results_hl7=f.optional_text("results_hl7"),
        date_results_received_from_lab=f.timestamp("date_results_received_from_lab"),
        lab_test=_related(included, test_ref, LAB_TEST, parse_lab_test),
        raw=resource.raw,
    )


def parse_order(resource: Resource, included: Included) -> Order:
    """An `order` resource; `ordered_tests` and `patient` resolved when included."""
    f = _Fields(resource)
    patient_ref = _to_one(resource, "patient")
    test_refs = _to_many(resource, "ordered_tests")
    ordered_tests = tuple(
        test
        for ref in test_refs
        if (test := _related(included, ref, ORDERED_TEST, parse_ordered_test)) is not None
    )
    return Order(
        id=resource.id,
        status=f.text("status"),
        patient_id=_id_of(patient_ref),
        payer=f.optional_text("payer"),
        total_price=f.decimal("total_price"),
        notes_to_patient=f.optional_text("notes_to_patient"),
        date_submitted=f.timestamp("date_submitted"),
        date_paid=f.timestamp("date_paid"),
        date_completed=f.timestamp("date_completed"),
        date_canceled=f.timestamp("date_canceled"),
        order_intent_id=_id_of(_to_one(resource, "order_intent")),
        patients_practitioner_id=_id_of(_to_one(resource, "patients_practitioner")),
        signing_practitioner_id=_id_of(_to_one(resource, "signing_practitioner")),
        ordered_test_ids=tuple(ref.id for ref in test_refs),
        ordered_tests=ordered_tests,
        patient=_related(included, patient_ref, PATIENT, parse_patient),
        raw=resource.raw,
    )


#: The parser of each resource type the client reads.
PARSERS: Final[Mapping[str, Parser[Any]]] = {
    PRACTITIONER: parse_practitioner,
    CLINIC: parse_clinic,
    PATIENT: parse_patient,
    LAB_COMPANY: parse_lab_company,
    LAB_TEST: parse_lab_test,
    ORDER_INTENT: parse_order_intent,
    ORDER: parse_order,
    ORDERED_TEST: parse_ordered_test,
}


def _checked(resource: Resource, resource_type: str) -> Resource:
    if resource.type != resource_type:
        raise MalformedDocument(f"expected a {resource_type}, got another resource type")
    return resource


def parse_one(body: object, resource_type: str, parser: Parser[T]) -> T:
    """Parse a document whose `data` is one resource of `resource_type`.

    Raises:
        MalformedDocument: anything else.
    """
    document = parse_document(body)
    if not isinstance(document.data, Resource):
        raise MalformedDocument(f"expected one {resource_type} in data")
    return parser(_checked(document.data, resource_type), document.included)


def parse_page(body: object, resource_type: str, parser: Parser[T]) -> Page[T]:
    """Parse a list document into a `Page` (items, `links.next`, pagination meta).

    Raises:
        MalformedDocument: the body is not a list of `resource_type` resources.
    """
    document = parse_document(body)
    if not isinstance(document.data, tuple):
        raise MalformedDocument(f"expected a list of {resource_type} in data")
    items = tuple(
        parser(_checked(resource, resource_type), document.included) for resource in document.data
    )
    pagination = document.meta.get("pagination")
    numbers: dict[str, int | None] = {"page": None, "pages": None, "count": None}
    if isinstance(pagination, Mapping):  # informative only: tolerate its absence or shape
        for key in numbers:
            value = pagination.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                numbers[key] = value
    return Page(
        items=items,
        next_url=document.links.get("next") or None,
        page=numbers["page"],
        pages=numbers["pages"],
        count=numbers["count"],
        resource_type=resource_type,
    )


# --- error documents ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorObject:
    """One JSON:API error object (RUPA_API.md "Errors").

    Attributes:
        status: the HTTP status as a string, when given.
        code: an application code such as "invalid", when given.
        detail: the human-readable explanation, when given.
        pointer: `source.pointer`, e.g. `/data/attributes/email`, when given.
    """

    status: str | None = None
    code: str | None = None
    detail: str | None = None
    pointer: str | None = None

    @property
    def attribute(self) -> str | None:
        """The attribute or relationship the error is about (see `attribute_from_pointer`)."""
        return attribute_from_pointer(self.pointer)


def attribute_from_pointer(pointer: str | None) -> str | None:
    """The attribute name a JSON pointer designates, or None when it names none.

    `/data/attributes/email` → `email`; `/data/attributes/address/zip` → `address.zip`;
    `/data/relationships/lab_tests/data/0` → `lab_tests`; `/data` → None.
    """
    if not pointer or not pointer.startswith("/"):
        return None
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if len(parts) >= 3 and parts[0] == "data" and parts[1] == "attributes":
        return ".".join(parts[2:]) or None
    if len(parts) >= 3 and parts[0] == "data" and parts[1] == "relationships":
        return parts[2] or None
    return None


def parse_errors(body: object) -> tuple[ErrorObject, ...]:
    """The error objects of an error document; () when the body holds none we can read.

    Never raises: an unreadable error body still leaves the HTTP status to go by.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("errors"), list):
        return ()
    found: list[ErrorObject] = []
    for item in body["errors"]:
        if not isinstance(item, Mapping):
            continue
        source = item.get("source")
        pointer = source.get("pointer") if isinstance(source, Mapping) else None

        def text(value: object) -> str | None:
            return value if isinstance(value, str) else None

        detail = text(item.get("detail")) or text(item.get("title"))
        found.append(
            ErrorObject(
                status=text(item.get("status")),
                code=text(item.get("code")),
                detail=detail,
                pointer=text(pointer),
            )
        )
    return tuple(found)


# --- request documents ----------------------------------------------------------------------


def to_one(resource_type: str, resource_id: str | None) -> dict[str, Any]:
    """A to-one relationship object for a request (`data: null` clears it)."""
    return {"data": None if resource_id is None else {"type": resource_type, "id": resource_id}}


def to_many(resource_type: str, resource_ids: Sequence[str]) -> dict[str, Any]:
    """A to-many relationship object for a request (the list replaces the current one)."""
    return {"data": [{"type": resource_type, "id": rid} for rid in resource_ids]}


def resource_document(
    resource_type: str,
    attributes: Mapping[str, Any],
    relationships: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    resource_id: str | None = None,
) -> dict[str, Any]:
    """A request document `{data: {type, [id], attributes, [relationships]}}`."""
    data: dict[str, Any] = {"type": resource_type, "attributes": dict(attributes)}
    if resource_id is not None:
        data["id"] = resource_id
    if relationships:
        data["relationships"] = {name: dict(rel) for name, rel in relationships.items()}
    return {"data": data}

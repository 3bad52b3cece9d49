"""JSON:API documents from Rupa, parsed into the dataclasses of `rupa_desk.core.models`.

Pure functions, no I/O. What they promise (RUPA_API.md, "Client rules"):

- Any body that is not the document expected raises `MalformedDocument`, never another
  exception: the API client turns it into its `MalformedResponse` error.
- Unknown attributes and relationships are ignored; each model keeps its resource object in
  `raw`. Missing optional attributes get the model's default; a present attribute of the
  wrong JSON type is malformed (a number where a name should be is not something to guess).
- Relationships give the related id, and the related object when it is in `included`.
- `status` stays an open string (see `rupa_desk.core.status`).
- Every value is checked here, before it reaches a file name, a web view or the database:
  ids are short and of a safe alphabet (`is_safe_id`), URLs Rupa Desk opens or downloads are
  absolute http(s) URLs (`is_web_url`), prices are finite and in range and rounded to cents,
  whole numbers are bounded, text is bounded Unicode without control characters (tab and
  line breaks aside) or lone surrogates, and resource objects are not nested absurdly deep.
- In a list, a record that fails these checks is left out and counted (`Page.skipped`): one
  bad lab test must not stop a catalog sync. A single resource that fails them is malformed.

It also builds the request documents the client sends (`resource_document`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

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

#: Lists where one unreadable record fails the whole list instead of being left out: the
#: outbox reads order intents to find one whose create lost its answer, and an intent left
#: out there would be created a second time.
STRICT_LISTS: Final = frozenset({ORDER_INTENT})

# Bounds on what Rupa sends (far above any real value, far below what breaks the app).
MAX_ID_LENGTH: Final = 64
MAX_TEXT_LENGTH: Final = 10_000
MAX_URL_LENGTH: Final = 2_048
MAX_LIST_LENGTH: Final = 1_000
MAX_PRICE: Final = Decimal(1_000_000)
MAX_DAYS: Final = 3_650
MAX_COUNT: Final = 1_000_000_000
MAX_NESTING: Final = 32
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2999
MAX_ERRORS: Final = 100
MAX_ERROR_TEXT_LENGTH: Final = 1_000
CENT: Final = Decimal("0.01")

#: Ids end up in URL paths and file names. Rupa's are a prefix, `_` and base62 characters
#: (RUPA_API.md); any id of this alphabet is accepted, since the real API may differ, but
#: nothing else: no dots, slashes, spaces or other characters a path could take apart.
_SAFE_ID: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ID_LENGTH}}}")
#: What no text from Rupa may hold: C0 and C1 control characters (tab, line feed and carriage
#: return aside) and lone surrogates (not Unicode: they cannot be stored, encoded or shown).
_BAD_CHARACTERS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: Any character `str.isspace` is true for (both use the same Unicode table).
_WHITESPACE: Final = re.compile(r"\s")
#: The same and tab and line breaks, for texts that end up in a log line.
_LINE_BREAKING_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TIMESTAMP_LENGTH: Final = 64
#: `results_hl7` may be a URL or the message itself (RUPA_API.md does not say).
_HL7_LENGTH: Final = 1_000_000
_NUMBER_LENGTH: Final = 64


def is_safe_id(value: object) -> bool:
    """True for an id Rupa Desk can put in a URL path or a file name as it is."""
    return isinstance(value, str) and _SAFE_ID.fullmatch(value) is not None


def is_clean_text(value: str, max_length: int = MAX_TEXT_LENGTH) -> bool:
    """True for text within `max_length` characters without control characters (tab and line
    breaks aside) or lone surrogates."""
    return len(value) <= max_length and _BAD_CHARACTERS.search(value) is None


def is_web_url(value: str) -> bool:
    """True for an absolute http(s) URL with a host, no user name or password, no spaces,
    backslashes or control characters, within `MAX_URL_LENGTH` (no `file:`, `javascript:`,
    `data:` or relative URLs: Rupa Desk opens or downloads these)."""
    if not _is_url_text(value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and "@" not in parts.netloc
    )


def _is_url_text(value: str) -> bool:
    """A URL's characters: bounded, no control characters, spaces or backslashes."""
    return (
        is_clean_text(value, MAX_URL_LENGTH)
        and "\\" not in value
        and _WHITESPACE.search(value) is None
    )


def _place(name: object) -> str:
    """A member name from the server as it may appear in a message (messages are logged)."""
    return name if isinstance(name, str) and _SAFE_ID.fullmatch(name) else "(a member)"


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


#: The `included` resources by (type, id); None marks one that is not a resource object
#: (kept only in a list page, where it fails just the records that refer to it).
Included = Mapping[tuple[str, str], Resource | None]
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
    if not is_safe_id(type_):  # a member name: letters, digits, _ and -
        raise MalformedDocument(f"{where}.type is not a resource type")
    if not isinstance(id_, str) or not id_:
        raise MalformedDocument(f"{where}.id is not a non-empty string")
    if not is_safe_id(id_):
        raise MalformedDocument(f"{where}.id is not an id (letters, digits, _ and -)")
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
        str(name): _relationship(rel, f"{where}.relationships.{_place(name)}")
        for name, rel in rels_obj.items()
    }
    _check_nesting(obj, where)
    return Resource(ident.type, ident.id, attributes, relationships, obj)


def _check_nesting(value: Mapping[str, Any], where: str) -> None:
    """A resource object is kept as it came (`raw`) and stored as JSON: refuse one nested so
    deep that writing or reading it back would exhaust the stack."""
    containers = (dict, list)  # what JSON decodes to: a cheaper test than the Mapping ABC
    level: list[Any] = [value]
    for _ in range(MAX_NESTING):
        deeper = [
            child
            for container in level
            for child in (container.values() if isinstance(container, Mapping) else container)
            if isinstance(child, containers)
        ]
        if not deeper:
            return
        level = deeper
    raise MalformedDocument(f"{where} is nested too deeply")


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
    included = _included(top.get("included"), lenient=False)
    return Document(data, is_list, included, _links(top), _optional_object(top.get("meta"), "meta"))


def _included(value: object, *, lenient: bool) -> Included:
    """The `included` resources by (type, id).

    `lenient` (a list page): an included object that is not a resource object does not fail
    the page; when its type and id can be read, it is kept as None, so that only a record
    that refers to it fails (see `_related`).
    """
    if value is None:
        return {}
    if not isinstance(value, list):
        raise MalformedDocument("included is not a list")
    included: dict[tuple[str, str], Resource | None] = {}
    for i, item in enumerate(value):
        try:
            resource = parse_resource(item, f"included[{i}]")
        except MalformedDocument:
            if not lenient:
                raise
            if isinstance(item, Mapping):
                type_, id_ = item.get("type"), item.get("id")
                if isinstance(type_, str) and is_safe_id(id_):
                    included[(type_, str(id_))] = None
            continue
        included[(resource.type, resource.id)] = resource
    return included


def _links(top: Mapping[str, Any]) -> dict[str, str | None]:
    links: dict[str, str | None] = {}
    for name, link in _optional_object(top.get("links"), "links").items():
        links[str(name)] = _link(link, f"links.{_place(name)}")
    return links


def _link(value: object, where: str) -> str | None:
    """A link is a URL string, null, or a link object `{href, meta}`."""
    if isinstance(value, Mapping):
        value = value.get("href")
    if value is None:
        return None
    if isinstance(value, str) and _is_url_text(value):
        return value
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

    def _clean(self, name: str, value: object, max_length: int = MAX_TEXT_LENGTH) -> str:
        if not isinstance(value, str):
            raise self._bad(name, "a string")
        if len(value) > max_length:
            raise self._bad(name, f"at most {max_length} characters long")
        if _BAD_CHARACTERS.search(value):
            raise self._bad(name, "text (it holds control characters or lone surrogates)")
        return value

    def text(self, name: str, default: str = "") -> str:
        value = self._get(name)
        if value is None:
            return default
        return self._clean(name, value)

    def optional_text(self, name: str, max_length: int = MAX_TEXT_LENGTH) -> str | None:
        value = self._get(name)
        if value is None:
            return None
        return self._clean(name, value, max_length)

    def url(self, name: str) -> str | None:
        """An absolute http(s) URL (`is_web_url`); None when absent, null or empty."""
        value = self._get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not is_web_url(value):
            raise self._bad(name, "an http(s) URL")
        return value

    def price(self, name: str) -> Decimal | None:
        """A price in dollars: finite, 0 to `MAX_PRICE`, rounded to cents (`core.money`)."""
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self._bad(name, "a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise self._bad(name, "a finite number")
        if isinstance(value, int) and not 0 <= value <= MAX_PRICE:  # before str(): no huge ints
            raise self._bad(name, f"a price from 0 to {MAX_PRICE}")
        if isinstance(value, str) and len(value) > _NUMBER_LENGTH:
            raise self._bad(name, "a number")
        try:
            number = Decimal(value.strip() if isinstance(value, str) else str(value))
        except InvalidOperation:
            raise self._bad(name, "a number") from None
        if not number.is_finite():
            raise self._bad(name, "a finite number")
        if not 0 <= number <= MAX_PRICE:
            raise self._bad(name, f"a price from 0 to {MAX_PRICE}")
        if number.is_zero():
            return Decimal("0.00")  # not -0.00
        return number.quantize(CENT, rounding=ROUND_HALF_EVEN)

    def integer(self, name: str, maximum: int) -> int | None:
        """A whole number from 0 to `maximum`."""
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._bad(name, "a whole number")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise self._bad(name, "a whole number")
        if not 0 <= value <= maximum:
            raise self._bad(name, f"a whole number from 0 to {maximum}")
        return value

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
        if not isinstance(value, str) or len(value) > _TIMESTAMP_LENGTH:
            raise self._bad(name, "an ISO 8601 timestamp")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self._bad(name, "an ISO 8601 timestamp") from None
        if moment.tzinfo is None:  # Rupa sends an offset; without one, read it as UTC
            moment = moment.replace(tzinfo=UTC)
        if not MIN_YEAR <= moment.year <= MAX_YEAR:  # also keeps the UTC conversion in range
            raise self._bad(name, f"a timestamp from year {MIN_YEAR} to {MAX_YEAR}")
        return moment

    def day(self, name: str) -> date | None:
        value = self._get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > _TIMESTAMP_LENGTH:
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
        if not isinstance(value, list) or len(value) > MAX_LIST_LENGTH:
            raise self._bad(name, f"a list of at most {MAX_LIST_LENGTH} strings")
        return tuple(self._clean(name, item) for item in value)

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
    key = (ident.type, ident.id)
    if key not in included:
        return None
    resource = included[key]
    if resource is None:
        raise MalformedDocument(f"the included {expected_type} is not a resource object")
    return parser(resource, included)


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
        if not isinstance(part, str) or not is_clean_text(part):
            raise MalformedDocument(f"{name}.{key} is not text")
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
        price=f.price("price"),
        lab_company_id=_id_of(company_ref),
        sample_types=f.strings("sample_types"),
        biomarkers=f.strings("biomarkers"),
        categories=f.strings("categories"),
        estimated_days_for_results=f.integer("estimated_days_for_results", MAX_DAYS),
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
        checkout_url=f.url("checkout_url") or "",
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
        requisition=f.url("requisition"),
        results_pdf=f.url("results_pdf"),
        results_hl7=f.optional_text("results_hl7", max_length=_HL7_LENGTH),
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
        total_price=f.price("total_price"),
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

    A record that cannot be read (not a `resource_type` resource object, or a value that
    fails the checks) is left out and counted in `Page.skipped`, except in `STRICT_LISTS`.

    Raises:
        MalformedDocument: the body is not a list document, or a record of a strict list
            cannot be read.
    """
    top = _object(body, "the document")
    if "data" not in top:
        raise MalformedDocument("the document has no data member")
    raw_data = top["data"]
    if not isinstance(raw_data, list):
        raise MalformedDocument(f"expected a list of {resource_type} in data")
    strict = resource_type in STRICT_LISTS
    included = _included(top.get("included"), lenient=not strict)
    links = _links(top)
    meta = _optional_object(top.get("meta"), "meta")
    items: list[T] = []
    skipped = 0
    for i, item in enumerate(raw_data):
        try:
            resource = _checked(parse_resource(item, f"data[{i}]"), resource_type)
            items.append(parser(resource, included))
        except MalformedDocument:
            if strict:
                raise
            skipped += 1
    pagination = meta.get("pagination")
    numbers: dict[str, int | None] = {"page": None, "pages": None, "count": None}
    if isinstance(pagination, Mapping):  # informative only: tolerate its absence or shape
        for key in numbers:
            value = pagination.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
                numbers[key] = value
    return Page(
        items=tuple(items),
        next_url=links.get("next") or None,
        page=numbers["page"],
        pages=numbers["pages"],
        count=numbers["count"],
        resource_type=resource_type,
        skipped=skipped,
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

    Never raises: an unreadable error body still leaves the HTTP status to go by. The texts
    are shown to the user, so they are made readable rather than refused: control characters
    and lone surrogates are dropped, and each text and the number of errors are bounded.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("errors"), list):
        return ()
    found: list[ErrorObject] = []
    for item in body["errors"][:MAX_ERRORS]:
        if not isinstance(item, Mapping):
            continue
        source = item.get("source")
        pointer = source.get("pointer") if isinstance(source, Mapping) else None
        detail = _error_text(item.get("detail")) or _error_text(item.get("title"))
        found.append(
            ErrorObject(
                status=_error_text(item.get("status"), MAX_ID_LENGTH, one_line=True),
                code=_error_text(item.get("code"), MAX_ID_LENGTH, one_line=True),
                detail=detail,
                pointer=_error_text(pointer, one_line=True),
            )
        )
    return tuple(found)


def _error_text(
    value: object, max_length: int = MAX_ERROR_TEXT_LENGTH, *, one_line: bool = False
) -> str | None:
    """`value` made readable; `one_line` for what may end up in a log line (a field name)."""
    if not isinstance(value, str):
        return None
    unwanted = _LINE_BREAKING_CHARACTERS if one_line else _BAD_CHARACTERS
    return unwanted.sub("", value[: max_length * 2])[:max_length]


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

"""JSON:API parsing: real-shaped documents parse into the core models; anything malformed
raises MalformedDocument and nothing else (property-based with hypothesis)."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rupa_desk.core import jsonapi
from rupa_desk.core.jsonapi import MalformedDocument

LAB_TEST_PAGE: dict[str, Any] = {
    "data": [
        {
            "id": "labts_AbC1234",
            "type": "lab_test",
            "attributes": {
                "name": "Hemoglobin A1c",
                "price": 29.5,
                "sample_types": ["Blood"],
                "biomarkers": ["HbA1c"],
                "estimated_days_for_results": 5,
                "categories": ["Metabolic"],
                "is_active": True,
                "updated_at": "2024-06-13T13:28:50.776301-07:00",
                "a_field_we_do_not_know": {"nested": [1, 2]},
            },
            "relationships": {
                "lab_company": {"data": {"type": "lab_company", "id": "labco_Xyz9876"}},
                "unknown_rel": {"data": None},
            },
        },
        {
            "id": "labts_Def5678",
            "type": "lab_test",
            "attributes": {"name": "GI-MAP", "price": "359.00"},
            "relationships": {"lab_company": {"data": {"type": "lab_company", "id": "labco_Q"}}},
        },
    ],
    "included": [
        {
            "id": "labco_Xyz9876",
            "type": "lab_company",
            "attributes": {"name": "Quest Diagnostics", "short_name": "Quest"},
        }
    ],
    "links": {
        "self": "http://127.0.0.1:1/lab_tests?page[number]=1",
        "next": "http://127.0.0.1:1/lab_tests?page[number]=2",
        "prev": None,
    },
    "meta": {"pagination": {"page": 1, "pages": 3, "count": 120}},
}

ORDER_DOCUMENT: dict[str, Any] = {
    "data": {
        "id": "ord_Abc1234",
        "type": "order",
        "attributes": {
            "status": "Partial Results",
            "payer": "patient",
            "total_price": 120,
            "notes_to_patient": None,
            "date_submitted": "2024-06-13T13:28:50.776301-07:00",
            "date_paid": None,
            "date_completed": None,
            "date_canceled": None,
        },
        "relationships": {
            "patient": {"data": {"type": "patient", "id": "pat_Abc1234"}},
            "order_intent": {"data": {"type": "order_intent", "id": "ordin_Abc1234"}},
            "patients_practitioner": {"data": {"type": "practitioner", "id": "pra_Abc1234"}},
            "signing_practitioner": {"data": None},
            "ordered_tests": {
                "data": [
                    {"type": "ordered_test", "id": "ordts_Abc1234"},
                    {"type": "ordered_test", "id": "ordts_Missing"},
                ],
                "meta": {"count": 2},
            },
            "line_items": {"data": [], "meta": {"count": 0}},
        },
    },
    "included": [
        {
            "id": "ordts_Abc1234",
            "type": "ordered_test",
            "attributes": {
                "requisition": None,
                "results_pdf": "http://127.0.0.1:1/files/ordts_Abc1234/results.pdf",
                "results_hl7": None,
                "date_results_received_from_lab": "2024-06-20T09:00:00+00:00",
            },
            "relationships": {"lab_test": {"data": {"type": "lab_test", "id": "labts_AbC1234"}}},
        },
        {
            "id": "pat_Abc1234",
            "type": "patient",
            "attributes": {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.test",
                "birthday": "1990-12-10",
                "address": {"street_1": "1 Main St", "city": "Springfield", "zip": "12345"},
            },
        },
    ],
}


def test_a_page_of_lab_tests_parses_with_the_included_company_resolved() -> None:
    page = jsonapi.parse_page(LAB_TEST_PAGE, jsonapi.LAB_TEST, jsonapi.parse_lab_test)

    first, second = page.items
    assert first.id == "labts_AbC1234"
    assert first.price == Decimal("29.5")
    assert first.sample_types == ("Blood",)
    assert first.estimated_days_for_results == 5
    assert first.updated_at == datetime(
        2024, 6, 13, 13, 28, 50, 776301, tzinfo=timezone(timedelta(hours=-7))
    )
    assert first.lab_company_id == "labco_Xyz9876"
    assert first.lab_company is not None
    assert first.lab_company.short_name == "Quest"
    assert first.raw["attributes"]["a_field_we_do_not_know"] == {"nested": [1, 2]}
    assert second.price == Decimal("359.00")
    assert second.lab_company_id == "labco_Q"
    assert second.lab_company is None
    assert page.next_url == "http://127.0.0.1:1/lab_tests?page[number]=2"
    assert (page.page, page.pages, page.count) == (1, 3, 120)
    assert page.resource_type == "lab_test"


def test_an_order_with_included_tests_and_patient() -> None:
    order = jsonapi.parse_one(ORDER_DOCUMENT, jsonapi.ORDER, jsonapi.parse_order)

    assert order.status == "Partial Results"
    assert order.total_price == Decimal(120)
    assert order.order_intent_id == "ordin_Abc1234"
    assert order.patients_practitioner_id == "pra_Abc1234"
    assert order.signing_practitioner_id is None
    assert order.ordered_test_ids == ("ordts_Abc1234", "ordts_Missing")
    (test,) = order.ordered_tests  # only the included one is resolved
    assert test.lab_test_id == "labts_AbC1234"
    assert test.results_pdf is not None
    assert test.results_pdf.endswith("results.pdf")
    assert order.patient is not None
    assert order.patient.birthday == date(1990, 12, 10)
    assert order.patient.address is not None
    assert order.patient.address.street_2 == ""


def test_practitioner_with_clinic_and_missing_titled_name() -> None:
    body = {
        "data": {
            "id": "pra_Abc1234",
            "type": "practitioner",
            "attributes": {"first_name": "Grace", "last_name": "Hopper", "email": "g@x.test"},
            "relationships": {"clinic": {"data": {"type": "clinic", "id": "cli_Abc1234"}}},
        },
        "included": [{"id": "cli_Abc1234", "type": "clinic", "attributes": {"name": "Clinic"}}],
    }
    me = jsonapi.parse_one(body, jsonapi.PRACTITIONER, jsonapi.parse_practitioner)
    assert me.titled_full_name == "Grace Hopper"
    assert me.clinic is not None
    assert me.clinic.name == "Clinic"


def test_order_intent_relationships_and_metadata() -> None:
    body = {
        "data": {
            "id": "ordin_Abc1234",
            "type": "order_intent",
            "attributes": {
                "return_url": "http://127.0.0.1/return?draft=d1",
                "checkout_url": "http://127.0.0.1/checkout/ordin_Abc1234",
                "metadata": {"draft_id": "d1"},
                "status": "open",
                "notes": None,
            },
            "relationships": {
                "patient": {"data": {"type": "patient", "id": "pat_1"}},
                "lab_tests": {"data": [{"type": "lab_test", "id": "labts_1"}]},
                "order": {"data": None},
            },
        }
    }
    intent = jsonapi.parse_one(body, jsonapi.ORDER_INTENT, jsonapi.parse_order_intent)
    assert intent.metadata == {"draft_id": "d1"}
    assert intent.lab_test_ids == ("labts_1",)
    assert intent.order_id is None
    assert intent.notes == ""


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["data"][0]["attributes"].update(price="cheap"), "price"),
        (lambda d: d["data"][0]["attributes"].update(price=float("nan")), "price"),
        (lambda d: d["data"][0]["attributes"].update(name=5), "name"),
        (lambda d: d["data"][0]["attributes"].update(sample_types="Blood"), "sample_types"),
        (lambda d: d["data"][0]["attributes"].update(updated_at="yesterday"), "updated_at"),
        (lambda d: d["data"][0]["attributes"].update(is_active="yes"), "is_active"),
        (lambda d: d["data"][0].update(id=7), "id"),
        (lambda d: d["data"][0].update(type="order"), "lab_test"),
        (lambda d: d["links"].update(next=3), "links.next"),
        (lambda d: d.update(included={}), "included"),
        (lambda d: d.update(data={"id": "x", "type": "lab_test"}), "list"),
        (lambda d: d.pop("data"), "no data"),
        (
            lambda d: d["data"][0]["relationships"].update(lab_company={"data": [{"x": 1}]}),
            "relationships.lab_company",
        ),
    ],
)
def test_malformed_pages_say_where(mutate: Any, message: str) -> None:
    body = copy.deepcopy(LAB_TEST_PAGE)
    mutate(body)
    with pytest.raises(MalformedDocument, match=message):
        jsonapi.parse_page(body, jsonapi.LAB_TEST, jsonapi.parse_lab_test)


def test_a_single_resource_where_a_list_is_expected_is_malformed() -> None:
    with pytest.raises(MalformedDocument):
        jsonapi.parse_one(LAB_TEST_PAGE, jsonapi.LAB_TEST, jsonapi.parse_lab_test)


@pytest.mark.parametrize(
    ("pointer", "attribute"),
    [
        ("/data/attributes/email", "email"),
        ("/data/attributes/address/zip", "address.zip"),
        ("/data/relationships/lab_tests/data/0", "lab_tests"),
        ("/data/attributes/a~1b", "a/b"),
        ("/data", None),
        ("", None),
        (None, None),
        ("data/attributes/email", None),
    ],
)
def test_attribute_from_pointer(pointer: str | None, attribute: str | None) -> None:
    assert jsonapi.attribute_from_pointer(pointer) == attribute


def test_error_documents_are_read_tolerantly() -> None:
    body = {
        "errors": [
            {
                "status": "400",
                "code": "invalid",
                "detail": "Enter a valid email.",
                "source": {"pointer": "/data/attributes/email"},
            },
            {"title": "Something else"},
            "not an object",
            {"detail": 5, "source": "nope"},
        ]
    }
    first, second, third = jsonapi.parse_errors(body)
    assert first.attribute == "email"
    assert first.detail == "Enter a valid email."
    assert second.detail == "Something else"
    assert second.attribute is None
    assert third == jsonapi.ErrorObject()
    assert jsonapi.parse_errors({"errors": "x"}) == ()
    assert jsonapi.parse_errors([1, 2]) == ()


def test_request_documents() -> None:
    document = jsonapi.resource_document(
        "order_intent",
        {"return_url": "u"},
        {
            "patient": jsonapi.to_one("patient", "pat_1"),
            "lab_tests": jsonapi.to_many("lab_test", []),
        },
        resource_id="ordin_1",
    )
    assert document == {
        "data": {
            "type": "order_intent",
            "id": "ordin_1",
            "attributes": {"return_url": "u"},
            "relationships": {
                "patient": {"data": {"type": "patient", "id": "pat_1"}},
                "lab_tests": {"data": []},
            },
        }
    }


# --- property-based: any body either parses or raises MalformedDocument ---------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

_TEXT = st.text(max_size=12)
_TIMESTAMP = st.sampled_from(["2024-06-13T13:28:50.776301-07:00", "2024-06-13T13:28:50Z", "x"])
#: Plausible values per attribute (mostly valid, sometimes not), so that generated documents
#: often parse and the parsers' success paths are exercised too.
PLAUSIBLE_ATTRIBUTES: dict[str, st.SearchStrategy[Any]] = {
    "name": _TEXT,
    "short_name": _TEXT,
    "first_name": _TEXT,
    "email": _TEXT,
    "status": st.sampled_from(["Paid", "Complete", "open", ""]),
    "price": st.integers(0, 1000) | st.sampled_from(["12.50", "1e999", "NaN", "cheap"]),
    "total_price": st.floats(0, 1e6) | st.sampled_from(["inf", "-0"]),
    "sample_types": st.lists(_TEXT, max_size=3),
    "biomarkers": st.lists(_TEXT, max_size=3),
    "estimated_days_for_results": st.integers(-5, 60) | st.floats(0, 60),
    "is_active": st.booleans(),
    "updated_at": _TIMESTAMP,
    "date_completed": _TIMESTAMP,
    "birthday": st.sampled_from(["1990-12-10", "1990-13-40", "", "2024-06-13T13:28:50Z"]),
    "address": st.fixed_dictionaries({}, optional={"street_1": _TEXT, "zip": _TEXT | st.none()}),
    "metadata": st.dictionaries(_TEXT, json_values, max_size=3),
    "results_pdf": st.none() | _TEXT,
    "checkout_url": _TEXT,
}
RELATIONSHIP_NAMES = ["lab_company", "patient", "lab_tests", "ordered_tests", "clinic", "order"]


def _sometimes_anything(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Three times in four the plausible value, else any JSON value."""
    return st.integers(0, 3).flatmap(lambda n: json_values if n == 3 else strategy)


def _rarely_anything(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Nine times in ten the plausible value, else any JSON value."""
    return st.integers(0, 9).flatmap(lambda n: json_values if n == 9 else strategy)


@st.composite
def resource_objects(draw: st.DrawFn, resource_type: str) -> Any:
    """Mostly well-formed resource objects with arbitrary attribute and relationship values."""
    attributes = st.fixed_dictionaries(
        {}, optional={k: _rarely_anything(v) for k, v in PLAUSIBLE_ATTRIBUTES.items()}
    )
    resource: dict[str, Any] = {
        "id": draw(_sometimes_anything(st.text(min_size=1, max_size=8))),
        "type": draw(_sometimes_anything(st.just(resource_type))),
        "attributes": draw(_sometimes_anything(attributes)),
    }
    identifier = st.fixed_dictionaries(
        {"type": st.sampled_from(["lab_company", "patient", "lab_test"]), "id": st.text(max_size=5)}
    )
    relationship = st.fixed_dictionaries(
        {"data": st.none() | identifier | st.lists(identifier, max_size=3) | json_values}
    )
    if draw(st.booleans()):
        resource["relationships"] = draw(
            _sometimes_anything(
                st.dictionaries(st.sampled_from(RELATIONSHIP_NAMES), relationship, max_size=3)
            )
        )
    return resource


@st.composite
def documents(draw: st.DrawFn, resource_type: str, as_list: bool) -> Any:
    resource = resource_objects(resource_type)
    body: dict[str, Any] = {
        "data": draw(_sometimes_anything(st.lists(resource, max_size=3) if as_list else resource))
    }
    if draw(st.booleans()):
        body["included"] = draw(st.lists(resource_objects("lab_company"), max_size=2) | json_values)
    if draw(st.booleans()):
        body["links"] = draw(
            st.fixed_dictionaries({"next": st.none() | st.text(max_size=10) | json_values})
            | json_values
        )
    if draw(st.booleans()):
        body["meta"] = draw(json_values)
    return body


PARSER_CASES = sorted(jsonapi.PARSERS.items())


@pytest.mark.parametrize(("resource_type", "parser"), PARSER_CASES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_list_body_parses_or_is_malformed_never_crashes(
    resource_type: str, parser: jsonapi.Parser[Any], data: st.DataObject
) -> None:
    body = data.draw(st.one_of(documents(resource_type, as_list=True), json_values))
    try:
        page = jsonapi.parse_page(body, resource_type, parser)
    except MalformedDocument:
        return
    assert all(item.id for item in page.items)


@pytest.mark.parametrize(("resource_type", "parser"), PARSER_CASES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_body_parses_or_is_malformed_never_crashes(
    resource_type: str, parser: jsonapi.Parser[Any], data: st.DataObject
) -> None:
    body = data.draw(st.one_of(documents(resource_type, as_list=False), json_values))
    try:
        item = jsonapi.parse_one(body, resource_type, parser)
    except MalformedDocument:
        return
    assert item.id


@settings(max_examples=200, deadline=None)
@given(body=json_values)
def test_any_error_body_is_read_without_raising(body: Any) -> None:
    for error in jsonapi.parse_errors(body):
        assert error.attribute is None or isinstance(error.attribute, str)

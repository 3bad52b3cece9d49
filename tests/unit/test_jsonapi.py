"""JSON:API parsing: real-shaped documents parse into the core models; anything malformed
raises MalformedDocument and nothing else (property-based with hypothesis)."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rupa_desk.core import jsonapi
from rupa_desk.core.jsonapi import MalformedDocument
from rupa_desk.core.money import price_to_cents

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


RECORD_FAULTS = [
    (lambda r: r["attributes"].update(price="cheap"), "price"),
    (lambda r: r["attributes"].update(price=float("nan")), "price"),
    (lambda r: r["attributes"].update(name=5), "name"),
    (lambda r: r["attributes"].update(sample_types="Blood"), "sample_types"),
    (lambda r: r["attributes"].update(updated_at="yesterday"), "updated_at"),
    (lambda r: r["attributes"].update(is_active="yes"), "is_active"),
    (lambda r: r.update(id=7), "id"),
    (lambda r: r.update(type="order"), "lab_test"),
    (
        lambda r: r["relationships"].update(lab_company={"data": [{"x": 1}]}),
        "relationships.lab_company",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), RECORD_FAULTS)
def test_a_malformed_record_is_skipped_in_a_page_and_counted(mutate: Any, message: str) -> None:
    body = copy.deepcopy(LAB_TEST_PAGE)
    mutate(body["data"][0])
    page = jsonapi.parse_page(body, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    assert [test.id for test in page.items] == ["labts_Def5678"]
    assert page.skipped == 1
    assert page.next_url == "http://127.0.0.1:1/lab_tests?page[number]=2"


@pytest.mark.parametrize(("mutate", "message"), RECORD_FAULTS)
def test_a_malformed_single_resource_says_where(mutate: Any, message: str) -> None:
    record = copy.deepcopy(LAB_TEST_PAGE["data"][0])
    mutate(record)
    with pytest.raises(MalformedDocument, match=message):
        jsonapi.parse_one({"data": record}, jsonapi.LAB_TEST, jsonapi.parse_lab_test)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["links"].update(next=3), "links.next"),
        (lambda d: d.update(included={}), "included"),
        (lambda d: d.update(data={"id": "x", "type": "lab_test"}), "list"),
        (lambda d: d.pop("data"), "no data"),
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


def test_error_texts_are_made_readable_and_bounded() -> None:
    body = {
        "errors": [
            {
                "status": "400\x00",
                "detail": "Enter a \x1b[31mvalid\x00 email\ud800." + "!" * 5000,
                "source": {"pointer": "/data/attributes/email\r\n"},
            }
        ]
        * 500
    }
    errors = jsonapi.parse_errors(body)
    assert len(errors) == jsonapi.MAX_ERRORS
    first = errors[0]
    assert first.status == "400"
    assert first.detail is not None
    assert first.detail.startswith("Enter a [31mvalid email.!!!")
    assert len(first.detail) == jsonapi.MAX_ERROR_TEXT_LENGTH
    first.detail.encode("utf-8")
    assert first.attribute == "email"  # field names are logged: no line breaks


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


# --- hostile values: checked where they are parsed (issue 18) -------------------------------


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_RECORDS = {
    "price 1e30": lambda r: r["attributes"].update(price=1e30),
    "price 1e999999": lambda r: r["attributes"].update(price="1e999999"),
    "price 2**70": lambda r: r["attributes"].update(price=2**70),
    "a negative price": lambda r: r["attributes"].update(price=-1),
    "a price above the maximum": lambda r: r["attributes"].update(price="1000000.01"),
    "2**70 days": lambda r: r["attributes"].update(estimated_days_for_results=2**70),
    "1e300 days": lambda r: r["attributes"].update(estimated_days_for_results=1e300),
    "negative days": lambda r: r["attributes"].update(estimated_days_for_results=-3),
    "a lone surrogate in the name": lambda r: r["attributes"].update(name="Vitamin \ud800D"),
    "a NUL in the name": lambda r: r["attributes"].update(name="Vitamin\x00D"),
    "an escape sequence in the name": lambda r: r["attributes"].update(name="\x1b[2Jx"),
    "a C1 control in the name": lambda r: r["attributes"].update(name="a\x85b"),
    "a huge name": lambda r: r["attributes"].update(name="x" * 10_001),
    "a lone surrogate in a biomarker": lambda r: r["attributes"].update(biomarkers=["\udfff"]),
    "too many sample types": lambda r: r["attributes"].update(sample_types=["Blood"] * 1001),
    "a huge timestamp": lambda r: r["attributes"].update(updated_at="2024-06-13" + " " * 100),
    "a timestamp in year 9999": lambda r: r["attributes"].update(
        updated_at="9999-12-31T23:59:59-05:00"
    ),
    "a timestamp in year 1": lambda r: r["attributes"].update(
        updated_at="0001-01-01T00:00:00+05:00"
    ),
    "an id that climbs folders": lambda r: r.update(id="x/../../../../somewhere/evil"),
    "an id with a dot": lambda r: r.update(id="labts_a.b"),
    "an id with a backslash": lambda r: r.update(id="labts_a\\..\\b"),
    "an id with a space": lambda r: r.update(id="labts a"),
    "an id that is too long": lambda r: r.update(id="labts_" + "a" * 100),
    "a related id that climbs folders": lambda r: r["relationships"].update(
        lab_company={"data": {"type": "lab_company", "id": "../../etc"}}
    ),
    "a type with a control character": lambda r: r["relationships"].update(
        lab_company={"data": {"type": "lab_company\n", "id": "labco_1"}}
    ),
    "an unknown attribute nested 100 deep": lambda r: r["attributes"].update(x=_nested(100)),
}


@pytest.mark.parametrize("mutate", HOSTILE_RECORDS.values(), ids=HOSTILE_RECORDS.keys())
def test_a_hostile_record_is_skipped_and_counted_the_rest_is_kept(mutate: Any) -> None:
    body = copy.deepcopy(LAB_TEST_PAGE)
    mutate(body["data"][0])
    page = jsonapi.parse_page(body, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    assert [test.id for test in page.items] == ["labts_Def5678"]
    assert page.skipped == 1


@pytest.mark.parametrize("mutate", HOSTILE_RECORDS.values(), ids=HOSTILE_RECORDS.keys())
def test_a_hostile_single_resource_is_malformed(mutate: Any) -> None:
    record = copy.deepcopy(LAB_TEST_PAGE["data"][0])
    mutate(record)
    with pytest.raises(MalformedDocument) as raised:
        jsonapi.parse_one({"data": record}, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    message = str(raised.value)
    assert message.isprintable()
    assert "evil" not in message  # places, never values
    assert "etc" not in message


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (29.5, Decimal("29.50")),
        ("19.999", Decimal("20.00")),
        ("12.345", Decimal("12.34")),  # half to even, as core.money rounds
        (0, Decimal("0.00")),
        ("-0", Decimal("0.00")),
        (1_000_000, Decimal("1000000.00")),
        ("1e-999999", Decimal("0.00")),
    ],
)
def test_prices_are_rounded_to_cents(price: object, expected: Decimal) -> None:
    record = copy.deepcopy(LAB_TEST_PAGE["data"][0])
    record["attributes"]["price"] = price
    test = jsonapi.parse_one({"data": record}, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    assert test.price == expected
    assert test.price is not None
    assert str(test.price) == str(expected)


def test_a_timestamp_without_offset_is_read_as_utc() -> None:
    """The store keeps timestamps in UTC and refuses naive ones (a bug on our side)."""
    record = copy.deepcopy(LAB_TEST_PAGE["data"][0])
    record["attributes"]["updated_at"] = "2024-06-13T13:28:50"
    test = jsonapi.parse_one({"data": record}, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    assert test.updated_at == datetime(2024, 6, 13, 13, 28, 50, tzinfo=UTC)


def test_text_keeps_tabs_and_line_breaks_and_any_language() -> None:
    name = "Panel\tA\r\nB · Ünïcödé 検査 🧪"
    record = copy.deepcopy(LAB_TEST_PAGE["data"][0])
    record["attributes"]["name"] = name
    test = jsonapi.parse_one({"data": record}, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    assert test.name == name


def _intent(checkout_url: object) -> dict[str, Any]:
    return {
        "id": "ordin_Abc1234",
        "type": "order_intent",
        "attributes": {"return_url": "http://127.0.0.1/r", "checkout_url": checkout_url},
        "relationships": {"patient": {"data": {"type": "patient", "id": "pat_1"}}},
    }


HOSTILE_URLS = [
    "file:///etc/passwd",
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://user:secret@evil.test/checkout",
    "https://@evil.test/",
    "/checkout/ordin_Abc1234",
    "//evil.test/checkout",
    "http://",
    "http://exa mple.test/",
    "http://evil.test\\@rupa.test/",
    "https://rupa.test:99999/",
    "https://rupa.test/\x00",
    "https://rupa.test/\ud800",
    "https://rupa.test/" + "a" * 2100,
    "ftp://rupa.test/x",
    7,
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_checkout_url_must_be_an_http_url(url: object) -> None:
    with pytest.raises(MalformedDocument, match="checkout_url"):
        jsonapi.parse_one({"data": _intent(url)}, jsonapi.ORDER_INTENT, jsonapi.parse_order_intent)


@pytest.mark.parametrize(
    "url", ["https://app.rupahealth.com/checkout/ordin_Abc1234?x=1", "http://127.0.0.1:8123/c/1"]
)
def test_http_checkout_urls_are_kept(url: str) -> None:
    intent = jsonapi.parse_one(
        {"data": _intent(url)}, jsonapi.ORDER_INTENT, jsonapi.parse_order_intent
    )
    assert intent.checkout_url == url


@pytest.mark.parametrize("url", HOSTILE_URLS)
@pytest.mark.parametrize("field", ["results_pdf", "requisition"])
def test_result_and_requisition_urls_must_be_http_urls(field: str, url: object) -> None:
    body = copy.deepcopy(ORDER_DOCUMENT)
    body["included"][0]["attributes"][field] = url
    with pytest.raises(MalformedDocument, match=field):
        jsonapi.parse_one(body, jsonapi.ORDER, jsonapi.parse_order)


def test_an_order_with_a_hostile_ordered_test_id_is_malformed() -> None:
    body = copy.deepcopy(ORDER_DOCUMENT)
    hostile = "x/../../../../somewhere/evil"
    body["data"]["relationships"]["ordered_tests"]["data"][0]["id"] = hostile
    body["included"][0]["id"] = hostile
    with pytest.raises(MalformedDocument, match="ordered_tests"):
        jsonapi.parse_one(body, jsonapi.ORDER, jsonapi.parse_order)


def test_a_bad_order_intent_fails_its_whole_list() -> None:
    """The outbox looks intents up by draft id to adopt one whose create lost its answer:
    one left out of that list would be created again."""
    good = _intent("https://rupa.test/checkout/ordin_Abc1234")
    bad = _intent("javascript:alert(1)") | {"id": "ordin_Bad1234"}
    with pytest.raises(MalformedDocument, match="checkout_url"):
        jsonapi.parse_page({"data": [good, bad]}, jsonapi.ORDER_INTENT, jsonapi.parse_order_intent)


def test_a_record_whose_included_company_is_broken_is_skipped() -> None:
    body = copy.deepcopy(LAB_TEST_PAGE)
    body["included"][0]["attributes"] = "not an object"
    page = jsonapi.parse_page(body, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    assert [test.id for test in page.items] == ["labts_Def5678"]
    assert page.skipped == 1
    with pytest.raises(MalformedDocument, match="included"):
        jsonapi.parse_page(
            {"data": [LAB_TEST_PAGE["data"][0]], "included": body["included"]},
            jsonapi.ORDER_INTENT,
            jsonapi.parse_order_intent,
        )


def test_a_record_whose_included_company_has_a_hostile_name_is_skipped() -> None:
    body = copy.deepcopy(LAB_TEST_PAGE)
    body["included"][0]["attributes"]["name"] = "Quest\ud800"
    page = jsonapi.parse_page(body, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    assert [test.id for test in page.items] == ["labts_Def5678"]
    assert page.skipped == 1


@pytest.mark.parametrize("count", [2**70, -1, 1.5, "120"])
def test_pagination_numbers_out_of_range_are_ignored(count: object) -> None:
    body = copy.deepcopy(LAB_TEST_PAGE)
    body["meta"]["pagination"]["count"] = count
    page = jsonapi.parse_page(body, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    assert page.count is None
    assert (page.page, page.pages) == (1, 3)


def test_links_with_control_characters_are_malformed() -> None:
    body = copy.deepcopy(LAB_TEST_PAGE)
    body["links"]["next"] = "http://127.0.0.1:1/lab_tests?page=2\r\nX-Evil: 1"
    with pytest.raises(MalformedDocument, match=r"links\.next"):
        jsonapi.parse_page(body, jsonapi.LAB_TEST, jsonapi.parse_lab_test)


def test_a_hostile_member_name_is_not_repeated_in_messages() -> None:
    record = copy.deepcopy(LAB_TEST_PAGE["data"][0])
    record["relationships"]["evil\nFAKE LOG LINE"] = {"data": 5}
    with pytest.raises(MalformedDocument) as raised:
        jsonapi.parse_one({"data": record}, jsonapi.LAB_TEST, jsonapi.parse_lab_test)
    assert "FAKE" not in str(raised.value)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("labts_AbC1234", True),
        ("pra_demo", True),
        ("ord-1", True),
        ("", False),
        ("..", False),
        ("a/b", False),
        ("a\\b", False),
        ("a.pdf", False),
        ("C:x", False),
        ("x" * 65, False),
        (7, False),
    ],
)
def test_safe_ids(value: object, safe: bool) -> None:
    assert jsonapi.is_safe_id(value) is safe


# --- property-based: any body either parses or raises MalformedDocument ---------------------

#: Any character at all: controls, NUL, lone surrogates (JSON's `\\ud800` decodes to one).
_ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
_HOSTILE_TEXT = st.text(_ANY_CHARACTER, max_size=30) | st.sampled_from(
    ["\ud800", "a\udfffb", "\x00", "\x1b[2J", "x" * 10_001, "../../etc/passwd", "a\\b"]
)
_HUGE_NUMBERS = st.sampled_from([1e30, 1e308, 2**70, -(2**70), 10**400, "1e999999", "-1e-999999"])
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | _HOSTILE_TEXT
    | _HUGE_NUMBERS
    | st.integers(0, 3000).map(_nested)  # deep nesting anywhere
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

_TEXT = st.text(max_size=12) | _HOSTILE_TEXT
_URL = st.sampled_from(
    [
        "https://rupa.test/checkout/ordin_1",
        "http://127.0.0.1:9/ordered_tests/ordts_1/results.pdf",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,x",
        "http://user:pw@rupa.test/",
        "/relative",
        "https://rupa.test:99999/",
    ]
)
_ID = st.text(min_size=1, max_size=8) | st.sampled_from(
    ["labts_AbC1234", "x/../../../../somewhere/evil", "..", "a.b", "a\\b", "x" * 65]
)
_TIMESTAMP = st.sampled_from(
    [
        "2024-06-13T13:28:50.776301-07:00",
        "2024-06-13T13:28:50Z",
        "2024-06-13T13:28:50",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "x",
    ]
)
#: Plausible values per attribute (mostly valid, sometimes not), so that generated documents
#: often parse and the parsers' success paths are exercised too.
PLAUSIBLE_ATTRIBUTES: dict[str, st.SearchStrategy[Any]] = {
    "name": _TEXT,
    "short_name": _TEXT,
    "first_name": _TEXT,
    "email": _TEXT,
    "status": st.sampled_from(["Paid", "Complete", "open", ""]),
    "price": st.integers(0, 1000)
    | st.sampled_from(["12.50", "1e999", "NaN", "cheap", "12.345"])
    | _HUGE_NUMBERS,
    "total_price": st.floats(0, 1e6) | st.sampled_from(["inf", "-0"]),
    "sample_types": st.lists(_TEXT, max_size=3),
    "biomarkers": st.lists(_TEXT, max_size=3),
    "estimated_days_for_results": st.integers(-5, 60) | st.floats(0, 60) | _HUGE_NUMBERS,
    "is_active": st.booleans(),
    "updated_at": _TIMESTAMP,
    "date_completed": _TIMESTAMP,
    "birthday": st.sampled_from(["1990-12-10", "1990-13-40", "", "2024-06-13T13:28:50Z"]),
    "address": st.fixed_dictionaries({}, optional={"street_1": _TEXT, "zip": _TEXT | st.none()}),
    "metadata": st.dictionaries(_TEXT, json_values, max_size=3),
    "results_pdf": st.none() | _URL | _TEXT,
    "requisition": st.none() | _URL,
    "checkout_url": _URL | _TEXT,
    "deeply_nested": st.integers(0, 120).map(_nested),
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
        "id": draw(_sometimes_anything(_ID)),
        "type": draw(_sometimes_anything(st.just(resource_type))),
        "attributes": draw(_sometimes_anything(attributes)),
    }
    identifier = st.fixed_dictionaries(
        {"type": st.sampled_from(["lab_company", "patient", "lab_test"]), "id": _ID}
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
SQLITE_INTEGERS = range(-(2**63), 2**63)


def _assert_safe_to_use(model: object) -> None:
    """What the store, file names and the web view rely on, checked on a parsed model
    independently of the parser's own checks."""
    assert dataclasses.is_dataclass(model)
    json.dumps(dict(getattr(model, "raw", {})), default=str)  # storable: not nested too deep
    for item in dataclasses.fields(model):
        value = getattr(model, item.name)
        if item.name == "raw":
            continue
        if item.name == "id" or item.name.endswith("_id"):
            assert value is None or re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value), item.name
        if item.name in ("checkout_url", "results_pdf", "requisition") and value:
            assert urlsplit(value).scheme in ("http", "https"), item.name
            assert "@" not in urlsplit(value).netloc
        values = value if isinstance(value, tuple) else (value,)
        for one in values:
            if dataclasses.is_dataclass(one):
                _assert_safe_to_use(one)
            elif isinstance(one, str):
                one.encode("utf-8")  # no lone surrogates
                assert all(unicodedata.category(c) != "Cc" or c in "\t\n\r" for c in one), item.name
                assert len(one) <= jsonapi.MAX_TEXT_LENGTH
            elif isinstance(one, datetime):
                assert one.tzinfo is not None, item.name
                one.astimezone(UTC)  # storable: the store keeps UTC
            elif isinstance(one, bool):
                pass
            elif isinstance(one, int):
                assert one in SQLITE_INTEGERS, item.name
            elif isinstance(one, Decimal):
                assert one.is_finite()
                cents = price_to_cents(one)
                assert cents is not None
                assert 0 <= cents <= 100 * jsonapi.MAX_PRICE, item.name


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
    for item in page.items:
        _assert_safe_to_use(item)


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
    _assert_safe_to_use(item)


@settings(max_examples=200, deadline=None)
@given(body=json_values)
def test_any_error_body_is_read_without_raising(body: Any) -> None:
    for error in jsonapi.parse_errors(body):
        assert error.attribute is None or isinstance(error.attribute, str)
        for text in (error.status, error.code, error.detail, error.pointer):
            if text is not None:
                text.encode("utf-8")  # no lone surrogates
                assert len(text) <= jsonapi.MAX_ERROR_TEXT_LENGTH

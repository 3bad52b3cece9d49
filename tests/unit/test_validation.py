"""The new-patient form's checks, duplicate matching and the redirect port list."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rupa_desk.core.validation import (
    InvalidPatientForm,
    PatientForm,
    PortListError,
    field_for_attribute,
    new_patient,
    parse_port_list,
    patient_form_errors,
)

TODAY = date(2025, 5, 1)
VALID = PatientForm(first_name="Ada", last_name="Lovelace", email="ada@example.com")


def test_a_minimal_form_is_valid() -> None:
    assert patient_form_errors(VALID, today=TODAY) == {}
    assert new_patient(VALID, today=TODAY) == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
    }


def test_first_last_and_email_are_required() -> None:
    errors = patient_form_errors(PatientForm(first_name="  "), today=TODAY)
    assert set(errors) == {"first_name", "last_name", "email"}
    assert errors["first_name"] == "First name is required."


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "ada@"}, "email"),
        ({"email": "ada example.com"}, "email"),
        ({"birthday": "1815-13-10"}, "birthday"),
        ({"birthday": "yesterday"}, "birthday"),
        ({"birthday": "2030-01-01"}, "birthday"),
        ({"birthday": "1815-12-10"}, "birthday"),
        ({"phone": "12"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"gender": "robot"}, "gender"),
        ({"city": "London"}, "street_1"),
        ({"street_1": "1 Main St", "city": "X", "state": "California", "zip": "94110"}, "state"),
        ({"street_1": "1 Main St", "city": "X", "state": "CA", "zip": "941"}, "zip"),
        ({"first_name": "A" * 101}, "first_name"),
    ],
)
def test_each_bad_field_gets_its_own_message(changes: dict[str, str], field: str) -> None:
    form = PatientForm(**{**VALID.as_dict(), **changes})
    errors = patient_form_errors(form, today=TODAY)
    assert field in errors
    with pytest.raises(InvalidPatientForm) as caught:
        new_patient(form, today=TODAY)
    assert field in caught.value.errors


def test_optional_fields_are_normalised() -> None:
    form = PatientForm(
        first_name=" Ada ",
        last_name="Lovelace",
        email="Ada@Example.com",
        birthday="12/10/1985",
        phone="(555) 010-0123",
        gender="Female",
        street_1="1 Main St",
        city="Springfield",
        state="il",
        zip="62701",
    )
    assert new_patient(form, today=TODAY) == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "birthday": "1985-12-10",
        "phone": "(555) 010-0123",
        "gender": "female",
        "address": {
            "street_1": "1 Main St",
            "street_2": "",
            "city": "Springfield",
            "state": "IL",
            "zip": "62701",
        },
    }


@pytest.mark.parametrize(
    ("attribute", "field"),
    [
        ("email", "email"),
        ("birthday", "birthday"),
        ("address.zip", "zip"),
        ("address", "street_1"),
        ("clinic", None),
        ("", None),
    ],
)
def test_server_errors_map_to_form_fields(attribute: str, field: str | None) -> None:
    assert field_for_attribute(attribute) == field


def test_port_list() -> None:
    assert parse_port_list("") == ()
    assert parse_port_list("8765, 8766 8767") == (8765, 8766, 8767)
    for bad in ("80", "http", "8765,8765", "70000"):
        with pytest.raises(PortListError):
            parse_port_list(bad)


@given(st.lists(st.integers(min_value=1024, max_value=65535), unique=True, max_size=6))
def test_port_list_round_trips(ports: list[int]) -> None:
    assert parse_port_list(", ".join(map(str, ports))) == tuple(ports)

"""Checks of what people type, before anything is saved or sent: pure, no I/O.

- The new-patient form: `patient_form_errors` gives a message per field; `new_patient` turns a
  valid form into the attributes Rupa expects. `field_for_attribute` maps a server validation
  error's attribute ("email", "address.zip") back to the form field.
- The redirect port list of the Settings dialog (`parse_port_list`).

(Possible duplicates are looked up in the patients cache: `PatientCache.find_possible_duplicates`.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Final

from rupa_desk.core.errors import InvalidInput

#: The fields of the new-patient form, in form order.
PATIENT_FIELDS: Final[tuple[str, ...]] = (
    "first_name",
    "last_name",
    "email",
    "birthday",
    "phone",
    "gender",
    "street_1",
    "street_2",
    "city",
    "state",
    "zip",
)
REQUIRED_PATIENT_FIELDS: Final[tuple[str, ...]] = ("first_name", "last_name", "email")
ADDRESS_FIELDS: Final[tuple[str, ...]] = ("street_1", "street_2", "city", "state", "zip")
GENDERS: Final[tuple[str, ...]] = ("female", "male", "other")
MAX_NAME_LENGTH: Final = 100
OLDEST_BIRTH_YEAR: Final = 1900

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z0-9-]{2,}$")
_PHONE_CHARS = re.compile(r"^[0-9+().\-\s]*(?:(?:x|ext\.?)\s*[0-9]+)?$", re.IGNORECASE)
_ZIP = re.compile(r"^[0-9]{5}(?:-[0-9]{4})?$")
_STATE = re.compile(r"^[A-Za-z]{2}$")
_BIRTHDAY_FORMATS: Final = ("%Y-%m-%d", "%m/%d/%Y")

_LABELS: Final[dict[str, str]] = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "birthday": "Birthday",
    "phone": "Phone",
    "gender": "Gender",
    "street_1": "Street",
    "street_2": "Street (line 2)",
    "city": "City",
    "state": "State",
    "zip": "ZIP code",
}


@dataclass(frozen=True)
class PatientForm:
    """What was typed into the new-patient form (every field as text, maybe empty)."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    birthday: str = ""
    phone: str = ""
    gender: str = ""
    street_1: str = ""
    street_2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""

    def value(self, name: str) -> str:
        """The stripped text of field `name`."""
        return str(getattr(self, name)).strip()

    def as_dict(self) -> dict[str, str]:
        """Every field's stripped text."""
        return {f.name: self.value(f.name) for f in fields(self)}

    def is_empty(self) -> bool:
        """True when nothing but blanks was typed into any field."""
        return not any(self.as_dict().values())


class InvalidPatientForm(InvalidInput):
    """The form has errors; `errors` maps each bad field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{_LABELS.get(k, k)}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def field_label(name: str) -> str:
    """The label of a form field ("first_name" → "First name")."""
    return _LABELS.get(name, name.replace("_", " ").capitalize())


def parse_birthday(text: str) -> date:
    """A birthday typed as YYYY-MM-DD or MM/DD/YYYY.

    Raises:
        ValueError: the text is not a date in one of those forms.
    """
    for fmt in _BIRTHDAY_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r}")


def patient_form_errors(form: PatientForm, *, today: date) -> dict[str, str]:
    """A message for each field that is not acceptable (empty when the form is valid).

    Args:
        form: what was typed.
        today: the current date (birthdays cannot be in the future).

    Returns:
        Field name → a sentence saying what is wrong and what is expected.
    """
    errors: dict[str, str] = {}
    for name in REQUIRED_PATIENT_FIELDS:
        if not form.value(name):
            errors[name] = f"{field_label(name)} is required."
    for name in ("first_name", "last_name", "city"):
        if len(form.value(name)) > MAX_NAME_LENGTH:
            errors[name] = f"{field_label(name)} is longer than {MAX_NAME_LENGTH} characters."
    email = form.value("email")
    if email and not _EMAIL.match(email):
        errors["email"] = "Enter an email address like name@example.com."
    birthday = form.value("birthday")
    if birthday:
        try:
            born = parse_birthday(birthday)
        except ValueError:
            errors["birthday"] = "Enter the birthday as YYYY-MM-DD (or MM/DD/YYYY)."
        else:
            if born > today:
                errors["birthday"] = "The birthday cannot be in the future."
            elif born.year < OLDEST_BIRTH_YEAR:
                errors["birthday"] = f"The birthday cannot be before {OLDEST_BIRTH_YEAR}."
    phone = form.value("phone")
    if phone:
        digits = sum(c.isdigit() for c in phone)
        if not _PHONE_CHARS.match(phone) or not 7 <= digits <= 15:
            errors["phone"] = "Enter a phone number of 7 to 15 digits, e.g. (555) 010-0123."
    gender = form.value("gender").casefold()
    if gender and gender not in GENDERS:
        errors["gender"] = "Choose female, male or other, or leave it empty."
    if any(form.value(name) for name in ADDRESS_FIELDS):
        for name in ("street_1", "city", "state", "zip"):
            if not form.value(name):
                errors.setdefault(name, f"{field_label(name)} is needed for an address.")
    state = form.value("state")
    if state and not _STATE.match(state):
        errors["state"] = "Enter the two-letter state code, e.g. CA."
    zip_code = form.value("zip")
    if zip_code and not _ZIP.match(zip_code):
        errors["zip"] = "Enter a 5-digit ZIP code (or ZIP+4, e.g. 94110-1234)."
    return errors


def new_patient(form: PatientForm, *, today: date) -> dict[str, Any]:
    """The attributes of a new patient for Rupa (`POST /patients`), from a valid form.

    Empty optional fields are left out; the address is included only when given.

    Raises:
        InvalidPatientForm: the form has errors (see `patient_form_errors`).
    """
    errors = patient_form_errors(form, today=today)
    if errors:
        raise InvalidPatientForm(errors)
    attributes: dict[str, Any] = {
        "first_name": form.value("first_name"),
        "last_name": form.value("last_name"),
        "email": form.value("email").lower(),
    }
    if form.value("birthday"):
        attributes["birthday"] = parse_birthday(form.value("birthday")).isoformat()
    if form.value("phone"):
        attributes["phone"] = form.value("phone")
    if form.value("gender"):
        attributes["gender"] = form.value("gender").casefold()
    if any(form.value(name) for name in ADDRESS_FIELDS):
        attributes["address"] = {
            "street_1": form.value("street_1"),
            "street_2": form.value("street_2"),
            "city": form.value("city"),
            "state": form.value("state").upper(),
            "zip": form.value("zip"),
        }
    return attributes


def field_for_attribute(attribute: str) -> str | None:
    """The form field a server validation error is about, if it is one of the form's.

    Rupa's errors name attributes (the client turns `/data/attributes/address/zip` into
    "address.zip"): "email" → "email"; "address.zip" → "zip"; "address" → "street_1";
    anything else → None (the error is shown for the whole form).
    """
    parts = [p for p in attribute.split(".") if p]
    if not parts:
        return None
    name = parts[-1]
    if name in PATIENT_FIELDS:
        return name
    if name == "address":
        return "street_1"
    return None


class PortListError(InvalidInput):
    """The redirect port list is not a comma-separated list of ports."""


def parse_port_list(text: str) -> tuple[int, ...]:
    """Ports typed as "8765, 8766" (empty: any free port).

    Raises:
        PortListError: a value is not a whole number between 1024 and 65535, or is repeated.
    """
    ports: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        if not part.isdigit():
            raise PortListError(f"{part!r} is not a port number.")
        port = int(part)
        if not 1024 <= port <= 65535:
            raise PortListError(f"Port {port} is not between 1024 and 65535.")
        if port in ports:
            raise PortListError(f"Port {port} is listed twice.")
        ports.append(port)
    return tuple(ports)

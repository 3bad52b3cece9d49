"""Validation of request documents: patients and order intents, as JSON:API error objects.

Every problem of a document is reported at once, each with a `source.pointer` to the field.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final
from urllib.parse import urlsplit

from rupa_desk.sandbox.clock import wall_now
from rupa_desk.sandbox.jsonapi import ApiError, error_object

EMAIL_PATTERN: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE_CHARS: Final = re.compile(r"^\+?[\d\s().\-]+$")
DATE_PATTERN: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ADDRESS_FIELDS: Final = ("street_1", "street_2", "city", "state", "zip")
NAME_MAX: Final = 100


def _problem(code: str, detail: str, pointer: str) -> dict[str, Any]:
    return error_object(400, code, detail, pointer=pointer)


def resource_data(
    document: Any, type_name: str, *, resource_id: str | None = None
) -> dict[str, Any]:
    """The `data` object of a request document, checked for shape and `type` (400 otherwise)."""
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise ApiError(
            400,
            "invalid",
            "The request body must be a JSON:API document with a data object.",
            pointer="/data",
        )
    data: dict[str, Any] = document["data"]
    if data.get("type") != type_name:
        raise ApiError(
            400, "invalid_type", f"data.type must be {type_name!r}.", pointer="/data/type"
        )
    if resource_id is not None and data.get("id") not in (None, resource_id):
        raise ApiError(400, "invalid", "data.id does not match the URL.", pointer="/data/id")
    for member in ("attributes", "relationships"):
        if member in data and not isinstance(data[member], dict):
            raise ApiError(
                400, "invalid", f"data.{member} must be an object.", pointer=f"/data/{member}"
            )
    return data


def _string(
    attrs: dict[str, Any],
    name: str,
    problems: list[dict[str, Any]],
    *,
    required: bool = False,
    max_length: int = 500,
) -> str | None:
    pointer = f"/data/attributes/{name}"
    value = attrs.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(_problem("required", f"{name} is required.", pointer))
        return None
    if not isinstance(value, str):
        problems.append(_problem("invalid", f"{name} must be a string.", pointer))
        return None
    value = value.strip()
    if len(value) > max_length:
        problems.append(
            _problem("invalid", f"{name} is longer than {max_length} characters.", pointer)
        )
        return None
    return value


def valid_birthday(value: str) -> date | None:
    """The date of a `YYYY-MM-DD` birthday that is not in the future, if it is one."""
    if not DATE_PATTERN.match(value):
        return None
    try:
        born = date.fromisoformat(value)
    except ValueError:
        return None
    if born > wall_now().date() or born.year < 1900:
        return None
    return born


def valid_phone(value: str) -> bool:
    """A phone number: digits with optional spaces, dots, dashes, brackets and a leading +."""
    digits = sum(c.isdigit() for c in value)
    return bool(PHONE_CHARS.match(value)) and 10 <= digits <= 15


def patient_attributes(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Clean patient attributes, or a 400 ApiError listing every invalid field.

    Args:
        data: the request's `data` object.
        partial: only check the attributes present (for updates).
    """
    attrs = data.get("attributes") or {}
    problems: list[dict[str, Any]] = []
    clean: dict[str, Any] = {}
    for name in ("first_name", "last_name", "email"):
        if partial and name not in attrs:
            continue
        value = _string(
            attrs, name, problems, required=True, max_length=NAME_MAX if name != "email" else 254
        )
        if value is not None:
            clean[name] = value
    email = clean.get("email")
    if email is not None and not EMAIL_PATTERN.match(email):
        problems.append(
            _problem("invalid", "Enter a valid email address.", "/data/attributes/email")
        )
    birthday = _string(attrs, "birthday", problems, max_length=10)
    if birthday is not None:
        if not DATE_PATTERN.match(birthday):
            problems.append(
                _problem(
                    "invalid", "Birthday must be a date as YYYY-MM-DD.", "/data/attributes/birthday"
                )
            )
        elif valid_birthday(birthday) is None:
            problems.append(
                _problem(
                    "invalid",
                    "Birthday must be a real date after 1900 and not in the future.",
                    "/data/attributes/birthday",
                )
            )
    clean["birthday"] = birthday
    phone = _string(attrs, "phone", problems, max_length=40)
    if phone is not None and not valid_phone(phone):
        problems.append(
            _problem(
                "invalid", "Enter a valid phone number (10 to 15 digits).", "/data/attributes/phone"
            )
        )
    clean["phone"] = phone
    clean["gender"] = _string(attrs, "gender", problems, max_length=40)
    clean["address"] = _address(attrs.get("address"), problems)
    if problems:
        raise ApiError.many(400, problems)
    return clean


def _address(value: Any, problems: list[dict[str, Any]]) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(
            _problem("invalid", "address must be an object.", "/data/attributes/address")
        )
        return None
    address = {}
    for name in ADDRESS_FIELDS:
        part = value.get(name, "")
        if part is None:
            part = ""
        if not isinstance(part, str):
            problems.append(
                _problem(
                    "invalid",
                    f"address.{name} must be a string.",
                    f"/data/attributes/address/{name}",
                )
            )
            continue
        address[name] = part.strip()
    return address


def return_url(value: Any, problems: list[dict[str, Any]], *, required: bool) -> str | None:
    """An absolute URL to send the practitioner back to after checkout."""
    pointer = "/data/attributes/return_url"
    if value is None or value == "":
        if required:
            problems.append(_problem("required", "return_url is required.", pointer))
        return None
    if not isinstance(value, str):
        problems.append(_problem("invalid", "return_url must be a string.", pointer))
        return None
    parts = urlsplit(value)
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc):
        problems.append(_problem("invalid", "return_url must be an absolute URL.", pointer))
        return None
    return value


def linkage_id(
    value: Any, type_name: str, pointer: str, problems: list[dict[str, Any]]
) -> str | None:
    """The id of a resource linkage `{"type": ..., "id": ...}` of the expected type."""
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        problems.append(
            _problem("invalid", f"Expected a {type_name} resource identifier.", pointer)
        )
        return None
    if value.get("type") != type_name:
        problems.append(_problem("invalid_type", f"type must be {type_name!r}.", pointer + "/type"))
        return None
    return str(value["id"])

"""Saved panels (Rupa's "custom bundles"): named sets of tests, their file format, their check.

A panel keeps each test as it was saved (id, name, lab company, price), so that when it is
used later it can say what changed: a test that left the catalog (or is no longer offered)
or whose price moved is named, never dropped silently (`check_panel`).

A clinic shares its panels across its PCs as a JSON file (`export_panels`, `read_panels_file`):

    {"format": "rupa-desk-panels", "version": 1,
     "panels": [{"name": "Thyroid basics",
                 "tests": [{"lab_test_id": "labts_…", "name": "TSH",
                            "lab_company": "Quest Diagnostics", "price": "39.00"}]}]}

Reading a file checks everything in it before anything is saved, and a bad file is a
`PanelFileError` that says which panel and which test is wrong: it never raises anything
else, whatever the bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeGuard

from rupa_desk.core.errors import InvalidInput
from rupa_desk.core.models import LabTest

#: What the file says it is, and the newest version of the format this version reads.
FILE_FORMAT: Final = "rupa-desk-panels"
FILE_VERSION: Final = 1
#: A file larger than this is not a panels file (a clinic's panels are a few kilobytes).
MAX_FILE_BYTES: Final = 2 * 1024 * 1024
MAX_PANELS_IN_FILE: Final = 1000
MAX_NAME_CHARS: Final = 120
MAX_TESTS: Final = 100
MAX_TEST_TEXT_CHARS: Final = 300
MAX_ID_CHARS: Final = 100
#: The highest price a file may give a test (a check against nonsense, not a business rule).
MAX_PRICE: Final = Decimal("1000000")

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class InvalidPanel(InvalidInput):
    """A panel's name or tests were refused (empty name, no tests, a name already used…)."""


class PanelFileError(InvalidInput):
    """A panels file cannot be imported; the message says what is wrong and where."""

    next_step = "Nothing was imported. Ask for a new export of the panels, then import it again."


@dataclass(frozen=True, slots=True)
class PanelTest:
    """A test of a panel, as it was when the panel was saved.

    Attributes:
        lab_test_id: the catalog's id of the test.
        name: its name then.
        lab_company: its lab company's name then ("" when not known).
        price: its price then (None when it had none).
    """

    lab_test_id: str
    name: str
    lab_company: str = ""
    price: Decimal | None = None

    @classmethod
    def of(cls, test: LabTest) -> PanelTest:
        """The panel test of a catalog test, as it is now."""
        company = test.lab_company.name if test.lab_company is not None else ""
        return cls(test.id, test.name, company, test.price)


@dataclass(frozen=True, slots=True)
class NewPanel:
    """A panel to save: a name and its tests (checked by `new_panel`)."""

    name: str
    tests: tuple[PanelTest, ...]


@dataclass(frozen=True, slots=True)
class Panel:
    """A saved panel."""

    id: str
    name: str
    tests: tuple[PanelTest, ...]


def panel_name(name: str) -> str:
    """The name to save: outer spaces removed, inner runs collapsed.

    Raises:
        InvalidPanel: it is empty or too long.
    """
    cleaned = " ".join(_CONTROL.sub(" ", name).split())
    if not cleaned:
        raise InvalidPanel("A panel needs a name. Type one, then save again.")
    if len(cleaned) > MAX_NAME_CHARS:
        raise InvalidPanel(
            f"A panel's name can be at most {MAX_NAME_CHARS} characters. Shorten it, then save."
        )
    return cleaned


def new_panel(name: str, tests: Iterable[PanelTest]) -> NewPanel:
    """A checked panel: a clean name and its tests, each once, in the order given.

    Raises:
        InvalidPanel: no name, a name too long, no tests or too many.
    """
    unique: dict[str, PanelTest] = {}
    for test in tests:
        unique.setdefault(test.lab_test_id, test)
    if not unique:
        raise InvalidPanel("A panel needs at least one test. Add tests, then save again.")
    if len(unique) > MAX_TESTS:
        raise InvalidPanel(f"A panel can hold at most {MAX_TESTS} tests.")
    return NewPanel(panel_name(name), tuple(unique.values()))


# -- the file ------------------------------------------------------------------------------


def export_panels(panels: Iterable[Panel | NewPanel]) -> str:
    """The panels as the text of a panels file (UTF-8 JSON, one test a line for diffing)."""
    document = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "panels": [
            {
                "name": panel.name,
                "tests": [
                    {
                        "lab_test_id": test.lab_test_id,
                        "name": test.name,
                        "lab_company": test.lab_company,
                        "price": None if test.price is None else f"{test.price:.2f}",
                    }
                    for test in panel.tests
                ],
            }
            for panel in panels
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def read_panels_file(data: bytes) -> list[NewPanel]:
    """The panels of a panels file's bytes, all checked.

    Raises:
        PanelFileError: the file is not a panels file, is from a newer Rupa Desk, or holds a
            bad value (the message names the panel and the test); nothing else, whatever
            the bytes.
    """
    if len(data) > MAX_FILE_BYTES:
        raise PanelFileError("This file is too large to be a file of saved panels.")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PanelFileError("This file is not a file of saved panels (it is not JSON).") from None
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise PanelFileError("This file is not a file of saved panels from Rupa Desk.")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PanelFileError("This panels file has no valid version number.")
    if version > FILE_VERSION:
        raise PanelFileError(
            "This panels file was made by a newer Rupa Desk. Update Rupa Desk on this "
            "computer, then import it again.",
            next_step="",
        )
    raw_panels = document.get("panels")
    if not isinstance(raw_panels, list):
        raise PanelFileError("This panels file holds no list of panels.")
    if len(raw_panels) > MAX_PANELS_IN_FILE:
        raise PanelFileError(f"This file holds more than {MAX_PANELS_IN_FILE} panels.")
    panels: list[NewPanel] = []
    names: set[str] = set()
    for number, raw in enumerate(raw_panels, start=1):
        panel = _file_panel(number, raw)
        key = panel.name.casefold()
        if key in names:
            raise PanelFileError(f"Two panels of this file are named “{panel.name}”.")
        names.add(key)
        panels.append(panel)
    return panels


def _file_panel(number: int, raw: Any) -> NewPanel:
    if not isinstance(raw, dict):
        raise PanelFileError(f"Panel {number} of this file is not a panel.")
    name = raw.get("name")
    where = f"Panel {number}"
    if not isinstance(name, str):
        raise PanelFileError(f"{where} of this file has no name.")
    where = f"Panel {number} (“{name[:MAX_NAME_CHARS]}”)"
    raw_tests = raw.get("tests")
    if not isinstance(raw_tests, list):
        raise PanelFileError(f"{where} has no list of tests.")
    if len(raw_tests) > MAX_TESTS:
        raise PanelFileError(f"{where} holds more than {MAX_TESTS} tests.")
    tests = [_file_test(f"{where}, test {index}", test) for index, test in enumerate(raw_tests, 1)]
    try:
        return new_panel(name, tests)
    except InvalidPanel as exc:
        raise PanelFileError(f"{where}: {exc.user_message}") from None


def _file_test(where: str, raw: Any) -> PanelTest:
    if not isinstance(raw, dict):
        raise PanelFileError(f"{where} is not a test.")
    test_id = raw.get("lab_test_id")
    if not _is_text(test_id, MAX_ID_CHARS) or not test_id.strip():
        raise PanelFileError(f"{where} has no valid test id.")
    name = raw.get("name")
    if not _is_text(name, MAX_TEST_TEXT_CHARS) or not name.strip():
        raise PanelFileError(f"{where} has no name.")
    company = raw.get("lab_company", "")
    if not _is_text(company, MAX_TEST_TEXT_CHARS):
        raise PanelFileError(f"{where} has a lab company that is not text.")
    return PanelTest(test_id.strip(), name.strip(), company.strip(), _file_price(where, raw))


def _file_price(where: str, raw: Mapping[str, Any]) -> Decimal | None:
    price = raw.get("price")
    if price is None:
        return None
    if not isinstance(price, str):
        raise PanelFileError(f"{where} has a price that is not written like “39.00”.")
    try:
        value = Decimal(price)
    except InvalidOperation:
        raise PanelFileError(f"{where} has a price that is not written like “39.00”.") from None
    if not value.is_finite() or not Decimal(0) <= value <= MAX_PRICE:
        raise PanelFileError(f"{where} has an impossible price ({price[:20]}).")
    return value.quantize(Decimal("0.01"))


def _is_text(value: Any, max_chars: int) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) <= max_chars and not _CONTROL.search(value)


# -- using a panel -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceChange:
    """A test whose price is not the one the panel saved."""

    test: LabTest
    saved: Decimal | None


@dataclass(frozen=True, slots=True)
class PanelCheck:
    """A panel against the catalog as it is now.

    Attributes:
        available: the catalog's tests to add, in the panel's order.
        gone: the panel's tests the catalog no longer has, or no longer offers.
        price_changed: the available tests whose price moved since the panel was saved.
    """

    available: tuple[LabTest, ...]
    gone: tuple[PanelTest, ...]
    price_changed: tuple[PriceChange, ...]

    def notes(self) -> list[str]:
        """What the person must know before ordering, in sentences ([] when nothing)."""
        notes = []
        if self.gone:
            names = ", ".join(f"“{test.name}”" for test in self.gone)
            notes.append(
                f"Not added, no longer in the catalog: {names}. Search the catalog for a "
                "replacement."
            )
        for change in self.price_changed:
            notes.append(
                f"“{change.test.name}” now costs {_money(change.test.price)}"
                f" (was {_money(change.saved)} when the panel was saved)."
            )
        return notes


def check_panel(tests: Sequence[PanelTest], catalog: Mapping[str, LabTest]) -> PanelCheck:
    """Each saved test against `catalog` (the tests found there, by id)."""
    available: list[LabTest] = []
    gone: list[PanelTest] = []
    changed: list[PriceChange] = []
    for saved in tests:
        current = catalog.get(saved.lab_test_id)
        if current is None or not current.is_active:
            gone.append(saved)
            continue
        available.append(current)
        if current.price != saved.price:
            changed.append(PriceChange(current, saved.price))
    return PanelCheck(tuple(available), tuple(gone), tuple(changed))


def _money(price: Decimal | None) -> str:
    return "no listed price" if price is None else f"${price:,.2f}"

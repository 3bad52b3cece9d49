"""Saved panels: a checked name and tests, the versioned file format (a bad file is a clear
`PanelFileError`, never a crash), and what a panel says when the catalog has moved on."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rupa_desk.core.models import LabCompany, LabTest
from rupa_desk.core.panels import (
    FILE_FORMAT,
    FILE_VERSION,
    MAX_TESTS,
    InvalidPanel,
    NewPanel,
    PanelFileError,
    PanelTest,
    check_panel,
    export_panels,
    new_panel,
    read_panels_file,
)

TSH = PanelTest("labts_1", "TSH", "Quest Diagnostics", Decimal("39.00"))
FREE_T4 = PanelTest("labts_2", "Free T4", "Quest Diagnostics", None)
THYROID = NewPanel("Thyroid basics", (TSH, FREE_T4))


def file_bytes(document: Any) -> bytes:
    return json.dumps(document).encode("utf-8")


def good_document() -> dict[str, Any]:
    return json.loads(export_panels([THYROID]))


def test_a_panel_has_a_clean_name_and_each_test_once() -> None:
    panel = new_panel("  Thyroid \t basics ", [TSH, FREE_T4, TSH])
    assert panel == THYROID


@pytest.mark.parametrize(
    ("name", "tests", "said"),
    [
        ("  ", [TSH], "needs a name"),
        ("x" * 121, [TSH], "at most 120 characters"),
        ("Empty", [], "at least one test"),
        ("Huge", [PanelTest(f"labts_{i}", "T") for i in range(MAX_TESTS + 1)], "at most 100"),
    ],
)
def test_a_panel_without_a_name_or_tests_is_refused(
    name: str, tests: list[PanelTest], said: str
) -> None:
    with pytest.raises(InvalidPanel, match=said):
        new_panel(name, tests)


def test_export_then_read_gives_the_same_panels() -> None:
    other = NewPanel("Éstrogen «plus»", (FREE_T4,))
    text = export_panels([THYROID, other])
    document = json.loads(text)
    assert document["format"] == FILE_FORMAT
    assert document["version"] == FILE_VERSION
    assert document["panels"][0]["tests"][0] == {
        "lab_test_id": "labts_1",
        "name": "TSH",
        "lab_company": "Quest Diagnostics",
        "price": "39.00",
    }
    assert read_panels_file(text.encode("utf-8")) == [THYROID, other]
    assert read_panels_file(b"\xef\xbb\xbf" + text.encode("utf-8")) == [THYROID, other]  # BOM


def bad(change: Any) -> dict[str, Any]:
    document = good_document()
    change(document)
    return document


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\xff\xfe not text", "not JSON"),
        (b"{not json", "not JSON"),
        (b"[]", "not a file of saved panels from Rupa Desk"),
        (file_bytes({"format": "something else"}), "not a file of saved panels from Rupa Desk"),
        (file_bytes(bad(lambda d: d.update(version="1"))), "no valid version"),
        (file_bytes(bad(lambda d: d.update(version=2))), "made by a newer Rupa Desk"),
        (file_bytes(bad(lambda d: d.update(panels={}))), "no list of panels"),
        (file_bytes(bad(lambda d: d["panels"].append(3))), "Panel 2 of this file is not a panel"),
        (file_bytes(bad(lambda d: d["panels"][0].pop("name"))), "Panel 1 of this file has no name"),
        (
            file_bytes(bad(lambda d: d["panels"][0].update(name=" "))),
            "Panel 1 (“ ”): A panel needs a name",
        ),
        (
            file_bytes(bad(lambda d: d["panels"][0].update(tests=[]))),
            "Panel 1 (“Thyroid basics”): A panel needs at least one test",
        ),
        (
            file_bytes(bad(lambda d: d["panels"][0]["tests"][1].update(lab_test_id=""))),
            "Panel 1 (“Thyroid basics”), test 2 has no valid test id",
        ),
        (
            file_bytes(bad(lambda d: d["panels"][0]["tests"][0].update(name=None))),
            "test 1 has no name",
        ),
        (
            file_bytes(bad(lambda d: d["panels"][0]["tests"][0].update(price=39))),
            "test 1 has a price that is not written like “39.00”",
        ),
        (
            file_bytes(bad(lambda d: d["panels"][0]["tests"][0].update(price="-1"))),
            "test 1 has an impossible price",
        ),
        (
            file_bytes(bad(lambda d: d["panels"][0]["tests"][0].update(price="NaN"))),
            "test 1 has an impossible price",
        ),
        (
            file_bytes(bad(lambda d: d["panels"].append(d["panels"][0]))),
            "Two panels of this file are named “Thyroid basics”",
        ),
        (b" " * (2 * 1024 * 1024 + 1), "too large"),
    ],
)
def test_a_bad_file_is_refused_with_what_is_wrong_and_where(content: bytes, said: str) -> None:
    with pytest.raises(PanelFileError) as caught:
        read_panels_file(content)
    assert said in caught.value.user_message
    if "newer" not in said:
        assert "Nothing was imported" in caught.value.user_message


@given(st.binary(max_size=300))
def test_no_bytes_raise_anything_but_a_panel_file_error(data: bytes) -> None:
    with contextlib.suppress(PanelFileError):
        read_panels_file(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


@given(panels=st.lists(json_values, max_size=3), version=json_values)
def test_no_json_in_a_panels_file_raises_anything_but_a_panel_file_error(
    panels: list[Any], version: Any
) -> None:
    document = {"format": FILE_FORMAT, "version": version, "panels": panels}
    with contextlib.suppress(PanelFileError):
        read_panels_file(json.dumps(document).encode("utf-8"))


def catalog_test(saved: PanelTest, price: Decimal | None, *, active: bool = True) -> LabTest:
    company = LabCompany("labco_1", saved.lab_company)
    return LabTest(saved.lab_test_id, saved.name, price, "labco_1", lab_company=company,
                   is_active=active)  # fmt: skip


def test_a_panel_used_later_names_the_tests_that_left_and_the_prices_that_moved() -> None:
    gone = PanelTest("labts_9", "Reverse T3", "Quest Diagnostics", Decimal("20.00"))
    check = check_panel(
        [TSH, gone, FREE_T4], {TSH.lab_test_id: catalog_test(TSH, Decimal("45.00"))}
    )
    assert [t.id for t in check.available] == ["labts_1"]
    assert check.gone == (gone, FREE_T4)
    notes = check.notes()
    assert notes[0].startswith("Not added, no longer in the catalog: “Reverse T3”, “Free T4”.")
    assert notes[1] == "“TSH” now costs $45.00 (was $39.00 when the panel was saved)."


def test_an_inactive_test_counts_as_gone_and_an_unchanged_panel_has_no_notes() -> None:
    catalog = {
        TSH.lab_test_id: catalog_test(TSH, TSH.price),
        FREE_T4.lab_test_id: catalog_test(FREE_T4, None, active=False),
    }
    check = check_panel([TSH, FREE_T4], catalog)
    assert check.gone == (FREE_T4,)
    unchanged = check_panel([TSH], catalog)
    assert unchanged.notes() == []
    assert [t.id for t in unchanged.available] == [TSH.lab_test_id]


def test_a_panel_test_is_made_from_a_catalog_test() -> None:
    assert PanelTest.of(catalog_test(TSH, Decimal("39.00"))) == TSH

"""The saved panels table: create, edit, delete, names unique in any case, and an import that
saves all of a file's panels or none."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from rupa_desk.core.panels import InvalidPanel, NewPanel, PanelTest
from rupa_desk.services.store import Store, UnknownPanelError

TSH = PanelTest("labts_1", "TSH", "Quest Diagnostics", Decimal("39.00"))
FREE_T4 = PanelTest("labts_2", "Free T4", "Quest Diagnostics", None)
CORTISOL = PanelTest("labts_3", "Cortisol", "ZRT Laboratory", Decimal("120.50"))


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.in_memory() as store:
        yield store


def test_a_saved_panel_keeps_its_tests_in_order_as_saved(store: Store) -> None:
    panel = store.panels.create(" Thyroid  basics", [FREE_T4, TSH])
    assert panel.name == "Thyroid basics"
    assert store.panels.get(panel.id).tests == (FREE_T4, TSH)
    assert store.panels.all() == [panel]
    assert store.panels.find("thyroid BASICS") == panel
    assert store.panels.count() == 1


def test_panels_are_listed_by_name(store: Store) -> None:
    for name in ("b panel", "C panel", "a panel"):
        store.panels.create(name, [TSH])
    assert [p.name for p in store.panels.all()] == ["a panel", "b panel", "C panel"]


def test_a_name_is_used_once_whatever_its_case(store: Store) -> None:
    store.panels.create("Thyroid", [TSH])
    with pytest.raises(InvalidPanel, match="A panel named “THYROID” exists already"):
        store.panels.create("THYROID", [FREE_T4])
    other = store.panels.create("Adrenal", [CORTISOL])
    with pytest.raises(InvalidPanel, match="exists already"):
        store.panels.update(other.id, "thyroid", [CORTISOL])
    assert store.panels.get(other.id).name == "Adrenal"


def test_a_panel_is_renamed_and_its_tests_replaced(store: Store) -> None:
    panel = store.panels.create("Thyroid", [TSH, FREE_T4])
    updated = store.panels.update(panel.id, "thyroid (full)", [FREE_T4, CORTISOL])
    assert updated.id == panel.id
    assert updated.name == "thyroid (full)"
    assert updated.tests == (FREE_T4, CORTISOL)
    assert store.panels.update(panel.id, "Thyroid (full)", [FREE_T4]).name == "Thyroid (full)"


def test_a_deleted_panel_is_gone_with_its_tests(store: Store) -> None:
    panel = store.panels.create("Thyroid", [TSH])
    store.panels.delete(panel.id)
    with pytest.raises(UnknownPanelError):
        store.panels.get(panel.id)
    assert store.db.execute("SELECT count(*) FROM panel_tests").fetchone()[0] == 0
    store.panels.delete(panel.id)  # twice is fine
    with pytest.raises(UnknownPanelError):
        store.panels.update(panel.id, "Thyroid", [TSH])


def test_an_import_adds_new_panels_and_updates_those_of_the_same_name(store: Store) -> None:
    kept = store.panels.create("Thyroid", [TSH])
    result = store.panels.import_panels(
        [NewPanel("THYROID", (TSH, FREE_T4)), NewPanel("Adrenal", (CORTISOL,))]
    )
    assert result.added == ("Adrenal",)
    assert result.replaced == ("THYROID",)
    assert [p.name for p in store.panels.all()] == ["Adrenal", "THYROID"]
    assert store.panels.get(kept.id).tests == (TSH, FREE_T4)


def test_an_import_that_fails_saves_nothing(store: Store) -> None:
    store.panels.create("Thyroid", [TSH])
    with pytest.raises(InvalidPanel):
        store.panels.import_panels([NewPanel("Adrenal", (CORTISOL,)), NewPanel("Empty", ())])
    assert [p.name for p in store.panels.all()] == ["Thyroid"]


def test_panels_survive_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    with Store.open(path) as store:
        panel = store.panels.create("Thyroid", [TSH, CORTISOL])
    with Store.open(path) as store:
        assert store.panels.get(panel.id).tests == (TSH, CORTISOL)


def test_removing_patient_data_keeps_the_panels(store: Store) -> None:
    """Panels hold no patient data: a shared PC's sign-out leaves them for the next person."""
    store.panels.create("Thyroid", [TSH])
    store.remove_patient_data()
    assert [p.name for p in store.panels.all()] == ["Thyroid"]

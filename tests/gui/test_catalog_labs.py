"""One test, many labs, in the Catalog pane: each row names its lab first, the clinic's
preferred labs come first and are marked, and Enter adds only a row the person sees selected."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
import pytest_asyncio
from PySide6.QtCore import QItemSelectionModel, Qt
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import LabCompany, LabTest
from rupa_desk.paths import AppPaths
from rupa_desk.services.store import Store
from rupa_desk.ui.components.catalog_model import COLUMNS, COMPANY, NAME, PREFERRED_MARK
from tests.fixtures.catalog_data import load_catalog
from tests.fixtures.catalog_sources import OfflineSource
from tests.fixtures.qt import wait_until
from tests.gui.test_catalog_pane import Pane, build_pane

CORTISOL = "Salivary Cortisol, 4-Point"
LABS = tuple(LabCompany(f"labco_{i:03d}", f"Lab {i:03d}") for i in range(12))


def catalog() -> list[LabTest]:
    tests = [
        LabTest(f"labts_c{i:03d}", CORTISOL, Decimal(40 + i), lab.id, ("Saliva",), lab_company=lab)
        for i, lab in enumerate(LABS)
    ]
    tests += [
        LabTest(
            f"labts_s{i:03d}", f"Salivary Hormones {i:02d}", Decimal(90), LABS[0].id, ("Saliva",)
        )
        for i in range(60)
    ]
    return tests


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "catalog-labs.sqlite3") as opened:
        yield opened


@pytest_asyncio.fixture
async def pane(qtbot: QtBot, store: Store) -> AsyncIterator[Pane]:
    load_catalog(store, LABS, catalog())
    # The only open draft, with a patient: clearly where a test goes (tests/gui/
    # test_patient_first.py has the cases where the person is asked).
    store.drafts.create(patient_id="pat_0000001")
    built = build_pane(qtbot, store, OfflineSource())
    await built.presenter.refresh()
    yield built
    await built.presenter.close()


def row_texts(pane: Pane, column: int) -> list[str]:
    model = pane.presenter.model
    return [model.index(row, column).data() for row in range(model.rowCount())]


def draft_tests(pane: Pane) -> list[str]:
    drafts = pane.store.drafts.open_drafts()
    return [t.lab_test_id for d in drafts for t in pane.store.drafts.tests(d.id)]


async def test_the_lab_company_is_the_first_column_so_the_same_test_reads_apart(
    pane: Pane,
) -> None:
    await pane.presenter.search(CORTISOL)
    assert COLUMNS[0] == "Lab company"
    assert pane.page.table.horizontalHeader().logicalIndexAt(5) == COMPANY
    rows = list(zip(row_texts(pane, COMPANY), row_texts(pane, NAME), strict=True))
    cortisol = [(lab, name) for lab, name in rows if name == CORTISOL]
    assert len(cortisol) == len(LABS)
    assert len({lab for lab, _ in cortisol}) == len(LABS)  # every row names another lab


async def test_preferred_labs_come_first_marked_and_a_new_choice_applies_at_once(
    pane: Pane,
) -> None:
    await pane.presenter.search(CORTISOL)
    assert not any(text.startswith(PREFERRED_MARK) for text in row_texts(pane, COMPANY))
    await pane.presenter.set_preferred_labs(["Lab 009", "Lab 004"])
    labs = row_texts(pane, COMPANY)
    assert labs[:3] == [PREFERRED_MARK + "Lab 009", PREFERRED_MARK + "Lab 004", "Lab 000"]
    tip = pane.presenter.model.index(0, COMPANY).data(Qt.ItemDataRole.ToolTipRole)
    assert "preferred" in tip


async def test_enter_from_the_search_box_selects_the_first_row_then_adds_it(
    qtbot: QtBot, pane: Pane
) -> None:
    await pane.presenter.set_preferred_labs(["Lab 007"])
    await pane.presenter.search(CORTISOL)
    pane.page.search_box.setFocus()
    qtbot.keyClick(pane.page.search_box, Qt.Key.Key_Return)
    assert pane.page.table.hasFocus()
    assert pane.page.selected_test_id() == "labts_c007"  # selected and in view: seen
    assert draft_tests(pane) == []  # nothing added yet
    qtbot.keyClick(pane.page.table, Qt.Key.Key_Return)
    await wait_until(lambda: draft_tests(pane) == ["labts_c007"])


async def test_enter_on_a_focused_row_that_is_not_selected_selects_it_first(
    qtbot: QtBot, pane: Pane
) -> None:
    """The bug: Down then Enter said "no longer in the catalog" (row focused, not selected)."""
    await pane.presenter.search(CORTISOL)
    table = pane.page.table
    table.setFocus()
    focused = pane.presenter.model.index(2, NAME)
    table.selectionModel().setCurrentIndex(focused, QItemSelectionModel.SelectionFlag.NoUpdate)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert pane.page.selected_test_id() == pane.presenter.model.hit(2).id
    assert draft_tests(pane) == []
    assert not pane.messages  # no "no longer in the catalog"
    qtbot.keyClick(table, Qt.Key.Key_Return)
    await wait_until(lambda: draft_tests(pane) == [pane.presenter.model.hit(2).id])


async def test_enter_never_adds_a_row_scrolled_out_of_view(qtbot: QtBot, pane: Pane) -> None:
    await pane.presenter.search("salivary")
    table = pane.page.table
    table.setFocus()
    last = pane.presenter.model.rowCount() - 1
    table.selectRow(last)
    table.scrollToTop()
    assert not table.row_in_view(last)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert draft_tests(pane) == []  # shown first, not added
    assert table.row_in_view(last)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    await wait_until(lambda: draft_tests(pane) == [pane.presenter.model.hit(last).id])

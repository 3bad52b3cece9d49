"""The Panels pane: a draft saved as a panel, a panel added to a draft in one action (saying
what left the catalog and what costs more), edits, deletion asked first, export and import."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import LabTest
from rupa_desk.core.panels import NewPanel, PanelTest, export_panels, read_panels_file
from rupa_desk.paths import AppPaths
from rupa_desk.services.store import Store
from rupa_desk.services.sync import CatalogSync
from rupa_desk.ui.messages import Level
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.panels import PanelsPage
from rupa_desk.ui.presenters.catalog import CatalogPresenter
from rupa_desk.ui.presenters.panels import PanelsPresenter
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.catalog_sources import OfflineSource
from tests.fixtures.drafts_env import DraftsEnv, drafts_env
from tests.fixtures.qt import unnamed_controls, wait_until


class FileChoice:
    """Answers the export or import dialog with a fixed path ("" cancels)."""

    def __init__(self, answer: Path | None) -> None:
        self.answer = answer
        self.asked = 0

    def export(self, parent: QWidget, suggested: str) -> str:
        self.asked += 1
        return "" if self.answer is None else str(self.answer)

    def open(self, parent: QWidget) -> str:
        self.asked += 1
        return "" if self.answer is None else str(self.answer)


@dataclass
class Pane:
    page: PanelsPage
    presenter: PanelsPresenter
    env: DraftsEnv
    store: Store
    files: FileChoice

    def tests(self, count: int) -> list[LabTest]:
        ids = [hit.id for hit in self.store.catalog.search("", limit=count).hits]
        return [self.store.catalog.get_test(test_id) for test_id in ids]


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "panels.sqlite3") as opened:
        load_catalog(opened, synthetic_companies(), iter_tests(200))
        yield opened


@pytest_asyncio.fixture
async def pane(qtbot: QtBot, store: Store, app_paths: AppPaths) -> AsyncIterator[Pane]:
    env = drafts_env(store, app_paths, start=False)
    presenter = PanelsPresenter(  # as rupa_desk.ui.account_workspace builds it
        store.panels, store.catalog, store.drafts, env.presenter, env.presenter, env.bridge
    )
    files = FileChoice(None)
    page = PanelsPage(presenter, choose_export_path=files.export, choose_import_path=files.open)
    qtbot.addWidget(page)
    page.resize(900, 600)
    page.show()
    # The person chose New draft first: tests then go to it (with no draft shown, adding a
    # test asks which draft, rupa_desk.ui.presenters.drafts.DraftsPresenter.add_lab_test).
    assert env.presenter.new_draft()
    yield Pane(page, presenter, env, store, files)
    await env.close()
    assert env.failures == []


def listed(pane: Pane) -> list[str]:
    return [pane.page.list.item(row).text() for row in range(pane.page.list.count())]


def shown_tests(pane: Pane) -> list[tuple[str, str, str]]:
    table = pane.page.tests
    return [
        (table.item(row, 0).text(), table.item(row, 1).text(), table.item(row, 2).text())
        for row in range(table.rowCount())
    ]


async def test_the_current_draft_is_saved_as_a_panel_then_named(qtbot: QtBot, pane: Pane) -> None:
    tests = pane.tests(3)
    for test in tests:
        await pane.env.presenter.add_lab_test(test)
    pane.env.messages.clear()
    pane.page.from_draft_button.click()
    assert listed(pane) == ["New panel · 3 tests"]
    assert [m.text for m in pane.env.messages] == [
        "Saved the panel “New panel” (3 tests): give it a name in Panels."
    ]
    assert [name for _, name, _ in shown_tests(pane)] == [t.name for t in tests]
    assert shown_tests(pane)[0][0] == tests[0].lab_company.name  # type: ignore[union-attr]
    assert pane.page.name.hasFocus()  # type the name at once
    qtbot.keyClicks(pane.page.name, "Thyroid basics")
    qtbot.keyClick(pane.page.name, Qt.Key.Key_Return)
    assert listed(pane) == ["Thyroid basics · 3 tests"]
    [panel] = pane.store.panels.all()
    assert panel.name == "Thyroid basics"
    assert [t.lab_test_id for t in panel.tests] == [t.id for t in tests]
    assert unnamed_controls(pane.page) == []


async def test_without_a_draft_nothing_is_saved_and_the_pane_says_what_to_do(pane: Pane) -> None:
    assert pane.page.right.currentWidget() is pane.page.placeholder
    assert not pane.page.add_to_draft_button.isEnabled()
    pane.page.from_draft_button.click()
    assert pane.store.panels.all() == []
    assert pane.env.messages[-1].level is Level.WARNING
    assert "open a draft with tests in Draft orders" in pane.env.messages[-1].text


async def test_a_panel_goes_on_the_draft_in_one_action(pane: Pane) -> None:
    tests = pane.tests(3)
    pane.presenter.save_tests([t.id for t in tests])
    pane.env.messages.clear()
    assert [d.lab_test_ids for d in pane.store.drafts.all()] == [()]  # the draft is empty
    pane.page.add_to_draft_button.click()
    await wait_until(lambda: pane.env.messages)
    [draft] = pane.store.drafts.all()
    assert draft.lab_test_ids == tuple(t.id for t in tests)
    assert pane.env.presenter.current == draft.id  # shown in Draft orders
    assert [(m.level, m.text) for m in pane.env.messages] == [
        (Level.INFO, "Added the panel “New panel” to the current draft (3 tests).")
    ]


async def test_a_panel_whose_tests_changed_says_so_and_drops_nothing_silently(
    pane: Pane,
) -> None:
    kept, repriced = pane.tests(2)
    gone = PanelTest("labts_gone", "Reverse T3, Retired", "Quest Diagnostics", Decimal("20.00"))
    old_price = PanelTest.of(repriced).price - Decimal("5.00")  # type: ignore[operator]
    pane.store.panels.create(
        "Old thyroid",
        [PanelTest.of(kept), gone, PanelTest(repriced.id, repriced.name, "", old_price)],
    )
    pane.page.refresh()
    pane.page.list.setCurrentRow(0)
    pane.page.add_to_draft_button.click()
    await wait_until(lambda: pane.env.messages)
    [draft] = pane.store.drafts.all()
    assert draft.lab_test_ids == (kept.id, repriced.id)
    [message] = pane.env.messages
    assert message.level is Level.WARNING
    assert "(2 tests)" in message.text
    assert "no longer in the catalog: “Reverse T3, Retired”" in message.text
    assert f"“{repriced.name}” now costs ${repriced.price:,.2f}" in message.text
    assert f"(was ${old_price:,.2f} when the panel was saved)" in message.text


async def test_a_test_is_removed_and_a_panel_keeps_one_at_least(pane: Pane) -> None:
    tests = pane.tests(2)
    panel = pane.presenter.save_tests([t.id for t in tests])
    assert panel is not None
    assert not pane.page.remove_test_button.isEnabled()  # nothing selected
    pane.page.tests.selectRow(0)
    assert pane.page.remove_test_button.isEnabled()
    pane.page.remove_test_button.click()
    assert [t.lab_test_id for t in pane.store.panels.get(panel.id).tests] == [tests[1].id]
    assert listed(pane) == ["New panel · 1 test"]
    pane.page.tests.selectRow(0)
    assert not pane.page.remove_test_button.isEnabled()  # the last one: delete the panel


def answer_delete(pane: Pane, *, delete: bool) -> str:
    box = pane.page.confirm_box
    assert box is not None
    assert box.isVisible()
    assert unnamed_controls(box) == []
    text = box.text()
    [button] = [b for b in box.buttons() if b.text() == ("Delete panel" if delete else "Keep it")]
    button.click()
    return text


async def test_deleting_a_panel_asks_first(pane: Pane) -> None:
    pane.presenter.save_tests([t.id for t in pane.tests(2)])
    pane.page.delete_button.click()
    assert "Delete the panel “New panel”?" in answer_delete(pane, delete=False)
    assert len(pane.store.panels.all()) == 1
    await wait_until(lambda: pane.page.confirm_box is None)
    pane.page.delete_button.click()
    answer_delete(pane, delete=True)
    assert pane.store.panels.all() == []
    assert listed(pane) == []
    assert pane.page.right.currentWidget() is pane.page.placeholder


async def test_a_name_another_panel_has_is_refused_and_the_old_name_comes_back(
    qtbot: QtBot, pane: Pane
) -> None:
    first, second = pane.tests(2)
    pane.store.panels.create("Thyroid", [PanelTest.of(first)])
    pane.presenter.save_tests([second.id])
    pane.page.name.setFocus()
    pane.page.name.selectAll()
    qtbot.keyClicks(pane.page.name, "THYROID")
    qtbot.keyClick(pane.page.name, Qt.Key.Key_Return)
    assert pane.page.name.text() == "New panel"
    assert pane.env.messages[-1].level is Level.WARNING
    assert "A panel named “THYROID” exists already" in pane.env.messages[-1].text
    assert sorted(p.name for p in pane.store.panels.all()) == ["New panel", "Thyroid"]


async def test_panels_are_exported_to_the_chosen_file(pane: Pane, tmp_path: Path) -> None:
    tests = pane.tests(3)
    pane.presenter.save_tests([t.id for t in tests])
    pane.env.messages.clear()
    pane.files.answer = None
    pane.page.export_button.click()  # cancelled: nothing written
    assert pane.files.asked == 1
    assert not pane.env.messages
    pane.files.answer = tmp_path / "clinic panels.json"
    pane.page.export_button.click()
    await wait_until(lambda: pane.env.messages)
    assert pane.env.messages[-1].text == "Exported 1 panel to clinic panels.json."
    [panel] = read_panels_file(pane.files.answer.read_bytes())
    assert panel.name == "New panel"
    assert [t.lab_test_id for t in panel.tests] == [t.id for t in tests]


async def test_a_bad_file_imports_nothing_and_says_why(pane: Pane, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    document = json.loads(export_panels([NewPanel("Thyroid", (PanelTest("labts_1", "TSH"),))]))
    document["panels"][0]["tests"][0]["price"] = 39
    bad.write_text(json.dumps(document), "utf-8")
    pane.files.answer = bad
    pane.page.import_button.click()
    await wait_until(lambda: pane.env.messages)
    message = pane.env.messages[-1]
    assert message.level is Level.WARNING
    assert "Panel 1 (“Thyroid”), test 1 has a price that is not written like" in message.text
    assert "Nothing was imported" in message.text
    assert pane.store.panels.all() == []


async def test_an_import_adds_and_updates_panels_by_name(pane: Pane, tmp_path: Path) -> None:
    first, second = pane.tests(2)
    pane.store.panels.create("Thyroid", [PanelTest.of(first)])
    pane.page.refresh()
    shared = tmp_path / "shared.json"
    shared.write_text(
        export_panels(
            [
                NewPanel("thyroid", (PanelTest.of(first), PanelTest.of(second))),
                NewPanel("Adrenal", (PanelTest.of(second),)),
            ]
        ),
        "utf-8",
    )
    pane.files.answer = shared
    pane.page.import_button.click()
    await wait_until(lambda: pane.env.messages)
    assert pane.env.messages[-1].text == (
        "Imported the panels: added “Adrenal”; updated “thyroid”."
    )
    assert listed(pane) == ["Adrenal · 1 test", "thyroid · 2 tests"]


async def test_catalog_tests_are_added_to_a_new_or_a_saved_panel(qtbot: QtBot, pane: Pane) -> None:
    assert pane.store.path is not None
    catalog = CatalogPresenter(
        pane.store.catalog,
        CatalogSync(OfflineSource(), pane.store.path, account_db=pane.store.db),
        pane.env.presenter,
        pane.env.bridge,
        pane.env.connectivity,
    )
    page = CatalogPage(catalog, pane.presenter)
    qtbot.addWidget(page)
    page.show()
    try:
        await catalog.search("vitamin d")
        assert not page.panel_button.isEnabled()  # nothing selected
        page.table.selectRow(0)
        first = catalog.model.hit(0)
        await wait_until(page.panel_button.isEnabled)
        page.panel_menu.aboutToShow.emit()
        [new] = page.panel_menu.actions()
        assert new.text() == "New panel with this test"
        new.trigger()
        assert listed(pane) == ["New panel · 1 test"]  # the Panels pane follows

        page.table.selectRow(1)
        second = catalog.model.hit(1)
        page.panel_menu.aboutToShow.emit()
        texts = [action.text() for action in page.panel_menu.actions()]
        assert texts == ["New panel with this test", "", "Add to “New panel”"]
        page.panel_menu.actions()[2].trigger()
        [panel] = pane.store.panels.all()
        assert [t.lab_test_id for t in panel.tests] == [first.id, second.id]
        assert pane.env.messages[-1].text == f"Added “{second.name}” to the panel “New panel”."
        assert unnamed_controls(page) == []
    finally:
        await catalog.close()


async def test_enter_on_a_panel_in_the_list_adds_it_to_the_draft(qtbot: QtBot, pane: Pane) -> None:
    tests = pane.tests(2)
    pane.presenter.save_tests([t.id for t in tests])
    pane.page.list.setFocus()
    pane.page.list.setCurrentRow(0)
    qtbot.keyClick(pane.page.list, Qt.Key.Key_Return)
    await wait_until(lambda: pane.store.drafts.all()[0].lab_test_ids)
    [draft] = pane.store.drafts.all()
    assert draft.lab_test_ids == tuple(t.id for t in tests)


async def test_tests_on_the_draft_already_are_said_so(pane: Pane) -> None:
    tests = pane.tests(3)
    await pane.env.presenter.add_lab_test(tests[1])
    pane.presenter.save_tests([t.id for t in tests])
    pane.env.messages.clear()
    pane.page.add_to_draft_button.click()
    await wait_until(lambda: pane.env.messages)
    [draft] = pane.store.drafts.all()
    assert draft.lab_test_ids == (tests[1].id, tests[0].id, tests[2].id)  # each once
    assert pane.env.messages[-1].text == (
        "Added the panel “New panel” to the current draft (3 tests, 1 of them on it already)."
    )


async def test_a_huge_file_chosen_by_mistake_is_refused(pane: Pane, tmp_path: Path) -> None:
    huge = tmp_path / "video.json"
    with huge.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: nothing is written
    pane.files.answer = huge
    pane.page.import_button.click()
    await wait_until(lambda: pane.env.messages)
    assert "too large to be a file of saved panels" in pane.env.messages[-1].text
    assert pane.store.panels.all() == []

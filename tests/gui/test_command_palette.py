"""The command palette (Ctrl+K): type a few letters of a patient, test, draft, order or
command, Enter opens it; Escape closes. Real key presses on the signed-in app; the entries come
from the local database only, and show names, never ids."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Order
from rupa_desk.desk import Desk
from rupa_desk.ui.command_palette import CommandPalette, PaletteEntry
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.pages.patients import PatientsPage
from tests.fixtures.desk import MakeDesk
from tests.fixtures.keyboard import ADA, ALAN, GRACE, keyboard_desk, press
from tests.fixtures.qt import wait_until

NONE = Qt.KeyboardModifier.NoModifier


async def open_palette(qtbot: QtBot, desk: Desk) -> CommandPalette:
    press(qtbot, Qt.Key.Key_K)
    palette = desk.window.findChild(CommandPalette)
    assert isinstance(palette, CommandPalette)
    await wait_until(palette.isVisible)
    await wait_until(palette.search.hasFocus)  # typing goes to its field
    return palette


async def choose(qtbot: QtBot, desk: Desk, text: str) -> PaletteEntry:
    """Ctrl+K, type `text`, Enter: the entry opened."""
    palette = await open_palette(qtbot, desk)
    qtbot.keyClicks(palette.search, text)
    press(qtbot, Qt.Key.Key_Return, NONE)
    assert palette.chosen is not None
    chosen = palette.chosen
    await wait_until(lambda: desk.window.findChild(CommandPalette) is None)
    await wait_until(desk.window.isActiveWindow)  # the keys go to the window again
    return chosen


async def test_ctrl_k_a_patient_name_and_enter_shows_her(qtbot: QtBot, make_desk: MakeDesk) -> None:
    desk = await keyboard_desk(make_desk)
    window = desk.window
    window.show_pane("orders")
    chosen = await choose(qtbot, desk, "grace hop")
    assert (chosen.kind, chosen.title) == ("Patient", GRACE.full_name)
    assert window.current_pane() == "patients"
    patients = window.pane("patients")
    assert isinstance(patients, PatientsPage)
    await wait_until(lambda: patients.selected_patient_id() == GRACE.id)
    await wait_until(lambda: GRACE.full_name in patients.detail.name.text())
    await wait_until(patients.table.hasFocus)  # the next key (Ctrl+Shift+N…) acts on her


async def test_a_test_a_draft_and_an_order_open_in_their_panes(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    workspace = desk.workspace
    assert workspace is not None
    window = desk.window
    store = workspace.store

    test = store.catalog.search("", limit=50).hits[7]
    chosen = await choose(qtbot, desk, test.name)
    assert chosen.kind == "Test"
    catalog = window.pane("catalog")
    assert isinstance(catalog, CatalogPage)
    assert window.current_pane() == "catalog"
    await wait_until(lambda: catalog.selected_test_id() == test.id)

    draft_id = store.drafts.create(patient_id=ALAN.id)
    workspace.orders.drafts.drafts_changed.emit()
    chosen = await choose(qtbot, desk, "draft alan")
    assert (chosen.kind, chosen.title) == ("Draft", f"Draft for {ALAN.full_name}")
    drafts = window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    assert window.current_pane() == "drafts"
    assert drafts.editor.draft_id == draft_id

    store.patients.upsert([ADA])
    store.orders.save(
        Order(
            id="ord_Palette1",
            status="Pending Payment",
            patient_id=ADA.id,
            patients_practitioner_id=workspace.account.id,
            total_price=Decimal("120.00"),
            date_submitted=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        )
    )
    chosen = await choose(qtbot, desk, "lovelace pending")
    assert (chosen.kind, chosen.title) == ("Order", f"Order for {ADA.full_name}")
    orders = window.pane("orders")
    assert isinstance(orders, OrdersPage)
    assert window.current_pane() == "orders"
    await wait_until(lambda: workspace.orders.orders.current == "ord_Palette1")
    await wait_until(lambda: ADA.full_name in orders.detail.header.text())


async def test_commands_run_from_the_palette_and_escape_closes_it(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    window = desk.window
    window.show_pane("catalog")
    palette = await open_palette(qtbot, desk)
    # Nothing typed: the commands, each with its keys.
    assert palette.entries
    assert {e.kind for e in palette.entries} == {"Command"}
    assert "Go to…" not in [e.title for e in palette.entries]
    assert palette.entries[0].title == "New patient"  # the ordering steps first
    press(qtbot, Qt.Key.Key_Escape, NONE)
    await wait_until(lambda: window.findChild(CommandPalette) is None)
    await wait_until(window.isActiveWindow)
    assert window.current_pane() == "catalog"  # nothing was opened

    chosen = await choose(qtbot, desk, "new order")
    assert (chosen.kind, chosen.title) == ("Command", "New order")
    drafts = window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    await wait_until(lambda: drafts.editor.draft_id is not None)
    assert window.current_pane() == "drafts"


async def test_entries_show_no_ids_and_down_moves_the_choice(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    workspace = desk.workspace
    assert workspace is not None
    workspace.store.drafts.create(patient_id=ADA.id)
    workspace.orders.drafts.drafts_changed.emit()
    palette = await open_palette(qtbot, desk)
    qtbot.keyClicks(palette.search, "a")
    kinds = {e.kind for e in palette.entries}
    assert {"Patient", "Test", "Draft"} <= kinds
    texts = [palette.results.item(row).text() for row in range(palette.results.count())]
    for text in texts:
        for prefix in ("pat_", "labts_", "draft_", "ord_", "labco_"):
            assert prefix not in text, text
    assert palette.results.currentRow() == 0
    press(qtbot, Qt.Key.Key_Down, NONE)
    press(qtbot, Qt.Key.Key_Down, NONE)
    assert palette.results.currentRow() == 2
    press(qtbot, Qt.Key.Key_Up, NONE)
    expected = palette.entries[1]
    press(qtbot, Qt.Key.Key_Return, NONE)
    assert palette.chosen == expected
    await wait_until(lambda: desk.window.findChild(CommandPalette) is None)
    assert QApplication.activeModalWidget() is None

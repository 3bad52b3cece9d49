"""Where the focus is, and where the keys take it: a visible focus ring on every control,
lists that are one Tab stop, a typed letter that leaves the selection alone, Enter in a search
box that picks the only match, and Down then Enter in the catalog that adds the row seen."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)
from pytestqt.qtbot import QtBot

from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.pages.panels import PanelsPage
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.theme import apply_theme
from rupa_desk.ui.widgets.keyed_table import selected_key
from tests.fixtures.desk import MakeDesk
from tests.fixtures.keyboard import ADA, GRACE, keyboard_desk, press
from tests.fixtures.qt import wait_until

NONE = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def themed(qapp: QApplication) -> Iterator[QApplication]:
    style, palette, sheet = qapp.style().objectName(), qapp.palette(), qapp.styleSheet()
    apply_theme(qapp)
    yield qapp
    qapp.styleHints().colorSchemeChanged.disconnect()
    qapp.setStyleSheet(sheet)
    if style:
        qapp.setStyle(style)
    qapp.setPalette(palette)


def edge(image: QImage) -> list[QColor]:
    """The two outer pixels at the middle of the left and top edges (a ring is 2 px wide)."""
    x, y = image.width() // 2, image.height() // 2
    return [image.pixelColor(*at) for at in ((0, y), (1, y), (x, 0), (x, 1))]


async def test_every_kind_of_control_shows_where_the_focus_is(
    qtbot: QtBot, themed: QApplication
) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    primary = QPushButton("New patient")
    primary.setProperty("primary", True)
    table = QTableWidget(3, 2)
    controls: list[QWidget] = [
        QPushButton("Refresh"),
        primary,
        QLineEdit("Ada"),
        QComboBox(),
        QCheckBox("Whole clinic"),
        QSpinBox(),
        QPlainTextEdit("A note"),
        table,
    ]
    layout = QVBoxLayout(window)
    for control in controls:
        layout.addWidget(control)
    parking = QLineEdit()  # takes the focus away from the control measured
    layout.addWidget(parking)
    window.show()
    window.activateWindow()
    await wait_until(window.isActiveWindow)
    highlight = window.palette().color(window.palette().ColorRole.Highlight)
    for control in controls:
        parking.setFocus()
        await wait_until(parking.hasFocus)
        without = control.grab().toImage()
        control.setFocus(Qt.FocusReason.TabFocusReason)
        await wait_until(control.hasFocus)
        with_focus = control.grab().toImage()
        name = type(control).__name__
        ring, plain = edge(with_focus), edge(without)
        changed = sum(a != b for a, b in zip(ring, plain, strict=True))
        assert changed >= 3, f"{name} shows no 2-pixel ring with the focus"
        if control is primary:
            # Its face is the highlight: its ring must not be.
            assert all(c != highlight for c in edge(with_focus)), "no ring on the primary button"


async def test_tab_leaves_a_list_and_a_typed_letter_keeps_its_selection(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    workspace = desk.workspace
    assert workspace is not None
    first = workspace.store.drafts.create(patient_id=ADA.id)
    second = workspace.store.drafts.create(patient_id=GRACE.id)
    workspace.orders.drafts.drafts_changed.emit()
    window = desk.window
    press(qtbot, Qt.Key.Key_3)
    drafts = window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    drafts.drafts.setFocus(Qt.FocusReason.TabFocusReason)
    drafts.drafts.selectRow(drafts.row_of(second))
    await wait_until(lambda: workspace.orders.drafts.current == second)

    for letter in (Qt.Key.Key_A, Qt.Key.Key_G, Qt.Key.Key_X):
        press(qtbot, letter, NONE)
        assert selected_key(drafts.drafts) == second
    assert workspace.orders.drafts.current == second

    press(qtbot, Qt.Key.Key_Tab, NONE)
    assert not drafts.drafts.hasFocus()  # one Tab stop: Tab left the list
    assert selected_key(drafts.drafts) == second  # and did not move its selection
    focused = QApplication.focusWidget()
    assert focused is not None
    assert drafts.isAncestorOf(focused)  # the next control of the pane
    press(qtbot, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert drafts.drafts.hasFocus()
    press(qtbot, Qt.Key.Key_Down, NONE)  # the arrow keys move between rows
    assert selected_key(drafts.drafts) == first

    for key, name in (("patients", "table"), ("orders", "table"), ("catalog", "table")):
        pane = window.pane(key)
        assert isinstance(pane, PatientsPage | OrdersPage | CatalogPage)
        assert not getattr(pane, name).tabKeyNavigation(), key


async def test_enter_in_the_patients_search_picks_the_only_match(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    window = desk.window
    press(qtbot, Qt.Key.Key_1)
    patients = window.pane("patients")
    assert isinstance(patients, PatientsPage)
    press(qtbot, Qt.Key.Key_F)
    assert patients.search_box.hasFocus()
    qtbot.keyClicks(patients.search_box, "grace")
    press(qtbot, Qt.Key.Key_Return, NONE)  # at once: before the results are shown
    await wait_until(lambda: patients.selected_patient_id() == GRACE.id)
    assert patients.table.hasFocus()
    await wait_until(lambda: GRACE.full_name in patients.detail.name.text())

    # Several matches: Enter picks none of them, the focus stays to type more.
    press(qtbot, Qt.Key.Key_F)
    qtbot.keyClicks(patients.search_box, "a")  # Ada and Alan
    press(qtbot, Qt.Key.Key_Return, NONE)
    await wait_until(lambda: patients.model.rowCount() > 1)
    assert patients.search_box.hasFocus()


async def test_down_then_enter_in_the_catalog_adds_the_row_with_the_focus(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    workspace = desk.workspace
    assert workspace is not None
    window = desk.window
    catalog = window.pane("catalog")
    assert isinstance(catalog, CatalogPage)
    model = workspace.catalog.model
    assert workspace.orders.drafts.new_draft()  # a draft open (else adding asks which one)

    def shown(text: str) -> bool:
        query = workspace.catalog.shown_query
        return query is not None and query.text == text

    for words in ("lipid", "panel"):  # the second search leaves a row focused, none selected
        press(qtbot, Qt.Key.Key_T)
        qtbot.keyClicks(catalog.search_box, words)
        await wait_until(lambda w=words: shown(w))
        press(qtbot, Qt.Key.Key_Down, NONE)
        assert catalog.table.hasFocus()
    row = catalog.table.currentIndex().row()
    assert row >= 0
    assert catalog.selected_test_id() == model.hit(row).id  # the focused row is selected
    press(qtbot, Qt.Key.Key_Down, NONE)
    expected = model.hit(catalog.table.currentIndex().row()).id
    press(qtbot, Qt.Key.Key_Return, NONE)
    store = workspace.store
    await wait_until(lambda: store.drafts.open_drafts())
    draft = store.drafts.open_drafts()[0]
    await wait_until(lambda: [t.lab_test_id for t in store.drafts.tests(draft.id)] == [expected])


async def test_enter_in_the_catalog_search_picks_the_only_match(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    workspace = desk.workspace
    assert workspace is not None
    window = desk.window
    catalog = window.pane("catalog")
    assert isinstance(catalog, CatalogPage)
    catalog_store = workspace.store.catalog
    only = next(
        hit
        for hit in catalog_store.search("", limit=200).hits
        if len(catalog_store.search(hit.name).hits) == 1
    )
    press(qtbot, Qt.Key.Key_T)
    qtbot.keyClicks(catalog.search_box, only.name)
    press(qtbot, Qt.Key.Key_Return, NONE)
    await wait_until(lambda: catalog.selected_test_id() == only.id)
    assert catalog.table.hasFocus()


def tab_chain(pane: QWidget, first: QWidget, limit: int = 60) -> list[QWidget]:
    """The controls of `pane` that Tab visits from `first`, in order, until it leaves the
    pane or comes back to `first`."""
    first.setFocus(Qt.FocusReason.TabFocusReason)
    chain = [first]
    for _ in range(limit):
        focused = QApplication.focusWidget()
        assert focused is not None
        QTest.keyClick(focused, Qt.Key.Key_Tab)
        now = QApplication.focusWidget()
        if now is None or now is first or not pane.isAncestorOf(now):
            break
        chain.append(now)
    return chain


def out_of_order(pane: QWidget, chain: list[QWidget]) -> list[str]:
    """The steps of `chain` that go against reading order: leftwards along a row, or upwards
    in a column."""
    problems = []
    for a, b in itertools.pairwise(chain):
        ra = a.rect().translated(a.mapTo(pane, QPoint(0, 0)))
        rb = b.rect().translated(b.mapTo(pane, QPoint(0, 0)))
        same_row = ra.top() < rb.bottom() and rb.top() < ra.bottom()
        same_column = ra.left() < rb.right() and rb.left() < ra.right()
        if (same_row and rb.left() < ra.left()) or (
            not same_row and same_column and rb.top() < ra.top()
        ):
            problems.append(f"{a.accessibleName() or a!r} → {b.accessibleName() or b!r}")
    return problems


async def test_tab_follows_the_reading_order_in_every_pane_and_leaves_every_field(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    workspace = desk.workspace
    assert workspace is not None
    draft_id = workspace.store.drafts.create(patient_id=ADA.id)
    workspace.orders.drafts.drafts_changed.emit()
    workspace.orders.drafts.set_current(draft_id)
    window = desk.window
    firsts = {
        "patients": lambda p: p.search_box,
        "catalog": lambda p: p.search_box,
        "drafts": lambda p: p.new_button,
        "orders": lambda p: p.search_box,
    }
    problems: dict[str, list[str]] = {}
    for key, first in firsts.items():
        window.show_pane(key)
        pane = window.pane(key)
        await wait_until(pane.isVisible)
        chain = tab_chain(pane, first(pane))
        assert len(chain) > 2, key
        names = [w.accessibleName() or type(w).__name__ for w in chain]
        assert len(set(chain)) == len(chain), f"Tab is trapped in the {key} pane: {names}"
        found = out_of_order(pane, chain)
        if found:
            problems[key] = found
    assert problems == {}


async def test_a_pane_key_puts_the_keys_where_its_work_starts(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    window = desk.window
    ids = [hit.id for hit in store.catalog.search("panel", limit=2).hits]
    panel = workspace.panels.save_tests(ids)
    assert panel is not None
    draft_id = store.drafts.create(patient_id=ADA.id)
    workspace.orders.drafts.drafts_changed.emit()
    workspace.orders.drafts.set_current(draft_id)
    panels = window.pane("panels")
    drafts = window.pane("drafts")
    assert isinstance(panels, PanelsPage)
    assert isinstance(drafts, DraftsPage)
    # Anywhere else first: the focus must not stay on a control of the pane left behind.
    press(qtbot, Qt.Key.Key_2)
    catalog = window.pane("catalog")
    assert isinstance(catalog, CatalogPage)
    catalog.search_box.setFocus(Qt.FocusReason.OtherFocusReason)

    number = window.pane_keys.index("panels") + 1
    press(qtbot, Qt.Key(Qt.Key.Key_0 + number))  # the Panels pane: its list of panels
    assert panels.list.hasFocus()
    assert panels.list.currentItem() is not None
    press(qtbot, Qt.Key.Key_Return, NONE)  # Enter adds the panel to the draft
    await wait_until(lambda: [t.lab_test_id for t in store.drafts.tests(draft_id)] == ids)

    number = window.pane_keys.index("drafts") + 1
    press(qtbot, Qt.Key(Qt.Key.Key_0 + number))  # Draft orders: the draft's test search
    assert drafts.editor.test_search.hasFocus()
    press(qtbot, Qt.Key.Key_Tab, NONE)  # then the note to the patient
    assert drafts.editor.notes.hasFocus()


async def test_a_saved_panel_is_found_and_added_from_the_drafts_test_search(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    ids = [hit.id for hit in store.catalog.search("panel", limit=3).hits]
    panel = workspace.panels.save_tests(ids)
    assert panel is not None
    assert workspace.panels.rename(panel.id, "Thyroid basics")
    draft_id = store.drafts.create(patient_id=ADA.id)
    workspace.orders.drafts.drafts_changed.emit()
    workspace.orders.drafts.set_current(draft_id)
    drafts = desk.window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    desk.window.show_pane("drafts")
    editor = drafts.editor
    editor.test_search.setFocus(Qt.FocusReason.OtherFocusReason)
    await wait_until(editor.test_search.hasFocus)

    qtbot.keyClicks(editor.test_search, "thyroid bas")
    editor.test_search.flush()
    first = editor.test_results.item(0)
    assert first is not None
    assert first.text() == "Saved panel: Thyroid basics · 3 tests"  # first, named as saved
    press(qtbot, Qt.Key.Key_Return, NONE)  # Enter adds all of its tests
    await wait_until(lambda: [t.lab_test_id for t in store.drafts.tests(draft_id)] == ids)
    assert editor.test_search.hasFocus()

    editor.test_search.clear()
    qtbot.keyClicks(editor.test_search, "nobody names a panel this")
    editor.test_search.flush()
    assert all(
        not editor.test_results.item(row).text().startswith("Saved panel")
        for row in range(editor.test_results.count())
    )


async def test_the_details_new_order_waits_for_the_patient_selected(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    patients = desk.window.pane("patients")
    assert isinstance(patients, PatientsPage)
    desk.window.show_pane("patients")
    button = patients.detail.new_order_button

    def showing(patient_id: str) -> bool:
        detail = patients.detail.detail
        return detail is not None and detail.patient.id == patient_id

    patients.select_patient(ADA.id)
    await wait_until(lambda: showing(ADA.id))
    assert button.isEnabled()
    patients.select_patient(GRACE.id)
    assert showing(ADA.id)  # Ada's detail is still shown a moment…
    assert not button.isEnabled()  # …but it cannot order for her now that Grace is selected
    await wait_until(lambda: showing(GRACE.id))
    assert button.isEnabled()

"""Long names end with "…" and show whole in a tooltip; short ones are shown as they are."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QFontMetrics, QHelpEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QHBoxLayout, QTableView, QToolTip, QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.ui.widgets.elided_text import ElidedLabel, show_cut_cells_whole
from rupa_desk.ui.widgets.highlight_delegate import HIGHLIGHT_ROLE, HighlightDelegate
from rupa_desk.ui.widgets.keyed_table import read_only_table
from tests.fixtures.qt import wait_until

LONG = "Advanced Salivary Cortisol, 4-Point (Sanesco Health)"


async def test_a_long_label_is_elided_with_its_whole_text_as_tooltip(qtbot: QtBot) -> None:
    label = ElidedLabel(LONG)
    label.setToolTip("Rupa's reference: ord_123")
    qtbot.addWidget(label)
    label.resize(120, label.sizeHint().height())
    label.show()
    await wait_until(label.isVisible)
    assert label.text() == LONG
    assert label.is_cut()
    assert label.shown_text().endswith("…")
    assert label.fontMetrics().horizontalAdvance(label.shown_text()) <= label.width()
    assert label.toolTip() == f"{LONG}\nRupa's reference: ord_123"

    label.resize(label.sizeHint().width() + 10, label.height())
    await wait_until(lambda: not label.is_cut())
    assert label.shown_text() == LONG
    assert label.toolTip() == "Rupa's reference: ord_123"  # nothing hidden: its own tip only


async def test_a_long_label_never_widens_its_window(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    layout = QHBoxLayout(window)
    label = ElidedLabel("Short")
    layout.addWidget(label)
    window.show()
    before = window.minimumSizeHint().width()
    label.setText(LONG * 3)
    assert window.minimumSizeHint().width() == before


def table_with(rows: list[tuple[str, str]], width: int) -> QTableView:
    model = QStandardItemModel(0, 2)
    for name, company in rows:
        model.appendRow([QStandardItem(name), QStandardItem(company)])
    view = QTableView()
    view.setModel(model)
    model.setParent(view)
    read_only_table(view, stretch=0)
    view.resize(width, 200)
    return view


async def test_a_cut_cell_shows_its_whole_text_as_tooltip(qtbot: QtBot) -> None:
    view = table_with([(LONG, "Sanesco"), ("TSH", "Quest")], width=260)
    qtbot.addWidget(view)
    view.show()
    await wait_until(view.isVisible)
    cells = show_cut_cells_whole(view)  # already installed: the same filter comes back
    long_cell, short_cell = view.model().index(0, 0), view.model().index(1, 0)
    assert cells.is_cut(long_cell)
    assert cells.tooltip(long_cell) == LONG
    assert not cells.is_cut(short_cell)
    assert cells.tooltip(short_cell) is None

    rect = view.visualRect(long_cell)
    event = QHelpEvent(
        QEvent.Type.ToolTip, rect.center(), view.viewport().mapToGlobal(rect.center())
    )
    QApplication.sendEvent(view.viewport(), event)
    await wait_until(QToolTip.isVisible)
    assert QToolTip.text() == LONG
    QToolTip.hideText()

    view.resize(1200, 200)
    await wait_until(lambda: not cells.is_cut(long_cell))
    assert cells.tooltip(long_cell) is None


def test_a_highlighted_name_is_cut_with_an_ellipsis_not_mid_letter(qtbot: QtBot) -> None:
    """Bold matches are wider than the plain text: the name is elided again until it fits."""
    delegate = HighlightDelegate()
    font = QApplication.font()
    text = "Vitamin D, 25-OH (Dried Blood Spot)"
    plain = QFontMetrics(font).horizontalAdvance(text)
    width = plain - 20  # the plain text nearly fits; the bold text does not
    layout = delegate.fitted_layout(text, [(0, len(text))], font, width)
    assert layout.text().endswith("…")
    assert layout.lineAt(0).naturalTextWidth() <= width
    whole = delegate.fitted_layout(text, [(0, 3)], font, plain * 2)
    assert whole.text() == text


async def test_a_name_cut_only_by_its_bold_matches_shows_whole_in_its_tooltip(
    qtbot: QtBot,
) -> None:
    text = "Vitamin D, 25-OH (Dried Blood Spot)"
    view = table_with([(text, "ZRT")], width=1000)
    qtbot.addWidget(view)
    view.setItemDelegateForColumn(0, HighlightDelegate(view))
    view.show()
    await wait_until(view.isVisible)
    cells = show_cut_cells_whole(view)
    index = view.model().index(0, 0)
    plain = view.itemDelegateForIndex(index)
    assert isinstance(plain, HighlightDelegate)
    header = view.horizontalHeader()
    header.setSectionResizeMode(0, header.ResizeMode.Interactive)
    header.resizeSection(0, view.sizeHintForColumn(0))  # the plain text just fits
    await wait_until(lambda: not cells.is_cut(index))
    view.model().setData(index, [(0, len(text))], HIGHLIGHT_ROLE)  # all of it bold
    assert cells.is_cut(index)
    assert cells.tooltip(index) == text

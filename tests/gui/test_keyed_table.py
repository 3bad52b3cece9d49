"""The row-by-row table model: only what differs changes, and the model stays consistent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from rupa_desk.ui.widgets.keyed_table import (
    ID_ROLE,
    MAX_MOVES,
    KeyedTableModel,
    read_only_table,
    select_key,
    selected_key,
)
from tests.fixtures.qt import wait_until


@dataclass(frozen=True)
class Thing:
    id: str
    label: str


class Things(KeyedTableModel[Thing]):
    COLUMNS = ("Id", "Label")

    def key(self, item: Thing) -> str:
        return item.id

    def display(self, item: Thing, column: int) -> str:
        return item.id if column == 0 else item.label


class Spy:
    def __init__(self, model: Things) -> None:
        self.events: list[str] = []
        model.modelReset.connect(lambda: self.events.append("reset"))
        model.rowsInserted.connect(lambda p, a, b: self.events.append(f"insert {a}-{b}"))
        model.rowsRemoved.connect(lambda p, a, b: self.events.append(f"remove {a}-{b}"))
        model.rowsMoved.connect(lambda p, a, b, d, r: self.events.append(f"move {a}->{r}"))
        model.dataChanged.connect(lambda t, b, r: self.events.append(f"change {t.row()}"))


def things(*labels: str) -> list[Thing]:
    return [Thing(label.split(":")[0], label) for label in labels]


def test_set_rows_changes_only_what_differs(qtmodeltester: ModelTester) -> None:
    model = Things()
    qtmodeltester.check(model, force_py=True)
    model.set_rows(things("a", "b", "c", "d"))
    spy = Spy(model)

    model.set_rows(things("a", "b:changed", "c", "d"))
    assert spy.events == ["change 1"]

    spy.events.clear()
    model.set_rows(things("new", "a", "b:changed", "d"))  # c left, new arrived at the top
    assert spy.events == ["remove 2-2", "insert 0-0"]
    assert model.keys() == ["new", "a", "b", "d"]

    spy.events.clear()
    model.set_rows(things("d", "new", "a", "b:changed"))  # d moved up
    assert spy.events == ["move 3->0"]
    assert model.keys() == ["d", "new", "a", "b"]
    assert model.index(3, 1).data() == "b:changed"
    assert model.index(0, 0).data(ID_ROLE) == "d"


def test_many_moves_reset_instead_and_keys_must_be_unique(qtmodeltester: ModelTester) -> None:
    model = Things()
    qtmodeltester.check(model, force_py=True)
    model.set_rows(things(*[str(i) for i in range(100)]))
    spy = Spy(model)
    model.set_rows(things(*[str(i) for i in reversed(range(100))]))
    assert spy.events == ["reset"]
    assert model.keys()[0] == "99"
    assert MAX_MOVES < 100
    with pytest.raises(ValueError, match="own key"):
        model.set_rows(things("x", "x"))


def test_put_and_take_one_row(qtmodeltester: ModelTester) -> None:
    model = Things()
    qtmodeltester.check(model, force_py=True)
    model.set_rows(things("a", "b", "c"))
    spy = Spy(model)
    model.put(Thing("c", "c:edited"), at=0)
    assert model.keys() == ["c", "a", "b"]
    assert spy.events == ["move 2->0", "change 0"]
    spy.events.clear()
    model.put(Thing("a", "a"), at=2)  # moving down
    assert model.keys() == ["c", "b", "a"]
    model.put(Thing("z", "z"))
    assert model.keys() == ["c", "b", "a", "z"]
    model.take("b")
    model.take("not there")
    assert model.keys() == ["c", "a", "z"]


async def test_the_selection_follows_its_row_through_updates(qtbot: QtBot) -> None:
    model = Things()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    read_only_table(view, stretch=1)
    model.set_rows(things("a", "b", "c"))
    select_key(view, "b")
    assert selected_key(view) == "b"
    model.set_rows(things("new", "a", "b:changed", "c"))
    assert selected_key(view) == "b"
    model.put(Thing("b", "b:again"), at=0)
    assert selected_key(view) == "b"
    select_key(view, None)
    assert selected_key(view) is None


class CountingThings(Things):
    """Records which rows the view asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.rows_read: set[int] = set()

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        self.rows_read.add(index.row())
        return super().data(index, role)


async def test_a_long_list_sized_to_contents_reads_only_the_rows_on_screen(qtbot: QtBot) -> None:
    """Qt's default measures the first 1,000 rows for every column sized to its contents, at
    every layout: 500 orders froze the window for a second on their first listing."""
    model = CountingThings()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    read_only_table(view, stretch=1)
    view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    view.resize(600, 300)
    view.show()
    qtbot.waitExposed(view)
    model.set_rows([Thing(f"id{n:04d}", f"label {n}") for n in range(500)])
    await wait_until(lambda: model.rows_read)
    await asyncio.sleep(0.2)  # the layouts and paints that follow
    on_screen = view.rowAt(view.viewport().height() - 1) + 1
    assert 0 < on_screen < 50
    assert max(model.rows_read) < 2 * on_screen  # not 499

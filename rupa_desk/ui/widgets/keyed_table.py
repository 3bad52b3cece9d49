"""Read-only tables of records that have an id: a model updated row by row, and the view setup.

`KeyedTableModel` holds one record per row, each known by its key (an id). `set_rows` takes
the new list and changes only what differs: rows that left are removed, new rows inserted,
moved rows moved and changed rows repainted (`dataChanged`), so a view keeps its selection
and scroll position and never rebuilds 500 rows for one status change. `put` and `take`
change one row. Subclasses say how a record is keyed and shown.

`read_only_table` configures a `QTableView` the way every list of the app looks: whole rows
selected one at a time, no editing, no row numbers, one column stretched, a cell too long
for its column ending with "…" and showing its whole text as its tooltip; and one Tab stop
(`one_tab_stop`): Tab leaves the table, the arrow keys move between rows, and a typed letter
leaves the selection alone.

Generic: knows nothing of orders or drafts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from rupa_desk.ui.widgets.elided_text import show_cut_cells_whole

#: The role that gives a row's key (its id).
ID_ROLE: Final = int(Qt.ItemDataRole.UserRole)
#: The role of a cell's chip value (see `KeyedTableModel.chip`), for a `ChipDelegate`.
CHIP_ROLE: Final = int(Qt.ItemDataRole.UserRole) + 1
#: More moves than this in one `set_rows` and the model is reset instead (cheaper).
MAX_MOVES: Final = 32
#: The roles `KeyedTableModel.data` answers.
_ROLES: Final = frozenset(
    {
        int(Qt.ItemDataRole.DisplayRole),
        int(Qt.ItemDataRole.ToolTipRole),
        int(Qt.ItemDataRole.TextAlignmentRole),
        ID_ROLE,
        CHIP_ROLE,
    }
)

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex


class KeyedTableModel(QAbstractTableModel, Generic[T]):
    """Rows of records known by a key, updated by difference.

    Subclasses set `COLUMNS` and implement `key` and `display` (and `tooltip`, `alignment`
    where they want them).
    """

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[T] = []
        self._rows: dict[str, int] = {}

    # -- what subclasses say -------------------------------------------------------------------

    def key(self, item: T) -> str:
        """The record's key (unique in the table)."""
        raise NotImplementedError

    def display(self, item: T, column: int) -> str:
        """The text of one cell."""
        raise NotImplementedError

    def tooltip(self, item: T, column: int) -> str | None:
        """The tooltip of one cell (None: none)."""
        return None

    def alignment(self, column: int) -> Qt.AlignmentFlag | None:
        """How a column's cells are aligned (None: the style's default)."""
        return None

    # -- reading -------------------------------------------------------------------------------

    def item(self, row: int) -> T:
        """The record in `row`."""
        return self._items[row]

    def items(self) -> list[T]:
        """Every record, in row order."""
        return list(self._items)

    def keys(self) -> list[str]:
        """Every key, in row order."""
        return [self.key(item) for item in self._items]

    def row_of(self, key: str) -> int:
        """The row of the record `key`, or -1 when it is not listed."""
        return self._rows.get(key, -1)

    # -- changing ------------------------------------------------------------------------------

    def set_rows(self, items: Sequence[T]) -> None:
        """Show `items` (in this order), changing only the rows that differ."""
        new_keys = [self.key(item) for item in items]
        wanted = set(new_keys)
        if len(wanted) != len(new_keys):
            raise ValueError("every row needs its own key")
        self._remove_missing(wanted)
        moves = self._count_moves(new_keys)
        if moves > MAX_MOVES:
            self.beginResetModel()
            self._items = list(items)
            self._reindex()
            self.endResetModel()
            return
        row = 0
        while row < len(items):
            key = new_keys[row]
            at = self._rows.get(key)
            if at is None:
                end = row
                while end < len(items) and new_keys[end] not in self._rows:
                    end += 1
                self.beginInsertRows(QModelIndex(), row, end - 1)
                self._items[row:row] = list(items[row:end])
                self._reindex()
                self.endInsertRows()
                row = end
                continue
            if at != row:
                self.beginMoveRows(QModelIndex(), at, at, QModelIndex(), row)
                self._items.insert(row, self._items.pop(at))
                self._reindex()
                self.endMoveRows()
            self._replace(row, items[row])
            row += 1

    def put(self, item: T, *, at: int | None = None) -> None:
        """Show one record: repaint its row, or move it to row `at`, or insert it there
        (at the end when `at` is None and it is new)."""
        key = self.key(item)
        current = self._rows.get(key)
        if current is None:
            row = len(self._items) if at is None else max(0, min(at, len(self._items)))
            self.beginInsertRows(QModelIndex(), row, row)
            self._items.insert(row, item)
            self._reindex()
            self.endInsertRows()
            return
        if at is not None and at != current:
            target = max(0, min(at, len(self._items) - 1))
            destination = target + 1 if target > current else target
            if target != current:
                self.beginMoveRows(QModelIndex(), current, current, QModelIndex(), destination)
                self._items.insert(target, self._items.pop(current))
                self._reindex()
                self.endMoveRows()
                current = target
        self._replace(current, item)

    def take(self, key: str) -> None:
        """Remove the record `key` (nothing happens when it is not listed)."""
        row = self._rows.get(key)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._items[row]
        self._reindex()
        self.endRemoveRows()

    # -- QAbstractTableModel -------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's default)
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # a view asks each cell for a dozen roles at every repaint: the others answer first
        if role not in _ROLES or not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(item, index.column())
        if role == ID_ROLE:
            return self.key(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(item, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            alignment = self.alignment(index.column())
            return None if alignment is None else int(alignment)
        if role == CHIP_ROLE:
            return self.chip(item, index.column())
        return None

    def chip(self, item: T, column: int) -> object | None:
        """What a `ChipDelegate` colours the cell by (e.g. a status's tone); None: no chip."""
        return None

    # -- internals -----------------------------------------------------------------------------

    def _replace(self, row: int, item: T) -> None:
        if self._items[row] != item:
            self._items[row] = item
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    def _remove_missing(self, wanted: set[str]) -> None:
        row = len(self._items) - 1
        while row >= 0:
            if self.key(self._items[row]) in wanted:
                row -= 1
                continue
            end = row
            while row >= 0 and self.key(self._items[row]) not in wanted:
                row -= 1
            self.beginRemoveRows(QModelIndex(), row + 1, end)
            del self._items[row + 1 : end + 1]
            self._reindex()
            self.endRemoveRows()

    def _count_moves(self, new_keys: list[str]) -> int:
        """How many kept rows are out of the new order (after removals)."""
        kept = [key for key in new_keys if key in self._rows]
        return sum(1 for position, key in enumerate(kept) if self._rows[key] != position)

    def _reindex(self) -> None:
        self._rows = {self.key(item): row for row, item in enumerate(self._items)}


def read_only_table(view: QTableView, *, stretch: int) -> None:
    """Set a table view up as the app's lists are: one whole row selected at a time, no
    editing, no row numbers, column `stretch` taking the spare width, cut cells whole in
    their tooltips."""
    show_cut_cells_whole(view)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    one_tab_stop(view)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    fit_columns_to_visible_rows(header)


class _TypedLettersIgnored(QObject):
    """Drops the letters typed into a list (Qt's type-ahead would move the selection)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            plain = not event.modifiers() & ~(
                Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
            )
            text = event.text()
            if plain and text and text.isprintable() and not text.isspace():
                return True
        return False


def one_tab_stop(view: QAbstractItemView) -> None:
    """Make a list one stop of the Tab chain, as the receptionist expects.

    Qt's tables take Tab to move from cell to cell (and, whole rows selected, from row to row,
    changing what is selected): here Tab and Shift+Tab leave the table, the arrow keys move
    between rows, and a typed letter does nothing (Qt's type-ahead would jump the selection
    to another row, showing another draft or patient without being asked).
    """
    view.setTabKeyNavigation(False)
    view.installEventFilter(_TypedLettersIgnored(view))


def fit_columns_to_visible_rows(header: QHeaderView) -> None:
    """Columns sized to their contents measure the rows on screen only.

    Qt's default measures the first 1,000 rows at every layout: with 500 orders (or thousands
    of patients) that is tens of thousands of Python `data()` calls, and the first list
    refresh froze the window for about a second.
    """
    header.setResizeContentsPrecision(0)


def selected_key(view: QTableView) -> str | None:
    """The key of the selected row of a view over a `KeyedTableModel` (None: none)."""
    rows = view.selectionModel().selectedRows() if view.selectionModel() else []
    if not rows:
        return None
    key = rows[0].data(ID_ROLE)
    return None if key is None else str(key)


def select_key(view: QTableView, key: str | None) -> None:
    """Select the row of `key` (or clear the selection) and scroll it into view."""
    model = view.model()
    row = model.row_of(key) if isinstance(model, KeyedTableModel) and key is not None else -1
    if row < 0:
        view.clearSelection()
        return
    view.selectRow(row)
    view.scrollTo(model.index(row, 0))

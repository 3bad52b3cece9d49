"""The catalog results as a lazy Qt table model: one page at first, more as the view scrolls.

The model holds the rows fetched so far and a `PageSource` for the rest. A view asks
`canFetchMore()` when it scrolls near the end, and `fetchMore()` loads the next page from the
local database, continuing from the last page's cursor (as quick at any depth), so a search
over 100,000 tests shows its first rows at once and the view never holds more than what was
scrolled past.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from rupa_desk.services.store import SearchCursor, SearchHit, SearchPage
from rupa_desk.ui.widgets.highlight_delegate import HIGHLIGHT_ROLE

#: The role that gives a row's `SearchHit`.
HIT_ROLE: Final = int(Qt.ItemDataRole.UserRole) + 1

#: Loads the page of results that follows the given cursor (`SearchPage.next_cursor`).
PageSource = Callable[[SearchCursor], SearchPage]

#: The lab company comes first: the same test from several labs reads as one row per lab.
COLUMNS: Final[tuple[str, ...]] = ("Lab company", "Test", "Price", "Sample types", "Turnaround")
COMPANY, NAME, PRICE, SAMPLES, TURNAROUND = range(len(COLUMNS))
#: Marks the clinic's preferred labs in the lab company column.
PREFERRED_MARK: Final = "★ "
PREFERRED_TIP: Final = "One of your clinic's preferred labs (Settings)"

Index = QModelIndex | QPersistentModelIndex


def format_price(price: Decimal | None) -> str:
    """ "$1,234.50", or "—" for a test without a price."""
    return "—" if price is None else f"${price:,.2f}"


def format_turnaround(days: int | None) -> str:
    """ "3 days", "1 day", or "—" when unknown."""
    if days is None:
        return "—"
    return "1 day" if days == 1 else f"{days} days"


class CatalogResultsModel(QAbstractTableModel):
    """Search results, fetched page by page.

    Signals:
        results_reset(): a new search's first page replaced the rows.
        rows_fetched(int): another page was appended (the new row count).
    """

    results_reset = Signal()
    rows_fetched = Signal(int)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._hits: list[SearchHit] = []
        self._next: SearchCursor | None = None
        self._source: PageSource | None = None

    # -- feeding -------------------------------------------------------------------------------

    def reset_results(self, first_page: SearchPage, source: PageSource) -> None:
        """Show a new search: its first page now, later pages from `source` on demand."""
        self.beginResetModel()
        self._hits = list(first_page.hits)
        self._next = first_page.next_cursor
        self._source = source
        self.endResetModel()
        self.results_reset.emit()

    def clear(self) -> None:
        """No results (and nothing more to fetch)."""
        self.beginResetModel()
        self._hits = []
        self._next = None
        self._source = None
        self.endResetModel()
        self.results_reset.emit()

    @property
    def has_more(self) -> bool:
        """True while more rows can be fetched."""
        return self._next is not None

    def hit(self, row: int) -> SearchHit:
        """The result in `row`."""
        return self._hits[row]

    # -- QAbstractTableModel -------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's default)
        return 0 if parent.isValid() else len(self._hits)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._next is not None and self._source is not None

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        source, after = self._source, self._next
        if parent.isValid() or source is None or after is None:
            return
        page = source(after)
        self._next = page.next_cursor
        if page.hits:
            first = len(self._hits)
            self.beginInsertRows(QModelIndex(), first, first + len(page.hits) - 1)
            self._hits.extend(page.hits)
            self.endInsertRows()
        self.rows_fetched.emit(len(self._hits))

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(hit, column)
        if role == HIGHLIGHT_ROLE and column == NAME:
            return hit.name_spans
        if role == HIT_ROLE:
            return hit
        if role == Qt.ItemDataRole.ToolTipRole and column == NAME and hit.matched_biomarkers:
            return "Matches: " + ", ".join(hit.matched_biomarkers)
        if role == Qt.ItemDataRole.ToolTipRole and column == COMPANY and hit.preferred:
            return f"{hit.lab_company_name}: {PREFERRED_TIP}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (PRICE, TURNAROUND):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _display(hit: SearchHit, column: int) -> str:
    if column == NAME:
        return hit.name
    if column == COMPANY:
        return PREFERRED_MARK + hit.lab_company_name if hit.preferred else hit.lab_company_name
    if column == PRICE:
        return format_price(hit.price)
    if column == SAMPLES:
        return ", ".join(hit.sample_types)
    return format_turnaround(hit.turnaround_days)

"""A one-line label that ends with "…" when its text does not fit, a label that wraps and is
never squeezed, and tooltips for cut cells.

`ElidedLabel` is for names and one-line states (a patient, a test, an order's header): a
long name never widens the pane nor is cut mid-letter; the label shows as much as fits,
ends with "…", and its tooltip gives the whole text. `text()` is the whole text.

`show_cut_cells_whole` makes an item view (a table or a list) elide its cells with "…" and
show a cut cell's whole text as its tooltip, before the cell's own tooltip if it has one;
a cell that fits keeps just its own tooltip.

Generic: knows nothing of patients or orders.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSize, Qt
from PySide6.QtGui import QFontMetrics, QHelpEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QSizePolicy,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

ELLIPSIS = "…"


def tooltip_when_cut(text: str, own: str | None, *, cut: bool) -> str | None:
    """The tooltip of something showing `text`: the whole text first when it is `cut`, then
    its `own` tooltip (None: no tooltip at all)."""
    parts = [text] if cut and text else []
    if own and own not in parts:
        parts.append(own)
    return "\n".join(parts) or None


class ElidedLabel(QLabel):
    """A plain-text label on one line, elided on the right, with the whole text as tooltip
    when it is cut.

    It asks for the width of its whole text but accepts any width down to a few characters,
    so a long name never pushes a splitter or a window wider.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._own_tooltip = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        policy = self.sizePolicy()
        policy.setHorizontalPolicy(QSizePolicy.Policy.Preferred)
        self.setSizePolicy(policy)
        self.setText(text)

    def setText(self, text: str) -> None:
        """Show `text` (elided to the label's width)."""
        self._full = text
        self._elide()
        self.updateGeometry()

    def text(self) -> str:
        """The whole text (what is shown may end with "…")."""
        return self._full

    def shown_text(self) -> str:
        """What is on screen now."""
        return QLabel.text(self)

    def is_cut(self) -> bool:
        """Whether the text is elided at the current width."""
        return self.shown_text() != self._full

    def setToolTip(self, tooltip: str) -> None:
        """The label's own tooltip, shown after the whole text when the text is cut."""
        self._own_tooltip = tooltip
        self._elide()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        width = self.fontMetrics().horizontalAdvance(self._full) + self._extra_width()
        return QSize(max(width, hint.width() if not self._full else 0), hint.height())

    def minimumSizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        width = metrics.horizontalAdvance("MMM" + ELLIPSIS) + self._extra_width()
        return QSize(width, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _extra_width(self) -> int:
        margins = self.contentsMargins()
        return margins.left() + margins.right() + 2 * self.margin() + 2 * max(self.indent(), 0)

    def _elide(self) -> None:
        width = max(self.contentsRect().width() - 2 * self.margin(), 0)
        metrics = QFontMetrics(self.font())
        one_line = " ".join(self._full.split())
        shown = metrics.elidedText(one_line, Qt.TextElideMode.ElideRight, width)
        room = width
        while room > 0 and shown != one_line and metrics.horizontalAdvance(shown) > width:
            room -= 1  # Qt elides with fractional widths: the rounded one may be a pixel over
            shown = metrics.elidedText(one_line, Qt.TextElideMode.ElideRight, room)
        if shown != QLabel.text(self):
            QLabel.setText(self, shown)
        tip = tooltip_when_cut(self._full, self._own_tooltip, cut=shown != self._full)
        QLabel.setToolTip(self, tip or "")


class WrappedLabel(QLabel):
    """A plain-text label on as many lines as its text needs at its width, never fewer.

    Its minimum height follows its width, so a crowded layout cannot squeeze a line away (a
    scroll area around it scrolls instead). It reports no height-for-width: a scroll area
    would then size its content by preferred heights and scroll where nothing is crowded.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setText(text)

    def hasHeightForWidth(self) -> bool:
        return False

    def setText(self, text: str) -> None:
        """Show `text`, wrapped."""
        super().setText(text)
        self._fit_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        needed = self.heightForWidth(max(self.width(), 1)) if self.text() else 0
        if needed != self.minimumHeight():
            self.setMinimumHeight(max(needed, 0))


class CutCellTooltips(QObject):
    """Shows a cut cell's whole text as its tooltip (an event filter on a view's viewport).

    A cell is cut when its delegate asks for more width than the cell has: this holds for
    the default delegate and for the app's chip and highlight delegates alike.
    """

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self._view = view
        view.viewport().installEventFilter(self)

    def is_cut(self, index: QModelIndex) -> bool:
        """Whether the cell's text does not fit its width (so it is elided)."""
        view = self._view
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if not text:
            return False
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.font = view.font()
        option.fontMetrics = view.fontMetrics()
        option.rect = view.visualRect(index)
        option.textElideMode = view.textElideMode()
        delegate = view.itemDelegateForIndex(index)
        needed = delegate.sizeHint(option, index).width()
        return needed > option.rect.width()

    def tooltip(self, index: QModelIndex) -> str | None:
        """The tooltip of a cell: its whole text when cut, then its own tooltip."""
        own = index.data(Qt.ItemDataRole.ToolTipRole)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        return tooltip_when_cut(text, str(own) if own else None, cut=self.is_cut(index))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ToolTip or not isinstance(event, QHelpEvent):
            return False
        index = self._view.indexAt(event.pos())
        if not index.isValid():
            return False
        tip = self.tooltip(index)
        if tip is None:
            QToolTip.hideText()
        else:
            rect = self._view.visualRect(index)
            QToolTip.showText(event.globalPos(), tip, self._view.viewport(), rect)
        return True


def show_cut_cells_whole(view: QAbstractItemView) -> CutCellTooltips:
    """Make `view` elide its cells on the right, on one line, with a cut cell's whole text as
    its tooltip."""
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    if hasattr(view, "setWordWrap"):
        view.setWordWrap(False)
    existing = view.findChild(CutCellTooltips)
    return existing if isinstance(existing, CutCellTooltips) else CutCellTooltips(view)

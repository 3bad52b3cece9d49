"""A PDF viewer (QtPdf): zoom, pages, search, Print…, Save as… and the system viewer.

Generic: it shows a PDF file and knows nothing of orders. The ways out of the app (another
application, the save dialog, the print dialog) are injectable so that tests (and sandboxed
installs) can replace them.

The file is read into memory and closed: a newer download can replace it (on Windows too,
where an open file cannot be replaced) and `load` again shows the new one.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QColor, QGuiApplication, QImage, QKeySequence, QPainter
from PySide6.QtPdf import QPdfDocument, QPdfSearchModel
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.ui.widgets.file_dialogs import (
    ChoosePrinter,
    ChooseSavePath,
    OpenExternally,
    choose_printer,
    choose_save_path,
    open_externally,
)
from rupa_desk.ui.widgets.search_box import SearchBox

if TYPE_CHECKING:
    from PySide6.QtGui import QResizeEvent
    from PySide6.QtPrintSupport import QPrinter

#: The zoom factors that zoom in and out step through (1 is the page's real size).
ZOOM_STEPS: Final = (0.25, 0.33, 0.5, 0.67, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 3.0, 4.0)
#: Pages are rendered for the printer at its resolution, up to this many dots per inch: a
#: 1200 dpi page image would take half a gigabyte, and 300 dpi is print quality for text.
MAX_PRINT_DPI: Final = 300
#: Where a search match is scrolled to, as a share of the view's height from its top.
MATCH_AT: Final = 0.3

ZoomMode = QPdfView.ZoomMode


class PdfNotReadable(Exception):
    """The file is missing or is not a PDF that can be shown."""


class PrintFailed(Exception):
    """The printer could not be started or a page could not be drawn."""


class PageView(QPdfView):
    """A QPdfView that says when its size (or its viewport's) changed.

    Signals:
        resized(): the view or its viewport changed size (the fitted zoom may change).
    """

    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class PdfViewer(QWidget):
    """Shows one PDF, page by page in a scrolling view, with the controls to read and print it.

    Zoom: in, out (Ctrl++, Ctrl+-), fit width (Ctrl+0, the default) and fit page. Pages:
    previous, next, a page number box; PgUp/PgDn scroll the pages. Search (Ctrl+F): matches
    are highlighted, Enter or F3 goes to the next, Shift+F3 to the previous. Print… (Ctrl+P),
    Save as… (Ctrl+S) and "Open with system viewer".

    Signals:
        saved(str): the PDF was saved under this path.
        printed(int): this many pages were sent to the printer.
        action_failed(str): a message for the user when saving, printing or opening outside
            failed.
    """

    saved = Signal(str)
    printed = Signal(int)
    action_failed = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        open_externally: OpenExternally = open_externally,
        choose_save_path: ChooseSavePath = choose_save_path,
        choose_printer: ChoosePrinter = choose_printer,
    ) -> None:
        """Build an empty viewer; `load()` shows a file."""
        super().__init__(parent)
        self._open_externally = open_externally
        self._choose_save_path = choose_save_path
        self._choose_printer = choose_printer
        self._path: Path | None = None
        self._save_name = ""
        self._buffer: QBuffer | None = None
        self._match = -1
        screen = QGuiApplication.primaryScreen()
        self._screen_resolution = (screen.logicalDotsPerInch() if screen else 96.0) / 72.0

        self.document = QPdfDocument(self)
        self.search_model = QPdfSearchModel(self)
        self.search_model.setDocument(self.document)
        self.view = PageView(self)
        self.view.setDocument(self.document)
        self.view.setSearchModel(self.search_model)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(ZoomMode.FitToWidth)
        self.view.setAccessibleName("PDF pages")
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self._title = QLabel(self)
        self._title.setTextFormat(Qt.TextFormat.PlainText)
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._print_button = self._button("Print…", "Print the PDF")
        self._save_button = self._button("Save as…", "Save the PDF as a file")
        self._open_button = self._button(
            "Open with system viewer", "Open the PDF with the system viewer"
        )

        self._previous_button = self._button("◀", "Previous page", tool=True)
        self._page_box = QSpinBox(self)
        self._page_box.setAccessibleName("Page number")
        self._page_box.setKeyboardTracking(False)  # "12" goes to page 12, not 1 then 12
        self._page_box.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons)
        self._page_count_label = QLabel(self)
        self._next_button = self._button("▶", "Next page", tool=True)

        self._zoom_out_button = self._button("−", "Zoom out", tool=True)
        self._zoom_label = QLabel(self)
        self._zoom_label.setMinimumWidth(self._zoom_label.fontMetrics().horizontalAdvance("400%"))
        self._zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._zoom_in_button = self._button("+", "Zoom in", tool=True)
        self._fit_width_button = self._button("Fit width", "Fit the page width", tool=True)
        self._fit_page_button = self._button("Fit page", "Fit the whole page", tool=True)
        for button in (self._fit_width_button, self._fit_page_button):
            button.setCheckable(True)

        self.search_box = SearchBox(self)
        self.search_box.setPlaceholderText("Find in the PDF")
        self.search_box.setAccessibleName("Find in the PDF")
        self.search_box.setMinimumWidth(160)
        self._previous_match_button = self._button("↑", "Previous match", tool=True)
        self._next_match_button = self._button("↓", "Next match", tool=True)
        self._match_label = QLabel(self)

        top = QHBoxLayout()
        top.addWidget(self._title, 1)
        top.addWidget(self._print_button)
        top.addWidget(self._save_button)
        top.addWidget(self._open_button)
        controls = QHBoxLayout()
        controls.addWidget(self._previous_button)
        controls.addWidget(QLabel("Page", self))
        controls.addWidget(self._page_box)
        controls.addWidget(self._page_count_label)
        controls.addWidget(self._next_button)
        controls.addSpacing(16)
        controls.addWidget(self._zoom_out_button)
        controls.addWidget(self._zoom_label)
        controls.addWidget(self._zoom_in_button)
        controls.addWidget(self._fit_width_button)
        controls.addWidget(self._fit_page_button)
        controls.addSpacing(16)
        controls.addWidget(self.search_box, 1)
        controls.addWidget(self._previous_match_button)
        controls.addWidget(self._next_match_button)
        controls.addWidget(self._match_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(controls)
        layout.addWidget(self.view, 1)

        self._add_shortcuts()
        self._open_button.clicked.connect(self._on_open_button_clicked)
        self._save_button.clicked.connect(self._on_save_button_clicked)
        self._print_button.clicked.connect(self._on_print_button_clicked)
        self._previous_button.clicked.connect(self._on_previous_button_clicked)
        self._next_button.clicked.connect(self._on_next_button_clicked)
        self._page_box.valueChanged.connect(self._on_page_box_value_changed)
        self._zoom_in_button.clicked.connect(self._on_zoom_in_button_clicked)
        self._zoom_out_button.clicked.connect(self._on_zoom_out_button_clicked)
        self._fit_width_button.clicked.connect(self._on_fit_width_button_clicked)
        self._fit_page_button.clicked.connect(self._on_fit_page_button_clicked)
        self.search_box.search_requested.connect(self._on_search_box_search_requested)
        self.search_box.returnPressed.connect(self._on_search_box_return_pressed)
        self._previous_match_button.clicked.connect(self._on_previous_match_button_clicked)
        self._next_match_button.clicked.connect(self._on_next_match_button_clicked)
        self.search_model.countChanged.connect(self._on_search_model_count_changed)
        self.view.resized.connect(self._on_view_resized)
        self.view.zoomModeChanged.connect(self._on_view_zoom_changed)
        self.view.zoomFactorChanged.connect(self._on_view_zoom_changed)
        self.view.pageNavigator().currentPageChanged.connect(
            self._on_navigator_current_page_changed
        )
        self._show_state()

    def _button(self, text: str, name: str, *, tool: bool = False) -> QPushButton | QToolButton:
        button: QPushButton | QToolButton
        if tool:
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(name)
        else:
            button = QPushButton(text, self)
        button.setAccessibleName(name)
        return button

    def _add_shortcuts(self) -> None:
        """Keys that work anywhere in the viewer (and not in another viewer)."""
        keys = (
            (_keys(QKeySequence.StandardKey.ZoomIn, "Ctrl++", "Ctrl+="), self.zoom_in),
            (_keys(QKeySequence.StandardKey.ZoomOut, "Ctrl+-"), self.zoom_out),
            (_keys("Ctrl+0"), self.fit_width),
            (_keys(QKeySequence.StandardKey.Print, "Ctrl+P"), self.print_document),
            (_keys(QKeySequence.StandardKey.Save, "Ctrl+S"), self.save_as),
            (_keys(QKeySequence.StandardKey.Find, "Ctrl+F"), self._focus_search),
            (_keys(QKeySequence.StandardKey.FindNext, "F3"), self.next_match),
            (_keys(QKeySequence.StandardKey.FindPrevious, "Shift+F3"), self.previous_match),
        )
        for shortcuts, slot in keys:
            action = QAction(self)
            action.setShortcuts(shortcuts)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    # -- reading -------------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The file shown, if any."""
        return self._path

    @property
    def page_count(self) -> int:
        return self.document.pageCount()

    @property
    def current_page(self) -> int:
        """The page shown (0-based)."""
        return self.view.pageNavigator().currentPage()

    @property
    def page_text(self) -> str:
        """ "Page n of m" as shown."""
        if self._path is None or not self.page_count:
            return ""
        return f"Page {self._page_box.value()} of {self.page_count}"

    @property
    def zoom_factor(self) -> float:
        """The scale the pages are shown at (1: their real size), fitted or not."""
        return self._fitted_factor() or self.view.zoomFactor()

    @property
    def zoom_text(self) -> str:
        """The zoom as shown ("125%")."""
        return self._zoom_label.text()

    @property
    def match_text(self) -> str:
        """ "3 of 7 matches", "7 matches", "No match" or "" as shown."""
        return self._match_label.text()

    @property
    def match_count(self) -> int:
        return self.search_model.count()

    @property
    def current_match(self) -> int:
        """The match framed (0-based; -1: none)."""
        return self._match

    # -- showing -------------------------------------------------------------------------------

    def load(self, path: Path, *, title: str = "", save_name: str = "") -> None:
        """Show a PDF file (again: a newer file under the same path is read anew).

        Args:
            path: the file.
            title: shown above the pages (the file name when empty).
            save_name: the file name Save as… suggests (the file's own when empty).

        Raises:
            PdfNotReadable: the file is missing or not a readable PDF (the viewer is empty).
        """
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.clear()
            raise PdfNotReadable(_describe(QPdfDocument.Error.FileNotFound, path)) from None
        except OSError:
            self.clear()
            raise PdfNotReadable(_describe(QPdfDocument.Error.DataNotYetAvailable, path)) from None
        page = self.current_page if path == self._path else 0
        buffer = QBuffer(self)
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.load(buffer)
        error = self.document.error()
        if self.document.status() != QPdfDocument.Status.Ready or error != QPdfDocument.Error.None_:
            buffer.deleteLater()
            self.clear()
            raise PdfNotReadable(_describe(error, path))
        if self._buffer is not None:
            self._buffer.deleteLater()
        self._buffer = buffer
        self._path = path
        self._save_name = save_name
        self._title.setText(title or path.name)
        self._page_box.setRange(1, max(1, self.page_count))
        self._search(self.search_box.text())
        self._sync_zoom_factor()
        self.go_to_page(min(page, self.page_count - 1))
        self._show_state()

    def reload(self) -> None:
        """Show the file again as it is now (a newer download), with the same title.

        Raises:
            PdfNotReadable: the file is gone or no longer readable (the viewer is empty).
        """
        if self._path is not None:
            self.load(self._path, title=self._title.text(), save_name=self._save_name)

    def clear(self) -> None:
        """Show nothing."""
        self.document.close()
        if self._buffer is not None:
            self._buffer.deleteLater()
            self._buffer = None
        self._path = None
        self._title.setText("")
        self._search("")
        self._show_state()

    def go_to_page(self, page: int) -> None:
        """Scroll to the top of a page (0-based; out of range: the first or the last)."""
        if not self.page_count:
            return
        page = max(0, min(page, self.page_count - 1))
        navigator = self.view.pageNavigator()
        if page == navigator.currentPage():
            self._show_state()
            return
        navigator.jump(page, QPointF(), self.view.zoomFactor())

    def zoom_in(self) -> None:
        """Show the pages larger (the next zoom step)."""
        current = self.zoom_factor
        self._set_zoom(next((z for z in ZOOM_STEPS if z > current * 1.01), ZOOM_STEPS[-1]))

    def zoom_out(self) -> None:
        """Show the pages smaller (the previous zoom step)."""
        current = self.zoom_factor
        smaller = [z for z in ZOOM_STEPS if z < current / 1.01]
        self._set_zoom(smaller[-1] if smaller else ZOOM_STEPS[0])

    def fit_width(self) -> None:
        """Zoom so that the page's width fills the view."""
        self._set_mode(ZoomMode.FitToWidth)

    def fit_page(self) -> None:
        """Zoom so that a whole page fits in the view."""
        self._set_mode(ZoomMode.FitInView)

    def next_match(self) -> None:
        """Frame the next search match (the first after the last) and scroll to it."""
        if self.match_count:
            self._show_match((self._match + 1) % self.match_count)

    def previous_match(self) -> None:
        """Frame the previous search match (the last before the first) and scroll to it."""
        if self.match_count:
            self._show_match((self._match - 1) % self.match_count)

    # -- the ways out --------------------------------------------------------------------------

    def save_as(self) -> None:
        """Ask where to save a copy of the file, and copy it there."""
        if self._path is None:
            return
        target = self._choose_save_path(self, self._save_name or self._path.name)
        if not target:
            return
        try:
            shutil.copyfile(self._path, target)
        except OSError as exc:
            self.action_failed.emit(f"The PDF could not be saved to {target}: {exc.strerror}.")
            return
        self.saved.emit(target)

    def print_document(self) -> None:
        """Ask for a printer and the pages (the print dialog), and print them."""
        if self._path is None or not self.page_count:
            return
        from PySide6.QtPrintSupport import QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        # Printing to a file names the file after the document: the suggested (safe) name.
        printer.setDocName(Path(self._save_name).stem if self._save_name else self._path.stem)
        if not self._choose_printer(self, printer, self.page_count):
            return
        pages = pages_to_print(printer, self.page_count, self.current_page)
        try:
            print_pages(self.document, printer, pages)
        except PrintFailed:
            self.action_failed.emit(
                "The PDF could not be printed. Check that the printer is on and try again."
            )
            return
        self.printed.emit(len(pages))

    # -- inside --------------------------------------------------------------------------------

    def _focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def _search(self, text: str) -> None:
        """Highlight every match of `text` (case-insensitive); none is framed yet."""
        self._match = -1
        self.view.setCurrentSearchResultIndex(-1)
        self.search_model.setSearchString(text.strip())
        if text.strip():
            for page in range(self.page_count):  # at once, so the count is final
                self.search_model.updatePage(page)
        self._show_matches()

    def _show_match(self, index: int) -> None:
        self._match = index
        self.view.setCurrentSearchResultIndex(index)
        link = self.search_model.resultAtIndex(index)
        self.go_to_page(link.page())
        # The navigator scrolls to the page's top: scroll on to the match itself.
        bar = self.view.verticalScrollBar()
        top = self._page_top(link.page())
        offset = link.location().y() * self._screen_resolution * self.zoom_factor
        bar.setValue(round(top + offset - self.view.viewport().height() * MATCH_AT))
        self._show_matches()

    def _page_top(self, page: int) -> float:
        """Where a page starts in the scrolled view, in pixels (the layout QPdfView uses)."""
        margins = self.view.documentMargins()
        scale = self._screen_resolution * self.zoom_factor
        heights = sum(
            self.document.pagePointSize(p).height() * scale + self.view.pageSpacing()
            for p in range(page)
        )
        return margins.top() + heights

    def _set_zoom(self, factor: float) -> None:
        position = self._scroll_share()
        self.view.setZoomMode(ZoomMode.Custom)
        self.view.setZoomFactor(factor)
        self._restore_scroll_share(position)

    def _set_mode(self, mode: ZoomMode) -> None:
        position = self._scroll_share()
        self.view.setZoomMode(mode)
        self._sync_zoom_factor()
        self._restore_scroll_share(position)

    def _scroll_share(self) -> float:
        bar = self.view.verticalScrollBar()
        return bar.value() / bar.maximum() if bar.maximum() > 0 else 0.0

    def _restore_scroll_share(self, share: float) -> None:
        bar = self.view.verticalScrollBar()
        bar.setValue(round(share * bar.maximum()))

    def _fitted_factor(self) -> float | None:
        """The scale a fit mode shows the current page at (None: not fitted, or no page)."""
        mode = self.view.zoomMode()
        if mode == ZoomMode.Custom or not self.page_count:
            return None
        size = self.document.pagePointSize(max(0, self.current_page)) * self._screen_resolution
        if size.width() <= 0 or size.height() <= 0:
            return None
        margins = self.view.documentMargins()
        viewport = self.view.viewport().size()
        width = (viewport.width() - margins.left() - margins.right()) / size.width()
        if mode == ZoomMode.FitToWidth:
            return max(width, 0.01)
        height = (viewport.height() - self.view.pageSpacing()) / size.height()
        return max(min(width, height), 0.01)

    def _sync_zoom_factor(self) -> None:
        """Keep the view's zoom factor at the fitted scale: QPdfView draws search highlights
        with its zoom factor, which its fit modes leave alone (they would miss the words)."""
        fitted = self._fitted_factor()
        if fitted is not None and abs(fitted - self.view.zoomFactor()) > 1e-3:
            self.view.setZoomFactor(fitted)
        self._show_zoom()

    def _show_zoom(self) -> None:
        mode = self.view.zoomMode()
        self._fit_width_button.setChecked(mode == ZoomMode.FitToWidth)
        self._fit_page_button.setChecked(mode == ZoomMode.FitInView)
        self._zoom_label.setText(f"{round(self.zoom_factor * 100)}%" if self.page_count else "")
        self._zoom_in_button.setEnabled(bool(self.page_count) and self.zoom_factor < ZOOM_STEPS[-1])
        self._zoom_out_button.setEnabled(bool(self.page_count) and self.zoom_factor > ZOOM_STEPS[0])

    def _show_matches(self) -> None:
        count = self.match_count
        if not self.search_model.searchString():
            text = ""
        elif not count:
            text = "No match"
        elif self._match < 0:
            text = f"{count} match" if count == 1 else f"{count} matches"
        else:
            text = f"{self._match + 1} of {count} {'match' if count == 1 else 'matches'}"
        self._match_label.setText(text)
        for button in (self._previous_match_button, self._next_match_button):
            button.setEnabled(count > 0)

    def _show_state(self) -> None:
        loaded = self._path is not None and self.page_count > 0
        for widget in (
            self._open_button,
            self._save_button,
            self._print_button,
            self._page_box,
            self._fit_width_button,
            self._fit_page_button,
            self.search_box,
        ):
            widget.setEnabled(loaded)
        current = self.current_page
        self._page_box.blockSignals(True)
        try:
            self._page_box.setValue(current + 1 if loaded else 1)
        finally:
            self._page_box.blockSignals(False)
        self._page_count_label.setText(f"of {self.page_count}" if loaded else "")
        self._previous_button.setEnabled(loaded and current > 0)
        self._next_button.setEnabled(loaded and current < self.page_count - 1)
        self._show_zoom()
        self._show_matches()

    # -- slots ---------------------------------------------------------------------------------

    def _on_open_button_clicked(self) -> None:
        if self._path is None:
            return
        if not self._open_externally(QUrl.fromLocalFile(str(self._path))):
            self.action_failed.emit(
                "No application could open the PDF. Use Save as… and open the file yourself."
            )

    def _on_save_button_clicked(self) -> None:
        self.save_as()

    def _on_print_button_clicked(self) -> None:
        self.print_document()

    def _on_previous_button_clicked(self) -> None:
        self.go_to_page(self.current_page - 1)

    def _on_next_button_clicked(self) -> None:
        self.go_to_page(self.current_page + 1)

    def _on_page_box_value_changed(self, value: int) -> None:
        self.go_to_page(value - 1)

    def _on_zoom_in_button_clicked(self) -> None:
        self.zoom_in()

    def _on_zoom_out_button_clicked(self) -> None:
        self.zoom_out()

    def _on_fit_width_button_clicked(self) -> None:
        self.fit_width()

    def _on_fit_page_button_clicked(self) -> None:
        self.fit_page()

    def _on_search_box_search_requested(self, text: str) -> None:
        self._search(text)

    def _on_search_box_return_pressed(self) -> None:
        self.next_match()

    def _on_previous_match_button_clicked(self) -> None:
        self.previous_match()

    def _on_next_match_button_clicked(self) -> None:
        self.next_match()

    def _on_search_model_count_changed(self) -> None:
        self._show_matches()

    def _on_view_resized(self) -> None:
        self._sync_zoom_factor()

    def _on_view_zoom_changed(self) -> None:
        self._show_zoom()

    def _on_navigator_current_page_changed(self, page: int) -> None:
        self._sync_zoom_factor()  # pages may differ in size
        self._show_state()


def pages_to_print(printer: QPrinter, page_count: int, current: int) -> list[int]:
    """The pages (0-based, in printing order) the print dialog asked for."""
    from PySide6.QtPrintSupport import QPrinter

    pages = list(range(page_count))
    match printer.printRange():
        case QPrinter.PrintRange.PageRange if printer.fromPage() > 0:
            last = printer.toPage() or page_count
            pages = list(range(printer.fromPage() - 1, min(last, page_count)))
        case QPrinter.PrintRange.CurrentPage:
            pages = [current]
    if printer.pageOrder() == QPrinter.PageOrder.LastPageFirst:
        pages.reverse()
    return pages


def print_pages(document: QPdfDocument, printer: QPrinter, pages: list[int]) -> None:
    """Print pages of a PDF: each rendered at the printer's resolution (up to
    `MAX_PRINT_DPI`), scaled to fit the printable area, centred across the top.

    Raises:
        PrintFailed: the printer could not be started or a page not rendered.
    """
    painter = QPainter()
    if not painter.begin(printer):
        raise PrintFailed("the printer could not be started")
    try:
        area = QRectF(printer.pageLayout().paintRectPixels(printer.resolution()))
        sharpness = min(1.0, MAX_PRINT_DPI / max(1, printer.resolution()))
        for number, page in enumerate(pages):
            if number and not printer.newPage():
                raise PrintFailed("the printer refused a new page")
            fitted = document.pagePointSize(page).scaled(
                area.size(), Qt.AspectRatioMode.KeepAspectRatio
            )
            image = document.render(page, (fitted * sharpness).toSize())
            if image.isNull():
                raise PrintFailed(f"page {page + 1} could not be rendered")
            target = QRectF((area.width() - fitted.width()) / 2, 0, fitted.width(), fitted.height())
            painter.drawImage(target, _on_white(image))
    finally:
        painter.end()


def _on_white(image: QImage) -> QImage:
    """The rendered page (transparent where the PDF paints nothing) on white paper, without
    an alpha channel: smaller to send, and the same on every printer."""
    paper = QImage(image.size(), QImage.Format.Format_RGB32)
    paper.fill(QColor("white"))
    painter = QPainter(paper)
    painter.drawImage(0, 0, image)
    painter.end()
    return paper


def _keys(*specs: QKeySequence.StandardKey | str) -> list[QKeySequence]:
    """The key sequences of standard keys (this platform's) and written ones, each once."""
    found: list[QKeySequence] = []
    for spec in specs:
        sequences = (
            [QKeySequence(spec)] if isinstance(spec, str) else QKeySequence.keyBindings(spec)
        )
        found.extend(s for s in sequences if not s.isEmpty() and s not in found)
    return found


def _describe(error: QPdfDocument.Error, path: Path) -> str:
    if error == QPdfDocument.Error.FileNotFound:
        return f"The PDF {path.name} is not there any more; download it again."
    if error in (
        QPdfDocument.Error.IncorrectPassword,
        QPdfDocument.Error.UnsupportedSecurityScheme,
    ):
        return f"The PDF {path.name} is protected; open it with the system viewer."
    if error == QPdfDocument.Error.DataNotYetAvailable:
        return f"The PDF {path.name} could not be read; download it again."
    return f"The file {path.name} is not a PDF that can be shown; download it again."

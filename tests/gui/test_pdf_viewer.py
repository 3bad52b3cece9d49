"""The PDF viewer with a real, generated PDF."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF
from PySide6.QtCore import Qt, QUrl
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.ui.widgets.pdf_viewer import ZOOM_STEPS, PdfNotReadable, PdfViewer, pages_to_print
from tests.fixtures.file_dialogs import FakeDesktop, FakePrintDialog, FakeSaveDialog, read_pdf
from tests.fixtures.qt import unnamed_controls

NO_KEY = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
ZoomMode = QPdfView.ZoomMode


def make_pdf(path: Path, pages: int = 3, *, words: dict[int, str] | None = None) -> Path:
    """A PDF of A4 pages saying "Result page n" (and `words[n]` lower down page n)."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(text=f"Result page {number}")
        if words and number in words:
            pdf.set_y(200)
            pdf.cell(text=words[number])
    pdf.output(str(path))
    return path


def viewer(
    qtbot: QtBot,
    desktop: FakeDesktop,
    dialog: FakeSaveDialog,
    printing: FakePrintDialog | None = None,
) -> PdfViewer:
    widget = PdfViewer(
        open_externally=desktop,
        choose_save_path=dialog,
        choose_printer=printing or FakePrintDialog(None),
    )
    qtbot.addWidget(widget)
    widget.resize(600, 800)
    widget.show()
    return widget


def active_viewer(qtbot: QtBot, tmp_path: Path, **fakes: FakePrintDialog) -> PdfViewer:
    """A viewer showing a 3-page PDF in the active window, so that its keys work."""
    widget = viewer(qtbot, FakeDesktop(), FakeSaveDialog(""), fakes.get("printing"))
    widget.load(make_pdf(tmp_path / "results.pdf", words={2: "glucose", 3: "Glucose glucose"}))
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    widget.view.setFocus()
    return widget


def press(
    qtbot: QtBot, widget: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier = NO_KEY
) -> None:
    qtbot.keyClick(widget, key, modifier)


def test_shows_the_pages_of_a_real_pdf(qtbot: QtBot, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "results.pdf", pages=3)
    widget = viewer(qtbot, FakeDesktop(), FakeSaveDialog(""))
    assert not widget._save_button.isEnabled()
    widget.load(pdf, title="Results: Lipid panel")
    assert widget.page_count == 3
    assert widget.path == pdf
    assert widget.page_text == "Page 1 of 3"
    assert widget._title.text() == "Results: Lipid panel"
    assert widget._save_button.isEnabled()
    assert "Result page 2" in widget.document.getAllText(1).text()
    widget.view.pageNavigator().jump(2, widget.view.pageNavigator().currentLocation())
    qtbot.waitUntil(lambda: widget.page_text == "Page 3 of 3")
    assert not widget.grab().isNull()


def test_open_with_the_system_viewer(qtbot: QtBot, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "results.pdf")
    desktop = FakeDesktop()
    widget = viewer(qtbot, desktop, FakeSaveDialog(""))
    widget.load(pdf)
    widget._open_button.click()
    assert desktop.opened == [QUrl.fromLocalFile(str(pdf))]


def test_no_system_viewer_is_reported(qtbot: QtBot, tmp_path: Path) -> None:
    widget = viewer(qtbot, FakeDesktop(works=False), FakeSaveDialog(""))
    widget.load(make_pdf(tmp_path / "results.pdf"))
    with qtbot.waitSignal(widget.action_failed) as failed:
        widget._open_button.click()
    assert "Save as" in failed.args[0]


def test_save_as_copies_the_file(qtbot: QtBot, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "results.pdf")
    target = tmp_path / "out" / "copy.pdf"
    target.parent.mkdir()
    dialog = FakeSaveDialog(str(target))
    widget = viewer(qtbot, FakeDesktop(), dialog)
    widget.load(pdf)
    with qtbot.waitSignal(widget.saved) as saved:
        widget._save_button.click()
    assert saved.args == [str(target)]
    assert dialog.suggested == ["results.pdf"]
    assert target.read_bytes() == pdf.read_bytes()


def test_save_as_cancelled_does_nothing_and_a_failed_copy_is_reported(
    qtbot: QtBot, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "results.pdf")
    widget = viewer(qtbot, FakeDesktop(), FakeSaveDialog(""))
    widget.load(pdf)
    with qtbot.assertNotEmitted(widget.saved), qtbot.assertNotEmitted(widget.action_failed):
        widget._save_button.click()
    widget._choose_save_path = FakeSaveDialog(str(tmp_path / "missing" / "dir" / "x.pdf"))
    with qtbot.waitSignal(widget.action_failed) as failed:
        widget._save_button.click()
    assert "could not be saved" in failed.args[0]


def test_a_missing_or_broken_file_raises_and_leaves_the_viewer_empty(
    qtbot: QtBot, tmp_path: Path
) -> None:
    widget = viewer(qtbot, FakeDesktop(), FakeSaveDialog(""))
    widget.load(make_pdf(tmp_path / "good.pdf"))
    with pytest.raises(PdfNotReadable, match="not there"):
        widget.load(tmp_path / "gone.pdf")
    assert widget.path is None
    assert widget.page_count == 0
    assert not widget._open_button.isEnabled()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"<html>not a pdf</html>")
    with pytest.raises(PdfNotReadable, match="not a PDF"):
        widget.load(broken)


def test_every_control_of_the_viewer_has_an_accessible_name(qtbot: QtBot, tmp_path: Path) -> None:
    widget = viewer(qtbot, FakeDesktop(), FakeSaveDialog(""))
    widget.load(make_pdf(tmp_path / "results.pdf"))
    assert unnamed_controls(widget) == []


def test_the_viewer_fits_the_width_at_first_and_zooms_in_and_out_by_steps_and_keys(
    qtbot: QtBot, tmp_path: Path
) -> None:
    widget = active_viewer(qtbot, tmp_path)
    view = widget.view
    assert view.zoomMode() == ZoomMode.FitToWidth
    assert widget._fit_width_button.isChecked()
    fitted = widget.zoom_factor
    assert view.zoomFactor() == pytest.approx(fitted, abs=1e-3)  # search highlights use it
    assert widget.zoom_text == f"{round(fitted * 100)}%"
    assert view.horizontalScrollBar().maximum() == 0  # the whole width in view

    widget._zoom_in_button.click()
    assert view.zoomMode() == ZoomMode.Custom
    bigger = min(z for z in ZOOM_STEPS if z > fitted * 1.01)
    assert view.zoomFactor() == bigger
    assert widget.zoom_text == f"{round(bigger * 100)}%"
    assert not widget._fit_width_button.isChecked()
    qtbot.waitUntil(lambda: view.horizontalScrollBar().maximum() > 0)  # wider than the view

    press(qtbot, view, Qt.Key.Key_Plus, CTRL)
    assert view.zoomFactor() > bigger
    press(qtbot, view, Qt.Key.Key_Minus, CTRL)
    press(qtbot, view, Qt.Key.Key_Minus, CTRL)
    assert view.zoomFactor() < bigger
    for _ in ZOOM_STEPS:
        widget._zoom_out_button.click()
    assert view.zoomFactor() == ZOOM_STEPS[0]
    assert not widget._zoom_out_button.isEnabled()

    widget._fit_page_button.click()
    assert view.zoomMode() == ZoomMode.FitInView
    assert widget._fit_page_button.isChecked()
    assert widget.zoom_factor < fitted  # a portrait page in a portrait view: height decides
    press(qtbot, view, Qt.Key.Key_0, CTRL)
    assert view.zoomMode() == ZoomMode.FitToWidth
    assert widget.zoom_factor == pytest.approx(fitted, abs=1e-3)

    widget.resize(900, 800)  # a wider window: a larger fitted width, highlights follow
    qtbot.waitUntil(lambda: widget.zoom_factor > fitted * 1.2)
    assert view.zoomFactor() == pytest.approx(widget.zoom_factor, abs=1e-3)


def test_pages_by_buttons_by_number_and_by_page_up_and_down(qtbot: QtBot, tmp_path: Path) -> None:
    widget = active_viewer(qtbot, tmp_path)
    assert widget.page_text == "Page 1 of 3"
    assert not widget._previous_button.isEnabled()
    widget._next_button.click()
    qtbot.waitUntil(lambda: widget.page_text == "Page 2 of 3")
    assert widget.current_page == 1
    widget._page_box.setValue(3)
    qtbot.waitUntil(lambda: widget.page_text == "Page 3 of 3")
    assert not widget._next_button.isEnabled()
    widget._previous_button.click()
    qtbot.waitUntil(lambda: widget.page_text == "Page 2 of 3")
    widget._page_box.setValue(1)
    qtbot.waitUntil(lambda: widget.current_page == 0)

    widget.view.setFocus()
    press(qtbot, widget.view, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: widget.current_page == 1)
    press(qtbot, widget.view, Qt.Key.Key_PageDown)
    press(qtbot, widget.view, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: widget.page_text == "Page 3 of 3")
    for _ in range(3):
        press(qtbot, widget.view, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: widget.page_text == "Page 1 of 3")


def test_search_counts_the_matches_and_enter_and_f3_go_from_one_to_the_next(
    qtbot: QtBot, tmp_path: Path
) -> None:
    widget = active_viewer(qtbot, tmp_path)
    assert widget.match_text == ""
    press(qtbot, widget.view, Qt.Key.Key_F, CTRL)
    assert widget.search_box.hasFocus()
    qtbot.keyClicks(widget.search_box, "glucose")
    qtbot.waitUntil(lambda: widget.match_text == "3 matches")  # any case, every page
    assert widget.current_match == -1

    press(qtbot, widget.search_box, Qt.Key.Key_Return)
    assert widget.match_text == "1 of 3 matches"
    assert widget.view.currentSearchResultIndex() == 0
    qtbot.waitUntil(lambda: widget.current_page == 1)  # page 2 has the first one
    press(qtbot, widget.search_box, Qt.Key.Key_F3)
    assert widget.match_text == "2 of 3 matches"
    qtbot.waitUntil(lambda: widget.current_page == 2)
    press(qtbot, widget.view, Qt.Key.Key_F3)
    assert widget.match_text == "3 of 3 matches"
    press(qtbot, widget.view, Qt.Key.Key_F3)
    assert widget.match_text == "1 of 3 matches"  # round again
    qtbot.waitUntil(lambda: widget.current_page == 1)
    press(qtbot, widget.view, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert widget.match_text == "3 of 3 matches"
    widget._previous_match_button.click()
    assert widget.match_text == "2 of 3 matches"
    assert widget.view.currentSearchResultIndex() == 1

    widget.search_box.clear()
    qtbot.keyClicks(widget.search_box, "cholesterol")
    widget.search_box.flush()
    assert widget.match_text == "No match"
    assert not widget._next_match_button.isEnabled()
    widget.search_box.clear()
    widget.search_box.textEdited.emit("")
    widget.search_box.flush()
    assert widget.match_text == ""


def test_print_sends_every_page_to_the_printer(qtbot: QtBot, tmp_path: Path) -> None:
    printed = tmp_path / "printed.pdf"
    dialog = FakePrintDialog(printed)
    widget = active_viewer(qtbot, tmp_path, printing=dialog)
    with qtbot.waitSignal(widget.printed) as done:
        widget._print_button.click()
    assert done.args == [3]
    assert dialog.asked == [3]  # the dialog's page range goes 1 to 3
    assert dialog.doc_names == ["results"]  # printing to a file suggests results.pdf
    count, _, inks = read_pdf(printed)
    assert count == 3
    assert all(ink > 0 for ink in inks)  # not blank
    assert len(set(inks)) > 1  # and not the same page three times


def test_print_respects_the_page_range_and_ctrl_p_opens_the_dialog(
    qtbot: QtBot, tmp_path: Path
) -> None:
    printed = tmp_path / "printed.pdf"
    dialog = FakePrintDialog(printed, page_range=(2, 3))
    widget = active_viewer(qtbot, tmp_path, printing=dialog)
    with qtbot.waitSignal(widget.printed) as done:
        press(qtbot, widget.view, Qt.Key.Key_P, CTRL)
    assert done.args == [2]
    count, _, inks = read_pdf(printed)
    assert count == 2
    assert all(ink > 0 for ink in inks)


def test_a_cancelled_print_prints_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = FakePrintDialog(None)
    widget = active_viewer(qtbot, tmp_path, printing=dialog)
    with qtbot.assertNotEmitted(widget.printed), qtbot.assertNotEmitted(widget.action_failed):
        widget._print_button.click()
    assert dialog.asked == [3]
    assert list(tmp_path.glob("*.pdf")) == [tmp_path / "results.pdf"]


def test_save_as_and_print_to_file_suggest_the_name_given_and_ctrl_s_saves(
    qtbot: QtBot, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "ord_1-ordts_2.pdf")
    target = tmp_path / "Lovelace Ada - Lipid Panel - 2026-12-07.pdf"
    dialog = FakeSaveDialog(str(target))
    widget = viewer(qtbot, FakeDesktop(), dialog)
    widget.load(pdf, title="Lipid Panel", save_name=target.name)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    with qtbot.waitSignal(widget.saved):
        press(qtbot, widget.view, Qt.Key.Key_S, CTRL)
    assert dialog.suggested == ["Lovelace Ada - Lipid Panel - 2026-12-07.pdf"]
    assert target.read_bytes() == pdf.read_bytes()
    printing = FakePrintDialog(None)
    widget._choose_printer = printing
    widget.print_document()
    assert printing.doc_names == ["Lovelace Ada - Lipid Panel - 2026-12-07"]


def test_a_newer_file_under_the_same_path_is_shown_when_reloaded(
    qtbot: QtBot, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "results.pdf", pages=3)
    widget = viewer(qtbot, FakeDesktop(), FakeSaveDialog(""))
    widget.load(pdf, title="Lipid Panel", save_name="Lovelace Ada - Lipid Panel.pdf")
    newer = make_pdf(tmp_path / "newer.pdf", pages=2)
    newer.replace(pdf)  # what a download of updated results does; the file is not held open
    widget.reload()
    assert widget.page_count == 2
    assert widget.page_text == "Page 1 of 2"
    assert widget._title.text() == "Lipid Panel"
    assert widget._save_name == "Lovelace Ada - Lipid Panel.pdf"


@pytest.mark.qt_log_ignore("QPainter::begin")  # Qt's own word on the printer that failed
def test_a_printer_that_cannot_start_is_reported(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = FakePrintDialog(tmp_path / "no" / "such" / "folder" / "printed.pdf")
    widget = active_viewer(qtbot, tmp_path, printing=dialog)
    with qtbot.assertNotEmitted(widget.printed), qtbot.waitSignal(widget.action_failed) as failed:
        widget._print_button.click()
    assert failed.args == [
        "The PDF could not be printed. Check that the printer is on and try again."
    ]


def test_the_pages_printed_follow_the_dialog() -> None:
    printer = QPrinter()
    assert pages_to_print(printer, 3, current=1) == [0, 1, 2]
    printer.setPrintRange(QPrinter.PrintRange.PageRange)
    printer.setFromTo(2, 9)
    assert pages_to_print(printer, 3, current=0) == [1, 2]  # no page beyond the last
    printer.setPrintRange(QPrinter.PrintRange.CurrentPage)
    assert pages_to_print(printer, 3, current=1) == [1]
    printer.setPrintRange(QPrinter.PrintRange.AllPages)
    printer.setPageOrder(QPrinter.PageOrder.LastPageFirst)
    assert pages_to_print(printer, 3, current=0) == [2, 1, 0]

"""The PDF viewer with a real, generated PDF."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.ui.widgets.pdf_viewer import PdfNotReadable, PdfViewer
from tests.fixtures.qt import unnamed_controls


def make_pdf(path: Path, pages: int = 3) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(text=f"Result page {number}")
    pdf.output(str(path))
    return path


class FakeDesktop:
    """Records what would have been opened outside the app."""

    def __init__(self, works: bool = True) -> None:
        self.opened: list[QUrl] = []
        self.works = works

    def __call__(self, url: QUrl) -> bool:
        self.opened.append(url)
        return self.works


class FakeSaveDialog:
    """Answers the save dialog with a fixed path."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.suggested: list[str] = []

    def __call__(self, parent: QWidget, suggested: str) -> str:
        self.suggested.append(suggested)
        return self.answer


def viewer(qtbot: QtBot, desktop: FakeDesktop, dialog: FakeSaveDialog) -> PdfViewer:
    widget = PdfViewer(open_externally=desktop, choose_save_path=dialog)
    qtbot.addWidget(widget)
    widget.resize(600, 800)
    widget.show()
    return widget


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

"""Small, real PDFs for ordered tests: a lab results report and a requisition form (fpdf2).

Values are deterministic per ordered test. The core PDF fonts are Latin-1 only, so text is
folded to Latin-1 first (names created through the API may use any script).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FLAG_COLORS: Final = {"H": (180, 35, 24), "L": (30, 90, 170), "": (31, 42, 55)}


@dataclass(frozen=True)
class ReportFacts:
    """What a results report or requisition shows."""

    ordered_test_id: str
    order_id: str
    test_name: str
    lab_name: str
    biomarkers: tuple[str, ...]
    sample_types: tuple[str, ...]
    patient_name: str
    patient_birthday: str | None
    practitioner_name: str
    clinic_name: str
    date_submitted: datetime
    date_reported: datetime | None
    final: bool


def _latin1(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    return text.encode("latin-1", "replace").decode("latin-1")


class _Report(FPDF):
    def __init__(self, title: str, facts: ReportFacts) -> None:
        super().__init__(orientation="portrait", unit="mm", format="Letter")
        self._title = title
        self._facts = facts
        self.set_title(_latin1(f"{title}: {facts.test_name}"))
        self.set_creator("Rupa simulator")
        self.set_author(_latin1(facts.lab_name))
        self.set_creation_date(facts.date_reported or facts.date_submitted)
        self.set_auto_page_break(auto=True, margin=18)

    def header(self) -> None:
        self.set_font("Helvetica", "B", 15)
        self.set_text_color(47, 111, 94)
        self.cell(0, 8, _latin1(self._facts.lab_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("Helvetica", "", 10)
        self.set_text_color(91, 102, 117)
        self.cell(0, 5, _latin1(self._title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(223, 227, 234)
        self.line(self.l_margin, self.get_y() + 2, self.w - self.r_margin, self.get_y() + 2)
        self.ln(6)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(91, 102, 117)
        self.cell(
            0,
            5,
            "Simulated document from the Rupa Desk simulator - not a medical record."
            f"   Page {self.page_no()}",
            align="C",
        )

    def facts_block(self) -> None:
        facts = self._facts
        rows: list[tuple[str, str]] = [
            ("Patient", facts.patient_name),
            ("Date of birth", facts.patient_birthday or "-"),
            ("Ordering practitioner", facts.practitioner_name),
            ("Clinic", facts.clinic_name),
            ("Order", facts.order_id),
            ("Ordered test", f"{facts.test_name} ({facts.ordered_test_id})"),
            ("Sample", ", ".join(facts.sample_types)),
            ("Submitted", facts.date_submitted.strftime("%Y-%m-%d %H:%M")),
        ]
        if facts.date_reported is not None:
            rows.append(("Reported", facts.date_reported.strftime("%Y-%m-%d %H:%M")))
        for label, value in rows:
            self.set_font("Helvetica", "B", 9)
            self.set_text_color(91, 102, 117)
            self.cell(45, 6, _latin1(label))
            self.set_font("Helvetica", "", 10)
            self.set_text_color(31, 42, 55)
            self.cell(0, 6, _latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)


def _rng(facts: ReportFacts) -> random.Random:
    return random.Random(zlib.crc32(facts.ordered_test_id.encode()))


def render_results(facts: ReportFacts) -> bytes:
    """A one- or two-page results report with a value, range and flag per biomarker."""
    pdf = _Report("Laboratory results" + ("" if facts.final else " (PRELIMINARY)"), facts)
    pdf.add_page()
    pdf.facts_block()
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_fill_color(244, 246, 249)
    pdf.set_text_color(31, 42, 55)
    widths = (80, 30, 25, 45)
    for width, heading in zip(
        widths, ("Biomarker", "Result", "Flag", "Reference range"), strict=True
    ):
        pdf.cell(width, 7, heading, fill=True)
    pdf.ln(7)
    rng = _rng(facts)
    markers = (
        facts.biomarkers if facts.final else facts.biomarkers[: max(1, len(facts.biomarkers) // 2)]
    )
    for marker in markers:
        low = round(rng.uniform(1, 60), 1)
        high = round(low * rng.uniform(1.8, 4.0), 1)
        value = round(rng.uniform(low * 0.6, high * 1.3), 1)
        flag = "H" if value > high else "L" if value < low else ""
        pdf.set_font("Helvetica", "", 9)
        pdf.set_text_color(31, 42, 55)
        pdf.cell(widths[0], 6, _latin1(marker)[:48])
        pdf.set_text_color(*FLAG_COLORS[flag])
        pdf.set_font("Helvetica", "B" if flag else "", 9)
        pdf.cell(widths[1], 6, f"{value}")
        pdf.cell(widths[2], 6, flag)
        pdf.set_text_color(91, 102, 117)
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(widths[3], 6, f"{low} - {high}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if not facts.final:
        pdf.ln(4)
        pdf.set_font("Helvetica", "I", 9)
        pdf.multi_cell(0, 5, "Preliminary report: remaining biomarkers are still being analyzed.")
    return bytes(pdf.output())


def render_requisition(facts: ReportFacts) -> bytes:
    """A one-page requisition form: what to collect and how."""
    pdf = _Report("Requisition", facts)
    pdf.add_page()
    pdf.facts_block()
    pdf.set_font("Helvetica", "B", 11)
    pdf.set_text_color(31, 42, 55)
    pdf.cell(0, 7, "Collection instructions", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(
        0,
        5,
        _latin1(
            f"Collect: {', '.join(facts.sample_types)}. Label every tube or container with the "
            "patient's full name and date of birth, and ship with this requisition in the "
            "prepaid envelope within 24 hours of collection."
        ),
    )
    return bytes(pdf.output())

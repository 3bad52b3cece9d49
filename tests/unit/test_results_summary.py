"""The results summary: CSV that spreadsheets read back exactly, and a page with every value
escaped."""

from __future__ import annotations

import csv
import io

from rupa_desk.core.hl7_results import COLUMNS, read_results, result_rows
from rupa_desk.core.results_summary import OrderedTestSummary, summary_csv, summary_html

MESSAGE = "\r".join(
    [
        "MSH|^~\\&|LAB|ACME|||20261207||ORU^R01|1|P|2.5.1",
        "OBR|1|||X^Lipid Panel",
        "OBX|1|NM|2093-3^Total Cholesterol^LN||240|mg/dL|125-200|H|||F",
        'NTE|1||Fasting, 12 h \\T\\ "rested"',
        "OBX|2|TX|X^Note <b>||line one~line two, with a comma||||||F",
    ]
)


def test_csv_reads_back_as_the_cells_with_commas_quotes_and_lines() -> None:
    rows = tuple(result_rows(read_results(MESSAGE)))
    text = summary_csv(
        "Ada, Lovelace", "Submitted 2026-12-07", [OrderedTestSummary("Lipid", "", rows)]
    )
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["Patient", "Order", "Test", *COLUMNS, "Comments"]
    assert lines[1] == [
        "Ada, Lovelace", "Submitted 2026-12-07", "Lipid", *rows[0].cells(),
        'Fasting, 12 h & "rested"',
    ]  # fmt: skip
    assert lines[2][4] == "line one\nline two, with a comma"


def test_the_page_escapes_every_value() -> None:
    rows = tuple(result_rows(read_results(MESSAGE)))
    page = summary_html(
        "<Ada>", "o", [OrderedTestSummary("Lipid & co", "Final results.", rows)], "now"
    )
    assert "&lt;Ada&gt;" in page
    assert "Lipid &amp; co" in page
    assert "Note &lt;b&gt;" in page
    assert "<b>" not in page
    assert "High" in page

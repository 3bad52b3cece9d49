"""A results summary of one order, to print or to export as CSV: the patient, the order,
and each ordered test's values with units, range, flags in words and status.

The cells are `ResultRow.cells` (what the pane and `rupa-desk results show` say). CSV is
written by the standard library's writer; every HTML value is escaped.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass

from rupa_desk.core.hl7_results import COLUMNS, ResultRow


@dataclass(frozen=True, slots=True)
class OrderedTestSummary:
    """One ordered test in the summary: its name, where its results stand, its rows."""

    name: str
    summary: str
    rows: tuple[ResultRow, ...]


def summary_csv(patient: str, order: str, tests: Sequence[OrderedTestSummary]) -> str:
    """The summary as CSV: one line per value, with the patient, order and test on each."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Patient", "Order", "Test", *COLUMNS, "Comments"])
    for test in tests:
        for row in test.rows:
            writer.writerow([patient, order, test.name, *row.cells(), row.comments])
    return out.getvalue()


def summary_html(
    patient: str, order: str, tests: Sequence[OrderedTestSummary], printed: str
) -> str:
    """The summary as a printable page."""

    def cell(text: str, tag: str = "td") -> str:
        return f"<{tag} align='left'>{html.escape(text).replace(chr(10), '<br>')}</{tag}>"

    parts = [
        "<h2>Results summary</h2><table cellspacing='0' cellpadding='3'>",
        f"<tr>{cell('Patient', 'th')}{cell(patient)}</tr>",
        f"<tr>{cell('Order', 'th')}{cell(order)}</tr></table>",
    ]
    for test in tests:
        parts.append(f"<h3>{html.escape(test.name)}</h3><p>{html.escape(test.summary)}</p>")
        if not test.rows:
            continue
        parts.append("<table border='1' cellspacing='0' cellpadding='4' width='100%'><tr>")
        parts.append("".join(cell(name, "th") for name in COLUMNS) + "</tr>")
        for row in test.rows:
            cells = row.cells()
            parts.append("<tr>" + "".join(cell(text) for text in cells) + "</tr>")
        parts.append("</table>")
        comments = [f"{row.analyte}: {row.comments}" for row in test.rows if row.comments]
        if comments:
            parts.append("<p><small>" + "<br>".join(html.escape(c) for c in comments))
            parts.append("</small></p>")
    parts.append(f"<p><small>Printed {html.escape(printed)} by Rupa Desk.</small></p>")
    return "".join(parts)

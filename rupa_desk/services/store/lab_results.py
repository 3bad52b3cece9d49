"""Structured results in the database: each ordered test's latest message, its results, the
inbox, and the marks only this PC keeps.

The message is kept as received (`result_reports.message`); what the desk reads is made from
it by `rupa_desk.core.hl7_results` each time (`rows`), so the Orders pane and
`rupa-desk results show` say the same. One row per result (`lab_results`) feeds the inbox:
when it arrived, whether the lab flagged it, and "Reviewed by practitioner" / "Patient told"
with who and when (kept locally, never sent).

A newer message (preliminary → final → corrected) replaces the older one in one
transaction. A result whose value and flags did not change keeps its marks and its arrival
time; a changed one arrives anew without marks (the patient may need telling again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from rupa_desk.core.hl7_results import (
    ResultRow,
    ResultsReport,
    ResultStatus,
    UnreadableResults,
    read_results,
    result_rows,
)
from rupa_desk.services.store.sync_state import from_iso, to_iso, utc_now


@dataclass(frozen=True, slots=True)
class SavedResults:
    """What saving a message changed.

    Attributes:
        ordered_test_id: the ordered test.
        order_id: its order.
        status: the report's status in words ("Final"), or "" when it could not be read.
        abnormal: how many results the lab flagged.
        changed: how many results are new or differ from the earlier message.
        corrected: how many results the lab marked corrected.
        error: the words for the desk when the message could not be read, else "".
    """

    ordered_test_id: str
    order_id: str
    status: str
    abnormal: int
    changed: int
    corrected: int
    error: str = ""


@dataclass(frozen=True, slots=True)
class OrderedTestResults:
    """One ordered test's structured results, as the desk reads them.

    Attributes:
        ordered_test_id: the ordered test.
        rows: the results table (empty when none or unreadable).
        status: the report's status in words ("Preliminary", "Final", "Corrected").
        pending: the analytes still to come.
        error: why the message could not be read ("" when it could).
        corrected: the lab corrected results after they were reported (rows say which).
        received: when the lab sent this version.
    """

    ordered_test_id: str
    rows: tuple[ResultRow, ...]
    status: str
    pending: tuple[str, ...]
    error: str
    corrected: bool
    received: datetime | None

    @property
    def summary(self) -> str:
        """One sentence above the table: where the results stand, what is still to come."""
        if self.error and not self.rows:
            return self.error
        parts = []
        if self.status == "Corrected" or self.corrected:
            parts.append("The lab corrected results after reporting them; corrected rows say so.")
        elif self.status == "Final":
            parts.append("Final results.")
        else:
            parts.append("Preliminary results: they may still change.")
        if self.pending:
            count = len(self.pending)
            parts.append(f"{count} result{'s' if count > 1 else ''} still to come.")
        if self.error:
            parts.append(self.error)
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One result in the inbox (no value: the inbox names what came, the table shows it).

    Attributes:
        id: the row's local id (for the marks).
        order_id: its order.
        ordered_test_id: its ordered test.
        patient_name: the order's patient, when cached ("" when not).
        test: the ordered test (the lab's panel name).
        analyte: what was measured.
        flags: the flags' codes ("H", "LL"), empty when normal.
        status: the result's status in words.
        arrived_at: when this PC received it.
        reviewed_by, reviewed_at: "Reviewed by practitioner" (who marked it, when).
        told_by, told_at: "Patient told" (who marked it, when).
    """

    id: int
    order_id: str
    ordered_test_id: str
    patient_name: str
    test: str
    analyte: str
    flags: tuple[str, ...]
    status: str
    arrived_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    told_by: str | None
    told_at: datetime | None

    @property
    def abnormal(self) -> bool:
        return bool(self.flags)


class LabResults:
    """The structured results of every ordered test on this PC.

    Args:
        db: the account's database.
        clock: the wall clock (arrival and mark times).
    """

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    # -- what to fetch ---------------------------------------------------------------------

    def to_fetch(self, order_id: str) -> list[tuple[str, str, datetime | None]]:
        """The ordered tests of an order whose structured results are missing or out of
        date: (ordered test id, `results_hl7` as Rupa sent it, the results' date)."""
        rows = self._db.execute(
            "SELECT t.id, t.results_hl7, t.date_results_received FROM ordered_tests t"
            " LEFT JOIN result_reports r ON r.ordered_test_id = t.id"
            " WHERE t.order_id = ? AND t.results_hl7 IS NOT NULL AND (r.ordered_test_id IS NULL"
            " OR r.date_results_received IS NOT t.date_results_received)"
            " ORDER BY t.id",
            [order_id],
        ).fetchall()
        return [(str(r[0]), str(r[1]), from_iso(r[2])) for r in rows]

    # -- writing ---------------------------------------------------------------------------

    def save(
        self, order_id: str, ordered_test_id: str, received: datetime | None, data: bytes | str
    ) -> SavedResults:
        """Read a message and keep it with its results, replacing the earlier one.

        A message that cannot be read is kept with its error (the order says so; the PDF is
        still shown), and the results read from an earlier message are kept.
        """
        message = data.encode("utf-8") if isinstance(data, str) else data
        try:
            report = read_results(data)
        except UnreadableResults as exc:
            with self._db.atomic():
                self._save_report(order_id, ordered_test_id, received, message, exc.user_message)
            return SavedResults(ordered_test_id, order_id, "", 0, 0, 0, exc.user_message)
        now = to_iso(self._clock())
        with self._db.atomic():
            earlier = {
                str(r[0]): r[1:]
                for r in self._db.execute(
                    "SELECT analyte_key, value, flags, arrived_at, reviewed_by, reviewed_at,"
                    " told_by, told_at FROM lab_results WHERE ordered_test_id = ?",
                    [ordered_test_id],
                )
            }
            self._db.execute("DELETE FROM lab_results WHERE ordered_test_id = ?", [ordered_test_id])
            changed = 0
            rows = _indexed(report)
            for position, (key, panel, observation_value, flags, abnormal, status, analyte) in rows:
                before = earlier.get(key)
                same = before is not None and (before[0], before[1]) == (observation_value, flags)
                if not same:
                    changed += 1
                kept: Sequence[Any] = (
                    before[2:] if same and before else (now, None, None, None, None)
                )
                self._db.execute(
                    "INSERT INTO lab_results (ordered_test_id, order_id, position, analyte_key,"
                    " panel, analyte, value, flags, abnormal, status, arrived_at, reviewed_by,"
                    " reviewed_at, told_by, told_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " ?, ?, ?, ?)",
                    [ordered_test_id, order_id, position, key, panel, analyte, observation_value,
                     flags, int(abnormal), status, *kept],
                )  # fmt: skip
            corrected = sum(1 for o in report.observations() if o.status is ResultStatus.CORRECTED)
            self._save_report(order_id, ordered_test_id, received, message, None, report, corrected)
        return SavedResults(
            ordered_test_id,
            order_id,
            report.status.value,
            report.abnormal_count,
            changed,
            corrected,
        )

    def _save_report(
        self,
        order_id: str,
        ordered_test_id: str,
        received: datetime | None,
        message: bytes,
        error: str | None,
        report: ResultsReport | None = None,
        corrected: int = 0,
    ) -> None:
        if report is None:
            # keep the earlier readable message, if any, and note that the new one failed
            self._db.execute(
                "INSERT INTO result_reports (ordered_test_id, order_id, date_results_received,"
                " message, error, status, fetched_at) VALUES (?, ?, ?, NULL, ?, '', ?)"
                " ON CONFLICT (ordered_test_id) DO UPDATE SET error = excluded.error,"
                " date_results_received = excluded.date_results_received,"
                " fetched_at = excluded.fetched_at",
                [ordered_test_id, order_id, _iso(received), error, to_iso(self._clock())],
            )
            return
        self._db.execute(
            "INSERT INTO result_reports (ordered_test_id, order_id, date_results_received,"
            " message, error, status, corrected, fetched_at) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)"
            " ON CONFLICT (ordered_test_id) DO UPDATE SET message = excluded.message,"
            " error = NULL, status = excluded.status, corrected = excluded.corrected,"
            " date_results_received = excluded.date_results_received,"
            " fetched_at = excluded.fetched_at",
            [
                ordered_test_id,
                order_id,
                _iso(received),
                message,
                report.status.value,
                corrected,
                to_iso(self._clock()),
            ],
        )

    def mark_reviewed(self, result_ids: Sequence[int], who: str) -> None:
        """ "Reviewed by practitioner" on these results, by `who`, now."""
        self._mark("reviewed", result_ids, who)

    def mark_told(self, result_ids: Sequence[int], who: str) -> None:
        """ "Patient told" on these results, by `who`, now."""
        self._mark("told", result_ids, who)

    def _mark(self, mark: str, result_ids: Sequence[int], who: str) -> None:
        column = {"reviewed": "reviewed", "told": "told"}[mark]
        with self._db.atomic():
            for result_id in result_ids:
                self._db.execute(
                    f"UPDATE lab_results SET {column}_by = ?, {column}_at = ? WHERE id = ?",
                    [who, to_iso(self._clock()), int(result_id)],
                )

    def mark_inbox_seen(self) -> None:
        """The inbox was looked at now (the sidebar counts what arrives after)."""
        with self._db.atomic():
            self._db.execute(
                "INSERT INTO result_inbox (id, seen_at) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                [to_iso(self._clock())],
            )

    # -- reading ---------------------------------------------------------------------------

    def results(self, ordered_test_id: str) -> OrderedTestResults | None:
        """An ordered test's results as the desk reads them; None when none came yet."""
        row = self._db.execute(
            "SELECT message, error, corrected, date_results_received FROM result_reports"
            " WHERE ordered_test_id = ?",
            [ordered_test_id],
        ).fetchone()
        if row is None:
            return None
        message, error, corrected, received = row
        report = None
        if message is not None:
            try:
                report = read_results(bytes(message))
            except UnreadableResults as exc:  # read before; a newer reader may refuse it
                error = error or exc.user_message
        return OrderedTestResults(
            ordered_test_id=ordered_test_id,
            rows=tuple(result_rows(report)) if report else (),
            status=report.status.value if report else "",
            pending=tuple(a for p in report.panels for a in p.pending) if report else (),
            error=str(error or ""),
            corrected=bool(corrected),
            received=from_iso(received),
        )

    def inbox(
        self,
        *,
        abnormal_not_told: bool = False,
        limit: int = 10_000,
        offset: int = 0,
        ids: Sequence[int] | None = None,
    ) -> list[InboxItem]:
        """Results that arrived, newest first and, among those of one moment, abnormal
        first; only abnormal ones whose patient was not told yet when asked; `limit` of
        them from `offset` on (a long inbox is read in parts); only `ids` when given."""
        where = "WHERE r.status != 'Pending'"
        params: list[Any] = []
        if abnormal_not_told:
            where += " AND r.abnormal = 1 AND r.told_at IS NULL"
        if ids is not None:
            where += f" AND r.id IN ({','.join('?' * len(ids))})"
            params.extend(int(i) for i in ids)
        rows = self._db.execute(
            "SELECT r.id, r.order_id, r.ordered_test_id, coalesce(p.first_name || ' ' ||"
            " p.last_name, ''), r.panel, r.analyte, r.flags, r.status, r.arrived_at,"
            " r.reviewed_by, r.reviewed_at, r.told_by, r.told_at FROM lab_results r"
            " LEFT JOIN orders o ON o.id = r.order_id LEFT JOIN patients p ON p.id = o.patient_id"
            f" {where} ORDER BY r.arrived_at DESC, r.abnormal DESC, r.ordered_test_id, r.position"
            " LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [
            InboxItem(
                id=int(r[0]),
                order_id=str(r[1]),
                ordered_test_id=str(r[2]),
                patient_name=str(r[3]),
                test=str(r[4]),
                analyte=str(r[5]),
                flags=tuple(f for f in str(r[6]).split(",") if f),
                status=str(r[7]),
                arrived_at=from_iso(r[8]) or self._clock(),
                reviewed_by=r[9],
                reviewed_at=from_iso(r[10]),
                told_by=r[11],
                told_at=from_iso(r[12]),
            )
            for r in rows
        ]

    def patient_reports(self, patient_id: str) -> list[tuple[datetime, ResultsReport]]:
        """Every readable message of a patient's orders, with when its results came (for
        trends)."""
        rows = self._db.execute(
            "SELECT r.message, r.date_results_received, r.fetched_at FROM result_reports r"
            " JOIN orders o ON o.id = r.order_id WHERE o.patient_id = ? AND r.message IS NOT NULL",
            [patient_id],
        ).fetchall()
        reports = []
        for message, received, fetched in rows:
            try:
                report = read_results(bytes(message))
            except UnreadableResults:
                continue
            reports.append((from_iso(received) or from_iso(fetched) or self._clock(), report))
        return reports

    def inbox_ids(self, *, abnormal_not_told: bool = False, limit: int = 10_000) -> list[int]:
        """The ids of `inbox`'s values in its order (cheap: a long inbox reads its values
        in parts by these)."""
        where = "WHERE status != 'Pending'"
        if abnormal_not_told:
            where += " AND abnormal = 1 AND told_at IS NULL"
        return [
            int(r[0])
            for r in self._db.execute(
                f"SELECT id FROM lab_results {where}"
                " ORDER BY arrived_at DESC, abnormal DESC, ordered_test_id, position LIMIT ?",
                [limit],
            )
        ]

    def unseen_count(self) -> int:
        """Results that arrived since the inbox was last looked at (the sidebar's count)."""
        seen = self._db.execute("SELECT seen_at FROM result_inbox WHERE id = 1").fetchone()
        query = "SELECT count(*) FROM lab_results WHERE status != 'Pending'"
        if seen is None:
            return int(self._db.execute(query).fetchone()[0])
        return int(self._db.execute(query + " AND arrived_at > ?", [seen[0]]).fetchone()[0])


def _indexed(
    report: ResultsReport,
) -> list[tuple[int, tuple[str, str, str, str, bool, str, str]]]:
    """Each result with a key that finds it again in a later message (panel, code or name,
    units, and which occurrence), and what the inbox keeps of it."""
    seen: dict[str, int] = {}
    indexed: list[tuple[int, tuple[str, str, str, str, bool, str, str]]] = []
    for panel in report.panels:
        for observation in panel.observations:
            base = "\x1f".join(
                (panel.name, observation.loinc or observation.code or observation.analyte,
                 observation.units)
            )  # fmt: skip
            seen[base] = seen.get(base, 0) + 1
            flags = ",".join(f.code for f in observation.flags)
            indexed.append(
                (
                    len(indexed),
                    (
                        f"{base}\x1f{seen[base]}",
                        panel.name,
                        observation.value,
                        flags,
                        observation.abnormal,
                        observation.status.value,
                        observation.analyte,
                    ),
                )
            )
    return indexed


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else to_iso(moment)

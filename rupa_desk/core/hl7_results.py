"""Structured results: an HL7 v2 ORU^R01 message (`results_hl7`) read into typed values.

The message is read by python-hl7 (`hl7`), which splits segments, fields, repetitions and
components by the separators the message declares and undoes escape sequences; this module
only says what each field means (HL7 v2.5.1, chapter 7):

- OBR, one per panel: the panel's name and code (OBR-4), when it was collected (OBR-7) and its
  result status (OBR-25);
- OBX, one per result: value type (OBX-2), analyte and LOINC code (OBX-3), value (OBX-5:
  numeric, structured numeric, coded or text, repetitions as lines), units (OBX-6), reference
  range (OBX-7), abnormal flags (OBX-8), result status (OBX-11), when observed (OBX-14);
- NTE: comments on the result, panel or message they follow.

Segments it does not know (Z-segments, newer ones) are skipped and named in the report. Every
value is checked here, where it is read: no control characters, bounded lengths and counts. A
message that cannot be read raises `UnreadableResults` (a known error: the PDF still shows the
results), never anything else.

`result_rows` turns a report into the rows the Orders pane and `rupa-desk results show` print,
so that both say exactly the same.
"""

from __future__ import annotations

import enum
import gc
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final

import hl7
import hl7.exceptions
from hl7.datatypes import parse_datetime
from hl7.util import unescape

from rupa_desk.core.errors import KnownError
from rupa_desk.core.jsonapi import is_clean_text

#: Bounds on what one message may hold (far above any lab report).
MAX_MESSAGE_CHARACTERS: Final = 2_000_000
MAX_OBSERVATIONS: Final = 5_000
MAX_NAME_LENGTH: Final = 300
MAX_VALUE_LENGTH: Final = 50_000
MAX_SHORT_LENGTH: Final = 300
#: Segments an ORU^R01 may carry that hold nothing shown here; any other one is "unknown".
KNOWN_SEGMENTS: Final = frozenset(
    {"MSH", "SFT", "UAC", "PID", "PD1", "NK1", "PV1", "PV2", "ORC", "OBR", "OBX", "NTE",
     "TQ1", "TQ2", "CTD", "CTI", "FT1", "SPM", "DSC", "TXA", "PRT", "TCD", "SID", "ROL"}
)  # fmt: skip
#: MSH-18 values read as UTF-8 (empty: HL7's default, ASCII, is a part of it).
_UTF8_CHARSETS: Final = frozenset({"", "UNICODE UTF-8", "UTF-8", "ASCII"})
_LATIN1_CHARSETS: Final = frozenset({"8859/1"})
_LOINC: Final = re.compile(r"[0-9]{1,7}-[0-9]")
_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_FLAG_CODE: Final = re.compile(r"[A-Za-z<>]{1,5}")
_NUMERIC_LIMIT: Final = Decimal("1e15")
#: The header segment (MSH) of a message, whatever ends its segments.
_HEADER: Final = re.compile(r"\s*([^\r\n]*)")
#: python-hl7's containers are lists; an index reads them as lists (their own `__getitem__`
#: only adds wrapping of slices, which this reader never takes, at a cost per call).
_item: Final = list.__getitem__
#: The escape sequences python-hl7 undoes cleanly (HL7 2.5.1, 2.7): separators, highlighting,
#: formatting with a small count, hex bytes. python-hl7 logs the field (patient data) for
#: others and raises on a bad count, so any other use of the escape character is refused.
_ESCAPE_SEQUENCE: Final = (
    r"[FSTREHN]|\.(?:br|fi|nf|ce)|\.sp[0-9]{0,2}|\.(?:in|ti|sk)[+-]?[0-9]{1,2}"
    r"|X(?:[0-9A-Fa-f]{2}){1,16}"
)


class UnreadableResults(KnownError):
    """The lab's structured results could not be read (the PDF still shows them)."""

    default_message = "The lab's result values could not be read."
    next_step = "The PDF shows the results; if this keeps happening, tell Rupa support."


class ResultStatus(enum.Enum):
    """Where a result (or a panel) stands; the value is the word the desk reads."""

    PENDING = "Pending"
    PRELIMINARY = "Preliminary"
    FINAL = "Final"
    CORRECTED = "Corrected"
    CANCELED = "Not performed"


#: OBX-11 / OBR-25 codes (HL7 tables 0085 and 0123). Unknown codes read as preliminary: a
#: result is never shown as final unless the lab said so.
_STATUS_CODES: Final[dict[str, ResultStatus]] = {
    "O": ResultStatus.PENDING,
    "I": ResultStatus.PENDING,
    "S": ResultStatus.PENDING,
    "": ResultStatus.PENDING,
    "R": ResultStatus.PRELIMINARY,
    "P": ResultStatus.PRELIMINARY,
    "A": ResultStatus.PRELIMINARY,
    "F": ResultStatus.FINAL,
    "C": ResultStatus.CORRECTED,
    "M": ResultStatus.CORRECTED,
    "X": ResultStatus.CANCELED,
    "D": ResultStatus.CANCELED,
    "W": ResultStatus.CANCELED,
}


@dataclass(frozen=True, slots=True)
class AbnormalFlag:
    """One abnormal flag of OBX-8 (HL7 table 0078), with words for the chip.

    Attributes:
        code: as the lab sent it ("H", "LL", "A", …).
        words: what it means, for the screen ("High").
        tone: "high", "low", "critical" or "abnormal" (the chip's colour).
    """

    code: str
    words: str
    tone: str


_FLAGS: Final[dict[str, tuple[str, str]]] = {
    "H": ("High", "high"),
    "L": ("Low", "low"),
    "HH": ("Critically high", "critical"),
    "LL": ("Critically low", "critical"),
    "A": ("Abnormal", "abnormal"),
    "AA": ("Critically abnormal", "critical"),
    ">": ("Above what the lab can measure", "high"),
    "<": ("Below what the lab can measure", "low"),
}
#: Flags that mean "not abnormal" (nothing is shown).
_NORMAL_FLAGS: Final = frozenset({"N", ""})


def abnormal_flag(code: str) -> AbnormalFlag:
    """The flag for an OBX-8 code (an unknown code reads "Flagged by the lab")."""
    words, tone = _FLAGS.get(code.upper(), ("Flagged by the lab", "abnormal"))
    return AbnormalFlag(code.upper(), words, tone)


@dataclass(frozen=True, slots=True)
class Observation:
    """One result (an OBX segment and the NTE comments after it).

    Attributes:
        analyte: what was measured, as the lab names it.
        code: the lab's code for it (OBX-3.1; may be empty).
        loinc: its LOINC code, when the lab gave one.
        value_type: HL7's value type (NM, SN, CWE, TX, …; empty for a pending result).
        value: the value as shown ("" while pending); text results keep their lines.
        numeric: the value as a number, when it is one (trends plot these).
        units: the units ("mg/dL"; may be empty).
        reference_range: the lab's reference range as sent ("3.5-5.0", "<200", "Negative").
        flags: the abnormal flags (empty when normal).
        status: preliminary, final, corrected, pending or not performed.
        observed_at: when the sample was taken or the result observed, if given.
        comments: the lab's comments on this result.
    """

    analyte: str
    code: str
    loinc: str | None
    value_type: str
    value: str
    numeric: Decimal | None
    units: str
    reference_range: str
    flags: tuple[AbnormalFlag, ...]
    status: ResultStatus
    observed_at: datetime | None = None
    comments: tuple[str, ...] = ()

    @property
    def abnormal(self) -> bool:
        """True when the lab flagged the value (high, low, critical or abnormal)."""
        return bool(self.flags)


@dataclass(frozen=True, slots=True)
class Panel:
    """One ordered panel (an OBR segment) and its results.

    Attributes:
        name: the panel's name ("Comprehensive Metabolic Panel").
        code: the lab's code for it (OBR-4.1).
        loinc: its LOINC code, when given.
        status: the panel's result status (OBR-25): pending, preliminary, final, corrected.
        observed_at: when the sample was collected (OBR-7), if given.
        observations: its results in message order.
        comments: the lab's comments on the panel.
    """

    name: str
    code: str
    loinc: str | None
    status: ResultStatus
    observed_at: datetime | None
    observations: tuple[Observation, ...]
    comments: tuple[str, ...] = ()

    @property
    def pending(self) -> tuple[str, ...]:
        """The analytes whose results are still to come."""
        return tuple(o.analyte for o in self.observations if o.status is ResultStatus.PENDING)


@dataclass(frozen=True, slots=True)
class ResultsReport:
    """A whole message: its panels, its comments and the segments that were skipped.

    Attributes:
        panels: the panels in message order.
        message_id: MSH-10, the lab system's id of this message (may be empty).
        sent_at: MSH-7, when the lab system made it, if given.
        comments: comments that belong to no panel.
        unknown_segments: the names of skipped segments (in order, without repeats).
    """

    panels: tuple[Panel, ...]
    message_id: str = ""
    sent_at: datetime | None = None
    comments: tuple[str, ...] = ()
    unknown_segments: tuple[str, ...] = field(default=())

    def observations(self) -> Iterator[Observation]:
        """Every result of every panel."""
        for panel in self.panels:
            yield from panel.observations

    @property
    def abnormal_count(self) -> int:
        """How many results the lab flagged."""
        return sum(1 for o in self.observations() if o.abnormal)

    @property
    def status(self) -> ResultStatus:
        """The report's status: corrected if any result was, else the least advanced one."""
        statuses = {o.status for o in self.observations()} | {p.status for p in self.panels}
        if ResultStatus.CORRECTED in statuses:
            return ResultStatus.CORRECTED
        for status in (ResultStatus.PENDING, ResultStatus.PRELIMINARY):
            if status in statuses:
                return status
        return ResultStatus.FINAL


# -- reading ------------------------------------------------------------------------------------


def read_results(data: bytes | str) -> ResultsReport:
    """Read an ORU^R01 message (the bytes downloaded, or the text Rupa sent inline).

    Bytes are decoded by the character set the message declares (MSH-18: UTF-8 when empty,
    or ISO 8859-1); text is taken as it is. Segments may end in CR (HL7's own), LF or CR LF.

    Raises:
        UnreadableResults: not an HL7 results message, a character set it cannot read, a
            value with control characters or beyond the bounds, too many results.
    """
    if len(data) > MAX_MESSAGE_CHARACTERS:
        raise UnreadableResults("The lab's result values are too large to read.")
    with _collector_paused():
        return _report(_decode(data) if isinstance(data, bytes) else _parse(data))


_pausing_lock = threading.Lock()
_pausing = 0
_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a message is read, back on after.

    python-hl7 builds a container for every field, repetition and component (thousands for a
    large message); the collector would scan them again and again as they are made, though
    none is part of a cycle and all are freed as soon as the report is built. Paused, that
    work is not done at all: what the reading keeps (the report) is scanned once, later.
    Counted, so that readings in several threads at once turn it back on only after the last.
    """
    global _pausing, _was_enabled
    with _pausing_lock:
        if _pausing == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _pausing_lock:
            _pausing -= 1
            if _pausing == 0 and _was_enabled:
                gc.enable()


def _parse(text: str) -> hl7.Message:
    """Check the message as a whole, then have python-hl7 parse it.

    No control characters anywhere (one search over the message, so that a value read
    later without escapes needs only its length checked) and only escape sequences that
    python-hl7 undoes cleanly.
    """
    # one CR between segments (blank lines dropped), as python-hl7 expects
    normalized = re.sub(r"[\r\n]+", "\r", text).strip()
    if not normalized.startswith("MSH") or len(normalized) < 8:
        raise UnreadableResults()
    separators = normalized[3:8]
    # five distinct separators, none a letter, digit, space or segment end (HL7 2.5.1, 2.5.4)
    if len(set(separators)) != 5 or any(c.isalnum() or c.isspace() for c in separators):
        raise UnreadableResults()
    escape = re.escape(separators[3])
    unescaped = re.sub(f"{escape}(?:{_ESCAPE_SEQUENCE}){escape}", "", normalized[8:])
    if separators[3] in unescaped:
        raise UnreadableResults()
    try:
        message = hl7.parse(normalized)
    except (hl7.exceptions.ParseException, ValueError, IndexError) as exc:
        raise UnreadableResults() from exc
    if not isinstance(message, hl7.Message):
        raise UnreadableResults()
    return message


def _decode(data: bytes) -> hl7.Message:
    """Parse bytes in the character set the message declares in MSH-18.

    MSH-18 is read from the header segment alone (parsed by python-hl7 too), so that the
    whole message is parsed once, in its own character set.
    """
    # Latin-1 maps every byte, and ASCII the same as UTF-8 does: enough to read MSH-18
    text = data.decode("latin-1")
    header = _HEADER.match(text)
    charset = _first(_parse(header.group(1) if header else text)[0], 18).upper()
    if charset in _LATIN1_CHARSETS or (charset in _UTF8_CHARSETS and data.isascii()):
        return _parse(text)
    if charset not in _UTF8_CHARSETS:
        raise UnreadableResults(
            "The lab's result values use a character set Rupa Desk cannot read."
        )
    try:
        return _parse(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UnreadableResults(
            "The lab's result values hold characters that do not match their character set."
        ) from exc


def _report(message: hl7.Message) -> ResultsReport:
    msh = message[0]
    kind = _first(msh, 9).upper()
    if kind != "ORU":
        raise UnreadableResults("The lab sent something other than results.")
    panels: list[_PanelBuilder] = []
    comments: list[str] = []
    unknown: dict[str, None] = {}
    count = 0
    for segment in message[1:]:
        name = str(_item(segment, 0))
        if name == "OBR":
            panels.append(_PanelBuilder(segment))
        elif name == "OBX":
            count += 1
            if count > MAX_OBSERVATIONS:
                raise UnreadableResults("The lab sent more result values than can be shown.")
            if not panels:
                panels.append(_PanelBuilder(None))
            panels[-1].observations.append(_ObservationBuilder(segment))
        elif name == "NTE":
            comment = _lines(segment, 3, MAX_VALUE_LENGTH)
            if not panels:
                comments.append(comment)
            elif panels[-1].observations:
                panels[-1].observations[-1].comments.append(comment)
            else:
                panels[-1].comments.append(comment)
        elif name not in KNOWN_SEGMENTS:
            unknown[_checked(name, 3) if re.fullmatch(r"[A-Z0-9]{3}", name) else "???"] = None
    return ResultsReport(
        panels=tuple(p.build() for p in panels),
        message_id=_first(msh, 10),
        sent_at=_moment(msh, 7),
        comments=tuple(comments),
        unknown_segments=tuple(unknown),
    )


class _PanelBuilder:
    def __init__(self, obr: hl7.Segment | None) -> None:
        self.obr = obr
        self.observations: list[_ObservationBuilder] = []
        self.comments: list[str] = []

    def build(self) -> Panel:
        observations = tuple(o.build() for o in self.observations)
        obr = self.obr
        if obr is None:
            status = _report_status(observations)
            return Panel("Results", "", None, status, None, observations, tuple(self.comments))
        code, name, loinc = _coded_name(obr, 4)
        status_code = _first(obr, 25).upper()
        status = (
            _STATUS_CODES.get(status_code, ResultStatus.PRELIMINARY)
            if status_code
            else _report_status(observations)
        )
        return Panel(
            name=name or "Results",
            code=code,
            loinc=loinc,
            status=status,
            observed_at=_moment(obr, 7),
            observations=observations,
            comments=tuple(self.comments),
        )


def _report_status(observations: tuple[Observation, ...]) -> ResultStatus:
    statuses = {o.status for o in observations}
    for status in (ResultStatus.PENDING, ResultStatus.PRELIMINARY, ResultStatus.CORRECTED):
        if status in statuses:
            return status
    return ResultStatus.FINAL if statuses else ResultStatus.PENDING


class _ObservationBuilder:
    def __init__(self, obx: hl7.Segment) -> None:
        self.obx = obx
        self.comments: list[str] = []

    def build(self) -> Observation:
        obx = self.obx
        code, name, loinc = _coded_name(obx, 3)
        value_type = _first(obx, 2).upper()
        value, numeric = _value(obx, value_type)
        status_code = _first(obx, 11).upper()
        status = _STATUS_CODES.get(status_code, ResultStatus.PRELIMINARY)
        if status is ResultStatus.PENDING and value:
            status = ResultStatus.PRELIMINARY  # a value that came is no longer pending
        units = _leaves(obx, 6)
        flags = []
        for repetition in _leaves(obx, 8):
            flag = _clean(obx, repetition[0], MAX_SHORT_LENGTH)
            if flag.upper() in _NORMAL_FLAGS:
                continue
            if not _FLAG_CODE.fullmatch(flag):
                raise UnreadableResults()
            flags.append(abnormal_flag(flag))
        return Observation(
            analyte=name or code or "Result",
            code=code,
            loinc=loinc,
            value_type=value_type,
            value=value,
            numeric=numeric,
            units=_component(obx, units, 0) or _component(obx, units, 1),
            reference_range=_first(obx, 7),
            flags=tuple(flags),
            status=status,
            observed_at=_moment(obx, 14),
            comments=tuple(self.comments),
        )


def _value(obx: hl7.Segment, value_type: str) -> tuple[str, Decimal | None]:
    """OBX-5 as shown, and as a number when it is one."""
    if value_type == "NM":
        text = _first(obx, 5)
        return text, _number(text)
    if value_type == "SN":
        leaves = _leaves(obx, 5)
        parts = [_component(obx, leaves, c) for c in (0, 1, 2, 3)]
        text = "".join(parts)
        if parts[0] or parts[2] or parts[3]:
            return text, None  # a comparison or a ratio ("<0.5", "1:128")
        return text, _number(parts[1])
    if value_type in ("CE", "CWE", "CNE", "CF"):
        leaves = _leaves(obx, 5)
        shown = [
            _component(obx, leaves, 1, repetition=r)
            or _component(obx, leaves, 4, repetition=r)
            or _component(obx, leaves, 0, repetition=r)
            for r in range(len(leaves) or 1)
        ]
        return _checked(", ".join(s for s in shown if s), MAX_VALUE_LENGTH), None
    # text (ST, TX, FT) and any other type: each repetition a line, components as sent
    return _lines(obx, 5, MAX_VALUE_LENGTH), None


def _number(text: str) -> Decimal | None:
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None
    return number if abs(number) < _NUMERIC_LIMIT else None


def _coded_name(segment: hl7.Segment, index: int) -> tuple[str, str, str | None]:
    """(code, name, LOINC code or None) of a coded element (CE/CWE: id^text^system^alt…)."""
    leaves = _leaves(segment, index)
    parts = [_clean(segment, raw, MAX_SHORT_LENGTH) for raw in leaves[0][:6]] if leaves else []
    parts += [""] * (6 - len(parts))
    code = parts[0]
    name = parts[1] or parts[4]
    loinc = None
    for code_at, system_at in ((0, 2), (3, 5)):
        candidate = parts[code_at]
        if parts[system_at].upper() in ("LN", "LOINC") and _LOINC.fullmatch(candidate):
            loinc = candidate
            break
    return code, _checked(name, MAX_NAME_LENGTH), loinc


def _moment(segment: hl7.Segment, index: int) -> datetime | None:
    """A DTM field as a moment; None when empty or not a date (it is only shown)."""
    text = _first(segment, index)
    try:
        return parse_datetime(text) if text else None
    except (ValueError, OverflowError):
        return None


def _lines(segment: hl7.Segment, index: int, limit: int) -> str:
    """A text field's repetitions, each a line, components joined as the lab wrote them."""
    lines = []
    for repetition in _leaves(segment, index) or [[""]]:
        components = (_clean(segment, leaf, limit) for leaf in repetition)
        lines.append(" ".join(c for c in components if c))
    return _checked("\n".join(lines).strip("\n"), limit)


def _leaves(segment: hl7.Segment, index: int) -> list[list[str]]:
    """A field as python-hl7 split it: its repetitions, each the text of its components (the
    first subcomponent), still escaped; [] when the field is not there or empty.

    One walk of the field, so that a field read for several components is walked once.
    """
    if index >= len(segment):
        return []
    value = _item(segment, index)
    if not value:
        return []
    first = _item(value, 0)
    if not isinstance(first, hl7.Repetition):
        return [[str(first)]]
    return [[_subcomponent(leaf) for leaf in repetition] for repetition in value]


def _subcomponent(leaf: object) -> str:
    if isinstance(leaf, hl7.Component):
        return str(_item(leaf, 0)) if leaf else ""
    return str(leaf)


def _first(segment: hl7.Segment, index: int, limit: int = MAX_SHORT_LENGTH) -> str:
    """The first component of a field's first repetition, shown (see `_clean`); "" when the
    field is not there. Reads only that leaf (most fields are read for it alone)."""
    if index >= len(segment):
        return ""
    value = _item(segment, index)
    if not value:
        return ""
    leaf = _item(value, 0)
    if isinstance(leaf, hl7.Repetition):
        leaf = _subcomponent(_item(leaf, 0)) if leaf else ""
    return _clean(segment, str(leaf), limit)


def _component(
    segment: hl7.Segment,
    leaves: list[list[str]],
    component: int,
    *,
    repetition: int = 0,
    limit: int = MAX_SHORT_LENGTH,
) -> str:
    """One component (0-based) of one repetition of `_leaves`, shown; "" when not there."""
    if repetition >= len(leaves):
        return ""
    components = leaves[repetition]
    if component >= len(components):
        return ""
    return _clean(segment, components[component], limit)


def _clean(segment: hl7.Segment, raw: str, limit: int) -> str:
    """One leaf as shown: escapes undone by python-hl7, line breaks as "\\n", trimmed, and
    checked. Without escapes only its length needs checking (`_parse` checked the
    characters of the whole message); an escape may make any character, so the text it
    makes is checked whole."""
    if not raw:
        return ""
    if segment.esc not in raw:
        text = raw.strip()
        if len(text) > limit:
            raise UnreadableResults()
        return text
    text = unescape(segment, raw)
    if "\r" in text:
        text = text.replace("\r", "\n")
    return _checked(text.strip(), limit)


def _checked(text: str, limit: int) -> str:
    if not is_clean_text(text, limit):
        raise UnreadableResults()
    return text


# -- what the desk reads --------------------------------------------------------------------------


#: The columns of a results table, in order (the pane's headers and the CLI's).
COLUMNS: Final = ("Analyte", "Value", "Units", "Range", "Flag", "Status")


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One row of a results table, as shown (the Orders pane and the command line).

    Attributes:
        panel: the panel's name.
        analyte: what was measured.
        value: the value ("Pending" while it is).
        units: the units.
        reference_range: the lab's range.
        flags: the flags' words ("High"), empty when normal.
        flag_codes: the flags as the lab sent them ("H").
        status: the result's status in words.
        comments: the lab's comments, one per line.
    """

    panel: str
    analyte: str
    value: str
    units: str
    reference_range: str
    flags: tuple[str, ...]
    flag_codes: tuple[str, ...]
    status: str
    comments: str

    def cells(self) -> tuple[str, str, str, str, str, str]:
        """The row's cells under `COLUMNS`, as shown (flags in words)."""
        return (
            self.analyte,
            self.value,
            self.units,
            self.reference_range,
            ", ".join(self.flags),
            self.status,
        )

    def as_dict(self) -> dict[str, object]:
        """The row as JSON-ready values (`rupa-desk results show --json`)."""
        return {
            "panel": self.panel,
            "analyte": self.analyte,
            "value": self.value,
            "units": self.units,
            "reference_range": self.reference_range,
            "flags": list(self.flags),
            "flag_codes": list(self.flag_codes),
            "status": self.status,
            "comments": self.comments,
        }


def result_rows(report: ResultsReport) -> list[ResultRow]:
    """The rows a results table shows, in the lab's order."""
    rows = []
    for panel in report.panels:
        for o in panel.observations:
            pending = o.status is ResultStatus.PENDING
            rows.append(
                ResultRow(
                    panel=panel.name,
                    analyte=o.analyte,
                    value="Pending" if pending and not o.value else o.value,
                    units=o.units,
                    reference_range=o.reference_range,
                    flags=tuple(f.words for f in o.flags),
                    flag_codes=tuple(f.code for f in o.flags),
                    status=o.status.value,
                    comments="\n".join(o.comments),
                )
            )
    return rows

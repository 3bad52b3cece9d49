"""Structured results as HL7 v2.5.1 ORU^R01 messages, served as `results_hl7` (a URL).

One message per ordered test: MSH, PID, ORC, one OBR for the test, one OBX per biomarker
and an interpretation, with NTE comments. Values are deterministic per ordered test and
biomarker: numeric results (NM) with units, reference ranges and H/L/HH/LL flags, structured
numeric titers (SN), coded results (CWE: detected, genotypes) with an A flag when abnormal,
text (TX, several lines); LOINC codes for the analytes that have a well-known one.

Versions follow the order: preliminary (about half the results, the rest pending), final,
and corrected (one value changed, marked C, with a comment saying what it was before).

The text is written here, escaping HL7's separators; nothing is shared with the app's reader.
Fault switches (`FaultSettings`): `hl7_malformed` (no MSH header), `hl7_unknown_segments`
(Z-segments among the others), `hl7_wrong_charset` (Latin-1 bytes under a UTF-8 header).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

#: analyte → (LOINC or "", units, low, high, decimals)
NUMERIC: Final[dict[str, tuple[str, str, float, float, int]]] = {
    "Glucose": ("2345-7", "mg/dL", 70, 99, 0),
    "Glucose, Fasting": ("1558-6", "mg/dL", 70, 99, 0),
    "Hemoglobin A1c": ("4548-4", "%", 4.0, 5.6, 1),
    "Insulin": ("20448-7", "uIU/mL", 2.6, 24.9, 1),
    "Insulin, Fasting": ("20448-7", "uIU/mL", 2.6, 24.9, 1),
    "Total Cholesterol": ("2093-3", "mg/dL", 125, 200, 0),
    "HDL Cholesterol": ("2085-9", "mg/dL", 40, 90, 0),
    "LDL Cholesterol": ("13457-7", "mg/dL", 0, 100, 0),
    "Triglycerides": ("2571-8", "mg/dL", 0, 150, 0),
    "Sodium": ("2951-2", "mmol/L", 135, 145, 0),
    "Potassium": ("2823-3", "mmol/L", 3.5, 5.1, 1),
    "Chloride": ("2075-0", "mmol/L", 98, 107, 0),
    "Calcium": ("17861-6", "mg/dL", 8.6, 10.3, 1),
    "Creatinine": ("2160-0", "mg/dL", 0.57, 1.0, 2),
    "BUN": ("3094-0", "mg/dL", 6, 24, 0),
    "Albumin": ("1751-7", "g/dL", 3.8, 4.9, 1),
    "Total Protein": ("2885-2", "g/dL", 6.0, 8.5, 1),
    "ALT": ("1742-6", "U/L", 0, 32, 0),
    "AST": ("1920-8", "U/L", 0, 40, 0),
    "Alkaline Phosphatase": ("6768-6", "U/L", 44, 121, 0),
    "Bilirubin, Total": ("1975-2", "mg/dL", 0.0, 1.2, 1),
    "Hemoglobin": ("718-7", "g/dL", 11.1, 15.9, 1),
    "Hematocrit": ("4544-3", "%", 34.0, 46.6, 1),
    "WBC": ("6690-2", "10*3/uL", 3.4, 10.8, 1),
    "RBC": ("789-8", "10*6/uL", 3.77, 5.28, 2),
    "Platelets": ("777-3", "10*3/uL", 150, 450, 0),
    "Ferritin": ("2276-4", "ng/mL", 15, 150, 0),
    "Iron": ("2498-4", "ug/dL", 27, 159, 0),
    "TIBC": ("2500-7", "ug/dL", 250, 450, 0),
    "Vitamin D, 25-OH": ("1989-3", "ng/mL", 30, 100, 1),
    "25-Hydroxyvitamin D": ("1989-3", "ng/mL", 30, 100, 1),
    "Vitamin B12": ("2132-9", "pg/mL", 232, 1245, 0),
    "Folate": ("2284-8", "ng/mL", 3.0, 20.0, 1),
    "Magnesium": ("19123-9", "mg/dL", 1.6, 2.3, 1),
    "Zinc": ("5763-0", "ug/dL", 44, 115, 0),
    "TSH": ("3016-3", "uIU/mL", 0.45, 4.5, 2),
    "Free T4": ("3024-7", "ng/dL", 0.82, 1.77, 2),
    "Free T3": ("3051-0", "pg/mL", 2.0, 4.4, 1),
    "Reverse T3": ("3052-8", "ng/dL", 9.2, 24.1, 1),
    "TPO Antibodies": ("8099-4", "IU/mL", 0, 34, 0),
    "Estradiol": ("2243-4", "pg/mL", 12.5, 166, 1),
    "Progesterone": ("2839-9", "ng/mL", 0.1, 25.0, 1),
    "Testosterone, Total": ("2986-8", "ng/dL", 8, 48, 0),
    "DHEA-S": ("2191-5", "ug/dL", 57, 279, 0),
    "Cortisol Morning": ("2143-6", "ug/dL", 6.2, 19.4, 1),
    "hs-CRP": ("30522-7", "mg/L", 0.0, 3.0, 2),
    "Homocysteine": ("13965-9", "umol/L", 0.0, 14.5, 1),
    "Calprotectin": ("38445-3", "ug/g", 0, 50, 0),
    "Lead": ("5671-3", "ug/dL", 0.0, 3.4, 1),
    "Mercury": ("5685-3", "ug/L", 0.0, 14.9, 1),
}
#: words that make an analyte a detected / not detected result
ORGANISM_WORDS: Final = (
    "Candida", "Helicobacter", "Giardia", "Cryptosporidium", "Entamoeba", "Blastocystis",
    "Clostridioides", "Borrelia", "Babesia", "Bartonella", "Ehrlichia", "Anaplasma",
    "Ova and Parasites", "Occult Blood",
)  # fmt: skip
GENETIC_PREFIXES: Final = ("MTHFR", "COMT", "MTR", "MTRR", "CBS", "APOE", "VDR", "FUT2", "FTO")
TITERS: Final = ("Antinuclear Antibodies", "dsDNA Antibodies", "Sm Antibodies")
#: the lab director's name: not ASCII, so that the character set matters
LAB_DIRECTOR: Final = "Renée Müller, MD"


@dataclass(frozen=True, slots=True)
class HL7Facts:
    """What one ordered test's results message says."""

    ordered_test_id: str
    order_id: str
    test_name: str
    lab_name: str
    biomarkers: tuple[str, ...]
    patient_id: str
    patient_first_name: str
    patient_last_name: str
    patient_birthday: str | None
    collected: datetime
    reported: datetime | None
    final: bool
    corrected: bool


@dataclass(frozen=True, slots=True)
class HL7Faults:
    """The fault switches that shape the message."""

    malformed: bool = False
    unknown_segments: bool = False
    wrong_charset: bool = False


def escape(text: str) -> str:
    """HL7's escapes for the separators (the escape character first), line breaks as .br."""
    for plain, escaped in (
        ("\\", "\\E\\"),
        ("|", "\\F\\"),
        ("^", "\\S\\"),
        ("&", "\\T\\"),
        ("~", "\\R\\"),
    ):
        text = text.replace(plain, escaped)
    return text.replace("\r\n", "\n").replace("\n", "\\.br\\")


def _dtm(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def render_oru(facts: HL7Facts, faults: HL7Faults = HL7Faults()) -> bytes:
    """The ORU^R01 message of an ordered test, as bytes (UTF-8 unless a fault says not)."""
    reported = facts.reported or facts.collected
    version = "C" if facts.corrected else ("F" if facts.final else "P")
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                "RUPA",
                escape(facts.lab_name),
                "RUPA DESK",
                "",
                _dtm(reported),
                "",
                "ORU^R01^ORU_R01",
                f"{facts.ordered_test_id}-{version}",
                "P",
                "2.5.1",
                "",
                "",
                "",
                "",
                "",
                "UNICODE UTF-8",
            ]
        ),
        "|".join(
            [
                "PID",
                "1",
                "",
                f"{facts.patient_id}^^^RUPA",
                "",
                f"{escape(facts.patient_last_name)}^{escape(facts.patient_first_name)}",
                "",
                (facts.patient_birthday or "").replace("-", ""),
            ]
        ),
        f"ORC|RE|{facts.order_id}|{facts.ordered_test_id}",
        "|".join(
            [
                "OBR",
                "1",
                facts.order_id,
                facts.ordered_test_id,
                f"{_code(facts.test_name)}^{escape(facts.test_name)}^L",
                "",
                "",
                _dtm(facts.collected),
                *[""] * 14,
                _dtm(reported),
                "",
                "LAB",
                version,
            ]
        ),
    ]
    if faults.unknown_segments:
        segments.append("ZRS|1|RUPA^internal routing|priority^normal")
    results = _results(facts)
    ready = len(results) if facts.final else max(1, len(results) // 2)
    corrected_index = (
        zlib.crc32(facts.ordered_test_id.encode()) % len(results) if facts.corrected else -1
    )
    for index, result in enumerate(results):
        set_id = index + 1
        if index >= ready:
            segments.append(f"OBX|{set_id}||{result.identifier}||||||||I")
            continue
        status = "F" if facts.final else "P"
        value, flag, comment = result.value, result.flag, result.comment
        if index == corrected_index:
            status = "C"
            value, flag = result.corrected_value, result.corrected_flag
            comment = f"Corrected result: previously reported as {result.value}."
        segments.append(
            "|".join(
                [
                    "OBX",
                    str(set_id),
                    result.value_type,
                    result.identifier,
                    "",
                    value,
                    escape(result.units),
                    escape(result.reference_range),
                    flag,
                    "",
                    "",
                    status,
                    "",
                    "",
                    _dtm(facts.collected),
                ]
            )
        )
        if comment:
            segments.append(f"NTE|1|L|{escape(comment)}")
    segments.append(f"NTE|1|L|{escape('Reviewed by ' + LAB_DIRECTOR + ', laboratory director.')}")
    if faults.unknown_segments:
        segments.append("ZPI|1|" + escape("lab-internal"))
    text = "\r".join(segments) + "\r"
    if faults.malformed:
        text = text.replace("MSH|^~\\&|", "MHS|", 1)
    if faults.wrong_charset:
        return text.encode("latin-1", "replace")
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class _Result:
    identifier: str
    value_type: str
    value: str
    units: str
    reference_range: str
    flag: str
    comment: str
    corrected_value: str
    corrected_flag: str


def _code(name: str) -> str:
    """A stable local code for a name (letters and digits only, so nothing to escape)."""
    return f"R{zlib.crc32(name.encode()) % 100000:05d}"


def _results(facts: HL7Facts) -> list[_Result]:
    results = [_result(facts.ordered_test_id, name) for name in facts.biomarkers[:60]]
    flagged = sum(1 for r in results if r.flag)
    lines = [
        f"{flagged} of {len(results)} results are outside the reference range.",
        "Interpret in the context of the patient's history & symptoms.",
    ]
    results.append(
        _Result(
            identifier=f"{_code('interpretation')}^Interpretation^L",
            value_type="TX",
            value="~".join(escape(line) for line in lines),
            units="",
            reference_range="",
            flag="",
            comment="",
            corrected_value="~".join(escape(line) for line in lines),
            corrected_flag="",
        )
    )
    return results


#: Units and upper limits of the analytes with no entry in NUMERIC (each gets one of each).
UNITS: Final = ("ng/mL", "U/mL", "mg/dL", "umol/L", "ug/g")
HIGHS: Final = (10, 25, 50, 100, 250)


def _result(ordered_test_id: str, name: str) -> _Result:
    rng = random.Random(f"{ordered_test_id}/{name}")
    if name in NUMERIC:
        loinc, units, low, high, decimals = NUMERIC[name]
        identifier = f"{loinc}^{escape(name)}^LN"
    elif any(word in name for word in ORGANISM_WORDS):
        detected = rng.random() < 0.2
        return _Result(
            identifier=f"{_code(name)}^{escape(name)}^L",
            value_type="CWE",
            value="260373001^Detected^SCT" if detected else "260415000^Not detected^SCT",
            units="",
            reference_range="Not detected",
            flag="A" if detected else "N",
            comment="",
            corrected_value="260415000^Not detected^SCT",
            corrected_flag="N",
        )
    elif name.split(" ")[0] in GENETIC_PREFIXES:
        genotype = rng.choice(["+/+", "+/-", "-/-"])
        return _Result(
            identifier=f"{_code(name)}^{escape(name)}^L",
            value_type="CWE",
            value=f"{escape(genotype)}^{escape(genotype)}^L",
            units="",
            reference_range="-/-",
            flag="A" if genotype != "-/-" else "",
            comment="Genotype: + is the variant allele." if genotype != "-/-" else "",
            corrected_value=f"{escape(genotype)}^{escape(genotype)}^L",
            corrected_flag="A" if genotype != "-/-" else "",
        )
    elif name in TITERS:
        titer = rng.choice([40, 80, 160, 320])
        return _Result(
            identifier=f"{_code(name)}^{escape(name)}^L",
            value_type="SN",
            value=f"^1^:^{titer}",
            units="",
            reference_range=escape("<1:80"),
            flag="A" if titer >= 80 else "",
            comment="",
            corrected_value="^1^:^40",
            corrected_flag="",
        )
    else:
        # The lab reports an analyte in the same units and range every time (its method):
        # drawn from the analyte's name, not from the ordered test, so that a patient's
        # results line up as a trend.
        method = random.Random(f"method/{name}")
        units = method.choice(UNITS)
        high = float(method.choice(HIGHS))
        # the test's own draws stay as they were, so its value (and so its flag, the value
        # lying where it did within the range) and the rest of the seeded world do not move
        rng.choice(UNITS), rng.choice(HIGHS)
        low, decimals = 0.0, 1
        identifier = f"{_code(name)}^{escape(name)}^L"
    span = high - low
    value = rng.uniform(low - 0.25 * span, high + 0.35 * span) if span else rng.uniform(0, 10)
    value = round(max(value, 0.0), decimals)
    corrected = value * (0.8 if value > high else 1.15)
    return _Result(
        identifier=identifier,
        value_type="NM",
        value=_number(value, decimals),
        units=units,
        reference_range=f"{_number(low, decimals)}-{_number(high, decimals)}",
        flag=_flag(value, low, high),
        comment="",
        corrected_value=_number(corrected, decimals),
        corrected_flag=_flag(corrected, low, high),
    )


def _number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _flag(value: float, low: float, high: float) -> str:
    span = high - low
    if value > high + 0.3 * span:
        return "HH"
    if value > high:
        return "H"
    if value < low - 0.2 * span and low > 0:
        return "LL"
    if value < low:
        return "L"
    return ""

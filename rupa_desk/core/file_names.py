"""File names people read: a saved result is "Lovelace Ada - Lipid Panel - 2026-12-07.pdf".

The names come from what people typed (patient names) and from Rupa (test names), so they are
made safe for Windows, macOS and Linux alike: characters any of them refuses or treats
specially are dropped, invisible characters too (a right-to-left override can disguise an
extension), names Windows reserves (CON, LPT1, …) are avoided, each part is bounded in bytes
(file systems count bytes, not characters) and the name is never empty.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Final

#: Refused by Windows (and "/" by every system): replaced by a space.
_REFUSED: Final = re.compile(r'[<>:"/\\|?*]')
#: Unicode categories that are never shown: controls, formats (bidi overrides, zero-width),
#: surrogates, private use, unassigned, line and paragraph separators.
_INVISIBLE: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
#: Device names Windows reserves, with or without an extension.
_RESERVED: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{device}{n}" for device in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")}
)
#: The bytes (UTF-8) a patient or a test may take in a name: the whole name stays well under
#: the 255 bytes that common file systems allow, with room for " (2)" a dialog may add.
PATIENT_BYTES: Final = 60
TEST_BYTES: Final = 100
SEPARATOR: Final = " - "
FALLBACK_STEM: Final = "Results"


def clean_part(text: str, *, max_bytes: int) -> str:
    """`text` made safe inside a file name: no refused or invisible characters, no leading
    or trailing dots and spaces, at most `max_bytes` bytes in UTF-8 (possibly empty)."""
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in _REFUSED.sub(" ", text):
        category = unicodedata.category(char)
        if category in _INVISIBLE:
            kept.append(" " if char in "\t\n\r\x0b\x0c\u2028\u2029" else "")
        else:
            kept.append(" " if category == "Zs" else char)
    cleaned = " ".join("".join(kept).split())
    encoded = cleaned.encode("utf-8")
    if len(encoded) > max_bytes:
        cleaned = encoded[:max_bytes].decode("utf-8", errors="ignore")
    return cleaned.strip(" .")


def safe_file_stem(text: str, *, max_bytes: int = 200) -> str:
    """`text` as a file name without its extension, accepted by every common system
    ("Results" when nothing of `text` is left)."""
    cleaned = clean_part(text, max_bytes=max_bytes) or FALLBACK_STEM
    device, dot, rest = cleaned.partition(".")
    if device.strip().upper() in _RESERVED:
        cleaned = f"{device.strip()}_{dot}{rest}"  # "AUX.txt" is AUX to Windows too
    return cleaned


def safe_file_name(stem: str, extension: str, *, max_bytes: int = 200) -> str:
    """A file name `stem.extension` that every common system accepts."""
    return f"{safe_file_stem(stem, max_bytes=max_bytes)}.{extension}"


def patient_file_label(first_name: str, last_name: str) -> str:
    """The patient as a file name says it: family name first, so a folder sorts by family."""
    return " ".join(part for part in (last_name.strip(), first_name.strip()) if part)


def requisition_file_name(*, patient: str, test: str, ordered: date | None) -> str:
    """The name a requisition is saved under, as results are named with "Requisition" after
    the test: "Lovelace Ada - Lipid Panel - Requisition - 2026-12-07.pdf".

    Args:
        patient: the patient as `patient_file_label` says them (empty when unknown).
        test: the test's name (empty when unknown).
        ordered: the day the order was placed (left out when unknown).
    """
    kind = "Requisition"
    test_part = clean_part(test, max_bytes=TEST_BYTES - len(SEPARATOR + kind))  # kind kept
    return result_file_name(
        patient=patient,
        test=SEPARATOR.join(part for part in (test_part, kind) if part),
        received=ordered,
    )


def result_file_name(*, patient: str, test: str, received: date | None) -> str:
    """The name a result PDF is saved under: "Lovelace Ada - Lipid Panel - 2026-12-07.pdf".

    Args:
        patient: the patient as `patient_file_label` says them (empty when unknown).
        test: the test's name (empty when unknown).
        received: the day the results came (left out when unknown).
    """
    parts = [
        clean_part(patient, max_bytes=PATIENT_BYTES),
        clean_part(test, max_bytes=TEST_BYTES),
        "" if received is None else received.isoformat(),
    ]
    return safe_file_name(SEPARATOR.join(part for part in parts if part), "pdf")

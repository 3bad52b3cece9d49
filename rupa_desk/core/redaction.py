"""Keeping tokens and patient data out of text that is written to logs.

The rule is that code never logs tokens or patient data (names, emails, birthdays) in the
first place; `redact` is the safety net the log file's filter applies to every line, including
tracebacks, in case a message or an exception text carries some anyway.

`escape_control_characters` keeps text from a server (an OAuth `error=` with a newline and a
forged "INFO … signed in" after it, a terminal escape sequence) on the one line of its record.
"""

from __future__ import annotations

import re
from typing import Final

REDACTED: Final = "[redacted]"

#: Names whose values are secret or identify a patient, wherever they appear as a key.
SENSITIVE_KEYS: Final[tuple[str, ...]] = (
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "code",
    "code_verifier",
    "client_secret",
    "password",
    "authorization",
    "first_name",
    "last_name",
    "full_name",
    "titled_full_name",
    "email",
    "birthday",
    "phone",
    "street_1",
    "street_2",
    "zip",
)

_KEYS = "|".join(SENSITIVE_KEYS)

# "Authorization: Bearer abc", "Bearer abc"
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
# JSON or Python mappings: "email": "x", 'email': 'x' (escaped quotes inside are handled)
_QUOTED_VALUE = re.compile(
    rf"""(?ix)
    (?P<key>["'](?:{_KEYS})["']\s*:\s*)
    (?P<quote>["'])(?:\\.|(?!(?P=quote)).)*(?P=quote)
    """
)
# URLs, forms and keyword-style text: email=x, filter[email]=x, code=x&state=y, and URLs as
# httpx writes them, with the brackets percent-encoded: filter%5Bemail%5D=x
_ASSIGNED_VALUE = re.compile(
    rf"(?i)(?P<key>\b(?:[a-z_]+(?:\[|%5B))?(?:{_KEYS})(?:\]|%5D)?\s*=\s*)[^&\s,;)'\"]+"
)
# Email addresses anywhere, also percent-encoded in a URL (jane%40example.com)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Long opaque strings (tokens, codes, secrets): 32 or more token characters in a row that mix
# letters and digits (so long identifiers such as function names stay readable)
_OPAQUE = re.compile(r"(?<![A-Za-z0-9_\-/.])[A-Za-z0-9_\-]{32,}(?![A-Za-z0-9_\-/.])")


# C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidirectional
# overrides (text that would start a new line, or reorder one, in an editor or terminal).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEPING_NEWLINES = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_SHORT_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_control_characters(text: str, *, keep_newlines: bool = False) -> str:
    """Return `text` with control characters written as escapes (`\\n`, `\\x1b`, `\\u2028`).

    Args:
        text: text about to be logged.
        keep_newlines: keep line feeds (a formatted traceback is several lines by design);
            a carriage return and every other control character are still escaped.
    """
    pattern = _CONTROL_KEEPING_NEWLINES if keep_newlines else _CONTROL
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def redact(text: str) -> str:
    """Return `text` with tokens, secrets and patient identifiers replaced by `[redacted]`.

    Args:
        text: any text about to be written to a log (a message, a traceback).

    Returns:
        The text with bearer tokens, values of sensitive keys (in JSON, Python reprs, URLs and
        forms), email addresses and long opaque strings replaced.
    """
    text = _BEARER.sub(rf"\1 {REDACTED}", text)
    text = _QUOTED_VALUE.sub(rf"\g<key>'{REDACTED}'", text)
    text = _ASSIGNED_VALUE.sub(rf"\g<key>{REDACTED}", text)
    text = _EMAIL.sub(REDACTED, text)
    return _OPAQUE.sub(_redact_opaque, text)


def _redact_opaque(match: re.Match[str]) -> str:
    word = match.group(0)
    if any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
        return REDACTED
    return word

"""Turning what a user types into safe FTS5 query strings, finding what to highlight, and
knowing the clinic's preferred labs.

User text never reaches FTS5 as syntax: it is cut into words (letters and digits, as the
unicode61 tokenizer sees them) and every word is put inside a double-quoted phrase, so `"`,
`*`, `-`, `(`, `NOT`, `AND`, `:` and friends are plain text. Words typed together without a
space (`vitamin-d`, `25-OH`, `T3/T4`) stay together as one phrase, so they match adjacent
words (`Vitamin D`, `25-OH`, `T3/T4`). Every phrase is a prefix query (search as you type),
except one ending in a single letter after other words (`vitamin d` and `vitamin-d` mean the
letter D, not every word that starts with d).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

#: Longest query text considered; the rest is ignored (a pasted paragraph stays fast).
MAX_QUERY_CHARS: Final = 200
#: Most phrases in one query (each one is a term lookup).
MAX_PHRASES: Final = 12
#: Shortest text the trigram (substring) index can answer.
MIN_SUBSTRING_CHARS: Final = 3
#: Longest text whose trigram candidates are looked up as one phrase (every trigram); a
#: longer one uses every third trigram (see `ParsedQuery.substring_candidates`).
MAX_PHRASE_SUBSTRING_CHARS: Final = 8

_WORD = re.compile(r"[^\W_]+")
#: Control characters (NUL would end an FTS5 query string early) become spaces.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A search text, ready for the indexes.

    Attributes:
        text: the text, outer spaces removed and inner runs of spaces collapsed.
        name_prefix: the case-folded text, for the "name starts with" tier.
        phrases: FTS5 phrase expressions for the word index, e.g. `"vitamin d"*`.
        words: the case-folded words of the text.
        phrase_words: for each phrase, its words and whether its last word is a prefix (for
            highlighting what the phrase matched).
        substring: an FTS5 phrase for the trigram index, or None when the text is too short.
        substring_candidates: an FTS5 query for the trigram index that finds every row
            `substring` finds, and maybe more (None when the text is too short). For a long
            text it asks for non-overlapping trigrams that cover it instead of all of them:
            a third of the index reads (`comprehensive stool`: 7 trigrams, not 17), for the
            callers that check the rows themselves (`instr`).
        biomarker_candidates: the same for the biomarker trigram index, where the rows are
            checked by decoding their biomarkers (ASCII text without `;` only, so that the
            check and the index agree: the index holds the biomarkers joined by "; ");
            otherwise `substring`, which needs no check.
    """

    text: str
    name_prefix: str
    phrases: tuple[str, ...]
    words: tuple[str, ...]
    substring: str | None
    substring_candidates: str | None = None
    biomarker_candidates: str | None = None
    phrase_words: tuple[tuple[tuple[str, ...], bool], ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.text

    @property
    def all_words(self) -> str | None:
        """An FTS5 expression matching every phrase, or None when there is no word."""
        return " AND ".join(self.phrases) if self.phrases else None


_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def parse_query(text: str) -> ParsedQuery:
    """Parse user input; never raises, whatever the text."""
    # A lone surrogate (pasted, or from a mis-decoded terminal) cannot be encoded for SQLite:
    # it becomes a space like any character that cannot be searched for.
    valid = _SURROGATE.sub(" ", text[:MAX_QUERY_CHARS])
    cleaned = " ".join(_CONTROL.sub(" ", valid).split())
    chunks = [_WORD.findall(chunk.casefold()) for chunk in cleaned.split(" ")]
    chunks = [words for words in chunks if words][:MAX_PHRASES]
    phrases: list[str] = []
    phrase_words: list[tuple[tuple[str, ...], bool]] = []
    for words in chunks:
        # A single letter at the end of a phrase is that letter (`vitamin d`, `vitamin-d`),
        # not every word that starts with it; alone, it is a prefix like any other text.
        exact_letter = len(words[-1]) == 1 and (len(chunks) > 1 or len(words) > 1)
        phrases.append(_quoted(" ".join(words)) + ("" if exact_letter else "*"))
        phrase_words.append((tuple(words), not exact_letter))
    folded = cleaned.casefold()
    substring = _quoted(folded) if len(folded) >= MIN_SUBSTRING_CHARS else None
    return ParsedQuery(
        text=cleaned,
        name_prefix=folded,
        phrases=tuple(phrases),
        words=tuple(word for words in chunks for word in words),
        substring=substring,
        substring_candidates=_trigram_cover(folded) if substring is not None else None,
        biomarker_candidates=(
            _trigram_cover(folded)
            if substring is not None and folded.isascii() and ";" not in folded
            else substring
        ),
        phrase_words=tuple(phrase_words),
    )


def _trigram_cover(text: str) -> str:
    """An FTS5 query matching rows that hold non-overlapping trigrams covering `text`."""
    if len(text) <= MAX_PHRASE_SUBSTRING_CHARS:
        return _quoted(text)
    starts = [*range(0, len(text) - 2, 3)]
    if starts[-1] != len(text) - 3:
        starts.append(len(text) - 3)
    return " AND ".join(_quoted(text[i : i + 3]) for i in starts)


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix` (for a range scan)."""
    return prefix + "\U0010ffff"


class Highlighter:
    """Finds where a query matches in a text, for drawing highlights (built once per search).

    It marks what the word index matched: the words of each phrase where they appear
    together, each starting a word (`vitamin-d` marks `Vitamin` and the word `D` in
    "Vitamin D, Dried Blood Spot", not `Dried`; a typed prefix marks its part of the word);
    the whole text where it starts inside a word (`a1c` in `HbA1c`); and, for one or two
    characters, the start of the text. Spans are sorted, merged (start, end) character offsets;
    nothing here is HTML.
    """

    def __init__(self, query: ParsedQuery) -> None:
        self._patterns: list[re.Pattern[str]] = []
        self._any: re.Pattern[str] | None = None
        if query.is_empty:
            return
        for words, prefix in query.phrase_words:
            self._patterns.append(re.compile(_phrase_pattern(words, prefix), re.I))
        whole = re.escape(query.text)
        if len(query.text) >= MIN_SUBSTRING_CHARS:
            # Inside a word only: at a word's start, the phrases above mark the words.
            self._patterns.append(re.compile(r"(?<=[^\W_])(" + whole + ")", re.I))
        else:
            self._patterns.append(re.compile("^(" + whole + ")", re.I))
        # One search instead of one per pattern, for `matches` (called for every biomarker
        # of every hit that matched on biomarkers).
        self._any = re.compile("|".join(f"(?:{p.pattern})" for p in self._patterns), re.I)

    def spans(self, text: str) -> tuple[tuple[int, int], ...]:
        found = [
            match.span(group)
            for pattern in self._patterns
            for match in pattern.finditer(text)
            for group in range(1, pattern.groups + 1)
        ]
        return _merged(found)

    def matches(self, text: str) -> bool:
        return self._any is not None and self._any.search(text) is not None


def _phrase_pattern(words: tuple[str, ...], prefix: bool) -> str:
    """A regular expression for a phrase's words, one group per word to mark.

    Each word starts a word of the text; the words follow each other with only separators
    between them. A word before the last may go on (the stemmer lets `vitamin` match
    `Vitamins`; only the typed part is marked); the last one is a prefix, or, when it is an
    exact letter, a whole word.
    """
    parts = []
    for index, word in enumerate(words):
        if index < len(words) - 1:
            parts.append("(" + re.escape(word) + r")[^\W_]*")
        else:
            parts.append("(" + re.escape(word) + ")" + ("" if prefix else r"(?![^\W_])"))
    return r"(?<![^\W_])" + r"[\W_]+".join(parts)


def _merged(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return tuple(merged)


class PreferredLabs:
    """The clinic's preferred lab companies, by name, first named first.

    A name matches whatever its case and spacing ("ZRT  laboratory" is "ZRT Laboratory"), so
    a hand-written managed settings file still matches the catalog's names.
    """

    def __init__(self, names: Sequence[str] = ()) -> None:
        self._rank: dict[str, int] = {}
        for name in names:
            if key := lab_key(name):
                self._rank.setdefault(key, len(self._rank))

    def __bool__(self) -> bool:
        return bool(self._rank)

    def rank(self, lab_company_name: str) -> int | None:
        """The lab's place among the preferred ones (0 first), or None when not preferred."""
        return self._rank.get(lab_key(lab_company_name))


def lab_key(name: str) -> str:
    """How lab company names are compared: case-folded, spaces collapsed."""
    return " ".join(name.split()).casefold()

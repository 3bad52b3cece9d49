"""The catalog's tables, shared by the migrations (the live catalog) and the sync (the next one).

The catalog is a disposable cache: when its schema changes, a migration drops and recreates it
and the next sync fills it again. The sync builds a complete catalog in tables named with the
`_next` suffix beside the live one and renames them into place in one transaction (see
`catalog_build`). Two consequences shape this schema:

- Every index is a UNIQUE constraint or a primary key. SQLite renames those automatically
  with their table (`sqlite_autoindex_<table>_N`), whereas a named index keeps its name and
  would clash with the next build's.
- `row_no` is the static rank. The sync numbers the tests in the order search shows them
  within one tier (active first, then shorter names, then alphabetically), so every full-text
  query can return matches in `rowid` order and stop after one page instead of ranking every
  match of a common prefix.

The name and the biomarkers have a trigram index each, so that a substring of a name is found
without reading the (much longer) biomarker lists. The full-text tables are contentless
(`content=''`): they hold only the index; the text to show comes from `lab_tests`.
"""

from __future__ import annotations

from typing import Final

#: The word index: porter stemming over unicode61 words, prefix indexes for 1-3 characters.
WORDS_TOKENIZE: Final = "porter unicode61 remove_diacritics 2"
WORDS_PREFIX: Final = "1 2 3"

#: Tables the sync builds with the `_next` suffix and renames over the live ones.
SWAPPED_TABLES: Final[tuple[str, ...]] = (
    "lab_tests",
    "lab_test_sample_types",
    "catalog_sample_types",
    "catalog_words",
    "catalog_name_substrings",
    "catalog_biomarker_substrings",
)


def catalog_ddl(suffix: str = "") -> str:
    """The CREATE statements of the swapped catalog tables, each name followed by `suffix`."""
    s = suffix
    return f"""
CREATE TABLE lab_tests{s} (
    row_no INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    lab_company_id TEXT,
    lab_company_name TEXT NOT NULL DEFAULT '',
    price_cents INTEGER,
    sample_types TEXT NOT NULL DEFAULT '[]',
    sample_types_key TEXT NOT NULL DEFAULT '|',
    biomarkers TEXT NOT NULL DEFAULT '[]',
    categories TEXT NOT NULL DEFAULT '[]',
    turnaround_days INTEGER,
    is_active INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT,
    raw TEXT NOT NULL DEFAULT '{{}}',
    UNIQUE (id),
    UNIQUE (name_key, row_no),
    UNIQUE (lab_company_id, name_key, row_no),
    UNIQUE (price_cents, row_no)
);
CREATE TABLE lab_test_sample_types{s} (
    sample_type_key TEXT NOT NULL,
    name_key TEXT NOT NULL,
    row_no INTEGER NOT NULL,
    PRIMARY KEY (sample_type_key, name_key, row_no)
) WITHOUT ROWID;
CREATE TABLE catalog_sample_types{s} (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    test_count INTEGER NOT NULL
);
CREATE VIRTUAL TABLE catalog_words{s} USING fts5(
    name, biomarkers, company, sample_types, tags,
    content='', tokenize='{WORDS_TOKENIZE}', prefix='{WORDS_PREFIX}'
);
CREATE VIRTUAL TABLE catalog_name_substrings{s} USING fts5(
    name, content='', tokenize='trigram'
);
CREATE VIRTUAL TABLE catalog_biomarker_substrings{s} USING fts5(
    biomarkers, content='', tokenize='trigram'
);
"""


LAB_COMPANIES_DDL: Final = """
CREATE TABLE lab_companies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL DEFAULT '',
    test_count INTEGER NOT NULL DEFAULT 0,
    raw TEXT NOT NULL DEFAULT '{}'
);
"""


def tag_token(kind: str, value: str) -> str:
    """A filter token for the `tags` column of the word index: `kind` + the value as digits.

    Digits only after a one-letter kind, so neither the unicode61 tokenizer (which would split
    on `_`) nor the porter stemmer (which rewrites English suffixes) can change it, and ids
    that differ only in case stay different.
    """
    return kind + "".join(f"{byte:03d}" for byte in value.encode("utf-8"))


def company_tag(lab_company_id: str) -> str:
    return tag_token("c", lab_company_id)


def sample_type_key(sample_type: str) -> str:
    """How a sample type is compared: case-insensitive, outer spaces ignored."""
    return " ".join(sample_type.split()).casefold()


def sample_type_tag(sample_type: str) -> str:
    return tag_token("s", sample_type_key(sample_type))


def name_key(name: str) -> str:
    """How test names are compared and sorted: case-folded, spaces collapsed."""
    return " ".join(name.split()).casefold()

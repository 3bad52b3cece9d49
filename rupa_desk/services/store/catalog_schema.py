"""The catalog's tables, as the sync creates them in each catalog file.

The catalog is a disposable cache that lives in files of its own beside the account's database
(`catalog_files`): each sync builds a complete new catalog in a new file, and the app switches
to it once it is complete. The user's data and the catalog never share a write lock.

- `row_no` is the static rank. The sync numbers the tests in the order search shows them
  within one tier (active first, then shorter names, then alphabetically), so every full-text
  query can return matches in `rowid` order and stop after one page instead of ranking every
  match of a common prefix.
- The name and the biomarkers have a trigram index each, so that a substring of a name is
  found without reading the (much longer) biomarker lists. The full-text tables are
  contentless (`content=''`): they hold only the index; the text to show comes from
  `lab_tests`.
- `CATALOG_FORMAT` is the file's `user_version`. A change to this schema raises it; the app
  then treats a file of another format as no catalog, and the next sync builds a new one (no
  migration: the catalog is a cache).

Every index is a UNIQUE constraint or a primary key (a leftover of the time the catalog was
swapped in by renaming tables; harmless).
"""

from __future__ import annotations

from typing import Final

#: The word index: porter stemming over unicode61 words, prefix indexes for 1-3 characters.
WORDS_TOKENIZE: Final = "porter unicode61 remove_diacritics 2"
WORDS_PREFIX: Final = "1 2 3"

#: The `user_version` of a catalog file with the tables of `catalog_file_ddl()`.
CATALOG_FORMAT: Final = 1

#: The tables of a catalog file (their names must not be used in the account's database:
#: queries name them without a schema, and SQLite looks in the account's database first).
CATALOG_TABLES: Final[tuple[str, ...]] = (
    "lab_companies",
    "lab_tests",
    "lab_test_sample_types",
    "catalog_sample_types",
    "catalog_words",
    "catalog_name_substrings",
    "catalog_biomarker_substrings",
)


def catalog_file_ddl(schema: str = "main") -> str:
    """The CREATE statements of every table of a catalog file, in the schema `schema`."""
    return LAB_COMPANIES_DDL.replace("CREATE TABLE ", f"CREATE TABLE {schema}.") + catalog_ddl(
        prefix=f"{schema}."
    )


def catalog_ddl(prefix: str = "") -> str:
    """The CREATE statements of the catalog tables but lab_companies, each name after `prefix`
    (e.g. a schema and a dot; m001 created them without one in the account's database)."""
    p = prefix
    return f"""
CREATE TABLE {p}lab_tests (
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
CREATE TABLE {p}lab_test_sample_types (
    sample_type_key TEXT NOT NULL,
    name_key TEXT NOT NULL,
    row_no INTEGER NOT NULL,
    PRIMARY KEY (sample_type_key, name_key, row_no)
) WITHOUT ROWID;
CREATE TABLE {p}catalog_sample_types (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    test_count INTEGER NOT NULL
);
CREATE VIRTUAL TABLE {p}catalog_words USING fts5(
    name, biomarkers, company, sample_types, tags,
    content='', tokenize='{WORDS_TOKENIZE}', prefix='{WORDS_PREFIX}'
);
CREATE VIRTUAL TABLE {p}catalog_name_substrings USING fts5(
    name, content='', tokenize='trigram'
);
CREATE VIRTUAL TABLE {p}catalog_biomarker_substrings USING fts5(
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

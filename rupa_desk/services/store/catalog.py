"""The local lab catalog: instant search with filters, and the lists the filters offer.

Search answers in tiers, each a query that returns its matches in `row_no` order (the static
rank the sync gave every test: active first, then shorter names, then alphabetical), so a tier
stops as soon as a page is full instead of ranking every match of a common prefix:

0. the name starts with the text (alphabetical; the answer for one or two characters),
1. the words are in the name,
2. the text is inside the name (trigram index: `a1c` in `HbA1c`, `olest` in `Cholesterol`),
3. the words are in the name and biomarkers,
4. the text is inside a biomarker,
5. the words are anywhere (also the lab company and sample types).

A test appears once, in the first tier it matches. Filters (lab company, sample type, price)
combine with any of them; with no text, search lists the tests that pass the filters,
alphabetically.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from rupa_desk.core.models import LabCompany, LabTest
from rupa_desk.services.store.catalog_query import (
    Highlighter,
    ParsedQuery,
    parse_query,
    prefix_upper_bound,
)
from rupa_desk.services.store.catalog_schema import company_tag, sample_type_key, sample_type_tag
from rupa_desk.services.store.drafts import cents_to_price, price_to_cents
from rupa_desk.services.store.errors import UnknownLabTestError
from rupa_desk.services.store.sync_state import CATALOG, SyncState

#: The page size the catalog pane asks for.
DEFAULT_PAGE_SIZE = 50


class MatchField(StrEnum):
    """Where a search hit matched (the tier it came from)."""

    NAME_START = "name_start"
    NAME = "name"
    NAME_SUBSTRING = "name_substring"
    BIOMARKERS = "biomarkers"
    BIOMARKER_SUBSTRING = "biomarker_substring"
    OTHER = "other"  # lab company or sample type
    FILTERS_ONLY = "filters_only"  # no text: every test that passes the filters


@dataclass(frozen=True, slots=True)
class CatalogFilters:
    """Filters that combine with a search text (None: no filter).

    Attributes:
        lab_company_id: only tests of this lab company.
        sample_type: only tests that take this sample type (case-insensitive).
        price_min: only tests at this price or above (tests without a price are left out).
        price_max: only tests at this price or below.
    """

    lab_company_id: str | None = None
    sample_type: str | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One row of the catalog pane.

    Attributes:
        name_spans: (start, end) offsets in `name` to highlight, sorted and not overlapping.
        matched_biomarkers: the biomarkers the text matched (for a "matches: …" hint).
    """

    id: str
    name: str
    lab_company_id: str | None
    lab_company_name: str
    price: Decimal | None
    sample_types: tuple[str, ...]
    biomarkers: tuple[str, ...]
    turnaround_days: int | None
    matched: MatchField
    name_spans: tuple[tuple[int, int], ...] = ()
    matched_biomarkers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results: ask for `next_offset` while `has_more`."""

    hits: tuple[SearchHit, ...]
    offset: int
    has_more: bool

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.hits)


@dataclass(frozen=True, slots=True)
class CatalogCompany:
    id: str
    name: str
    short_name: str
    test_count: int


@dataclass(frozen=True, slots=True)
class SampleTypeCount:
    name: str
    test_count: int


@dataclass(frozen=True, slots=True)
class PriceRange:
    lowest: Decimal
    highest: Decimal


@dataclass(slots=True)
class _Tier:
    matched: MatchField
    sql: str
    params: dict[str, Any] = field(default_factory=dict)

    def fetch(self, db: Database, *, limit: int, offset: int) -> list[int]:
        cursor = db.execute(
            f"{self.sql} LIMIT :limit OFFSET :offset",
            {**self.params, "limit": limit, "offset": offset},
        )
        return [row[0] for row in cursor.fetchall()]

    def count(self, db: Database) -> int:
        return int(db.execute(f"SELECT count(*) FROM ({self.sql})", self.params).fetchone()[0])


class Catalog:
    """Reads of the catalog tables: search, filter lists, test details, "catalog as of"."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def search(
        self,
        text: str,
        filters: CatalogFilters = CatalogFilters(),
        *,
        offset: int = 0,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> SearchPage:
        """One page of the tests matching `text` and `filters`, best first.

        Never raises on any text: it is escaped, never parsed as FTS5 syntax.
        """
        if limit <= 0 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        query = parse_query(text)
        tiers = _tiers(query, filters)
        wanted = limit + 1
        skip = offset
        picked: list[tuple[int, MatchField]] = []
        for tier in tiers:
            rows = tier.fetch(self._db, limit=wanted - len(picked), offset=skip)
            if not rows and skip:
                skip = max(0, skip - tier.count(self._db))
                continue
            skip = 0
            picked.extend((row_no, tier.matched) for row_no in rows)
            if len(picked) >= wanted:
                break
        has_more = len(picked) > limit
        hits = self._hits(picked[:limit], query)
        return SearchPage(hits=hits, offset=offset, has_more=has_more)

    def count(self, text: str, filters: CatalogFilters = CatalogFilters()) -> int:
        """How many tests `search` would list in all (slower than a page on broad queries)."""
        query = parse_query(text)
        return sum(tier.count(self._db) for tier in _tiers(query, filters))

    def test_count(self) -> int:
        """How many tests the local catalog holds (active or not)."""
        return int(self._db.execute("SELECT count(*) FROM lab_tests").fetchone()[0])

    def companies(self) -> list[CatalogCompany]:
        """The lab companies, by name, with how many tests each has."""
        rows = self._db.execute(
            "SELECT id, name, short_name, test_count FROM lab_companies"
            " ORDER BY name COLLATE NOCASE, id"
        ).fetchall()
        return [CatalogCompany(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    def sample_types(self) -> list[SampleTypeCount]:
        """The sample types of the catalog, by name, with how many tests take each."""
        rows = self._db.execute(
            "SELECT name, test_count FROM catalog_sample_types ORDER BY name COLLATE NOCASE"
        ).fetchall()
        return [SampleTypeCount(str(r[0]), int(r[1])) for r in rows]

    def price_range(self) -> PriceRange | None:
        """The lowest and highest test prices; None when no test has a price."""
        lowest = self._db.execute(
            "SELECT min(price_cents) FROM lab_tests WHERE price_cents IS NOT NULL"
        ).fetchone()[0]
        highest = self._db.execute("SELECT max(price_cents) FROM lab_tests").fetchone()[0]
        if lowest is None or highest is None:
            return None
        return PriceRange(Decimal(lowest) / 100, Decimal(highest) / 100)

    def get_test(self, lab_test_id: str) -> LabTest:
        """A test with everything the catalog knows about it.

        Raises:
            UnknownLabTestError: no such test in the local catalog.
        """
        row = self._db.execute(
            "SELECT t.id, t.name, t.price_cents, t.lab_company_id, t.sample_types, t.biomarkers,"
            " t.categories, t.turnaround_days, t.is_active, t.updated_at, t.raw,"
            " c.id, c.name, c.short_name, c.raw, t.lab_company_name"
            " FROM lab_tests t LEFT JOIN lab_companies c ON c.id = t.lab_company_id"
            " WHERE t.id = ?",
            [lab_test_id],
        ).fetchone()
        if row is None:
            raise UnknownLabTestError(lab_test_id)
        company: LabCompany | None = None
        if row[11] is not None:
            company = LabCompany(row[11], row[12], row[13], json.loads(row[14]))
        elif row[3] is not None and row[15]:
            company = LabCompany(row[3], row[15])
        return LabTest(
            id=row[0],
            name=row[1],
            price=cents_to_price(row[2]),
            lab_company_id=row[3],
            sample_types=tuple(json.loads(row[4])),
            biomarkers=tuple(json.loads(row[5])),
            categories=tuple(json.loads(row[6])),
            estimated_days_for_results=row[7],
            is_active=bool(row[8]),
            updated_at=datetime.fromisoformat(row[9]) if row[9] else None,
            lab_company=company,
            raw=json.loads(row[10]),
        )

    def last_synced(self) -> datetime | None:
        """When the catalog was last synced completely ("catalog as of …"); None if never."""
        return SyncState(self._db).last_success(CATALOG)

    def _hits(
        self, picked: Sequence[tuple[int, MatchField]], query: ParsedQuery
    ) -> tuple[SearchHit, ...]:
        if not picked:
            return ()
        row_nos = [row_no for row_no, _ in picked]
        marks = ", ".join("?" for _ in row_nos)
        rows = {
            r[0]: r
            for r in self._db.execute(
                "SELECT row_no, id, name, lab_company_id, lab_company_name, price_cents,"
                " sample_types, biomarkers, turnaround_days FROM lab_tests"
                f" WHERE row_no IN ({marks})",
                row_nos,
            ).fetchall()
        }
        highlighter = Highlighter(query)
        hits = []
        for row_no, matched in picked:
            r = rows[row_no]
            biomarkers = tuple(json.loads(r[7]))
            matched_biomarkers: tuple[str, ...] = ()
            if matched in (MatchField.BIOMARKERS, MatchField.BIOMARKER_SUBSTRING):
                matched_biomarkers = tuple(b for b in biomarkers if highlighter.matches(b))
            hits.append(
                SearchHit(
                    id=r[1],
                    name=r[2],
                    lab_company_id=r[3],
                    lab_company_name=r[4],
                    price=cents_to_price(r[5]),
                    sample_types=tuple(json.loads(r[6])),
                    biomarkers=biomarkers,
                    turnaround_days=r[8],
                    matched=matched,
                    name_spans=highlighter.spans(r[2]),
                    matched_biomarkers=matched_biomarkers,
                )
            )
        return tuple(hits)


def _tiers(query: ParsedQuery, filters: CatalogFilters) -> list[_Tier]:
    """The tier queries for a search (see the module docstring), in order."""
    params: dict[str, Any] = {}
    row_filters: list[str] = []  # on lab_tests t
    tag_filters: list[str] = []  # inside a word-index MATCH
    if filters.lab_company_id is not None:
        params["company"] = filters.lab_company_id
        row_filters.append("t.lab_company_id = :company")
        tag_filters.append('{tags}: "' + company_tag(filters.lab_company_id) + '"')
    if filters.sample_type is not None:
        params["sample_type"] = "|" + sample_type_key(filters.sample_type) + "|"
        row_filters.append("instr(t.sample_types_key, :sample_type) > 0")
        tag_filters.append('{tags}: "' + sample_type_tag(filters.sample_type) + '"')
    price_filters: list[str] = []
    if filters.price_min is not None:
        params["price_min"] = price_to_cents(filters.price_min)
        price_filters.append("t.price_cents >= :price_min")
    if filters.price_max is not None:
        params["price_max"] = price_to_cents(filters.price_max)
        price_filters.append("t.price_cents <= :price_max")
    row_filters += price_filters

    def where(*conditions: str, rows: Sequence[str] = row_filters) -> str:
        parts = [*conditions, *rows]
        return " WHERE " + " AND ".join(parts) if parts else ""

    if query.is_empty:
        if filters.sample_type is not None and filters.lab_company_id is None:
            sql = (
                "SELECT t.row_no FROM lab_test_sample_types s JOIN lab_tests t"
                " ON t.row_no = s.row_no"
                + where("s.sample_type_key = :sample_key", "t.is_active = 1")
                + " ORDER BY s.name_key, s.row_no"
            )
            params["sample_key"] = sample_type_key(filters.sample_type)
        else:
            sql = (
                "SELECT t.row_no FROM lab_tests t"
                + where("t.is_active = 1")
                + " ORDER BY t.name_key, t.row_no"
            )
        return [_Tier(MatchField.FILTERS_ONLY, sql, params)]

    params["prefix"] = query.name_prefix
    params["prefix_end"] = prefix_upper_bound(query.name_prefix)
    not_name_start = "NOT (t.name_key >= :prefix AND t.name_key < :prefix_end)"
    tiers = [
        _Tier(
            MatchField.NAME_START,
            "SELECT t.row_no FROM lab_tests t"
            + where("t.name_key >= :prefix", "t.name_key < :prefix_end", "t.is_active = 1")
            + " ORDER BY t.name_key, t.row_no",
            params,
        )
    ]
    words = query.all_words
    tags = "".join(f" AND {tag}" for tag in tag_filters)
    substring = query.substring
    if substring is not None:
        # The truth of "the text is inside the name" is a plain instr() on the row, so the
        # tiers that include and exclude it agree; the trigram index only finds candidates.
        params["sub_text"] = query.name_prefix
        params["sub"] = substring
    if words is not None:
        params["w_nb_tagged"] = f"{{name biomarkers}}: ({words}){tags}"
        params["w_name_tagged"] = f"{{name}}: ({words}){tags}"
        params["w_nb_only"] = f"({{name biomarkers}}: ({words}){tags}) NOT {{name}}: ({words})"
        params["w_other_only"] = (
            f"({{name biomarkers company sample_types}}: ({words}){tags})"
            f" NOT {{name biomarkers}}: ({words})"
        )
    in_name = "instr(t.name_key, :sub_text) > 0"
    not_in_name = "instr(t.name_key, :sub_text) = 0"

    def words_tier(matched: MatchField, match: str, *conditions: str) -> _Tier:
        return _Tier(
            matched,
            f"SELECT w.rowid FROM catalog_words(:{match}) w JOIN lab_tests t ON t.row_no = w.rowid"
            + where(not_name_start, *conditions, rows=price_filters)
            + " ORDER BY w.rowid",
            params,
        )

    def substring_tier(matched: MatchField, index: str, *conditions: str) -> _Tier:
        return _Tier(
            matched,
            f"SELECT x.rowid FROM {index}(:sub) x"
            " JOIN lab_tests t ON t.row_no = x.rowid"
            + where(not_name_start, *conditions)
            + " ORDER BY x.rowid",
            params,
        )

    # Exclusions across the two indexes are uncorrelated IN subqueries: SQLite builds each
    # set once, and only when a search gets that far down the tiers. They carry the filter
    # tags too (a smaller set; rows that fail the filters are left out anyway).
    def not_in(index: str, match: str) -> str:
        return f"t.row_no NOT IN (SELECT rowid FROM {index}(:{match}))"

    if words is not None:
        tiers.append(words_tier(MatchField.NAME, "w_name_tagged"))
    if substring is not None:
        conditions = [in_name] + ([not_in("catalog_words", "w_name_tagged")] if words else [])
        if filters.lab_company_id is not None:
            # One company's names are few: reading them from the (company, name) index beats
            # walking every name that holds a common trigram.
            tiers.append(
                _Tier(
                    MatchField.NAME_SUBSTRING,
                    "SELECT t.row_no FROM lab_tests t"
                    + where(not_name_start, "t.is_active = 1", *conditions)
                    + " ORDER BY t.row_no",
                    params,
                )
            )
        else:
            tiers.append(
                substring_tier(MatchField.NAME_SUBSTRING, "catalog_name_substrings", *conditions)
            )
    if words is not None:
        conditions = [not_in_name] if substring is not None else []
        tiers.append(words_tier(MatchField.BIOMARKERS, "w_nb_only", *conditions))
    if substring is not None:
        conditions = [not_in_name] + ([not_in("catalog_words", "w_nb_tagged")] if words else [])
        tiers.append(
            substring_tier(
                MatchField.BIOMARKER_SUBSTRING, "catalog_biomarker_substrings", *conditions
            )
        )
    if words is not None:
        conditions = (
            [not_in_name, not_in("catalog_biomarker_substrings", "sub")]
            if substring is not None
            else []
        )
        tiers.append(words_tier(MatchField.OTHER, "w_other_only", *conditions))
    return tiers

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

Paging: every page carries a `SearchCursor` (the tier and the sort key of its last row); the
next page continues from there with a range condition on the tier's own order, so a page deep
in the results costs about as much as the first. `offset` paging still works, but it counts
and skips rows, so it slows down the deeper it goes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from rupa_desk.core.models import LabCompany, LabTest
from rupa_desk.core.money import cents_to_price, price_to_cents
from rupa_desk.services.store.catalog_files import CatalogAttachment
from rupa_desk.services.store.catalog_query import (
    Highlighter,
    ParsedQuery,
    parse_query,
    prefix_upper_bound,
)
from rupa_desk.services.store.catalog_schema import company_tag, sample_type_key, sample_type_tag
from rupa_desk.services.store.errors import UnknownLabTestError
from rupa_desk.services.store.sync_state import CATALOG, SyncState

#: The page size the catalog pane asks for.
DEFAULT_PAGE_SIZE = 50
#: Decoded biomarker and sample type lists kept (a few MB at most; see `_text_list`).
TEXT_LISTS_CACHED = 4096


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
class SearchCursor:
    """Where a page of results ended; give it to `search(..., after=cursor)` for the next page.

    Opaque to callers: it belongs to one search (text and filters) and holds the tier and the
    sort key of the page's last row. It stays usable until the catalog is synced again (the
    catalog pane searches again after every sync).
    """

    search: tuple[str, CatalogFilters]
    tier: int
    name_key: str
    row_no: int
    position: int  # hits before the next page (the offset it continues at)


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results: ask for the next with `after=next_cursor` while `has_more`.

    Attributes:
        hits: the results of this page, best first.
        offset: how many results come before this page.
        has_more: True when there are more results after this page.
        next_cursor: where the next page starts (None when there is no next page).
    """

    hits: tuple[SearchHit, ...]
    offset: int
    has_more: bool
    next_cursor: SearchCursor | None = None

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


#: A row a tier found: (row_no, the name_key it is ordered by, or "" when ordered by row_no).
_Row = tuple[int, str]


@dataclass(frozen=True, slots=True)
class _Cond:
    """One condition of a tier.

    Attributes:
        sql: the SQL expression.
        on_row: it reads the test's row (`t.`), so the tier must join `lab_tests`.
        known: when this search has read these earlier tiers to the end, the condition holds
            exactly for the rows that are not theirs (within the tier's other conditions),
            so it is replaced by leaving those rows out by number: no index is read again
            and, when no other condition needs it, the test's row is not read at all.
    """

    sql: str
    on_row: bool = True
    known: tuple[MatchField, ...] = ()


@dataclass(slots=True)
class _Tier:
    """One tier's query: `SELECT <row>, <key> FROM <index>(:<match>) [JOIN lab_tests t] ...`.

    Tiers with a `name_key` column are ordered by (name_key, row_no), the others by row_no
    alone; a cursor continues a tier with a range condition on that order. A tier of a
    full-text index (`index`) reads `lab_tests` only when a condition needs the row.

    Attributes:
        known_match: (a MATCH parameter, tiers): once those tiers are known, the MATCH
            without its NOT part, the tiers' rows being left out by number instead (used only
            when the row is not read anyway: FTS5 leaves rows out faster than a row check).
    """

    matched: MatchField
    index: str | None  # e.g. "catalog_words"; None: the tier reads `table`
    match: str  # the MATCH parameter
    conditions: list[_Cond]
    params: dict[str, Any]
    row: str  # the row_no column, e.g. "w.rowid"
    name_key: str | None = None  # the name_key column when ordered by name
    start: str | None = None  # a lower bound of the first page (a cursor sets its own)
    known_match: tuple[str, tuple[MatchField, ...]] | None = None
    table: str = "lab_tests t"

    def _sql(self, after: _Row | None, complete: dict[MatchField, list[int]]) -> tuple[str, str]:
        """The statement, and the JSON list of row numbers it leaves out (`:excluded`)."""

        def is_known(tiers: tuple[MatchField, ...]) -> bool:
            return bool(tiers) and all(tier in complete for tier in tiers)

        conditions: list[str] = []
        excluded: list[int] = []
        on_row = self.index is None
        for cond in self.conditions:
            if is_known(cond.known):
                excluded += (row for tier in cond.known for row in complete[tier])
            else:
                conditions.append(cond.sql)
                on_row = on_row or cond.on_row
        match = self.match
        if self.known_match is not None and not on_row and is_known(self.known_match[1]):
            match = self.known_match[0]
            excluded += (row for tier in self.known_match[1] for row in complete[tier])
        if excluded:
            # On the index's rowid, so that SQLite checks it before reading the row.
            conditions.append(f"{self.row} NOT IN (SELECT value FROM json_each(:excluded))")
        if self.start is not None and after is None:
            conditions.append(self.start)
        if after is not None:
            if self.name_key is not None:
                # The plain bound is where SQLite starts reading the (name_key, row_no) index.
                conditions.append(f"{self.name_key} >= :after_key")
                conditions.append(f"({self.name_key}, {self.row}) > (:after_key, :after_row)")
            else:
                conditions.append(f"{self.row} > :after_row")
        if self.index is None:
            source = self.table
        else:
            alias = self.row.split(".")[0]
            source = f"{self.index}(:{match}) {alias}"
            if on_row:
                source += f" JOIN lab_tests t ON t.row_no = {self.row}"
        where = " WHERE " + " AND ".join(conditions) if conditions else ""
        key = self.name_key or "''"
        order = f"{self.name_key}, {self.row}" if self.name_key else self.row
        return f"SELECT {self.row}, {key} FROM {source}{where} ORDER BY {order}", json.dumps(
            excluded
        )

    def fetch(
        self,
        db: Database,
        *,
        limit: int,
        offset: int = 0,
        after: _Row | None = None,
        complete: dict[MatchField, list[int]] | None = None,
    ) -> list[_Row]:
        """Up to `limit` rows in the tier's order (after `offset` rows, or after `after`).

        `complete` holds the rows of the earlier tiers this search read to the end.
        """
        sql, excluded = self._sql(after, complete or {})
        params = {**self.params, "limit": limit, "offset": offset, "excluded": excluded}
        if after is not None:
            params["after_row"], params["after_key"] = after
        rows = db.execute(f"{sql} LIMIT :limit OFFSET :offset", params).fetchall()
        return [(int(row[0]), str(row[1])) for row in rows]

    def count(self, db: Database, *, at_most: int | None = None) -> int:
        sql, _ = self._sql(None, {})
        if at_most is not None:
            sql += f" LIMIT {int(at_most)}"
        return int(db.execute(f"SELECT count(*) FROM ({sql})", self.params).fetchone()[0])


class Catalog:
    """Reads of the catalog tables: search, filter lists, test details, "catalog as of".

    Each read first moves the connection to the newest complete catalog (`attachment`), so
    the catalog a sync has just published is the one searched from then on.
    """

    def __init__(self, db: Database, attachment: CatalogAttachment) -> None:
        self._db = db
        self._attachment = attachment

    def search(
        self,
        text: str,
        filters: CatalogFilters = CatalogFilters(),
        *,
        after: SearchCursor | None = None,
        offset: int = 0,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> SearchPage:
        """One page of the tests matching `text` and `filters`, best first.

        The first page: no `after` and no `offset`. The next: `after=page.next_cursor` (as
        fast deep in the results as at the top), or `offset=page.next_offset` (slower the
        deeper it goes).

        Never raises on any text: it is escaped, never parsed as FTS5 syntax.

        Raises:
            ValueError: a bad `limit` or `offset`, both `after` and `offset`, or a cursor of
                another search.
        """
        self._attachment.ensure_current()
        if limit <= 0 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        if after is not None and offset:
            raise ValueError("page with after= or offset=, not both")
        query = parse_query(text)
        search_key = (query.name_prefix, filters)
        tiers = _tiers(query, filters)
        wanted = limit + 1
        picked: list[tuple[_Row, int]] = []  # (row, tier index)
        complete: dict[MatchField, list[int]] = {}  # tiers read from their start to the end
        if after is not None:
            if after.search != search_key:
                raise ValueError("this cursor belongs to another search")
            position = after.position
            first = after.tier
            for index in range(first, len(tiers)):
                continued = (after.row_no, after.name_key) if index == first else None
                asked = wanted - len(picked)
                rows = tiers[index].fetch(self._db, limit=asked, after=continued, complete=complete)
                picked.extend((row, index) for row in rows)
                if len(picked) >= wanted:
                    break
                if continued is None:
                    complete[tiers[index].matched] = [row_no for row_no, _ in rows]
        else:
            position = offset
            skip = offset
            for index, tier in enumerate(tiers):
                asked = wanted - len(picked)
                rows = tier.fetch(self._db, limit=asked, offset=skip, complete=complete)
                if not rows and skip:
                    skip = max(0, skip - tier.count(self._db))
                    continue
                picked.extend((row, index) for row in rows)
                if len(picked) >= wanted:
                    break
                if not skip:
                    complete[tier.matched] = [row_no for row_no, _ in rows]
                skip = 0
        has_more = len(picked) > limit
        page = picked[:limit]
        hits = self._hits([(row[0], tiers[index].matched) for row, index in page], query)
        next_cursor = None
        if has_more:
            (row_no, key), index = page[-1]
            next_cursor = SearchCursor(search_key, index, key, row_no, position + len(page))
        return SearchPage(hits=hits, offset=position, has_more=has_more, next_cursor=next_cursor)

    def count(
        self, text: str, filters: CatalogFilters = CatalogFilters(), *, at_most: int | None = None
    ) -> int:
        """How many tests `search` would list in all, or `at_most` when there are more.

        Counting every match of a broad query is slow (tens of milliseconds at 100,000 tests);
        `at_most` keeps it cheap (e.g. to show "1,000+"). The catalog pane needs no count: it
        says "50+" from `SearchPage.has_more`.
        """
        self._attachment.ensure_current()
        query = parse_query(text)
        total = 0
        for tier in _tiers(query, filters):
            left = None if at_most is None else at_most - total
            if left is not None and left <= 0:
                break
            total += tier.count(self._db, at_most=left)
        return total if at_most is None else min(total, at_most)

    def test_count(self) -> int:
        """How many tests the local catalog holds (active or not)."""
        self._attachment.ensure_current()
        return int(self._db.execute("SELECT count(*) FROM lab_tests").fetchone()[0])

    def companies(self) -> list[CatalogCompany]:
        """The lab companies, by name, with how many tests each has."""
        self._attachment.ensure_current()
        rows = self._db.execute(
            "SELECT id, name, short_name, test_count FROM lab_companies"
            " ORDER BY name COLLATE NOCASE, id"
        ).fetchall()
        return [CatalogCompany(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    def sample_types(self) -> list[SampleTypeCount]:
        """The sample types of the catalog, by name, with how many tests take each."""
        self._attachment.ensure_current()
        rows = self._db.execute(
            "SELECT name, test_count FROM catalog_sample_types ORDER BY name COLLATE NOCASE"
        ).fetchall()
        return [SampleTypeCount(str(r[0]), int(r[1])) for r in rows]

    def price_range(self) -> PriceRange | None:
        """The lowest and highest test prices; None when no test has a price."""
        self._attachment.ensure_current()
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
        self._attachment.ensure_current()
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
        """When the catalog was last synced completely ("catalog as of …").

        None if never, and None when the catalog file is missing or unusable (the catalog
        reads as empty until the next sync): an old date over an empty catalog would mislead.
        """
        self._attachment.ensure_current()
        if not self._attachment.has_catalog:
            return None
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
            biomarkers = _text_list(r[7])
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
                    sample_types=_text_list(r[6]),
                    biomarkers=biomarkers,
                    turnaround_days=r[8],
                    matched=matched,
                    name_spans=highlighter.spans(r[2]),
                    matched_biomarkers=matched_biomarkers,
                )
            )
        return tuple(hits)


@functools.lru_cache(maxsize=TEXT_LISTS_CACHED)
def _text_list(raw: str) -> tuple[str, ...]:
    """A test's sample types or biomarkers (a JSON list in the catalog) as a tuple.

    Cached by the JSON text: the same lists come back search after search (and every test of
    a lab shares a few sample type lists), and decoding them was a fifth of a search at
    2,500 tests. The text is the key, so a new catalog can never be served an old list.
    """
    return tuple(json.loads(raw))


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
    on_rows = [_Cond(sql) for sql in row_filters]
    on_prices = [_Cond(sql) for sql in price_filters]

    if query.is_empty:
        if filters.sample_type is not None and filters.lab_company_id is None:
            params["sample_key"] = sample_type_key(filters.sample_type)
            return [
                _Tier(
                    MatchField.FILTERS_ONLY,
                    None,
                    "",
                    [_Cond("s.sample_type_key = :sample_key"), _Cond("t.is_active = 1"), *on_rows],
                    params,
                    row="s.row_no",
                    name_key="s.name_key",
                    table="lab_test_sample_types s JOIN lab_tests t ON t.row_no = s.row_no",
                )
            ]
        return [
            _Tier(
                MatchField.FILTERS_ONLY,
                None,
                "",
                [_Cond("t.is_active = 1"), *on_rows],
                params,
                row="t.row_no",
                name_key="t.name_key",
            )
        ]

    params["prefix"] = query.name_prefix
    params["prefix_end"] = prefix_upper_bound(query.name_prefix)
    tiers = [
        _Tier(
            MatchField.NAME_START,
            None,
            "",
            [_Cond("t.name_key < :prefix_end"), _Cond("t.is_active = 1"), *on_rows],
            params,
            row="t.row_no",
            name_key="t.name_key",
            start="t.name_key >= :prefix",
        )
    ]
    # Within a later tier (which applies the filters too), "the name does not start with the
    # text" is "not a row of the first tier"; "the text is not in the name" is "not a row of
    # the first or the name-substring tier" (the tiers that use it never hold name-words rows).
    not_name_start = _Cond(
        "NOT (t.name_key >= :prefix AND t.name_key < :prefix_end)",
        known=(MatchField.NAME_START,),
    )
    words = query.all_words
    tags = "".join(f" AND {tag}" for tag in tag_filters)
    substring = query.substring
    if substring is not None:
        # The truth of "the text is inside the name" is a plain instr() on the row, so the
        # tiers that include and exclude it agree; the trigram index only finds candidates.
        params["sub_text"] = query.name_prefix
        params["sub"] = substring
        params["sub_candidates"] = query.substring_candidates
        params["sub_bio_candidates"] = query.biomarker_candidates
    if words is not None:
        params["w_nb_tagged"] = f"{{name biomarkers}}: ({words}){tags}"
        params["w_name_tagged"] = f"{{name}}: ({words}){tags}"
        params["w_any_tagged"] = f"{{name biomarkers company sample_types}}: ({words}){tags}"
        params["w_nb_only"] = f"({{name biomarkers}}: ({words}){tags}) NOT {{name}}: ({words})"
        params["w_other_only"] = (
            f"({{name biomarkers company sample_types}}: ({words}){tags})"
            f" NOT {{name biomarkers}}: ({words})"
        )
    in_name = _Cond("instr(t.name_key, :sub_text) > 0")
    not_in_name = [
        _Cond(
            "instr(t.name_key, :sub_text) = 0",
            known=(MatchField.NAME_START, MatchField.NAME_SUBSTRING),
        )
    ]
    if substring is None:
        not_in_name = []

    # Exclusions across the two indexes are uncorrelated IN subqueries: SQLite builds each
    # set once, and only when a search gets that far down the tiers. They carry the filter
    # tags too (a smaller set; rows that fail the filters are left out anyway). Within the
    # tier's other conditions each one holds exactly the rows of the `earlier` tiers.
    def not_in(row: str, index: str, match: str, *earlier: MatchField) -> _Cond:
        return _Cond(f"{row} NOT IN (SELECT rowid FROM {index}(:{match}))", False, earlier)

    def words_tier(
        matched: MatchField,
        match: str,
        conditions: list[_Cond],
        known_match: tuple[str, tuple[MatchField, ...]] | None = None,
    ) -> _Tier:
        return _Tier(
            matched,
            "catalog_words",
            match,
            [not_name_start, *conditions, *on_prices],
            params,
            row="w.rowid",
            known_match=known_match,
        )

    if words is not None:
        tiers.append(words_tier(MatchField.NAME, "w_name_tagged", []))
    if substring is not None:

        def not_name_words(row: str) -> list[_Cond]:
            if words is None:
                return []
            return [not_in(row, "catalog_words", "w_name_tagged", MatchField.NAME)]

        if filters.lab_company_id is not None:
            # One company's names are few: reading them from the (company, name) index beats
            # walking every name that holds a common trigram.
            tiers.append(
                _Tier(
                    MatchField.NAME_SUBSTRING,
                    None,
                    "",
                    [
                        not_name_start,
                        _Cond("t.is_active = 1"),
                        in_name,
                        *not_name_words("t.row_no"),
                        *on_rows,
                    ],
                    params,
                    row="t.row_no",
                )
            )
        else:
            # instr() decides, so the candidates may be a cheaper superset (see ParsedQuery).
            tiers.append(
                _Tier(
                    MatchField.NAME_SUBSTRING,
                    "catalog_name_substrings",
                    "sub_candidates",
                    [not_name_start, in_name, *not_name_words("x.rowid"), *on_rows],
                    params,
                    row="x.rowid",
                )
            )
    if words is not None:
        tiers.append(
            words_tier(
                MatchField.BIOMARKERS,
                "w_nb_only",
                not_in_name,
                known_match=("w_nb_tagged", (MatchField.NAME,)),
            )
        )
    if substring is not None:
        not_nb_words = (
            [
                not_in(
                    "x.rowid",
                    "catalog_words",
                    "w_nb_tagged",
                    MatchField.NAME,
                    MatchField.BIOMARKERS,
                )
            ]
            if words is not None
            else []
        )
        # Candidates other than the exact phrase are checked on the decoded biomarkers,
        # last (the costliest check); see ParsedQuery.biomarker_candidates.
        in_biomarkers = (
            []
            if query.biomarker_candidates == substring
            else [
                _Cond(
                    "EXISTS (SELECT 1 FROM json_each(t.biomarkers) b"
                    " WHERE instr(lower(b.value), :sub_text) > 0)"
                )
            ]
        )
        tiers.append(
            _Tier(
                MatchField.BIOMARKER_SUBSTRING,
                "catalog_biomarker_substrings",
                "sub_bio_candidates",
                [not_name_start, *not_in_name, *not_nb_words, *on_rows, *in_biomarkers],
                params,
                row="x.rowid",
            )
        )
    if words is not None:
        other_conditions = list(not_in_name)
        if substring is not None:
            other_conditions.append(
                not_in(
                    "w.rowid",
                    "catalog_biomarker_substrings",
                    "sub",
                    MatchField.BIOMARKER_SUBSTRING,
                )
            )
        tiers.append(
            words_tier(
                MatchField.OTHER,
                "w_other_only",
                other_conditions,
                known_match=("w_any_tagged", (MatchField.NAME, MatchField.BIOMARKERS)),
            )
        )
    return tiers

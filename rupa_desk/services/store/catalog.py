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
alphabetically. `tier_queries` builds the tiers of a search, one function per tier (from
`_name_starts` to `_words_anywhere`) over one read-only value holding the search's SQL
fragments and parameters; tests/unit/test_catalog_sql.py shows the SQL of each query shape.

Preferred labs: the same test from several lab companies has the same name, so its rows are
neighbours in every tier's order. With the clinic's preferred labs given, a page ends before
such a run that the page limit would cut (unless the run fills the whole page), and within
each run the preferred labs come first, in the order they were named: the SQL and its order do
not change, only the order of equal names on a page.

Paging: every page carries a `SearchCursor` (the tier and the sort key of its last row); the
next page continues from there with a range condition on the tier's own order, so a page deep
in the results costs about as much as the first. `offset` paging still works, but it counts
and skips rows, so it slows down the deeper it goes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
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
    PreferredLabs,
    parse_query,
    prefix_upper_bound,
)
from rupa_desk.services.store.catalog_schema import (
    company_tag,
    name_key,
    sample_type_key,
    sample_type_tag,
)
from rupa_desk.services.store.errors import UnknownLabTestError
from rupa_desk.services.store.sync_state import CATALOG, SyncState

#: The page size the catalog pane asks for.
DEFAULT_PAGE_SIZE = 50
#: Decoded biomarker and sample type lists kept (see `_text_list`).
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
        preferred: its lab company is one of the clinic's preferred labs.
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
    preferred: bool = False


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
class TierQuery:
    """One tier's query: `SELECT <row>, <key> FROM <index>(:<match>) [JOIN lab_tests t] ...`.

    Tiers with a `name_key` column are ordered by (name_key, row_no), the others by row_no
    alone; a cursor continues a tier with a range condition on that order. A tier of a
    full-text index (`index`) reads `lab_tests` only when a condition needs the row.

    Nothing changes a tier once it is built (its conditions are a tuple, its parameters a
    `Mapping`); it is not a frozen dataclass only because those cost more to build, and a
    search builds up to six of them.

    Attributes:
        params: the parameters of every tier of the search (shared, read-only).
        known_match: (a MATCH parameter, tiers): once those tiers are known, the MATCH
            without its NOT part, the tiers' rows being left out by number instead (used only
            when the row is not read anyway: FTS5 leaves rows out faster than a row check).
    """

    matched: MatchField
    index: str | None  # e.g. "catalog_words"; None: the tier reads `table`
    match: str  # the MATCH parameter
    conditions: tuple[_Cond, ...]
    params: Mapping[str, Any]
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

    def statement(
        self,
        *,
        limit: int,
        offset: int = 0,
        after: _Row | None = None,
        complete: dict[MatchField, list[int]] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """The statement `fetch` runs, and its parameters (also for reading what a tier runs).

        `complete` holds the rows of the earlier tiers this search read to the end.
        """
        sql, excluded = self._sql(after, complete or {})
        params = {**self.params, "limit": limit, "offset": offset, "excluded": excluded}
        if after is not None:
            params["after_row"], params["after_key"] = after
        return f"{sql} LIMIT :limit OFFSET :offset", params

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
        sql, params = self.statement(limit=limit, offset=offset, after=after, complete=complete)
        rows = db.execute(sql, params).fetchall()
        return [(int(row[0]), str(row[1])) for row in rows]

    def count(self, db: Database, *, at_most: int | None = None) -> int:
        sql, _ = self._sql(None, {})
        if at_most is not None:
            sql += f" LIMIT {int(at_most)}"
        return int(db.execute(f"SELECT count(*) FROM ({sql})", dict(self.params)).fetchone()[0])


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
        preferred: PreferredLabs | None = None,
    ) -> SearchPage:
        """One page of the tests matching `text` and `filters`, best first.

        The first page: no `after` and no `offset`. The next: `after=page.next_cursor` (as
        fast deep in the results as at the top), or `offset=page.next_offset` (slower the
        deeper it goes). With `preferred` labs, the same test from several labs lists the
        preferred ones first (see the module docstring); give the same labs for every page.

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
        tiers = tier_queries(query, filters)
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
        if preferred:  # None or no lab: the page as the tiers found it
            hits = self._hits([(row[0], tiers[index].matched) for row, index in picked], query)
            kept = _whole_runs(hits, limit)
            page = picked[:kept]
            hits = _preferred_first(hits[:kept], preferred)
        else:
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

        Counting a broad query reads every match (bench_catalog prints what that costs);
        `at_most` keeps it cheap (e.g. to show "1,000+"). The catalog pane needs no count: it
        says "50+" from `SearchPage.has_more`.
        """
        self._attachment.ensure_current()
        query = parse_query(text)
        total = 0
        for tier in tier_queries(query, filters):
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


def _same_test(a: SearchHit, b: SearchHit) -> bool:
    """Two hits of one run: the same name found by the same tier (a test from two labs)."""
    return a.matched == b.matched and name_key(a.name) == name_key(b.name)


def _whole_runs(hits: Sequence[SearchHit], limit: int) -> int:
    """How many of `hits` (up to `limit + 1`, in the tiers' order) make a page of `limit` at
    most that cuts no run of one test from several labs (a run that fills the page stays)."""
    if len(hits) <= limit:
        return len(hits)
    start = limit
    while start > 0 and _same_test(hits[start - 1], hits[limit]):
        start -= 1
    return start or limit


def _preferred_first(hits: Sequence[SearchHit], preferred: PreferredLabs) -> tuple[SearchHit, ...]:
    """`hits` marked preferred or not, each run of one test with the preferred labs first."""
    ranked: list[SearchHit] = []
    run: list[tuple[tuple[int, int], SearchHit]] = []  # ((0, rank) or (1, 0), hit)

    def close_run() -> None:
        run.sort(key=lambda item: item[0])  # stable: the others keep their order
        ranked.extend(hit for _, hit in run)
        run.clear()

    for hit in hits:
        if run and not _same_test(run[-1][1], hit):
            close_run()
        rank = preferred.rank(hit.lab_company_name)
        if rank is None:
            run.append(((1, 0), hit))
        else:
            run.append(((0, rank), dataclasses.replace(hit, preferred=True)))
    close_run()
    return tuple(ranked)


@functools.lru_cache(maxsize=TEXT_LISTS_CACHED)
def _text_list(raw: str) -> tuple[str, ...]:
    """A test's sample types or biomarkers (a JSON list in the catalog) as a tuple.

    Cached by the JSON text: the same lists come back search after search (and every test of
    a lab shares a few sample type lists), and decoding them was a large share of a search
    (see bench_catalog). The text is the key, so a new catalog is never served an old list.
    """
    return tuple(json.loads(raw))


def tier_queries(query: ParsedQuery, filters: CatalogFilters) -> list[TierQuery]:
    """The tier queries of a search (see the module docstring), in order."""
    filter_sql = _FilterSql.of(filters)
    if query.is_empty:
        return [_tests_passing_filters(filter_sql)]
    search = _SearchSql.of(query, filter_sql)
    has_words = query.all_words is not None
    has_substring = query.substring is not None
    tiers = [_name_starts(search)]
    if has_words:
        tiers.append(_words_in_name(search))
    if has_substring:
        tiers.append(_text_in_name(search))
    if has_words:
        tiers.append(_words_in_biomarkers(search))
    if has_substring:
        tiers.append(_text_in_biomarkers(search))
    if has_words:
        tiers.append(_words_anywhere(search))
    return tiers


# The conditions of the tiers: constants, so a search only picks them.
_ACTIVE = _Cond("t.is_active = 1")
_BY_COMPANY = _Cond("t.lab_company_id = :company")
_BY_SAMPLE_TYPE = _Cond("instr(t.sample_types_key, :sample_type) > 0")
_PRICE_FROM = _Cond("t.price_cents >= :price_min")
_PRICE_UP_TO = _Cond("t.price_cents <= :price_max")
_SAMPLE_TYPE_INDEX = _Cond("s.sample_type_key = :sample_key")
_BELOW_PREFIX_END = _Cond("t.name_key < :prefix_end")
# Within a later tier (which applies the filters too), "the name does not start with the
# text" is "not a row of the first tier"; "the text is not in the name" is "not a row of the
# first or the name-substring tier" (the tiers that use it never hold name-words rows).
_NOT_NAME_START = _Cond(
    "NOT (t.name_key >= :prefix AND t.name_key < :prefix_end)", known=(MatchField.NAME_START,)
)
# The truth of "the text is inside the name" is a plain instr() on the row, so the tiers that
# include and exclude it agree; the trigram index only finds candidates.
_IN_NAME = _Cond("instr(t.name_key, :sub_text) > 0")
_NOT_IN_NAME = _Cond(
    "instr(t.name_key, :sub_text) = 0", known=(MatchField.NAME_START, MatchField.NAME_SUBSTRING)
)


def _not_in(row: str, index: str, match: str, *earlier: MatchField) -> _Cond:
    """`row` is not a match of `index` for the MATCH parameter `match`.

    Exclusions across the two indexes are uncorrelated IN subqueries: SQLite builds each set
    once, and only when a search gets that far down the tiers. They carry the filter tags too
    (a smaller set; rows that fail the filters are left out anyway). Within the tier's other
    conditions each one holds exactly the rows of the `earlier` tiers.
    """
    return _Cond(f"{row} NOT IN (SELECT rowid FROM {index}(:{match}))", False, earlier)


_NOT_NAME_WORDS = {
    row: _not_in(row, "catalog_words", "w_name_tagged", MatchField.NAME)
    for row in ("t.row_no", "x.rowid")
}
_NOT_NAME_BIOMARKER_WORDS = _not_in(
    "x.rowid", "catalog_words", "w_nb_tagged", MatchField.NAME, MatchField.BIOMARKERS
)
_NOT_IN_BIOMARKERS = _not_in(
    "w.rowid", "catalog_biomarker_substrings", "sub", MatchField.BIOMARKER_SUBSTRING
)
# Candidates other than the exact phrase are checked on the decoded biomarkers, last (the
# costliest check); see ParsedQuery.biomarker_candidates.
_IN_DECODED_BIOMARKERS = _Cond(
    "EXISTS (SELECT 1 FROM json_each(t.biomarkers) b WHERE instr(lower(b.value), :sub_text) > 0)"
)


@dataclass(frozen=True, slots=True)
class _FilterSql:
    """A search's filters as SQL, one read-only value shared by all its tiers.

    Attributes:
        filters: the filters themselves (whether a lab company or a sample type is set decides
            how some tiers read).
        on_row: the conditions on the test's row (`t.`): lab company, sample type, prices.
        on_price: the price conditions alone (the word index has tags for the others).
        tags: the lab company and sample type as tags to add to a word-index MATCH
            (` AND {tags}: "…"` each; empty without them).
        params: the parameters of `on_row` (a `Mapping`: the tiers only read it).
    """

    filters: CatalogFilters
    on_row: tuple[_Cond, ...]
    on_price: tuple[_Cond, ...]
    tags: str
    params: Mapping[str, Any]

    @classmethod
    def of(cls, filters: CatalogFilters) -> _FilterSql:
        params: dict[str, Any] = {}
        on_tags: list[_Cond] = []
        tags = ""
        if filters.lab_company_id is not None:
            params["company"] = filters.lab_company_id
            on_tags.append(_BY_COMPANY)
            tags += ' AND {tags}: "' + company_tag(filters.lab_company_id) + '"'
        if filters.sample_type is not None:
            params["sample_type"] = "|" + sample_type_key(filters.sample_type) + "|"
            on_tags.append(_BY_SAMPLE_TYPE)
            tags += ' AND {tags}: "' + sample_type_tag(filters.sample_type) + '"'
        on_price: list[_Cond] = []
        if filters.price_min is not None:
            params["price_min"] = price_to_cents(filters.price_min)
            on_price.append(_PRICE_FROM)
        if filters.price_max is not None:
            params["price_max"] = price_to_cents(filters.price_max)
            on_price.append(_PRICE_UP_TO)
        return cls(filters, (*on_tags, *on_price), tuple(on_price), tags, params)


@dataclass(frozen=True, slots=True)
class _SearchSql:
    """A search's text and filters as SQL, one read-only value shared by all its tiers.

    Attributes:
        query: the parsed text.
        filters: the filters as SQL.
        params: the parameters of every tier: the filters' and the text's (its prefix and
            the range above it, the text for instr(), the trigram and word MATCH strings).
    """

    query: ParsedQuery
    filters: _FilterSql
    params: Mapping[str, Any]

    @classmethod
    def of(cls, query: ParsedQuery, filters: _FilterSql) -> _SearchSql:
        params = dict(filters.params)
        params["prefix"] = query.name_prefix
        params["prefix_end"] = prefix_upper_bound(query.name_prefix)
        if query.substring is not None:
            params["sub_text"] = query.name_prefix
            params["sub"] = query.substring
            params["sub_candidates"] = query.substring_candidates
            params["sub_bio_candidates"] = query.biomarker_candidates
        words, tags = query.all_words, filters.tags
        if words is not None:
            params["w_nb_tagged"] = f"{{name biomarkers}}: ({words}){tags}"
            params["w_name_tagged"] = f"{{name}}: ({words}){tags}"
            params["w_any_tagged"] = f"{{name biomarkers company sample_types}}: ({words}){tags}"
            params["w_nb_only"] = f"({{name biomarkers}}: ({words}){tags}) NOT {{name}}: ({words})"
            params["w_other_only"] = (
                f"({{name biomarkers company sample_types}}: ({words}){tags})"
                f" NOT {{name biomarkers}}: ({words})"
            )
        return cls(query, filters, params)

    @property
    def not_in_name(self) -> tuple[_Cond, ...]:
        """ "The text is not inside the name", when the text is long enough to be looked for."""
        return () if self.query.substring is None else (_NOT_IN_NAME,)


def _tests_passing_filters(filters: _FilterSql) -> TierQuery:
    """With no text: the active tests that pass the filters, alphabetically.

    A sample type alone is read from the (sample type, name) index.
    """
    sample_type = filters.filters.sample_type
    if sample_type is not None and filters.filters.lab_company_id is None:
        return TierQuery(
            MatchField.FILTERS_ONLY,
            None,
            "",
            (_SAMPLE_TYPE_INDEX, _ACTIVE, *filters.on_row),
            {**filters.params, "sample_key": sample_type_key(sample_type)},
            row="s.row_no",
            name_key="s.name_key",
            table="lab_test_sample_types s JOIN lab_tests t ON t.row_no = s.row_no",
        )
    return TierQuery(
        MatchField.FILTERS_ONLY,
        None,
        "",
        (_ACTIVE, *filters.on_row),
        filters.params,
        row="t.row_no",
        name_key="t.name_key",
    )


def _name_starts(search: _SearchSql) -> TierQuery:
    """Tests whose name starts with the text, alphabetically (a range of the name index)."""
    return TierQuery(
        MatchField.NAME_START,
        None,
        "",
        (_BELOW_PREFIX_END, _ACTIVE, *search.filters.on_row),
        search.params,
        row="t.row_no",
        name_key="t.name_key",
        start="t.name_key >= :prefix",
    )


def _words_in_name(search: _SearchSql) -> TierQuery:
    """Tests with every word of the text in their name."""
    return _words_tier(search, MatchField.NAME, "w_name_tagged", ())


def _text_in_name(search: _SearchSql) -> TierQuery:
    """Tests with the text inside their name (`a1c` in `HbA1c`), by static rank.

    With a lab company, its (company, name) index is read: one company's names are few, and
    reading them beats walking every name that holds a common trigram. Otherwise the trigram
    index gives candidates, which may be a cheaper superset (see ParsedQuery): instr() decides.
    """
    words = search.query.all_words
    if search.filters.filters.lab_company_id is not None:
        return TierQuery(
            MatchField.NAME_SUBSTRING,
            None,
            "",
            (
                _NOT_NAME_START,
                _ACTIVE,
                _IN_NAME,
                *_not_name_words("t.row_no", words),
                *search.filters.on_row,
            ),
            search.params,
            row="t.row_no",
        )
    return TierQuery(
        MatchField.NAME_SUBSTRING,
        "catalog_name_substrings",
        "sub_candidates",
        (_NOT_NAME_START, _IN_NAME, *_not_name_words("x.rowid", words), *search.filters.on_row),
        search.params,
        row="x.rowid",
    )


def _not_name_words(row: str, words: str | None) -> tuple[_Cond, ...]:
    """`row` is not a row of the name-words tier (nothing when the text has no words)."""
    return () if words is None else (_NOT_NAME_WORDS[row],)


def _words_in_biomarkers(search: _SearchSql) -> TierQuery:
    """Tests with every word in their name and biomarkers, but not all of them in the name."""
    return _words_tier(
        search,
        MatchField.BIOMARKERS,
        "w_nb_only",
        search.not_in_name,
        known_match=("w_nb_tagged", (MatchField.NAME,)),
    )


def _text_in_biomarkers(search: _SearchSql) -> TierQuery:
    """Tests with the text inside a biomarker, by static rank."""
    query = search.query
    not_nb_words = () if query.all_words is None else (_NOT_NAME_BIOMARKER_WORDS,)
    checked = query.biomarker_candidates != query.substring
    return TierQuery(
        MatchField.BIOMARKER_SUBSTRING,
        "catalog_biomarker_substrings",
        "sub_bio_candidates",
        (
            _NOT_NAME_START,
            *search.not_in_name,
            *not_nb_words,
            *search.filters.on_row,
            *((_IN_DECODED_BIOMARKERS,) if checked else ()),
        ),
        search.params,
        row="x.rowid",
    )


def _words_anywhere(search: _SearchSql) -> TierQuery:
    """Tests with every word somewhere: name, biomarkers, lab company or sample types."""
    not_in_biomarkers = () if search.query.substring is None else (_NOT_IN_BIOMARKERS,)
    return _words_tier(
        search,
        MatchField.OTHER,
        "w_other_only",
        (*search.not_in_name, *not_in_biomarkers),
        known_match=("w_any_tagged", (MatchField.NAME, MatchField.BIOMARKERS)),
    )


def _words_tier(
    search: _SearchSql,
    matched: MatchField,
    match: str,
    conditions: tuple[_Cond, ...],
    known_match: tuple[str, tuple[MatchField, ...]] | None = None,
) -> TierQuery:
    """A tier of the word index: the filter tags are in its MATCH, the prices on the row."""
    return TierQuery(
        matched,
        "catalog_words",
        match,
        (_NOT_NAME_START, *conditions, *search.filters.on_price),
        search.params,
        row="w.rowid",
        known_match=known_match,
    )

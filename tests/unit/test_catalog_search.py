"""Catalog search on a synthetic catalog: known queries, escaping, ranking, filters, paging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rupa_desk.services.store import (
    CatalogFilters,
    MatchField,
    SearchHit,
    Store,
    UnknownLabTestError,
)
from rupa_desk.services.store.catalog_query import Highlighter, parse_query
from tests.fixtures.catalog_data import (
    SyntheticCatalog,
    company_id,
    load_catalog,
    synthetic_catalog,
)

TIER_ORDER = list(MatchField)
NASTY_INPUTS = [
    "",
    " ",
    '"',
    '""',
    '"a1c',
    "NOT",
    "NOT a1c",
    "a1c NOT",
    "AND",
    "OR",
    "NEAR(a b)",
    "*",
    "**",
    "a*",
    "(",
    ")",
    "(vitamin",
    "{name}: a1c",
    "name:a1c",
    "^a1c",
    "-",
    "--",
    "+",
    "vitamin-d",
    "25-OH",
    "T3/T4",
    "'; DROP TABLE lab_tests; --",
    "%",
    "_",
    "\\",
    "\x00",
    "abc\x00def",
    "ß",
    "Ärzte",
    "维生素",
    "💉",
    "é́́",
    "a" * 5000,
    " ".join(["vitamin"] * 100),
]


@pytest.fixture(scope="module")
def catalog() -> SyntheticCatalog:
    return synthetic_catalog(1500, seed=11)


@pytest.fixture(scope="module")
def store(catalog: SyntheticCatalog) -> Iterator[Store]:
    with Store.in_memory() as store:
        load_catalog(
            store,
            catalog.companies,
            catalog.tests,
            synced_at=datetime(2024, 6, 13, 12, 0, tzinfo=UTC),
        )
        yield store


def all_hits(store: Store, text: str, filters: CatalogFilters | None = None) -> list[SearchHit]:
    """Every hit, page by page with cursors."""
    filters = filters or CatalogFilters()
    page = store.catalog.search(text, filters, limit=37)
    hits = list(page.hits)
    while page.next_cursor is not None:
        assert page.has_more
        page = store.catalog.search(text, filters, after=page.next_cursor, limit=37)
        hits.extend(page.hits)
    assert not page.has_more
    return hits


def all_hits_by_offset(
    store: Store, text: str, filters: CatalogFilters | None = None
) -> list[SearchHit]:
    filters = filters or CatalogFilters()
    hits: list[SearchHit] = []
    offset = 0
    while True:
        page = store.catalog.search(text, filters, offset=offset, limit=29)
        hits.extend(page.hits)
        if not page.has_more:
            return hits
        offset = page.next_offset


def names(hits: list[SearchHit]) -> list[str]:
    return [h.name for h in hits]


@pytest.mark.parametrize(
    ("query", "expected_first"),
    [
        ("a1c", "Hemoglobin A1c"),
        ("A1C", "Hemoglobin A1c"),
        ("vitamin-d", "Vitamin D, 25-OH"),
        ("vitamin d", "Vitamin D, 25-OH"),
        ("25-OH", "Vitamin D, 25-OH"),
        ("T3/T4", "T3/T4 Panel"),
        ("t3/t4 pan", "T3/T4 Panel"),
        ("GI-MAP", "GI-MAP"),
        ("hemoglob", "Hemoglobin A1c"),
    ],
)
def test_known_queries_find_their_test_first(store: Store, query: str, expected_first: str) -> None:
    page = store.catalog.search(query)
    assert page.hits, query
    assert page.hits[0].name == expected_first


def test_a_substring_finds_its_test_inside_a_word(store: Store) -> None:
    assert "HbA1c" in names(all_hits(store, "a1c"))
    olest = all_hits(store, "olest")
    assert "Cholesterol, Total" in names(olest)
    assert "Lipid Panel" in names(olest)
    for hit in olest:
        assert "olest" in hit.name.casefold() or any(
            "olest" in b.casefold() for b in hit.biomarkers
        ), hit


def test_every_name_containing_the_text_is_found(store: Store, catalog: SyntheticCatalog) -> None:
    # The long ones, inside a word, come from trigrams that only cover the text.
    long_ones = ("olesterol, tot", "emoglobin a1c", "ood sensitivity")
    for text in ("olest", "panel", "ormone", "a1c", "sensitiv", "(igg)", *long_ones):
        found = {h.id for h in all_hits(store, text)}
        expected = {t.id for t in catalog.tests if t.is_active and text in t.name.casefold()}
        assert expected <= found, text


def test_every_biomarker_containing_the_text_is_found(
    store: Store, catalog: SyntheticCatalog
) -> None:
    # Long ASCII text: candidates by covering trigrams, checked on the decoded biomarkers;
    # with ";" the exact phrase (the index joins a test's biomarkers with "; ").
    for text in ("olesterol", "otal cholesterol", "dl cholesterol", "l cholesterol; ldl"):
        found = {h.id for h in all_hits(store, text)}
        expected = {
            t.id
            for t in catalog.tests
            if t.is_active and text in "; ".join(t.biomarkers).casefold()
        }
        assert expected, text
        assert expected <= found, text
        for hit in all_hits(store, text):
            if hit.matched is MatchField.BIOMARKER_SUBSTRING:
                assert hit.id in expected
                assert text not in hit.name.casefold()


def test_partial_word_finds_its_tests(store: Store) -> None:
    hits = all_hits(store, "thyro")
    assert hits
    assert all("thyro" in h.name.casefold() or h.matched != MatchField.NAME for h in hits)
    assert hits[0].name.casefold().startswith("thyro")


def test_name_matches_rank_before_biomarker_matches_before_company(store: Store) -> None:
    hits = all_hits(store, "cholesterol")
    tiers = [TIER_ORDER.index(h.matched) for h in hits]
    assert tiers == sorted(tiers)
    assert hits[0].name == "Cholesterol, Total"
    lipid = names(hits).index("Lipid Panel")
    assert hits[lipid].matched == MatchField.BIOMARKERS
    assert "Total Cholesterol" in hits[lipid].matched_biomarkers
    first_biomarker = next(i for i, h in enumerate(hits) if h.matched == MatchField.BIOMARKERS)
    assert all("cholesterol" in h.name.casefold() for h in hits[:first_biomarker])

    quest = all_hits(store, "quest")
    assert quest
    assert {h.matched for h in quest} == {MatchField.OTHER}
    assert {h.lab_company_name for h in quest} == {"Quest Diagnostics"}


def test_within_a_tier_shorter_names_come_first_and_order_is_stable(store: Store) -> None:
    hits = [h for h in all_hits(store, "panel") if h.matched == MatchField.NAME]
    lengths = [len(h.name) for h in hits]
    assert lengths == sorted(lengths)
    assert names(all_hits(store, "panel")) == names(all_hits(store, "panel"))


@pytest.mark.parametrize("text", ["m", "me", "a", "ZR", "2"])
def test_one_and_two_characters_answer_with_name_prefixes_first(store: Store, text: str) -> None:
    page = store.catalog.search(text)
    starts = [h for h in page.hits if h.matched == MatchField.NAME_START]
    for hit in starts:
        assert hit.name.casefold().startswith(text.casefold())
    assert [h.name.casefold() for h in starts] == sorted(h.name.casefold() for h in starts)
    assert page.hits[: len(starts)] == tuple(starts)


@pytest.mark.parametrize("text", NASTY_INPUTS)
def test_special_input_never_raises(store: Store, text: str) -> None:
    page = store.catalog.search(text)
    assert len({h.id for h in page.hits}) == len(page.hits)
    assert store.catalog.count(text) >= len(page.hits)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=40))
def test_random_text_never_raises_and_never_repeats_a_test(store: Store, text: str) -> None:
    page = store.catalog.search(text, limit=60)
    ids = [h.id for h in page.hits]
    assert len(set(ids)) == len(ids)
    for hit in page.hits:
        for start, end in hit.name_spans:
            assert 0 <= start < end <= len(hit.name)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(alphabet=st.sampled_from('abcdeilmnoprstv13 -/"*()'), max_size=12))
def test_random_catalog_like_text_never_raises(store: Store, text: str) -> None:
    store.catalog.search(text, CatalogFilters(sample_type="Blood"), limit=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(alphabet=st.sampled_from("abcdeilmnoprstv13 -/"), max_size=14),
    sample_type=st.sampled_from([None, "Blood", "Urine"]),
)
def test_random_text_pages_by_cursor_as_one_big_page(
    store: Store, text: str, sample_type: str | None
) -> None:
    filters = CatalogFilters(sample_type=sample_type)
    big = store.catalog.search(text, filters, limit=5000)
    assert [h.id for h in all_hits(store, text, filters)] == [h.id for h in big.hits]


@pytest.mark.parametrize(
    "filters",
    [
        CatalogFilters(),
        CatalogFilters(sample_type="Blood"),
        CatalogFilters(lab_company_id=company_id(2)),
        CatalogFilters(price_max=Decimal("300")),
    ],
)
def test_paging_walks_every_match_once_in_a_stable_order(
    store: Store, filters: CatalogFilters
) -> None:
    for text in ("", "panel", "vit", "me", "olest", "cholesterol hdl", "a", "vitamin d"):
        big = store.catalog.search(text, filters, limit=5000)
        assert not big.has_more
        by_cursor = all_hits(store, text, filters)
        by_offset = all_hits_by_offset(store, text, filters)
        assert [h.id for h in by_cursor] == [h.id for h in big.hits]
        assert by_offset == by_cursor
        assert len({h.id for h in by_cursor}) == len(by_cursor)
        assert store.catalog.count(text, filters) == len(by_cursor)


def test_a_cursor_page_says_where_it_is_and_offsets_can_switch_to_cursors(store: Store) -> None:
    first = store.catalog.search("me", offset=40, limit=25)
    assert first.next_cursor is not None
    assert first.next_cursor.position == 65
    second = store.catalog.search("me", after=first.next_cursor, limit=25)
    assert second.offset == 65
    assert second.hits == store.catalog.search("me", offset=65, limit=25).hits


def test_a_cursor_only_continues_its_own_search(store: Store) -> None:
    cursor = store.catalog.search("panel", limit=10).next_cursor
    assert cursor is not None
    with pytest.raises(ValueError, match="another search"):
        store.catalog.search("vit", after=cursor)
    with pytest.raises(ValueError, match="another search"):
        store.catalog.search("panel", CatalogFilters(sample_type="Blood"), after=cursor)
    with pytest.raises(ValueError, match="not both"):
        store.catalog.search("panel", after=cursor, offset=10)
    assert store.catalog.search("  PANEL ", after=cursor).hits  # the same search


def test_the_last_page_has_no_cursor(store: Store) -> None:
    page = store.catalog.search("cholesterol hdl", limit=5000)
    assert page.hits
    assert not page.has_more
    assert page.next_cursor is None


def test_a_capped_count_stops_early(store: Store) -> None:
    total = store.catalog.count("a")
    assert total > 100
    assert store.catalog.count("a", at_most=100) == 100
    assert store.catalog.count("a", at_most=total + 5) == total
    assert store.catalog.count("hemoglobin a1c", at_most=1000) == store.catalog.count(
        "hemoglobin a1c"
    )


def test_an_offset_beyond_the_end_is_an_empty_last_page(store: Store) -> None:
    page = store.catalog.search("panel", offset=100_000)
    assert page.hits == ()
    assert not page.has_more


def test_filters_combine_with_a_query(store: Store, catalog: SyntheticCatalog) -> None:
    genova = company_id(2)
    filters = CatalogFilters(
        lab_company_id=genova,
        sample_type="blood",
        price_min=Decimal("100"),
        price_max=Decimal("800.50"),
    )
    for text in ("", "panel", "cholesterol", "olest", "me"):
        hits = all_hits(store, text, filters)
        assert hits, text
        for hit in hits:
            assert hit.lab_company_id == genova
            assert "Blood" in hit.sample_types
            assert hit.price is not None
            assert Decimal("100") <= hit.price <= Decimal("800.50")
    expected = {
        t.id
        for t in catalog.tests
        if t.is_active
        and t.lab_company_id == genova
        and "Blood" in t.sample_types
        and t.price is not None
        and Decimal("100") <= t.price <= Decimal("800.50")
    }
    assert {h.id for h in all_hits(store, "", filters)} == expected


@pytest.mark.parametrize(
    "filters",
    [
        CatalogFilters(lab_company_id=company_id(5)),
        CatalogFilters(sample_type="Saliva"),
        CatalogFilters(price_max=Decimal("50")),
        CatalogFilters(lab_company_id=company_id(1), sample_type="Stool"),
    ],
)
def test_each_filter_alone_lists_exactly_its_tests(
    store: Store, catalog: SyntheticCatalog, filters: CatalogFilters
) -> None:
    def passes(test_company: str | None, samples: tuple[str, ...], price: Decimal | None) -> bool:
        if filters.lab_company_id and test_company != filters.lab_company_id:
            return False
        if filters.sample_type and filters.sample_type not in samples:
            return False
        return not (filters.price_max and (price is None or price > filters.price_max))

    expected = {
        t.id
        for t in catalog.tests
        if t.is_active and passes(t.lab_company_id, t.sample_types, t.price)
    }
    hits = all_hits(store, "", filters)
    assert {h.id for h in hits} == expected
    assert all(h.matched == MatchField.FILTERS_ONLY for h in hits)
    assert [h.name.casefold() for h in hits] == sorted(h.name.casefold() for h in hits)


def test_matched_text_is_marked_for_highlighting(store: Store) -> None:
    hit = store.catalog.search("a1c").hits[0]
    assert hit.name == "Hemoglobin A1c"
    assert hit.name_spans == ((11, 14),)
    hba1c = next(h for h in all_hits(store, "a1c") if h.name == "HbA1c")
    assert hba1c.name_spans == ((2, 5),)
    vitamin = store.catalog.search("vitamin-d").hits[0]
    assert [vitamin.name[a:b] for a, b in vitamin.name_spans] == ["Vitamin", "D"]


def marked(text: str, query: str) -> list[str]:
    return [text[a:b] for a, b in Highlighter(parse_query(query)).spans(text)]


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        # An exact letter marks that word only, not every word starting with it.
        ("vitamin-d", "Vitamin D, Dried Blood Spot (Diet)", ["Vitamin", "D"]),
        ("vitamin d", "Vitamin D, Dried Blood Spot (Diet)", ["Vitamin", "D"]),
        ("vitamin-d", "Dried Vitamin D", ["Vitamin", "D"]),
        # A phrase marks its words where they appear together.
        ("25-OH", "25-OH Vitamin D (25 tests, OH)", ["25", "OH"]),
        ("t3/t4", "T3 Uptake, T3/T4 Ratio", ["T3", "T4"]),
        # The last word is a prefix; a word before it may go on (stemming).
        ("vitamin-de", "Vitamins Deficiency", ["Vitamin", "De"]),
        ("thyroid antib", "Antibodies to Thyroid", ["Antib", "Thyroid"]),
        # Inside a word, the whole text.
        ("a1c", "HbA1c", ["A1c"]),
        ("olest", "Cholesterol", ["olest"]),
        # One or two characters: word starts (a prefix alone), and the start of the name.
        ("d", "Dried D-dimer", ["D", "D", "d"]),
        ("-", "-free", ["-"]),
        ("", "Anything", []),
    ],
)
def test_highlighting_marks_what_the_words_matched(
    query: str, name: str, expected: list[str]
) -> None:
    assert marked(name, query) == expected


def test_inactive_tests_are_not_searchable_but_can_be_read(
    store: Store, catalog: SyntheticCatalog
) -> None:
    inactive = next(t for t in catalog.tests if not t.is_active)
    assert inactive.id not in {h.id for h in all_hits(store, inactive.name)}
    assert store.catalog.get_test(inactive.id).is_active is False


def test_get_test_returns_everything_stored(store: Store, catalog: SyntheticCatalog) -> None:
    original = catalog.tests[0]
    test = store.catalog.get_test(original.id)
    assert test == original
    assert test.lab_company is not None
    assert test.lab_company.name == "Quest Diagnostics"
    assert test.raw == original.raw
    with pytest.raises(UnknownLabTestError) as caught:
        store.catalog.get_test("labts_nope")
    assert caught.value.lab_test_id == "labts_nope"  # kept for the log, not in the words
    assert "labts_nope" not in str(caught.value)
    assert "Sync the catalog" in str(caught.value)


def test_filter_lists_and_catalog_date(store: Store, catalog: SyntheticCatalog) -> None:
    companies = store.catalog.companies()
    assert len(companies) == len(catalog.companies)
    assert sum(c.test_count for c in companies) == len(catalog.tests)
    assert [c.name.casefold() for c in companies] == sorted(c.name.casefold() for c in companies)
    sample_types = {s.name: s.test_count for s in store.catalog.sample_types()}
    assert sample_types["Blood"] == sum(
        1 for t in catalog.tests if t.is_active and "Blood" in t.sample_types
    )
    price_range = store.catalog.price_range()
    assert price_range is not None
    prices = [t.price for t in catalog.tests if t.price is not None]
    assert (price_range.lowest, price_range.highest) == (min(prices), max(prices))
    assert store.catalog.last_synced() == datetime(2024, 6, 13, 12, 0, tzinfo=UTC)
    assert store.catalog.test_count() == len(catalog.tests)


def test_parse_query_quotes_everything() -> None:
    parsed = parse_query('vitamin-d "NOT" (b12*')
    assert parsed.phrases == ('"vitamin d"', '"not"*', '"b12"*')
    assert parse_query("   ").is_empty
    assert parse_query("ab").substring is None
    assert parse_query("a1c").substring == '"a1c"'
    assert parse_query("a1c").substring_candidates == '"a1c"'
    assert parse_query("Comprehensive Stool").substring_candidates == (
        '"com" AND "pre" AND "hen" AND "siv" AND "e s" AND "too" AND "ool"'
    )
    quotes = parse_query('vitamin "d" x').substring_candidates
    assert quotes == '"vit" AND "ami" AND "n """ AND "d"" " AND """ x"'


def test_a_lone_surrogate_in_the_text_is_searched_around(store: Store) -> None:
    """Text pasted from a broken source (or a terminal that is not UTF-8) may hold a lone
    surrogate, which SQLite cannot be given: it is left out like any unsearchable character."""
    assert names(all_hits(store, "vitamin\udcff")) == names(all_hits(store, "vitamin"))
    assert store.catalog.count("\ud800") >= 0

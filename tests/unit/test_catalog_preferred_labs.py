"""One test from many labs: the clinic's preferred labs come first among its rows."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from rupa_desk.core.models import LabCompany, LabTest
from rupa_desk.services.store import PreferredLabs, SearchHit, Store
from tests.fixtures.catalog_data import load_catalog

CORTISOL = "Salivary Cortisol, 4-Point"
#: More labs than a page holds, so that a run of one test crosses a page's end.
LAB_COUNT = 30
LABS = tuple(LabCompany(f"labco_{i:03d}", f"Lab {i:03d}") for i in range(LAB_COUNT))


def lab_test(number: int, name: str, lab: LabCompany) -> LabTest:
    return LabTest(
        id=f"labts_{number:05d}",
        name=name,
        price=Decimal(40 + number % 7),
        lab_company_id=lab.id,
        sample_types=("Saliva",),
        biomarkers=("Cortisol",),
        lab_company=lab,
    )


def catalog() -> list[LabTest]:
    """Every lab offers the cortisol test; a few tests sort before it ("Cortisol …")."""
    tests = [lab_test(i, CORTISOL, lab) for i, lab in enumerate(LABS)]
    tests += [lab_test(100 + i, f"Salivary Cortisol Panel {i}", LABS[0]) for i in range(5)]
    tests += [lab_test(200 + i, f"Salivary Check {i}", LABS[1]) for i in range(7)]
    return tests


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with Store.in_memory() as store:
        load_catalog(store, LABS, catalog())
        yield store


def all_pages(store: Store, text: str, preferred: PreferredLabs, limit: int) -> list[SearchHit]:
    page = store.catalog.search(text, limit=limit, preferred=preferred)
    hits = list(page.hits)
    while page.next_cursor is not None:
        page = store.catalog.search(text, after=page.next_cursor, limit=limit, preferred=preferred)
        hits.extend(page.hits)
    return hits


def test_the_preferred_labs_come_first_in_the_order_they_were_named(store: Store) -> None:
    preferred = PreferredLabs(["Lab 017", "lab  005"])  # case and spaces do not matter
    hits = store.catalog.search(CORTISOL, preferred=preferred).hits
    cortisol = [hit for hit in hits if hit.name == CORTISOL]
    assert [hit.lab_company_name for hit in cortisol[:2]] == ["Lab 017", "Lab 005"]
    assert [hit.preferred for hit in cortisol[:3]] == [True, True, False]
    assert len(cortisol) == LAB_COUNT  # every lab is still listed, once
    assert sum(hit.preferred for hit in hits) == 2


def test_without_preferred_labs_the_order_is_the_catalogs(store: Store) -> None:
    plain = store.catalog.search(CORTISOL).hits
    assert not any(hit.preferred for hit in plain)
    assert store.catalog.search(CORTISOL, preferred=PreferredLabs()).hits == plain


def test_other_tests_keep_their_places(store: Store) -> None:
    """Only rows of the same test trade places: the preference never lifts a weaker match."""
    plain = [hit.id for hit in store.catalog.search("salivary").hits]
    preferred = store.catalog.search("salivary", preferred=PreferredLabs(["Lab 000"])).hits
    names_plain = [hit.name for hit in store.catalog.search("salivary").hits]
    assert [hit.name for hit in preferred] == names_plain
    assert sorted(hit.id for hit in preferred) == sorted(plain)


def test_a_page_never_cuts_a_run_so_a_preferred_lab_on_the_next_page_comes_first(
    store: Store,
) -> None:
    """ "salivary c…" lists 7 checks and 5 panels, then the 30 cortisol rows: a page of 40
    would cut them after 28; the preferred lab (the last of the run) must still lead it."""
    preferred = PreferredLabs(["Lab 029"])
    first = store.catalog.search("salivary c", limit=40, preferred=preferred)
    assert [hit.name for hit in first.hits] == [
        *(f"Salivary Check {i}" for i in range(7)),
        *(f"Salivary Cortisol Panel {i}" for i in range(5)),
    ]
    hits = all_pages(store, "salivary c", preferred, limit=40)
    cortisol = [hit for hit in hits if hit.name == CORTISOL]
    assert cortisol[0].lab_company_name == "Lab 029"
    assert len(hits) == len({hit.id for hit in hits}) == len(catalog())


def test_a_run_longer_than_a_page_is_paged_through_without_loss(store: Store) -> None:
    """A run longer than a page is ranked page by page (labs per test are far fewer than a
    page of the pane in practice), and nothing is lost or repeated."""
    hits = all_pages(store, CORTISOL, PreferredLabs(["Lab 003"]), limit=8)
    ids = [hit.id for hit in hits]
    assert len(ids) == len(set(ids))
    assert {hit.lab_company_name for hit in hits if hit.name == CORTISOL} == {
        lab.name for lab in LABS
    }


def test_offset_pages_agree_with_cursor_pages(store: Store) -> None:
    preferred = PreferredLabs(["Lab 029"])
    by_cursor = all_pages(store, "salivary c", preferred, limit=40)
    by_offset: list[SearchHit] = []
    page = store.catalog.search("salivary c", limit=40, preferred=preferred)
    by_offset.extend(page.hits)
    while page.has_more:
        page = store.catalog.search(
            "salivary c", offset=page.next_offset, limit=40, preferred=preferred
        )
        by_offset.extend(page.hits)
    assert [hit.id for hit in by_offset] == [hit.id for hit in by_cursor]


def test_an_empty_or_blank_preference_prefers_nothing() -> None:
    assert not PreferredLabs(["", "  "])
    assert PreferredLabs(["", "Lab 1"]).rank("LAB 1") == 0

"""The SQL each search shape runs, tier by tier, against golden text kept in this file.

A change to a tier's SQL fails here with a readable diff, and a reviewer reads what each query
shape runs. `rendered` lays a search's statements out for reading: the parameters every tier
of the search shares, then each tier's statement (each clause and each top-level condition on
a line of its own; only the whitespace differs from what runs) with the parameters of that
statement alone.

A first page runs a tier only when the earlier ones did not fill it, so it has read them to
the end: their conditions are replaced by leaving their rows out by number (`excluded`; here
tier N found row N; `limit` is the first tier's). The tier a cursor continues runs every
condition in full, with a range on the tier's order (`CURSOR_GOLDEN`); an `offset=` page and
`count()` run the same conditions without that range.

Each golden text starts with a newline, for reading. To print them all from the code as it is
(then read the diff before keeping it): `.venv/bin/python -m tests.unit.test_catalog_sql`.
"""

# ruff: noqa: E501 (the golden SQL and parameters are kept on one line each, as they run)

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest

from rupa_desk.services.store import CatalogFilters, MatchField, Store
from rupa_desk.services.store.catalog import TierQuery, tier_queries
from rupa_desk.services.store.catalog_query import parse_query
from tests.fixtures.catalog_data import company_id, load_catalog, synthetic_catalog

#: A first page asks for a page of 50 and one more row, to know whether there is a next page.
FIRST_PAGE = 51
COMPANY = CatalogFilters(lab_company_id="labco_0000000")
BLOOD = CatalogFilters(sample_type="Blood")
PRICE = CatalogFilters(price_min=Decimal("10.50"), price_max=Decimal("99"))
ALL_FILTERS = CatalogFilters("labco_0000000", "Blood", Decimal("10.50"), Decimal("99"))

#: (case, text, filters): the query shapes whose first page is kept as golden text.
CASES: tuple[tuple[str, str, CatalogFilters], ...] = (
    ("one word", "cholesterol", CatalogFilters()),
    ("several words", "vitamin d", CatalogFilters()),
    ("1-2 characters", "vi", CatalogFilters()),
    ("trigram", "a1c", CatalogFilters()),
    ("trigram, lab company", "a1c", COMPANY),
    ("trigram, sample type", "a1c", BLOOD),
    ("trigram, price", "a1c", PRICE),
    ("trigram, every filter", "a1c", ALL_FILTERS),
    ("several words, every filter", "vitamin d", ALL_FILTERS),
    ("1-2 characters, price", "vi", PRICE),
    ("no text, lab company", "", COMPANY),
    ("no text, sample type", "", BLOOD),
    ("no text, every filter", "", ALL_FILTERS),
)

_CLAUSE = re.compile(r" (?=(?:FROM|JOIN|WHERE|AND|ORDER BY|LIMIT) )")


def laid_out(sql: str) -> str:
    """`sql` with each clause and each top-level condition on a line of its own, indented."""
    lines: list[str] = []
    depth = start = 0
    for index, char in enumerate(sql):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and _CLAUSE.match(sql, index):
            lines.append(sql[start:index])
            start = index + 1
    lines.append(sql[start:])
    return "\n".join(("    " if line.startswith("AND ") else "  ") + line for line in lines)


def statement_text(tier: TierQuery, sql: str, params: dict[str, object]) -> str:
    own = {name: value for name, value in params.items() if name not in tier.params}
    heading = ", ".join(f"{name} = {value!r}" for name, value in own.items())
    return f"{tier.matched} ({heading}):\n{laid_out(sql)}"


def shared_params(tiers: list[TierQuery]) -> str:
    assert all(tier.params is tiers[0].params for tier in tiers)
    lines = [f"  {name} = {value!r}" for name, value in sorted(tiers[0].params.items())]
    return "\n".join(["params:", *lines])


def rendered(text: str, filters: CatalogFilters) -> str:
    """What a first page of `search(text, filters)` runs, tier by tier."""
    tiers = tier_queries(parse_query(text), filters)
    parts = [shared_params(tiers)]
    complete: dict[MatchField, list[int]] = {}
    for number, tier in enumerate(tiers):
        parts.append(statement_text(tier, *tier.statement(limit=FIRST_PAGE, complete=complete)))
        complete[tier.matched] = [number]
    return "\n".join(parts) + "\n"


def rendered_after_cursor(text: str, filters: CatalogFilters) -> str:
    """What each tier runs when a cursor continues the search inside it (row 42, key 'k')."""
    tiers = tier_queries(parse_query(text), filters)
    parts = [shared_params(tiers)]
    for tier in tiers:
        parts.append(statement_text(tier, *tier.statement(limit=FIRST_PAGE, after=(42, "k"))))
    return "\n".join(parts) + "\n"


#: The golden texts (see the module docstring).
GOLDEN: dict[str, str] = {
    "one word": r"""
params:
  prefix = 'cholesterol'
  prefix_end = 'cholesterol\U0010ffff'
  sub = '"cholesterol"'
  sub_bio_candidates = '"cho" AND "les" AND "ter" AND "rol"'
  sub_candidates = '"cho" AND "les" AND "ter" AND "rol"'
  sub_text = 'cholesterol'
  w_any_tagged = '{name biomarkers company sample_types}: ("cholesterol"*)'
  w_name_tagged = '{name}: ("cholesterol"*)'
  w_nb_only = '({name biomarkers}: ("cholesterol"*)) NOT {name}: ("cholesterol"*)'
  w_nb_tagged = '{name biomarkers}: ("cholesterol"*)'
  w_other_only = '({name biomarkers company sample_types}: ("cholesterol"*)) NOT {name biomarkers}: ("cholesterol"*)'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
name_substring (limit = 51, offset = 0, excluded = '[0, 1]'):
  SELECT x.rowid, ''
  FROM catalog_name_substrings(:sub_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE instr(t.name_key, :sub_text) > 0
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0, 0, 2, 1]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarker_substring (limit = 51, offset = 0, excluded = '[0, 0, 2, 1, 3]'):
  SELECT x.rowid, ''
  FROM catalog_biomarker_substrings(:sub_bio_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE EXISTS (SELECT 1 FROM json_each(t.biomarkers) b WHERE instr(lower(b.value), :sub_text) > 0)
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0, 0, 2, 4, 1, 3]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_any_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "several words": r"""
params:
  prefix = 'vitamin d'
  prefix_end = 'vitamin d\U0010ffff'
  sub = '"vitamin d"'
  sub_bio_candidates = '"vit" AND "ami" AND "n d"'
  sub_candidates = '"vit" AND "ami" AND "n d"'
  sub_text = 'vitamin d'
  w_any_tagged = '{name biomarkers company sample_types}: ("vitamin"* AND "d")'
  w_name_tagged = '{name}: ("vitamin"* AND "d")'
  w_nb_only = '({name biomarkers}: ("vitamin"* AND "d")) NOT {name}: ("vitamin"* AND "d")'
  w_nb_tagged = '{name biomarkers}: ("vitamin"* AND "d")'
  w_other_only = '({name biomarkers company sample_types}: ("vitamin"* AND "d")) NOT {name biomarkers}: ("vitamin"* AND "d")'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
name_substring (limit = 51, offset = 0, excluded = '[0, 1]'):
  SELECT x.rowid, ''
  FROM catalog_name_substrings(:sub_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE instr(t.name_key, :sub_text) > 0
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0, 0, 2, 1]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarker_substring (limit = 51, offset = 0, excluded = '[0, 0, 2, 1, 3]'):
  SELECT x.rowid, ''
  FROM catalog_biomarker_substrings(:sub_bio_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE EXISTS (SELECT 1 FROM json_each(t.biomarkers) b WHERE instr(lower(b.value), :sub_text) > 0)
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0, 0, 2, 4, 1, 3]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_any_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "1-2 characters": r"""
params:
  prefix = 'vi'
  prefix_end = 'vi\U0010ffff'
  w_any_tagged = '{name biomarkers company sample_types}: ("vi"*)'
  w_name_tagged = '{name}: ("vi"*)'
  w_nb_only = '({name biomarkers}: ("vi"*)) NOT {name}: ("vi"*)'
  w_nb_tagged = '{name biomarkers}: ("vi"*)'
  w_other_only = '({name biomarkers company sample_types}: ("vi"*)) NOT {name biomarkers}: ("vi"*)'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0, 1]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0, 1, 2]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_any_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "trigram": r"""
params:
  prefix = 'a1c'
  prefix_end = 'a1c\U0010ffff'
  sub = '"a1c"'
  sub_bio_candidates = '"a1c"'
  sub_candidates = '"a1c"'
  sub_text = 'a1c'
  w_any_tagged = '{name biomarkers company sample_types}: ("a1c"*)'
  w_name_tagged = '{name}: ("a1c"*)'
  w_nb_only = '({name biomarkers}: ("a1c"*)) NOT {name}: ("a1c"*)'
  w_nb_tagged = '{name biomarkers}: ("a1c"*)'
  w_other_only = '({name biomarkers company sample_types}: ("a1c"*)) NOT {name biomarkers}: ("a1c"*)'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
name_substring (limit = 51, offset = 0, excluded = '[0, 1]'):
  SELECT x.rowid, ''
  FROM catalog_name_substrings(:sub_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE instr(t.name_key, :sub_text) > 0
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0, 0, 2, 1]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarker_substring (limit = 51, offset = 0, excluded = '[0, 0, 2, 1, 3]'):
  SELECT x.rowid, ''
  FROM catalog_biomarker_substrings(:sub_bio_candidates) x
  WHERE x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0, 0, 2, 4, 1, 3]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_any_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "trigram, lab company": r"""
params:
  company = 'labco_0000000'
  prefix = 'a1c'
  prefix_end = 'a1c\U0010ffff'
  sub = '"a1c"'
  sub_bio_candidates = '"a1c"'
  sub_candidates = '"a1c"'
  sub_text = 'a1c'
  w_any_tagged = '{name biomarkers company sample_types}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048"'
  w_name_tagged = '{name}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048"'
  w_nb_only = '({name biomarkers}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048") NOT {name}: ("a1c"*)'
  w_nb_tagged = '{name biomarkers}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048"'
  w_other_only = '({name biomarkers company sample_types}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048") NOT {name biomarkers}: ("a1c"*)'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.lab_company_id = :company
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
name_substring (limit = 51, offset = 0, excluded = '[0, 1]'):
  SELECT t.row_no, ''
  FROM lab_tests t
  WHERE t.is_active = 1
    AND instr(t.name_key, :sub_text) > 0
    AND t.lab_company_id = :company
    AND t.row_no NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY t.row_no
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0, 0, 2, 1]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarker_substring (limit = 51, offset = 0, excluded = '[0, 0, 2, 1, 3]'):
  SELECT x.rowid, ''
  FROM catalog_biomarker_substrings(:sub_bio_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE t.lab_company_id = :company
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0, 0, 2, 4, 1, 3]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_any_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "trigram, sample type": r"""
params:
  prefix = 'a1c'
  prefix_end = 'a1c\U0010ffff'
  sample_type = '|blood|'
  sub = '"a1c"'
  sub_bio_candidates = '"a1c"'
  sub_candidates = '"a1c"'
  sub_text = 'a1c'
  w_any_tagged = '{name biomarkers company sample_types}: ("a1c"*) AND {tags}: "s098108111111100"'
  w_name_tagged = '{name}: ("a1c"*) AND {tags}: "s098108111111100"'
  w_nb_only = '({name biomarkers}: ("a1c"*) AND {tags}: "s098108111111100") NOT {name}: ("a1c"*)'
  w_nb_tagged = '{name biomarkers}: ("a1c"*) AND {tags}: "s098108111111100"'
  w_other_only = '({name biomarkers company sample_types}: ("a1c"*) AND {tags}: "s098108111111100") NOT {name biomarkers}: ("a1c"*)'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND instr(t.sample_types_key, :sample_type) > 0
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
name_substring (limit = 51, offset = 0, excluded = '[0, 1]'):
  SELECT x.rowid, ''
  FROM catalog_name_substrings(:sub_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE instr(t.name_key, :sub_text) > 0
    AND instr(t.sample_types_key, :sample_type) > 0
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0, 0, 2, 1]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarker_substring (limit = 51, offset = 0, excluded = '[0, 0, 2, 1, 3]'):
  SELECT x.rowid, ''
  FROM catalog_biomarker_substrings(:sub_bio_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE instr(t.sample_types_key, :sample_type) > 0
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0, 0, 2, 4, 1, 3]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_any_tagged) w
  WHERE w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "trigram, price": r"""
params:
  prefix = 'a1c'
  prefix_end = 'a1c\U0010ffff'
  price_max = 9900
  price_min = 1050
  sub = '"a1c"'
  sub_bio_candidates = '"a1c"'
  sub_candidates = '"a1c"'
  sub_text = 'a1c'
  w_any_tagged = '{name biomarkers company sample_types}: ("a1c"*)'
  w_name_tagged = '{name}: ("a1c"*)'
  w_nb_only = '({name biomarkers}: ("a1c"*)) NOT {name}: ("a1c"*)'
  w_nb_tagged = '{name biomarkers}: ("a1c"*)'
  w_other_only = '({name biomarkers company sample_types}: ("a1c"*)) NOT {name biomarkers}: ("a1c"*)'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
name_substring (limit = 51, offset = 0, excluded = '[0, 1]'):
  SELECT x.rowid, ''
  FROM catalog_name_substrings(:sub_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE instr(t.name_key, :sub_text) > 0
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0, 0, 2]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarker_substring (limit = 51, offset = 0, excluded = '[0, 0, 2, 1, 3]'):
  SELECT x.rowid, ''
  FROM catalog_biomarker_substrings(:sub_bio_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0, 0, 2, 4]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_other_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "trigram, every filter": r"""
params:
  company = 'labco_0000000'
  prefix = 'a1c'
  prefix_end = 'a1c\U0010ffff'
  price_max = 9900
  price_min = 1050
  sample_type = '|blood|'
  sub = '"a1c"'
  sub_bio_candidates = '"a1c"'
  sub_candidates = '"a1c"'
  sub_text = 'a1c'
  w_any_tagged = '{name biomarkers company sample_types}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100"'
  w_name_tagged = '{name}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100"'
  w_nb_only = '({name biomarkers}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100") NOT {name}: ("a1c"*)'
  w_nb_tagged = '{name biomarkers}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100"'
  w_other_only = '({name biomarkers company sample_types}: ("a1c"*) AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100") NOT {name biomarkers}: ("a1c"*)'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.lab_company_id = :company
    AND instr(t.sample_types_key, :sample_type) > 0
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
name_substring (limit = 51, offset = 0, excluded = '[0, 1]'):
  SELECT t.row_no, ''
  FROM lab_tests t
  WHERE t.is_active = 1
    AND instr(t.name_key, :sub_text) > 0
    AND t.lab_company_id = :company
    AND instr(t.sample_types_key, :sample_type) > 0
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND t.row_no NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY t.row_no
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0, 0, 2]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarker_substring (limit = 51, offset = 0, excluded = '[0, 0, 2, 1, 3]'):
  SELECT x.rowid, ''
  FROM catalog_biomarker_substrings(:sub_bio_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE t.lab_company_id = :company
    AND instr(t.sample_types_key, :sample_type) > 0
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0, 0, 2, 4]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_other_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "several words, every filter": r"""
params:
  company = 'labco_0000000'
  prefix = 'vitamin d'
  prefix_end = 'vitamin d\U0010ffff'
  price_max = 9900
  price_min = 1050
  sample_type = '|blood|'
  sub = '"vitamin d"'
  sub_bio_candidates = '"vit" AND "ami" AND "n d"'
  sub_candidates = '"vit" AND "ami" AND "n d"'
  sub_text = 'vitamin d'
  w_any_tagged = '{name biomarkers company sample_types}: ("vitamin"* AND "d") AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100"'
  w_name_tagged = '{name}: ("vitamin"* AND "d") AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100"'
  w_nb_only = '({name biomarkers}: ("vitamin"* AND "d") AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100") NOT {name}: ("vitamin"* AND "d")'
  w_nb_tagged = '{name biomarkers}: ("vitamin"* AND "d") AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100"'
  w_other_only = '({name biomarkers company sample_types}: ("vitamin"* AND "d") AND {tags}: "c108097098099111095048048048048048048048" AND {tags}: "s098108111111100") NOT {name biomarkers}: ("vitamin"* AND "d")'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.lab_company_id = :company
    AND instr(t.sample_types_key, :sample_type) > 0
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
name_substring (limit = 51, offset = 0, excluded = '[0, 1]'):
  SELECT t.row_no, ''
  FROM lab_tests t
  WHERE t.is_active = 1
    AND instr(t.name_key, :sub_text) > 0
    AND t.lab_company_id = :company
    AND instr(t.sample_types_key, :sample_type) > 0
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND t.row_no NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY t.row_no
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0, 0, 2]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarker_substring (limit = 51, offset = 0, excluded = '[0, 0, 2, 1, 3]'):
  SELECT x.rowid, ''
  FROM catalog_biomarker_substrings(:sub_bio_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE t.lab_company_id = :company
    AND instr(t.sample_types_key, :sample_type) > 0
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND EXISTS (SELECT 1 FROM json_each(t.biomarkers) b WHERE instr(lower(b.value), :sub_text) > 0)
    AND x.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0, 0, 2, 4]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_other_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "1-2 characters, price": r"""
params:
  prefix = 'vi'
  prefix_end = 'vi\U0010ffff'
  price_max = 9900
  price_min = 1050
  w_any_tagged = '{name biomarkers company sample_types}: ("vi"*)'
  w_name_tagged = '{name}: ("vi"*)'
  w_nb_only = '({name biomarkers}: ("vi"*)) NOT {name}: ("vi"*)'
  w_nb_tagged = '{name biomarkers}: ("vi"*)'
  w_other_only = '({name biomarkers company sample_types}: ("vi"*)) NOT {name biomarkers}: ("vi"*)'
name_start (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND t.name_key >= :prefix
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[0]'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_other_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE t.price_cents >= :price_min
    AND t.price_cents <= :price_max
    AND w.rowid NOT IN (SELECT value FROM json_each(:excluded))
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
""",
    "no text, lab company": r"""
params:
  company = 'labco_0000000'
filters_only (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.is_active = 1
    AND t.lab_company_id = :company
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
""",
    "no text, sample type": r"""
params:
  sample_key = 'blood'
  sample_type = '|blood|'
filters_only (limit = 51, offset = 0, excluded = '[]'):
  SELECT s.row_no, s.name_key
  FROM lab_test_sample_types s
  JOIN lab_tests t ON t.row_no = s.row_no
  WHERE s.sample_type_key = :sample_key
    AND t.is_active = 1
    AND instr(t.sample_types_key, :sample_type) > 0
  ORDER BY s.name_key, s.row_no
  LIMIT :limit OFFSET :offset
""",
    "no text, every filter": r"""
params:
  company = 'labco_0000000'
  price_max = 9900
  price_min = 1050
  sample_type = '|blood|'
filters_only (limit = 51, offset = 0, excluded = '[]'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.is_active = 1
    AND t.lab_company_id = :company
    AND instr(t.sample_types_key, :sample_type) > 0
    AND t.price_cents >= :price_min
    AND t.price_cents <= :price_max
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
""",
}

CURSOR_GOLDEN = r"""
params:
  prefix = 'vitamin d'
  prefix_end = 'vitamin d\U0010ffff'
  sub = '"vitamin d"'
  sub_bio_candidates = '"vit" AND "ami" AND "n d"'
  sub_candidates = '"vit" AND "ami" AND "n d"'
  sub_text = 'vitamin d'
  w_any_tagged = '{name biomarkers company sample_types}: ("vitamin"* AND "d")'
  w_name_tagged = '{name}: ("vitamin"* AND "d")'
  w_nb_only = '({name biomarkers}: ("vitamin"* AND "d")) NOT {name}: ("vitamin"* AND "d")'
  w_nb_tagged = '{name biomarkers}: ("vitamin"* AND "d")'
  w_other_only = '({name biomarkers company sample_types}: ("vitamin"* AND "d")) NOT {name biomarkers}: ("vitamin"* AND "d")'
name_start (limit = 51, offset = 0, excluded = '[]', after_row = 42, after_key = 'k'):
  SELECT t.row_no, t.name_key
  FROM lab_tests t
  WHERE t.name_key < :prefix_end
    AND t.is_active = 1
    AND t.name_key >= :after_key
    AND (t.name_key, t.row_no) > (:after_key, :after_row)
  ORDER BY t.name_key, t.row_no
  LIMIT :limit OFFSET :offset
name (limit = 51, offset = 0, excluded = '[]', after_row = 42, after_key = 'k'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_name_tagged) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE NOT (t.name_key >= :prefix AND t.name_key < :prefix_end)
    AND w.rowid > :after_row
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
name_substring (limit = 51, offset = 0, excluded = '[]', after_row = 42, after_key = 'k'):
  SELECT x.rowid, ''
  FROM catalog_name_substrings(:sub_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE NOT (t.name_key >= :prefix AND t.name_key < :prefix_end)
    AND instr(t.name_key, :sub_text) > 0
    AND x.rowid NOT IN (SELECT rowid FROM catalog_words(:w_name_tagged))
    AND x.rowid > :after_row
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
biomarkers (limit = 51, offset = 0, excluded = '[]', after_row = 42, after_key = 'k'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_nb_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE NOT (t.name_key >= :prefix AND t.name_key < :prefix_end)
    AND instr(t.name_key, :sub_text) = 0
    AND w.rowid > :after_row
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
biomarker_substring (limit = 51, offset = 0, excluded = '[]', after_row = 42, after_key = 'k'):
  SELECT x.rowid, ''
  FROM catalog_biomarker_substrings(:sub_bio_candidates) x
  JOIN lab_tests t ON t.row_no = x.rowid
  WHERE NOT (t.name_key >= :prefix AND t.name_key < :prefix_end)
    AND instr(t.name_key, :sub_text) = 0
    AND x.rowid NOT IN (SELECT rowid FROM catalog_words(:w_nb_tagged))
    AND EXISTS (SELECT 1 FROM json_each(t.biomarkers) b WHERE instr(lower(b.value), :sub_text) > 0)
    AND x.rowid > :after_row
  ORDER BY x.rowid
  LIMIT :limit OFFSET :offset
other (limit = 51, offset = 0, excluded = '[]', after_row = 42, after_key = 'k'):
  SELECT w.rowid, ''
  FROM catalog_words(:w_other_only) w
  JOIN lab_tests t ON t.row_no = w.rowid
  WHERE NOT (t.name_key >= :prefix AND t.name_key < :prefix_end)
    AND instr(t.name_key, :sub_text) = 0
    AND w.rowid NOT IN (SELECT rowid FROM catalog_biomarker_substrings(:sub))
    AND w.rowid > :after_row
  ORDER BY w.rowid
  LIMIT :limit OFFSET :offset
"""


@pytest.mark.parametrize(("case", "text", "filters"), CASES, ids=[case for case, *_ in CASES])
def test_a_first_page_runs_the_golden_sql(case: str, text: str, filters: CatalogFilters) -> None:
    assert "\n" + rendered(text, filters) == GOLDEN[case]


def test_a_page_continued_by_cursor_runs_every_condition_in_full() -> None:
    assert "\n" + rendered_after_cursor("vitamin d", CatalogFilters()) == CURSOR_GOLDEN


def test_every_case_has_its_golden_text_and_no_other() -> None:
    assert list(GOLDEN) == [case for case, *_ in CASES]


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    catalog = synthetic_catalog(300, seed=3)
    with Store.in_memory() as store:
        load_catalog(store, catalog.companies, catalog.tests)
        store.catalog.test_count()  # attaches the catalog
        yield store


@pytest.mark.parametrize(("case", "text", "filters"), CASES, ids=[case for case, *_ in CASES])
def test_the_golden_statements_run_on_a_real_catalog(
    store: Store, case: str, text: str, filters: CatalogFilters
) -> None:
    """The golden SQL is SQL SQLite runs, with the parameters shown beside it."""
    assert company_id(0) == COMPANY.lab_company_id
    complete: dict[MatchField, list[int]] = {}
    for tier in tier_queries(parse_query(text), filters):
        for after in (None, (0, "")):
            sql, params = tier.statement(limit=FIRST_PAGE, after=after, complete=complete)
            store.db.execute(sql, params).fetchall()
        complete[tier.matched] = [1]


def golden_source() -> str:
    """GOLDEN and CURSOR_GOLDEN as they are written in this file, from the code as it is."""
    lines = ["GOLDEN: dict[str, str] = {"]
    for case, text, filters in CASES:
        lines.append(f'    "{case}": r"""\n{rendered(text, filters)}""",')
    lines += ["}", ""]
    lines.append(f'CURSOR_GOLDEN = r"""\n{rendered_after_cursor("vitamin d", CatalogFilters())}"""')
    return "\n".join(lines)


if __name__ == "__main__":
    print(golden_source())

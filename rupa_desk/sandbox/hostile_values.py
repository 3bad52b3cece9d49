"""Injected hostile values: what a compromised or broken Rupa could send (issue 18).

Unlike the transport faults of `faults.py` (latency, errors, dropped connections), these
change the documents themselves; the app must check them where it parses them. Settings are
read live from `state.faults` (`POST /_sim/faults`):

- `hostile_values: N`: the first N lab tests of the catalog are sent with one out-of-range or
  non-text value each, in turn from `HOSTILE_LAB_TEST_VALUES`;
- `hostile_lab_companies: N`: the first N lab companies are sent with a name that is not text;
- `hostile_ordered_test_ids: true`: ordered tests are sent under ids that climb folders
  (`HOSTILE_ID_PREFIX` + the real id); their result URLs still work;
- `hostile_checkout_url: "…"`: every order intent is sent with this checkout URL.
"""

from __future__ import annotations

import itertools
from typing import Any, Final

from rupa_desk.sandbox.state import SandboxState

#: One hostile value per lab test, in turn: each crashed the app's store once.
HOSTILE_LAB_TEST_VALUES: Final[tuple[dict[str, Any], ...]] = (
    {"price": 1e30},
    {"estimated_days_for_results": 2**70},
    {"name": "Vitamin \ud800D"},  # a lone surrogate: sent as the JSON escape \ud800
    {"price": "1e999999"},
    {"name": "Vitamin\x00D"},
)
#: What the first `hostile_lab_companies` lab companies are sent with.
HOSTILE_LAB_COMPANY_VALUES: Final[dict[str, Any]] = {"name": "Labs \udc80\x07"}
#: Put before an ordered test's id: `x/../../../ordts_…` names a file two folders up.
HOSTILE_ID_PREFIX: Final = "x/../../../"


def hostile_lab_test_values(state: SandboxState) -> dict[str, dict[str, Any]]:
    """The attributes that replace the real ones, by lab test id (empty when switched off)."""
    count = state.faults.hostile_values
    if count <= 0:
        return {}
    ids = itertools.islice(state.lab_tests, count)
    kinds = itertools.cycle(HOSTILE_LAB_TEST_VALUES)
    return {test_id: values for test_id, values in zip(ids, kinds, strict=False)}


def hostile_lab_company_values(state: SandboxState) -> dict[str, dict[str, Any]]:
    """The attributes that replace the real ones, by lab company id (empty when off)."""
    ids = itertools.islice(state.lab_companies, max(0, state.faults.hostile_lab_companies))
    return dict.fromkeys(ids, HOSTILE_LAB_COMPANY_VALUES)


def served_ordered_test_id(state: SandboxState, ordered_test_id: str) -> str:
    """The id an ordered test is sent under."""
    if state.faults.hostile_ordered_test_ids:
        return HOSTILE_ID_PREFIX + ordered_test_id
    return ordered_test_id


def real_ordered_test_id(served_id: str) -> str:
    """The ordered test an id that was sent names (`served_ordered_test_id` undone)."""
    return served_id.removeprefix(HOSTILE_ID_PREFIX)

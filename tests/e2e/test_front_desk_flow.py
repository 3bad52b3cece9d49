"""The front desk's ordering flow as `tests/bench/bench_front_desk.py` drives it: the whole app
against the simulator over real loopback HTTP, key and mouse events on the focused widget,
every one counted by the driver. A shortcut that stops working or a focus step that goes
astray fails a flow (its checks, or its wait for the next state); a flow that needs more
interactions than it does today fails its count.

Issue 12's targets: at most 12 interactions with three tests, 8 with a saved panel, both with
the mouse and with the keyboard alone. The new patient is one typed line ("Mara Frontdesk
mara@…") and "Create and start order" (Ctrl+Enter), which opens her draft; "Send and check
out" (Ctrl+Shift+C) sends it and opens Rupa's page. The counts below are the targets, and the
kinds of interaction each flow uses today (no flow may need more clicks).
"""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from rupa_desk.core.drafts import DraftState
from rupa_desk.sandbox.server import SandboxServer
from tests.bench.bench_front_desk import NOTE, PANEL_NAME, FrontDesk, Tally, run_flow
from tests.e2e.test_order_flow import signed_in_desk
from tests.fixtures.desk import MakeDesk, first_download_done

#: (flow, mouse) → the most interactions it may take (issue 12's targets), and their kinds.
CEILINGS = {
    ("3 tests", True): Tally(clicks=4, typed=5, keys=3),
    ("3 tests", False): Tally(clicks=0, typed=5, keys=7),
    ("panel", True): Tally(clicks=5, typed=3, keys=0),
    ("panel", False): Tally(clicks=0, typed=3, keys=5),
}
TARGETS = {"3 tests": 12, "panel": 8}


async def test_the_ordering_flows_reach_checkout_within_their_interaction_counts(
    qtbot: QtBot, make_desk: MakeDesk, sandbox: SandboxServer
) -> None:
    desk = await signed_in_desk(make_desk, sandbox)
    await first_download_done(desk, within=60)
    front = FrontDesk(desk)
    store = front.workspace.store
    await front.save_panel()
    panel = store.panels.find(PANEL_NAME)
    assert panel is not None
    assert len(panel.tests) == 3

    counts: dict[tuple[str, bool], Tally] = {}
    for flow, mouse, first in (
        ("panel", False, "Noor"),  # keyboard only, with the saved panel
        ("3 tests", False, "Keya"),
        ("3 tests", True, "Mara"),
        ("panel", True, "Pia"),
    ):
        run = await run_flow(front, flow, mouse=mouse, first=first)
        counts[(flow, mouse)] = run.tally
        [patient] = store.patients.search(f"{first} Frontdesk")
        [draft] = [d for d in store.drafts.all() if d.patient_id == patient.id]
        assert draft.state is DraftState.SENT
        assert draft.notes == NOTE
        assert draft.internal_note == ""  # the note went where the patient reads it
        assert len(draft.lab_test_ids) == 3
        if flow == "panel":
            assert set(draft.lab_test_ids) == {t.lab_test_id for t in panel.tests}

    for key, ceiling in CEILINGS.items():
        assert ceiling.total <= TARGETS[key[0]]
        assert counts[key].total <= ceiling.total, (key, str(counts[key]))
        assert counts[key].clicks <= ceiling.clicks, (key, str(counts[key]))
        assert counts[key].keys <= ceiling.keys, (key, str(counts[key]))  # a lost Tab, a key
        assert counts[key].typed <= ceiling.typed, (key, str(counts[key]))
    assert counts[("3 tests", False)].clicks == counts[("panel", False)].clicks == 0

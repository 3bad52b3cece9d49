"""Drafts survive a kill: a real process writing a draft is killed with SIGKILL, and the draft
is intact afterwards (every acknowledged edit is there, the database is sound)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rupa_desk.core.drafts import DraftState
from rupa_desk.services.store import Store

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from pathlib import Path
from rupa_desk.services.store import Store

store = Store.open(Path(sys.argv[1]))
draft_id = store.drafts.create(patient_id="pat_0000001")
print("draft", draft_id, flush=True)
n = 0
while True:
    n += 1
    store.drafts.edit(draft_id, notes=f"note {n}")
    store.drafts.add_test(draft_id, f"labts_{n:07d}", name=f"Test {n}", price=None)
    if n % 3 == 0:
        store.drafts.remove_test(draft_id, f"labts_{n - 1:07d}")
    print("saved", n, flush=True)
"""

SENDER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from rupa_desk.services.store import Store

store = Store.open(Path(sys.argv[1]))
draft_id = store.drafts.create(patient_id="pat_0000001", notes="precious")
store.drafts.add_test(draft_id, "labts_0000001", name="A", price=None)
now = datetime.now(UTC)
store.drafts.update(draft_id, lambda d: d.send_started(now).create_requested())
print("sending", draft_id, flush=True)
time.sleep(60)  # the create request is "in flight" when the process is killed
"""


def run_until(script: str, path: Path, wanted: int) -> tuple[str, int]:
    """Run a writer, SIGKILL it once it acknowledged `wanted` saves; (draft id, last ack)."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    draft_id, acknowledged = "", 0
    try:
        for line in process.stdout:
            word, value = line.split()
            if word in ("draft", "sending"):
                draft_id = value
                if word == "sending":
                    break
            elif word == "saved":
                acknowledged = int(value)
                if acknowledged >= wanted:
                    break
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    return draft_id, acknowledged


@pytest.mark.timeout(180)
def test_a_draft_being_edited_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "drafts.sqlite3"
    draft_id, acknowledged = run_until(WRITER, path, wanted=60)
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        draft = store.drafts.get(draft_id)
        state = (draft.notes, draft.lab_test_ids)
        assert [t.lab_test_id for t in store.drafts.tests(draft_id)] == list(draft.lab_test_ids)
    # the draft is exactly as some prefix of the writes left it, and no acknowledged write is
    # missing (each write is its own transaction; the kill may fall between two)
    states = list(states_after_each_write(acknowledged + 1))
    acknowledged_writes = sum(3 if n % 3 == 0 else 2 for n in range(1, acknowledged + 1))
    assert state in states[acknowledged_writes:]


def states_after_each_write(iterations: int) -> list[tuple[str, tuple[str, ...]]]:
    """(notes, tests) after each single write of the writer's loop, in order."""
    notes, tests = "", []
    states = [(notes, tuple(tests))]
    for n in range(1, iterations + 1):
        notes = f"note {n}"
        states.append((notes, tuple(tests)))
        tests.append(f"labts_{n:07d}")
        states.append((notes, tuple(tests)))
        if n % 3 == 0:
            tests.remove(f"labts_{n - 1:07d}")
            states.append((notes, tuple(tests)))
    return states


@pytest.mark.timeout(180)
def test_a_draft_killed_while_sending_is_queued_and_looked_up_first(tmp_path: Path) -> None:
    path = tmp_path / "drafts.sqlite3"
    draft_id, _ = run_until(SENDER, path, wanted=0)
    with Store.open(path) as store:
        assert store.drafts.get(draft_id).state is DraftState.SENDING
        [recovered] = store.drafts.recover_interrupted()  # what start-up does
        assert recovered.state is DraftState.QUEUED
        assert recovered.unconfirmed_create  # the next send looks the intent up first
        assert recovered.notes == "precious"
        assert recovered.lab_test_ids == ("labts_0000001",)

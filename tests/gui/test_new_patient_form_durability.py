"""The new-patient form survives a kill: a real process types the form through the presenter,
is killed with SIGKILL, and a fresh open finds every acknowledged keystroke (and a form killed
while being sent is kept, marked as sending)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rupa_desk.core.validation import PatientForm
from rupa_desk.services.store import PatientFormStatus, Store

ROOT = Path(__file__).resolve().parents[2]

FIELDS = (
    ("first_name", "Katherine"),
    ("last_name", "Johnson"),
    ("email", "katherine.j@example.com"),
    ("birthday", "1918-08-26"),
    ("phone", "(555) 010-0123"),
    ("street_1", "1 Main St"),
    ("city", "Hampton"),
    ("state", "VA"),
    ("zip", "23669"),
)

PRELUDE = """
import asyncio, sys, time
from pathlib import Path
from rupa_desk.core.validation import PatientForm
from rupa_desk.services.store import Store
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.patients import PatientsPresenter

FIELDS = {fields!r}


class Rupa:
    async def iterate(self, listing):
        return
        yield

    async def create_patient(self, *args, **kwargs):
        print("sending", 0, flush=True)
        await asyncio.sleep(60)  # POST /patients is "in flight" when the process is killed

    async def first_page(self, listing):
        raise AssertionError("not used")


store = Store.open(Path(sys.argv[1]))
presenter = PatientsPresenter(
    store.patients, store.drafts, store.patient_forms, Rupa(), MessageBridge(), Connectivity()
)
typed = {{}}
n = 0
for name, value in FIELDS:  # key by key, as the form reports each edit
    for char in value:
        typed[name] = typed.get(name, "") + char
        n += 1
        assert presenter.form_edited(PatientForm(**typed))
        print("saved", n, flush=True)
"""

TYPIST = (
    PRELUDE
    + """
print("done", n, flush=True)
time.sleep(60)
"""
)

SENDER = (
    PRELUDE
    + """
asyncio.run(presenter.create_patient(PatientForm(**typed)))
"""
)


def states_after_each_keystroke() -> list[PatientForm | None]:
    """What the database holds after each save of the typist, in order (None: nothing)."""
    states: list[PatientForm | None] = [None]
    typed: dict[str, str] = {}
    for name, value in FIELDS:
        for char in value:
            typed[name] = typed.get(name, "") + char
            states.append(PatientForm(**typed))
    return states


def run_until(script: str, path: Path, stop_at: str, wanted: int = 0) -> int:
    """Run a script, SIGKILL it once it printed `stop_at` (after `wanted` saves); last save."""
    code = script.format(fields=FIELDS)
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    acknowledged = 0
    try:
        for line in process.stdout:
            word, value = line.split()
            if word == "saved":
                acknowledged = int(value)
            if word == stop_at and (word != "saved" or acknowledged >= wanted):
                break
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    return acknowledged


@pytest.mark.timeout(180)
def test_a_form_being_typed_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    states = states_after_each_keystroke()
    acknowledged = run_until(TYPIST, path, stop_at="saved", wanted=len(states) // 2)
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        saved = store.patient_forms.load()
    assert saved is not None
    assert saved.status is PatientFormStatus.EDITING
    # every acknowledged keystroke is there (the kill may land after a later save or two)
    assert saved.form in states[acknowledged:]
    assert saved.form.first_name == "Katherine"


@pytest.mark.timeout(180)
def test_a_form_killed_while_sending_is_kept_as_sending(tmp_path: Path) -> None:
    """(What the pane then shows, and the lookup-first retry: test_new_patient_form.py.)"""
    path = tmp_path / "account.sqlite3"
    run_until(SENDER, path, stop_at="sending")
    with Store.open(path) as store:
        saved = store.patient_forms.load()
    assert saved is not None
    assert saved.status is PatientFormStatus.SENDING
    assert saved.form == states_after_each_keystroke()[-1]
    assert saved.form == PatientForm(**dict(FIELDS))

"""Drafts survive a kill: a real process writing a draft is killed with SIGKILL, and the draft
is intact afterwards (every acknowledged edit is there, the database is sound); a process
killed in the middle of the app's real `Outbox.send`, after the simulator created the order
intent but before the app read the answer, leaves a draft that is resent without a second
intent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rupa_desk.core.checkout_return import ReturnEndpoint
from rupa_desk.core.drafts import DraftState
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.outbox import Outbox
from rupa_desk.services.store import Store
from tests.fixtures.catalog_sync import api_requests
from tests.fixtures.orders_env import client_for, first_ids, intents_for_draft

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
import asyncio, sys
from dataclasses import replace
from pathlib import Path

import httpx

from rupa_desk.core.checkout_return import ReturnEndpoint
from rupa_desk.services.api import RupaClient
from rupa_desk.services.outbox import Outbox
from rupa_desk.services.store import Store
from rupa_desk.settings import demo
from tests.fixtures.orders_env import FreshSimulatorTokens, quick_limits


class AnswerLostInFlight(httpx.AsyncBaseTransport):
    # The create reaches the simulator, which creates the intent and answers; the process
    # is killed before the app has read the answer.
    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/order_intents"):
            print("answered", flush=True)
            await asyncio.sleep(600)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def main(path: str, url: str, patient: str, test: str) -> None:
    store = Store.open(Path(path))
    draft_id = store.drafts.create(patient_id=patient, notes="precious")
    store.drafts.add_test(draft_id, test, name="A", price=None)
    print("draft", draft_id, flush=True)
    environment = replace(demo(url), limits=quick_limits())
    client = RupaClient(environment, FreshSimulatorTokens(url), transport=AnswerLostInFlight())
    outbox = Outbox(
        client,
        store.drafts,
        return_url_for=ReturnEndpoint.embedded().url_for,
        draft_id_key=environment.paths.draft_id_metadata_key,
    )
    await outbox.send(draft_id)


asyncio.run(main(*sys.argv[1:]))
"""


def run_until(script: str, path: Path, wanted: int, *args: str) -> tuple[str, int]:
    """Run a writer, SIGKILL it once it acknowledged `wanted` saves (or, sending, once the
    create was answered); returns (draft id, last ack)."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(path), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    draft_id, acknowledged = "", 0
    try:
        for line in process.stdout:
            word, *value = line.split()
            if word == "draft":
                draft_id = value[0]
            elif word == "answered":
                break
            elif word == "saved":
                acknowledged = int(value[0])
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
async def test_a_send_killed_after_rupa_created_the_intent_does_not_create_a_second(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    path = tmp_path / "drafts.sqlite3"
    [patient] = first_ids(sandbox.url, "patients", 1)
    [test] = first_ids(sandbox.url, "lab_tests", 1)
    draft_id, _ = run_until(SENDER, path, 0, sandbox.url, patient, test)
    assert len(intents_for_draft(sandbox.url, draft_id)) == 1  # Rupa has it; the app never knew
    with Store.open(path) as store:
        killed = store.drafts.get(draft_id)
        assert killed.state is DraftState.SENDING
        assert killed.intent_id is None
        assert killed.unconfirmed_create  # saved before the create went out
        [recovered] = store.drafts.recover_interrupted()  # what start-up does
        assert recovered.state is DraftState.QUEUED
        assert recovered.notes == "precious"
        assert recovered.lab_test_ids == (test,)
        since = len(api_requests(sandbox.url))
        async with client_for(sandbox.url) as client:
            outbox = Outbox(
                client,
                store.drafts,
                return_url_for=ReturnEndpoint.embedded().url_for,
                draft_id_key=client.environment.paths.draft_id_metadata_key,
            )
            sent = await outbox.send(draft_id)
    assert sent.state is DraftState.SENT
    [intent] = intents_for_draft(sandbox.url, draft_id)
    assert sent.intent_id == intent["id"]
    calls = [(r["method"], r["path"]) for r in api_requests(sandbox.url)[since:]]
    assert calls[0] == ("GET", "/order_intents")  # looked up, not created again
    assert ("POST", "/order_intents") not in calls

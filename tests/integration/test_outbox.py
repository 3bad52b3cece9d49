"""The outbox against the simulator over real loopback HTTP: no duplicate, no loss."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from rupa_desk.core.checkout_return import ReturnEndpoint
from rupa_desk.core.drafts import DraftState
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.outbox import Outbox
from rupa_desk.services.store import Store
from tests.fixtures.catalog_sync import api_requests
from tests.fixtures.orders_env import client_for, first_ids, intents_for_draft, set_faults
from tests.fixtures.sandbox import SandboxFactory


async def wait_until(condition: Callable[[], object], within: float = 30.0) -> None:
    """Await until `condition()` holds (blocking checks run in a thread); fail after `within`."""
    deadline = asyncio.get_running_loop().time() + within
    while not await asyncio.to_thread(condition):
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


CREATE_INTENT = ("POST", "/order_intents")


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.for_account(app_paths, "demo", "pra_demo") as store:
        yield store


def outbox_for(client: RupaClient, store: Store) -> Outbox:
    return Outbox(
        client,
        store.drafts,
        return_url_for=ReturnEndpoint.embedded().url_for,
        draft_id_key=client.environment.paths.draft_id_metadata_key,
    )


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[RupaClient]:
    async with client_for(sandbox.url) as client:
        yield client


def draft_on(store: Store, sandbox_url: str, tests: int = 2) -> str:
    [patient] = first_ids(sandbox_url, "patients", 1)
    draft_id = store.drafts.create(patient_id=patient, notes="fasting sample")
    for test_id in first_ids(sandbox_url, "lab_tests", tests):
        store.drafts.add_test(draft_id, test_id, name=test_id, price=None)
    return draft_id


async def test_send_creates_then_updates_one_intent(
    sandbox: SandboxServer, client: RupaClient, store: Store
) -> None:
    outbox = outbox_for(client, store)
    draft_id = draft_on(store, sandbox.url)
    draft = await outbox.send(draft_id)
    assert draft.state is DraftState.SENT
    [intent] = intents_for_draft(sandbox.url, draft_id)
    assert intent["id"] == draft.intent_id
    assert intent["attributes"]["checkout_url"] == draft.checkout_url
    assert intent["attributes"]["notes"] == "fasting sample"
    assert draft_id in intent["attributes"]["return_url"]
    assert intent["relationships"]["lab_tests"]["meta"]["count"] == 2

    store.drafts.remove_test(draft_id, draft.lab_test_ids[0])
    store.drafts.edit(draft_id, notes="no fasting needed")
    updated = await outbox.send(draft_id)
    assert updated.state is DraftState.SENT
    assert not updated.needs_update
    [intent] = intents_for_draft(sandbox.url, draft_id)
    assert intent["attributes"]["notes"] == "no fasting needed"
    assert intent["relationships"]["lab_tests"]["meta"]["count"] == 1


async def test_a_create_whose_answer_is_dropped_is_not_created_twice(
    sandbox: SandboxServer, client: RupaClient, store: Store
) -> None:
    outbox = outbox_for(client, store)
    draft_id = draft_on(store, sandbox.url)
    set_faults(sandbox.url, drop_rate=1.0)
    lost = await outbox.send(draft_id)
    assert lost.state is DraftState.QUEUED
    assert lost.unconfirmed_create
    set_faults(sandbox.url, drop_rate=0.0)
    assert len(intents_for_draft(sandbox.url, draft_id)) == 1  # Rupa did create it

    [draft] = await outbox.send_queued()
    assert draft.state is DraftState.SENT
    [intent] = intents_for_draft(sandbox.url, draft_id)
    assert draft.intent_id == intent["id"]


def last_seq(sandbox_url: str) -> int:
    """The sequence number of the last request the simulator logged (0 if none)."""
    served = api_requests(sandbox_url)
    return int(served[-1]["seq"]) if served else 0


async def abandoned_create(sandbox_url: str) -> dict[str, Any]:
    """The log entry of the one create whose client gave up, once the simulator is done."""

    def creates() -> list[dict[str, Any]]:
        return [r for r in api_requests(sandbox_url) if (r["method"], r["path"]) == CREATE_INTENT]

    await wait_until(creates)
    [entry] = creates()
    return entry


async def test_a_create_that_timed_out_is_looked_up_before_creating_again(
    sandbox: SandboxServer, store: Store
) -> None:
    """Rupa created the intent, but its answer came after the client gave up waiting: the
    next send finds that intent by the draft id and adopts it instead of creating another."""
    draft_id = draft_on(store, sandbox.url)
    async with client_for(sandbox.url, read_timeout_s=0.3) as slow_reader:
        outbox = outbox_for(slow_reader, store)
        set_faults(sandbox.url, answer_delay_ms=1500)
        lost = await outbox.send(draft_id)
        assert lost.state is DraftState.QUEUED
        assert lost.unconfirmed_create
        assert lost.intent_id is None
        assert "not known whether it arrived" in (lost.failure_reason or "")
        # the simulator handled the create, then found its client gone and sent nothing
        entry = await abandoned_create(sandbox.url)
        assert (entry["status"], entry["handled_status"]) == (499, 201)
        set_faults(sandbox.url, answer_delay_ms=0)
        [created] = intents_for_draft(sandbox.url, draft_id)  # Rupa did create it
        since = last_seq(sandbox.url)
        draft = await outbox.send(draft_id)
    calls = [(r["method"], r["path"]) for r in api_requests(sandbox.url, since)]
    assert draft.state is DraftState.SENT
    assert not draft.unconfirmed_create
    assert draft.intent_id == created["id"]  # adopted, not created again
    assert calls[0] == ("GET", "/order_intents")  # looked up first
    assert CREATE_INTENT not in calls
    [intent] = intents_for_draft(sandbox.url, draft_id)
    assert intent["id"] == created["id"]


async def test_a_create_that_timed_out_before_rupa_handled_it_is_created_once(
    sandbox: SandboxServer, store: Store
) -> None:
    """With latency before handling, the timed-out create never happened: the lookup finds
    nothing and the next send creates the intent, once."""
    draft_id = draft_on(store, sandbox.url)
    async with client_for(sandbox.url, read_timeout_s=0.3) as slow_reader:
        outbox = outbox_for(slow_reader, store)
        set_faults(sandbox.url, latency_ms=1500)
        lost = await outbox.send(draft_id)
        assert lost.state is DraftState.QUEUED
        assert lost.unconfirmed_create
        assert "not known whether it arrived" in (lost.failure_reason or "")
        set_faults(sandbox.url, latency_ms=0)
        # wait until the simulator is done with the abandoned create (it logs a request when
        # it has answered it, or found its client gone), instead of guessing a time
        assert (await abandoned_create(sandbox.url))["status"] == 499
        assert intents_for_draft(sandbox.url, draft_id) == []
        since = last_seq(sandbox.url)
        draft = await outbox.send(draft_id)
    calls = [(r["method"], r["path"]) for r in api_requests(sandbox.url, since)]
    assert draft.state is DraftState.SENT
    assert calls == [("GET", "/order_intents"), CREATE_INTENT]  # looked up, then created
    [intent] = intents_for_draft(sandbox.url, draft_id)
    assert draft.intent_id == intent["id"]


async def test_drafts_made_offline_are_sent_when_rupa_is_back(
    sandbox_factory: SandboxFactory, store: Store
) -> None:
    first = sandbox_factory()
    port = int(first.url.rsplit(":", 1)[1])
    drafts = [draft_on(store, first.url) for _ in range(2)]
    first.stop()
    async with client_for(first.url) as client:
        outbox = outbox_for(client, store)
        for draft_id in drafts:
            queued = await outbox.send(draft_id)
            assert queued.state is DraftState.QUEUED
            assert not queued.unconfirmed_create  # nothing left the PC
        assert await outbox.send_queued() == []
        back = sandbox_factory(port=port)  # the network is back
        sent = await outbox.send_queued()
    assert [d.id for d in sent] == drafts
    for draft_id in drafts:
        assert len(intents_for_draft(back.url, draft_id)) == 1


@pytest.mark.parametrize(
    "checkout_url",
    ["file:///etc/passwd", "javascript:alert(document.cookie)", "http://user:pw@evil.test/x"],
)
async def test_an_intent_with_a_hostile_checkout_url_fails_the_send_and_keeps_the_draft(
    sandbox: SandboxServer, client: RupaClient, store: Store, checkout_url: str
) -> None:
    """Issue 18: the checkout URL is opened in the app's web view; one that is not an http(s)
    URL is refused where it is parsed. The draft stays, failed with a message, and is never
    sent twice: the intent Rupa did create is adopted once Rupa sends a sound URL."""
    outbox = outbox_for(client, store)
    draft_id = draft_on(store, sandbox.url)
    set_faults(sandbox.url, hostile_checkout_url=checkout_url)

    failed = await outbox.send(draft_id)
    assert failed.state is DraftState.FAILED
    assert failed.failure_reason is not None
    assert "does not understand" in failed.failure_reason
    assert failed.checkout_url is None
    assert failed.lab_test_ids == store.drafts.get(draft_id).lab_test_ids
    assert len(failed.lab_test_ids) == 2
    assert failed.can_send
    again = await outbox.send(draft_id)  # the lookup by draft id fails the same way
    assert again.state is DraftState.FAILED
    assert len(intents_for_draft(sandbox.url, draft_id)) == 1  # not created twice

    set_faults(sandbox.url, hostile_checkout_url="")
    sent = await outbox.send(draft_id)
    assert sent.state is DraftState.SENT
    [intent] = intents_for_draft(sandbox.url, draft_id)
    assert sent.intent_id == intent["id"]
    assert sent.checkout_url == intent["attributes"]["checkout_url"]
    assert sent.checkout_url is not None
    assert sent.checkout_url.startswith(sandbox.url)

"""Faults against the simulator: a 429 storm, the rate limiter under a sustained run, injected
5xx and dropped connections, and which POSTs are retried."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services import listings
from rupa_desk.services.errors import OutcomeUnknown
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.rupa_client import (
    LoggedRequest,
    RequestLog,
    demo_environment,
    max_in_window,
    set_faults,
    signed_in,
    wait_for_log,
)
from tests.fixtures.sandbox import SandboxFactory

#: The simulator's default limit: 20 requests/s per token, bursts of 40.
SERVER_RATE, SERVER_BURST = 20, 40


def genuine_429s(entries: list[LoggedRequest]) -> list[LoggedRequest]:
    """429s the server's rate limiter gave (not the injected ones)."""
    return [e for e in entries if e.status == 429 and e.fault != "429"]


def api_times(entries: list[LoggedRequest]) -> list[float]:
    return [e.time.timestamp() for e in entries if not e.path.startswith("/oauth/")]


@pytest.mark.timeout(120)
async def test_a_429_storm_completes_without_error_and_within_the_limit(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(lab_tests=1000)
    log = RequestLog(sandbox.url)
    with PractitionerBrowser(sandbox.url) as browser:
        async with signed_in(sandbox.url, browser) as (_, client):
            first = await client.first_page(listings.patients(page_size=30))
            ids = [p.id for p in first.items]
            since = await log.last_seq()
            await set_faults(sandbox.url, fault_429_rate=0.3)
            catalog, singles = await asyncio.gather(
                _collect(client.iterate(listings.lab_tests(page_size=100))),
                asyncio.gather(*(client.get_patient(i) for i in ids)),
            )
    assert len(catalog) == 1000
    assert [p.id for p in singles] == ids
    entries = await log.entries(since)
    assert sum(1 for e in entries if e.fault == "429") >= 3  # the storm happened
    assert genuine_429s(entries) == []  # the client never exceeded the server's limit
    assert max_in_window(api_times(entries), 1.0) <= SERVER_BURST + SERVER_RATE


async def _collect(items: object) -> list[object]:
    return [item async for item in items]  # type: ignore[attr-defined]


@pytest.mark.timeout(120)
async def test_a_sustained_run_never_gets_a_429(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    """120 requests at once: paced to 20/s (a client without pacing gets many 429s here)."""
    log = RequestLog(sandbox.url)
    async with signed_in(sandbox.url, practitioner_browser) as (_, client):
        page = await client.first_page(listings.patients(page_size=30))
        ids = [p.id for p in page.items] * 4
        since = await log.last_seq()
        started = time.monotonic()
        await asyncio.gather(*(client.get_patient(i) for i in ids))
        elapsed = time.monotonic() - started
    entries = await log.entries(since)
    assert len(entries) == 120
    assert [e for e in entries if e.status != 200] == []
    rate = 120 / elapsed
    assert 15 <= rate <= SERVER_RATE * 1.3, rate  # ~20/s after the first burst of 20


@pytest.mark.parametrize(("fault", "tag"), [("fault_5xx_rate", "5xx"), ("drop_rate", "drop")])
@pytest.mark.timeout(120)
async def test_injected_5xx_and_dropped_connections_are_retried(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser, fault: str, tag: str
) -> None:
    log = RequestLog(sandbox.url)
    env = demo_environment(sandbox.url, max_attempts=12, backoff_initial_s=0.05)
    async with signed_in(sandbox.url, practitioner_browser, environment=env) as (_, client):
        since = await log.last_seq()
        await set_faults(sandbox.url, **{fault: 0.3})
        tests = [t async for t in client.iterate(listings.lab_tests(page_size=25))]
        patients = [p async for p in client.iterate(listings.patients(page_size=5))]
    assert len(tests) == 300
    assert len(patients) == 30
    assert any(e.fault == tag for e in await log.entries(since))


async def test_a_get_is_retried_until_the_server_recovers(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    log = RequestLog(sandbox.url)
    async with signed_in(sandbox.url, practitioner_browser) as (_, client):
        since = await log.last_seq()
        await set_faults(sandbox.url, fault_5xx_rate=1.0)
        call = asyncio.create_task(client.me())
        await wait_for_log(log, since, lambda e: e.fault == "5xx", count=2)
        await set_faults(sandbox.url, fault_5xx_rate=0.0)
        assert (await call).email == "demo@rupa-desk.test"


async def test_create_patient_is_retried_after_a_dropped_connection_without_a_duplicate(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    email = f"dropped-{uuid.uuid4().hex[:8]}@example.test"
    log = RequestLog(sandbox.url)
    async with signed_in(sandbox.url, practitioner_browser) as (_, client):
        since = await log.last_seq()
        await set_faults(sandbox.url, drop_rate=1.0)
        create = asyncio.create_task(client.create_patient("Grace", "Hopper", email))
        dropped = await wait_for_log(
            log, since, lambda e: e.method == "POST" and e.fault == "drop", count=2
        )
        await set_faults(sandbox.url, drop_rate=0.0)
        patient, created = await create
        matches = [p async for p in client.iterate(listings.patients(email))]
    assert dropped[0].status == 201  # the first attempt did create the patient...
    assert created is False  # ...so the retry found it (Rupa's first+last+email dedupe)
    assert [p.id for p in matches] == [patient.id]


async def test_create_order_intent_is_not_retried_blindly_and_can_be_resolved_by_draft(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    draft_id = f"draft-{uuid.uuid4().hex[:8]}"
    log = RequestLog(sandbox.url)
    async with signed_in(sandbox.url, practitioner_browser) as (_, client):
        patient = await anext(client.iterate(listings.patients()))
        since = await log.last_seq()
        await set_faults(sandbox.url, drop_rate=1.0)
        with pytest.raises(OutcomeUnknown, match="not known whether it arrived"):
            await client.create_order_intent(
                patient.id, [], f"http://127.0.0.1:1/r?draft={draft_id}", {"draft_id": draft_id}
            )
        await set_faults(sandbox.url, drop_rate=0.0)
        posts = [e for e in await log.entries(since) if e.method == "POST"]
        found = await client.order_intents_for_draft(draft_id)
    assert [(e.path, e.status) for e in posts] == [("/order_intents", 201)]  # sent once
    assert len(found) == 1  # it had arrived: the outbox adopts it instead of creating another
    assert found[0].metadata["draft_id"] == draft_id

"""The Epic connection and client against the Epic simulator over real HTTP: discovery,
connecting through the browser (PKCE, aud, state, iss), tokens with and without refresh,
Epic's patient search, today's schedule, documents, and errors as `EpicError`s."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from rupa_desk.epic_sandbox.config import DEMO_CLIENT_ID, REFRESH_CLIENT_ID, EpicConfig
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.services import errors as rupa
from rupa_desk.services.epic.client import EpicClient, lab_report_document
from rupa_desk.services.epic.connection import EpicConnection, epic_session_key
from rupa_desk.services.epic.errors import (
    EpicConnectFailed,
    EpicForbidden,
    EpicNotConnected,
    EpicOutcomeUnknown,
    EpicRejected,
    EpicSessionEnded,
)
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.settings import ClientLimits, EpicSettings
from tests.fixtures.epic import PlayedEpicBrowser, validated

CAMILA = "erXuFYUfucBZaryVksYEcMg3"
FAST = ClientLimits(backoff_initial_s=0.01, backoff_max_s=0.05, backoff_jitter_s=0.01)


def settings_for(
    server: EpicServer, client_id: str = DEMO_CLIENT_ID, **changes: object
) -> EpicSettings:
    return replace(EpicSettings(server.fhir_base, client_id, limits=FAST), **changes)  # type: ignore[arg-type]


class Clock:
    """Wall-clock time that a test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
async def connected(epic: EpicServer) -> AsyncIterator[tuple[EpicConnection, EpicClient]]:
    settings = settings_for(epic)
    connection = EpicConnection(settings, MemorySecretStore(), opener=PlayedEpicBrowser())
    client = EpicClient(settings, connection)
    await connection.connect(timeout_s=30)
    yield connection, client
    await client.aclose()
    await connection.aclose()


async def test_connecting_sends_pkce_aud_and_state_and_keeps_the_token_in_memory(
    epic: EpicServer,
) -> None:
    store = MemorySecretStore()
    browser = PlayedEpicBrowser()
    connection = EpicConnection(settings_for(epic), store, opener=browser)
    try:
        status = await connection.connect(timeout_s=30)
    finally:
        await connection.aclose()
    query = parse_qs(urlsplit(browser.authorize_urls[0]).query)
    assert query["aud"] == [epic.fhir_base]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32
    assert urlsplit(query["redirect_uri"][0]).path == "/oauth/epic/callback"
    assert "user/DocumentReference.write" in query["scope"][0].split()
    assert browser.pages[0].status_code == 200
    assert "connected to Epic" in browser.pages[0].text
    assert status.connected
    assert not status.lasting
    assert status.ends_at is not None
    assert await store.get(epic_session_key(connection.settings)) is None  # nothing kept


async def test_camila_lopez_is_found_and_read_whole(
    connected: tuple[EpicConnection, EpicClient],
) -> None:
    _, client = connected
    found = await client.search_patients(
        family="Lopez", given="Camila", birth_date=date(1987, 9, 12)
    )
    assert [p.id for p in found] == [CAMILA]
    camila = found[0]
    assert (camila.family, camila.given, camila.mrn, camila.sex) == (
        "Lopez",
        "Camila",
        "203713",
        "female",
    )
    assert camila.birth_date == date(1987, 9, 12)
    assert camila.phone == "608-555-1000"
    assert camila.email == "camila.lopez@example.com"
    assert camila.address.city == "Madison"
    assert await client.search_patients(mrn="203713") == [camila]
    assert await client.search_patients(phone=camila.phone) == [camila]
    assert await client.patient(CAMILA) == camila


async def test_a_bare_last_name_finds_nobody(
    connected: tuple[EpicConnection, EpicClient],
) -> None:
    _, client = connected
    assert await client.search_patients(family="Lopez") == []


async def test_todays_schedule_follows_every_page() -> None:
    with EpicServer(EpicConfig(generated_patients=5, page_size=4)) as server:
        settings = settings_for(server)
        connection = EpicConnection(settings, MemorySecretStore(), opener=PlayedEpicBrowser())
        client = EpicClient(settings, connection)
        try:
            await connection.connect(timeout_s=30)
            visits = await client.schedule(server.epic.today)
        finally:
            await client.aclose()
            await connection.aclose()
    assert len(visits) == server.config.appointments_today
    assert visits[0].patient_name == "Camila Lopez"
    assert visits[0].patient_id == CAMILA
    assert all(v.start is not None and v.start.date() == server.epic.today for v in visits)
    gets = [path for method, path in server.epic.requests if path.endswith("/Appointment")]
    assert len(gets) == 4  # 14 visits, 4 a page


async def test_a_refresh_token_is_kept_and_restores_the_session(epic: EpicServer) -> None:
    store = MemorySecretStore()
    settings = settings_for(epic, REFRESH_CLIENT_ID)
    first = EpicConnection(settings, store, opener=PlayedEpicBrowser())
    try:
        assert (await first.connect(timeout_s=30)).lasting
    finally:
        await first.aclose()
    kept = json.loads(await store.get(epic_session_key(settings)) or "{}")
    assert kept["token_url"].endswith("/oauth2/token")

    def no_browser(url: str) -> bool:
        raise AssertionError("a kept session needs no browser")

    later = EpicConnection(settings, store, opener=no_browser)
    client = EpicClient(settings, later)
    try:
        assert await later.restore()
        assert [p.mrn for p in await client.search_patients(mrn="203713")] == ["203713"]
    finally:
        await client.aclose()
        await later.aclose()


async def test_without_a_refresh_token_the_session_ends_with_its_token(epic: EpicServer) -> None:
    clock = Clock()
    settings = settings_for(epic)
    connection = EpicConnection(
        settings, MemorySecretStore(), opener=PlayedEpicBrowser(), clock=clock
    )
    client = EpicClient(settings, connection)
    try:
        await connection.connect(timeout_s=30)
        ends_at = connection.status().ends_at
        assert ends_at is not None
        clock.offset = 3600
        with pytest.raises(EpicSessionEnded) as ended:
            await client.search_patients(mrn="203713")
        assert f"ended at {ends_at:%H:%M}" in ended.value.user_message
        assert not connection.status().connected
    finally:
        await client.aclose()
        await connection.aclose()


async def test_not_connected_says_so(epic: EpicServer) -> None:
    settings = settings_for(epic)
    connection = EpicConnection(settings, MemorySecretStore())
    client = EpicClient(settings, connection)
    try:
        with pytest.raises(EpicNotConnected):
            await client.search_patients(mrn="203713")
    finally:
        await client.aclose()
        await connection.aclose()


async def test_discovery_falls_back_to_metadata() -> None:
    with EpicServer(EpicConfig(generated_patients=0, smart_configuration=False)) as server:
        connection = EpicConnection(settings_for(server), MemorySecretStore())
        try:
            smart = await connection.discover()
        finally:
            await connection.aclose()
    assert smart.authorize_url == server.url + "/oauth2/authorize"
    assert smart.token_url == server.url + "/oauth2/token"
    assert smart.issuer is None


@pytest.mark.parametrize("iss", ["https://other.example.org/oauth2", ""])
async def test_an_answer_naming_another_issuer_or_none_is_refused(
    epic: EpicServer, iss: str
) -> None:
    browser = PlayedEpicBrowser(iss=iss)
    connection = EpicConnection(settings_for(epic), MemorySecretStore(), opener=browser)
    try:
        with pytest.raises(EpicConnectFailed) as failed:
            await connection.connect(timeout_s=30)
    finally:
        await connection.aclose()
    assert isinstance(failed.value.cause, rupa.IssuerMismatch)
    assert browser.pages[0].status_code == 400
    assert not connection.status().connected
    assert not any(method == "POST" for method, _ in epic.epic.requests)
    # the token endpoint's own records (not in `requests`, which lists FHIR calls only)
    assert not any(code.used for code in epic.epic.codes.values())
    assert epic.epic.access_tokens == {}


async def test_an_answer_with_a_state_issued_elsewhere_is_refused_and_the_real_one_used(
    epic: EpicServer,
) -> None:
    """`state` binds the answer to this connect to this server: an answer carrying another
    sign-in's state (Rupa's, a stale tab's) gets an error page and its code is never
    exchanged; the connect goes on and uses the real answer."""
    rupa_state = secrets.token_urlsafe(32)  # as Rupa's sign-in issues them
    browser = PlayedEpicBrowser(foreign_state=rupa_state)
    connection = EpicConnection(settings_for(epic), MemorySecretStore(), opener=browser)
    try:
        await connection.connect(timeout_s=30)
    finally:
        await connection.aclose()
    forged, real = browser.pages
    assert forged.status_code == 400
    assert real.status_code == 200
    # the simulator's own records: its one code exchanged once, one access token issued
    assert [code.used for code in epic.epic.codes.values()] == [True]
    assert len(epic.epic.access_tokens) == 1
    assert connection.status().connected


async def test_denying_in_the_browser_is_a_failed_connect(epic: EpicServer) -> None:
    browser = PlayedEpicBrowser(decision="deny")
    connection = EpicConnection(settings_for(epic), MemorySecretStore(), opener=browser)
    try:
        with pytest.raises(EpicConnectFailed) as failed:
            await connection.connect(timeout_s=30)
    finally:
        await connection.aclose()
    assert isinstance(failed.value.cause, rupa.AccessDenied)
    assert "Rupa" not in failed.value.user_message


async def test_a_scope_without_appointments_is_forbidden(epic: EpicServer) -> None:
    settings = settings_for(epic, scope="openid user/Patient.read")
    connection = EpicConnection(settings, MemorySecretStore(), opener=PlayedEpicBrowser())
    client = EpicClient(settings, connection)
    try:
        await connection.connect(timeout_s=30)
        with pytest.raises(EpicForbidden):
            await client.schedule(epic.epic.today)
    finally:
        await client.aclose()
        await connection.aclose()


async def test_rate_limits_and_server_errors_are_retried(
    epic: EpicServer, connected: tuple[EpicConnection, EpicClient]
) -> None:
    _, client = connected
    epic.epic.faults.rate_limited = 1
    epic.epic.faults.fail_status = [503]
    assert [p.mrn for p in await client.search_patients(mrn="203713")] == ["203713"]


def report(ordered_test_id: str, patient_id: str = CAMILA) -> dict[str, object]:
    return lab_report_document(
        patient_id=patient_id,
        identifier_system="urn:rupa-desk:ordered-test",
        identifier_value=ordered_test_id,
        title="Lipid Panel",
        pdf=b"%PDF-1.4 result",
        when="2026-12-07T10:00:00+00:00",
    )


async def test_a_document_is_created_valid_and_found_by_identifier(
    epic: EpicServer, connected: tuple[EpicConnection, EpicClient]
) -> None:
    _, client = connected
    sent = report("otst_1")
    validated(sent)
    doc_id = await client.create_document(sent)
    assert list(epic.epic.documents) == [doc_id]
    validated(epic.epic.documents[doc_id])
    assert await client.documents_with_identifier("urn:rupa-desk:ordered-test", "otst_1") == [
        doc_id
    ]
    assert await client.documents_with_identifier("urn:rupa-desk:ordered-test", "otst_2") == []


async def test_a_lost_create_answer_is_outcome_unknown_and_the_document_exists(
    epic: EpicServer, connected: tuple[EpicConnection, EpicClient]
) -> None:
    _, client = connected
    epic.epic.faults.lose_create_answers = 1
    with pytest.raises(EpicOutcomeUnknown):
        await client.create_document(report("otst_5"))
    found = await client.documents_with_identifier("urn:rupa-desk:ordered-test", "otst_5")
    assert len(found) == 1
    posts = [path for method, path in epic.epic.requests if method == "POST"]
    assert len(posts) == 1  # never sent twice


async def test_an_operation_outcome_becomes_a_rejection_with_its_diagnostics(
    connected: tuple[EpicConnection, EpicClient],
) -> None:
    _, client = connected
    with pytest.raises(EpicRejected) as rejected:
        await client.create_document(report("otst_1", patient_id="nobody"))
    assert rejected.value.diagnostics == (
        "DocumentReference.subject must reference a known Patient.",
    )
    assert "known Patient" in rejected.value.user_message
    assert "known Patient" not in str(rejected.value)  # logs name no diagnostics

"""Result PDFs filed to the Epic chart exactly once, checked in the Epic simulator's own data:
filed again, with the create's answer lost, and after a crash between sending and knowing."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.services.epic.client import EpicClient, lab_report_document
from rupa_desk.services.epic.connection import EpicConnection
from rupa_desk.services.epic.errors import EpicOutcomeUnknown, EpicRejected
from rupa_desk.services.epic.filing import ORDERED_TEST_SYSTEM, ResultFiling
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.services.store.database import Store
from rupa_desk.settings import ClientLimits, EpicSettings
from tests.fixtures.epic import PlayedEpicBrowser, validated

CAMILA = "erXuFYUfucBZaryVksYEcMg3"
PDF = b"%PDF-1.4 Lipid Panel result"
WHEN = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.in_memory() as store:
        yield store


@pytest.fixture
async def filing(epic: EpicServer, store: Store) -> AsyncIterator[ResultFiling]:
    limits = ClientLimits(backoff_initial_s=0.01, backoff_max_s=0.05, backoff_jitter_s=0.01)
    settings = EpicSettings(epic.fhir_base, "rupa-desk-epic-demo", limits=limits)
    connection = EpicConnection(settings, MemorySecretStore(), opener=PlayedEpicBrowser())
    client = EpicClient(settings, connection)
    await connection.connect(timeout_s=30)
    yield ResultFiling(client, store.epic_links)
    await client.aclose()
    await connection.aclose()


def documents_of(epic: EpicServer, ordered_test_id: str) -> list[dict[str, object]]:
    with epic.epic.lock:
        return [
            d
            for d in epic.epic.documents.values()
            if {"system": ORDERED_TEST_SYSTEM, "value": ordered_test_id} in d["identifier"]  # type: ignore[operator]
        ]


def posts(epic: EpicServer) -> int:
    return sum(1 for method, _ in epic.epic.requests if method == "POST")


async def file_lipid_panel(filing: ResultFiling, patient: str = CAMILA) -> object:
    return await filing.file(
        ordered_test_id="otst_0000001",
        epic_patient_id=patient,
        title="Lovelace Ada - Lipid Panel - 2026-12-07.pdf",
        pdf=PDF,
        when=WHEN,
    )


async def test_a_result_is_filed_once_and_filing_it_again_finds_it(
    epic: EpicServer, filing: ResultFiling, store: Store
) -> None:
    first = await file_lipid_panel(filing)
    again = await file_lipid_panel(filing)
    filed = documents_of(epic, "otst_0000001")
    assert len(filed) == 1
    assert posts(epic) == 1
    document = validated(filed[0])
    assert document.type.coding[0].code == "11502-2"
    assert document.subject.reference == f"Patient/{CAMILA}"
    assert document.content[0].attachment.contentType == "application/pdf"
    assert base64.b64decode(filed[0]["content"][0]["attachment"]["data"]) == PDF  # type: ignore[index]
    assert first.already_there is False  # type: ignore[attr-defined]
    assert again.already_there is True  # type: ignore[attr-defined]
    record = store.epic_links.filing("otst_0000001")
    assert record is not None
    assert (record.state, record.document_id) == ("filed", filed[0]["id"])


async def test_a_lost_answer_is_resolved_without_filing_twice(
    epic: EpicServer, filing: ResultFiling, store: Store
) -> None:
    epic.epic.faults.lose_create_answers = 1
    filed = await file_lipid_panel(filing)
    assert len(documents_of(epic, "otst_0000001")) == 1
    assert posts(epic) == 1
    assert filed.document_id == documents_of(epic, "otst_0000001")[0]["id"]  # type: ignore[attr-defined]
    record = store.epic_links.filing("otst_0000001")
    assert record is not None
    assert record.state == "filed"


async def test_after_a_crash_between_sending_and_knowing_it_is_not_sent_again(
    epic: EpicServer, filing: ResultFiling, store: Store
) -> None:
    # The last run sent the create, Epic acted, the answer was lost and the app died.
    store.epic_links.record("otst_0000001", CAMILA, "filing")
    epic.epic.faults.lose_create_answers = 1
    document = lab_report_document(
        patient_id=CAMILA,
        identifier_system=ORDERED_TEST_SYSTEM,
        identifier_value="otst_0000001",
        title="Lipid Panel",
        pdf=PDF,
        when=WHEN.isoformat(),
    )
    with pytest.raises(EpicOutcomeUnknown):
        await filing._client.create_document(document)  # type: ignore[attr-defined]
    assert posts(epic) == 1

    filed = await file_lipid_panel(filing)  # after the restart

    assert filed.already_there is True  # type: ignore[attr-defined]
    assert posts(epic) == 1
    assert len(documents_of(epic, "otst_0000001")) == 1


async def test_a_refused_filing_is_recorded_as_failed_with_the_reason(
    epic: EpicServer, filing: ResultFiling, store: Store
) -> None:
    with pytest.raises(EpicRejected):
        await file_lipid_panel(filing, patient="eNobody")
    record = store.epic_links.filing("otst_0000001")
    assert record is not None
    assert record.state == "failed"
    assert "known Patient" in (record.problem or "")
    assert documents_of(epic, "otst_0000001") == []


async def test_two_filings_of_one_result_at_once_file_it_once(
    epic: EpicServer, filing: ResultFiling, store: Store
) -> None:
    # "File to Epic" pressed while automatic filing handles the same result.
    first, second = await asyncio.gather(file_lipid_panel(filing), file_lipid_panel(filing))
    assert len(documents_of(epic, "otst_0000001")) == 1
    assert posts(epic) == 1
    assert sorted([first.already_there, second.already_there]) == [False, True]  # type: ignore[attr-defined]

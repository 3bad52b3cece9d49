"""Epic's 403 and 404 answers as the desk reads them: the OperationOutcome's words are kept in
the typed error (checked, shortened, without secrets), and the message says what happened and
what to do. Against the Epic simulator's own app, in process (no network)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from rupa_desk.core.fhir import outcome_diagnostics
from rupa_desk.epic_sandbox.config import DEMO_CLIENT_ID, FHIR_PATH, EpicConfig
from rupa_desk.epic_sandbox.resources import operation_outcome
from rupa_desk.epic_sandbox.server import create_app
from rupa_desk.epic_sandbox.state import AccessGrant, EpicState
from rupa_desk.services import errors as rupa
from rupa_desk.services.epic.client import EpicClient
from rupa_desk.services.epic.errors import EpicForbidden, EpicNotFound, epic_error
from rupa_desk.settings import EpicSettings

TOKEN = "simulated-access-token-of-the-test-0123456789"
CAMILA = "erXuFYUfucBZaryVksYEcMg3"


class FixedToken:
    """A token source with one access token the simulator was told about."""

    async def access_token(self) -> str:
        return TOKEN

    async def token_rejected(self, token: str) -> None:
        raise AssertionError("the simulator refused the test's token")


@dataclass
class Epic:
    state: EpicState
    client: EpicClient


async def epic_with_scopes(scopes: str) -> Epic:
    state = EpicState(EpicConfig(generated_patients=5))
    state.access_tokens[TOKEN] = AccessGrant(
        DEMO_CLIENT_ID, frozenset(scopes.split()), state.now() + 3600
    )
    transport = httpx.ASGITransport(app=create_app(state))
    settings = EpicSettings(f"http://epic.test{FHIR_PATH}", DEMO_CLIENT_ID)
    return Epic(state, EpicClient(settings, FixedToken(), transport=transport))


@pytest.fixture
async def patients_only() -> AsyncIterator[Epic]:
    epic = await epic_with_scopes("openid fhirUser user/Patient.read")
    yield epic
    await epic.client.aclose()


async def test_a_403_keeps_epics_words_and_says_what_access_is_missing(
    patients_only: Epic,
) -> None:
    with pytest.raises(EpicForbidden) as refused:
        await patients_only.client.schedule(patients_only.state.today)
    error = refused.value
    assert error.diagnostics == ("The granted scopes do not allow this on Appointment.",)
    assert error.user_message.startswith(
        "Epic did not allow this: your Epic account may lack access to the schedule. "
        "Ask your clinic's IT"
    )
    assert "The granted scopes do not allow this on Appointment." in error.user_message
    assert str(error) == "Epic refused the request (HTTP 403)."  # logs: no words of Epic's
    assert isinstance(error.cause, rupa.Forbidden)


async def test_a_403_on_filing_says_adding_documents_is_what_is_missing(
    patients_only: Epic,
) -> None:
    with pytest.raises(EpicForbidden) as refused:
        await patients_only.client.create_document({"resourceType": "DocumentReference"})
    assert "lack access to adding documents to patients' charts" in refused.value.user_message
    assert refused.value.diagnostics == (
        "The granted scopes do not allow this on DocumentReference.",
    )


async def test_a_404_keeps_epics_words_and_says_to_find_her_again(patients_only: Epic) -> None:
    with pytest.raises(EpicNotFound) as missing:
        await patients_only.client.patient("eNoSuchPatient0000000001")
    error = missing.value
    assert error.diagnostics == ("No patient has this id.",)
    assert error.user_message.startswith("Epic could not find this patient:")
    assert "Search for the patient again in Find in Epic." in error.user_message
    assert "eNoSuchPatient0000000001" not in error.user_message  # no ids on screen
    assert str(error) == "Epic could not find what was asked for (HTTP 404)."
    assert (await patients_only.client.patient(CAMILA)).mrn == "203713"


def test_epics_words_never_carry_a_token_and_are_capped() -> None:
    said = (
        "Token Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJGSElSIn0.c2lnbmF0dXJl is not allowed; "
        "access_token=abc123 and key 4f9c2b7d1e8a6c3b5d7f9e1a2c4b6d8f0a1b3c5d refused. " + "x" * 900
    )
    diagnostics = outcome_diagnostics(operation_outcome("forbidden", said))
    error = epic_error(rupa.Forbidden(details=diagnostics), access="the schedule")
    assert isinstance(error, EpicForbidden)
    for secret in ("eyJhbGciOiJSUzI1NiJ9", "abc123", "4f9c2b7d1e8a6c3b5d7f9e1a2c4b6d8f0a1b3c5d"):
        assert secret not in error.diagnostics[0]
        assert secret not in error.user_message
    assert len(error.diagnostics[0]) == 300  # kept, capped
    assert len(error.user_message) < 400  # on screen, shorter still
    assert error.user_message.endswith("…”)")


def test_without_epics_words_the_message_still_says_what_to_do() -> None:
    error = epic_error(rupa.NotFound(), access="patient records")
    assert isinstance(error, EpicNotFound)
    assert error.diagnostics == ()
    assert error.user_message == (
        "Epic could not find what Rupa Desk asked for. If it keeps happening, ask your "
        "clinic's IT to check the Epic FHIR address in Settings."
    )
    forbidden = epic_error(rupa.Forbidden())
    assert forbidden.user_message == (
        "Epic did not allow this: your Epic account may lack access to this. Ask your "
        "clinic's IT to give it that access, then try again."
    )

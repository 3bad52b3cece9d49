"""The known-error family: every failure the user can act on derives from one root."""

from __future__ import annotations

import pytest

from rupa_desk.core.checkout_return import InvalidReturnUrl
from rupa_desk.core.drafts import DraftNotReady, InvalidDraftTransition
from rupa_desk.core.errors import ActionNotAllowed, InvalidInput, KnownError
from rupa_desk.core.validation import InvalidPatientForm, PortListError
from rupa_desk.services.errors import Offline, RupaError, ValidationFailed
from rupa_desk.services.store import StoreError
from rupa_desk.services.store.errors import StoreDiskFullError
from rupa_desk.settings import SettingsError


@pytest.mark.parametrize(
    "error",
    [
        Offline(),
        ValidationFailed({"email": ("Enter a valid email.",)}),
        StoreDiskFullError("database or disk is full"),
        SettingsError("The settings file holds no JSON object."),
        InvalidPatientForm({"email": "Enter an email."}),
        PortListError("Port 80 is not between 1024 and 65535."),
        InvalidDraftTransition("A checked-out draft cannot be changed."),
        DraftNotReady("Choose a patient."),
        InvalidReturnUrl("The return address names no valid draft."),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_known_failure_is_a_known_error_with_a_message(error: KnownError) -> None:
    assert isinstance(error, KnownError)
    assert error.user_message.strip()
    assert error.user_message.endswith(".")


def test_the_families_hang_from_the_one_root() -> None:
    assert issubclass(RupaError, KnownError)
    assert issubclass(StoreError, KnownError)
    assert issubclass(SettingsError, KnownError)
    assert issubclass(InvalidDraftTransition, ActionNotAllowed)
    assert issubclass(DraftNotReady, InvalidInput)


def test_input_checks_are_not_value_errors() -> None:
    """`except ValueError` must not catch a refused input, nor `except KnownError` a bug."""
    assert not issubclass(InvalidInput, ValueError)
    assert not issubclass(KnownError, ValueError)
    assert not isinstance(ValueError("a sent draft has an order intent id"), KnownError)


def test_a_next_step_follows_what_happened() -> None:
    error = KnownError("The draft was not saved.", next_step="Free some disk space.")
    assert error.user_message == "The draft was not saved. Free some disk space."
    assert str(error) == error.user_message
    assert KnownError().user_message == KnownError.default_message
    assert Offline().user_message == Offline.default_message


def test_the_words_of_errors_carry_no_ids_nor_status_codes() -> None:
    """The desk reads these: the id and the status stay attributes, for the log."""
    from rupa_desk.services.errors import ServerError
    from rupa_desk.services.store import UnknownDraftError, UnknownLabTestError

    server = ServerError(503)
    assert server.status == 503
    assert "503" not in str(server)
    assert "Try again" in str(server)
    for error, ident in (
        (UnknownLabTestError("labts_0000001"), "labts_0000001"),
        (UnknownDraftError("draft-123"), "draft-123"),
    ):
        assert ident not in str(error)


def test_rupas_refusal_names_each_field_as_the_desk_calls_it() -> None:
    """Rupa's field names ("lab_tests", "address.zip") never reach the screen as such."""
    refusal = ValidationFailed(
        {
            "lab_tests": ("This test cannot be ordered.",),
            "address.zip": ("Enter a 5-digit ZIP code.",),
            "first_name": ("Required.",),
        }
    )
    words = refusal.user_message
    assert "Tests: This test cannot be ordered." in words
    assert "ZIP code: Enter a 5-digit ZIP code." in words
    assert "First name: Required." in words
    for raw in ("lab_tests", "address.zip", "first_name"):
        assert raw not in words

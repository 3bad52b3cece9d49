"""The Epic section of the settings: optional, checked, and lockable by the clinic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rupa_desk.settings import (
    DEFAULT_EPIC_SCOPES,
    EPIC_REDIRECT_PATH,
    ManagedSettings,
    SettingsError,
    UserSettings,
    load_settings,
)

SANDBOX = "https://fhir.epic.com/interconnect-fhir-oauth/api/FHIR/R4"


def test_without_epic_settings_there_is_no_epic_connection() -> None:
    assert UserSettings().validated().epic() is None


def test_epic_settings_describe_the_connection() -> None:
    settings = UserSettings(
        epic_fhir_base=SANDBOX + "/", epic_client_id=" abc ", redirect_ports=(8123,)
    ).validated()
    epic = settings.epic()
    assert epic is not None
    assert (epic.fhir_base, epic.client_id, epic.scope) == (SANDBOX, "abc", DEFAULT_EPIC_SCOPES)
    assert epic.redirect_path == EPIC_REDIRECT_PATH
    assert epic.redirect_ports == (8123,)


@pytest.mark.parametrize(
    "base",
    ["http://fhir.example.org/R4", "ftp://fhir.example.org", "fhir.example.org/R4"],
)
def test_a_fhir_address_that_is_not_https_is_refused(base: str) -> None:
    with pytest.raises(SettingsError, match="https://"):
        UserSettings(epic_fhir_base=base, epic_client_id="abc").validated()


def test_plain_http_is_allowed_to_this_computer_only() -> None:
    local = "http://127.0.0.1:8080/api/FHIR/R4"
    assert UserSettings(epic_fhir_base=local, epic_client_id="abc").validated().epic()


def test_a_fhir_address_needs_a_client_id() -> None:
    with pytest.raises(SettingsError, match="client id"):
        UserSettings(epic_fhir_base=SANDBOX).validated()


def test_the_clinic_can_lock_the_epic_settings(tmp_path: Path) -> None:
    managed = tmp_path / "managed.json"
    managed.write_text(
        json.dumps({"epic_fhir_base": SANDBOX, "epic_client_id": "clinic-app"}), "utf-8"
    )
    own = tmp_path / "settings.json"
    UserSettings(epic_fhir_base="https://other.example.org/R4", epic_client_id="mine").save(own)
    loaded = load_settings(own, managed)
    assert loaded.settings.epic_fhir_base == SANDBOX
    assert loaded.settings.epic_client_id == "clinic-app"
    assert loaded.managed.is_locked("epic_fhir_base")


def test_a_managed_fhir_address_over_plain_http_is_refused(tmp_path: Path) -> None:
    managed = tmp_path / "managed.json"
    managed.write_text(json.dumps({"epic_fhir_base": "http://fhir.example.org/R4"}), "utf-8")
    with pytest.raises(SettingsError, match="https://"):
        ManagedSettings.load(managed)


def test_automatic_filing_is_off_unless_chosen_and_survives_a_save(tmp_path: Path) -> None:
    assert UserSettings().epic_auto_file is False
    own = tmp_path / "settings.json"
    UserSettings(epic_auto_file=True).save(own)
    assert json.loads(own.read_text("utf-8"))["epic_auto_file"] is True
    assert UserSettings.load(own).epic_auto_file is True


def test_automatic_filing_must_be_true_or_false(tmp_path: Path) -> None:
    own = tmp_path / "settings.json"
    own.write_text(json.dumps({"epic_auto_file": "yes"}), "utf-8")
    with pytest.raises(SettingsError, match="true or false"):
        UserSettings.load(own)


def test_the_clinic_can_lock_automatic_filing(tmp_path: Path) -> None:
    managed = tmp_path / "managed.json"
    managed.write_text(json.dumps({"epic_auto_file": True}), "utf-8")
    own = tmp_path / "settings.json"
    UserSettings(epic_auto_file=False).save(own)
    loaded = load_settings(own, managed)
    assert loaded.settings.epic_auto_file is True
    assert loaded.managed.is_locked("epic_auto_file")
    changed = loaded.managed.changed_locked(UserSettings(epic_auto_file=False))
    assert changed == ["File results to Epic automatically"]

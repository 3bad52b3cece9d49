"""`rupa-desk epic connect | whoami | search | schedule` against the Epic simulator over real
HTTP, the browser step played on the simulator's sign-in page, with a fake OS keychain."""

from __future__ import annotations

import io
import json

import keyring
import pytest

from rupa_desk.__main__ import build_parser, main
from rupa_desk.cli import epic as epic_cli
from rupa_desk.epic_sandbox.config import DEMO_CLIENT_ID, REFRESH_CLIENT_ID
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.paths import AppPaths
from tests.fixtures.epic import PlayedEpicBrowser
from tests.fixtures.fake_keyring import DictKeyring, installed_keyring  # noqa: F401

pytestmark = pytest.mark.usefixtures("installed_keyring")


def run(
    server: EpicServer,
    app_paths: AppPaths,
    *words: str,
    client_id: str = DEMO_CLIENT_ID,
    browser: PlayedEpicBrowser | None = None,
) -> tuple[int, str]:
    argv = ["epic", *words, "--fhir-base", server.fhir_base, "--client-id", client_id]
    args = build_parser().parse_args(argv)
    out = io.StringIO()
    code = epic_cli.run(args, paths=app_paths, opener=browser or PlayedEpicBrowser(), out=out)
    return code, out.getvalue()


def test_connect_then_whoami_search_and_schedule_with_a_kept_session(
    epic: EpicServer, app_paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    keychain = DictKeyring()
    keyring.set_keyring(keychain)
    code, shown = run(epic, app_paths, "connect", client_id=REFRESH_CLIENT_ID)
    assert code == 0, capsys.readouterr().err
    assert "Connect to Epic in the browser window that opened." in shown
    assert f"Connected to Epic at {epic.fhir_base}." in shown
    assert "The session is kept in: OS keychain." in shown
    assert len(keychain.values) == 1

    def no_browser(url: str) -> bool:
        raise AssertionError("the kept session needs no browser")

    args = ["--fhir-base", epic.fhir_base, "--client-id", REFRESH_CLIENT_ID]
    assert main(["epic", "whoami", *args]) == 0
    shown = capsys.readouterr().out
    assert "Server: Epic simulator (Rupa Desk)" in shown
    assert "user/Patient.read" in shown

    found = ["--family", "Lopez", "--given", "Camila", "--birthdate", "1987-09-12"]
    assert main(["epic", "search", *found, *args]) == 0
    line = capsys.readouterr().out.strip()
    assert line == (
        "Lopez, Camila · 1987-09-12 · female · MRN 203713 · 100 Oak St, Madison, WI 53703 · "
        "608-555-1000 · camila.lopez@example.com"
    )

    assert main(["epic", "search", "--mrn", "203713", "--json", *args]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["id"] == "erXuFYUfucBZaryVksYEcMg3"
    assert record["birth_date"] == "1987-09-12"

    day = epic.epic.today.isoformat()
    assert main(["epic", "schedule", "--date", day, "--json", *args]) == 0
    visits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(visits) == epic.config.appointments_today
    assert visits[0]["patient_name"] == "Camila Lopez"
    assert visits[0]["start"].startswith(f"{day}T08:00")


def test_a_bare_last_name_says_how_epic_finds_patients(
    epic: EpicServer, app_paths: AppPaths
) -> None:
    keyring.set_keyring(DictKeyring())
    browser = PlayedEpicBrowser()
    code, shown = run(epic, app_paths, "search", "--family", "Lopez", browser=browser)
    assert code == 0
    assert "Connect to Epic in the browser window that opened." in shown  # nothing was kept
    assert epic_cli.NO_MATCH in shown
    assert len(browser.authorize_urls) == 1


def test_schedule_without_a_lasting_session_connects_and_lists_today(
    epic: EpicServer, app_paths: AppPaths
) -> None:
    keyring.set_keyring(DictKeyring())
    code, shown = run(epic, app_paths, "schedule", "--date", epic.epic.today.isoformat())
    assert code == 0
    lines = shown.splitlines()
    assert lines[-epic.config.appointments_today].startswith("08:00  booked     Camila Lopez — ")


def test_whoami_without_a_session_says_to_connect(
    epic: EpicServer, app_paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    keyring.set_keyring(DictKeyring())
    args = ["--fhir-base", epic.fhir_base, "--client-id", DEMO_CLIENT_ID]
    assert main(["epic", "whoami", *args]) == 1
    err = capsys.readouterr().err
    assert "not connected to Epic" in err
    assert f"rupa-desk epic connect --fhir-base {epic.fhir_base}" in err


def test_without_epic_settings_the_command_says_what_is_missing(
    app_paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["epic", "whoami"]) == 2
    assert "Epic is not set up" in capsys.readouterr().err


def test_a_denied_connect_fails_with_exit_code_1(
    epic: EpicServer, app_paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    keyring.set_keyring(DictKeyring())
    code, _ = run(epic, app_paths, "connect", browser=PlayedEpicBrowser(decision="deny"))
    assert code == 1
    assert "denied" in capsys.readouterr().err

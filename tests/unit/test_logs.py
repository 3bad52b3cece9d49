"""The log file: rotating, in the log folder, and free of tokens and patient data."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rupa_desk.logs import LogSetup, configure_logging, start_logging
from rupa_desk.paths import AppPaths
from rupa_desk.services.http_client import new_http_client
from rupa_desk.settings import ClientLimits


@pytest.fixture
def log_setup(app_paths: AppPaths) -> Iterator[LogSetup]:
    setup = configure_logging(app_paths)
    yield setup
    setup.close()
    logging.captureWarnings(False)


def test_log_file_is_in_the_log_folder(log_setup: LogSetup, app_paths: AppPaths) -> None:
    logging.getLogger("rupa_desk.test").info("started")
    log_setup.handler.flush()
    assert log_setup.path is not None
    assert log_setup.path.parent == app_paths.log_dir
    assert "started" in log_setup.path.read_text(encoding="utf-8")


@pytest.mark.allow_error_logs
def test_tokens_and_patient_data_never_reach_the_file(log_setup: LogSetup) -> None:
    log = logging.getLogger("rupa_desk.test")
    log.info("token response %s", {"access_token": "AT-secret-1", "refresh_token": "RT-secret-2"})
    log.warning("creating patient jane@example.com")
    try:
        raise ValueError('bad patient {"first_name": "Janet", "birthday": "1980-02-03"}')
    except ValueError:
        log.exception("failed")
    log_setup.handler.flush()
    assert log_setup.path is not None
    text = log_setup.path.read_text(encoding="utf-8")
    for secret in ("AT-secret-1", "RT-secret-2", "jane@example.com", "Janet", "1980-02-03"):
        assert secret not in text
    assert "Traceback" in text
    assert "ValueError" in text
    assert "test_tokens_and_patient_data_never_reach_the_file" in text


@pytest.mark.allow_error_logs
def test_records_from_before_the_file_opens_reach_it_first_redacted_and_in_order(
    app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rupa_desk.logs.EARLY_RECORDS_KEPT", 3)
    early = start_logging()
    log = logging.getLogger("rupa_desk.test")
    log.info("early one")
    log.error("early token %s", {"refresh_token": "RT-secret-3"})
    log.info("early three")
    log.info("early four (over the limit)")
    log.debug("below the level")
    assert not app_paths.log_file.exists()
    setup = configure_logging(app_paths, early=early)
    try:
        log.info("after the file opened")
        setup.handler.flush()
    finally:
        setup.close()
        logging.captureWarnings(False)
    assert setup.path is not None
    lines = setup.path.read_text(encoding="utf-8").splitlines()
    messages = [line.split(": ", 1)[1] for line in lines]
    assert len(messages) == 5
    assert messages[0] == "early one"
    assert messages[1].startswith("early token ")
    assert " ERROR " in lines[1]
    assert messages[2:] == [
        "early three",
        "1 start-up log records were dropped (more than 3)",
        "after the file opened",
    ]
    assert "RT-secret-3" not in "\n".join(lines)
    assert early.records == []
    assert early not in logging.getLogger("rupa_desk").handlers


def test_the_log_rotates(app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rupa_desk.logs.MAX_LOG_BYTES", 2_000)
    setup = configure_logging(app_paths)
    try:
        log = logging.getLogger("rupa_desk.test")
        for i in range(200):
            log.info("line %d of some length to fill the file up quickly", i)
    finally:
        setup.close()
        logging.captureWarnings(False)
    assert (app_paths.log_dir / "rupa-desk.log.1").exists()


async def test_httpx_request_lines_are_redacted_even_when_someone_turns_them_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    async with new_http_client(ClientLimits(), transport=transport) as http:
        assert logging.getLogger("httpx").level == logging.WARNING
        assert logging.getLogger("httpcore").level == logging.WARNING
        caplog.set_level(logging.DEBUG)
        caplog.set_level(logging.INFO, logger="httpx")  # a developer wants the request lines
        params = {"filter[email]": "ada@example.test", "refresh_token": "RT-secret-9"}
        await http.get("http://127.0.0.1:9/patients", params=params)
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(lines) == 1
    assert "/patients?filter%5Bemail%5D=" in lines[0]
    assert "example.test" not in caplog.text
    assert "RT-secret-9" not in caplog.text


@pytest.mark.allow_error_logs
def test_text_from_a_server_cannot_forge_a_log_line(log_setup: LogSetup) -> None:
    """An OAuth `error=` (or any server text) with line breaks stays on its record's line."""
    log = logging.getLogger("rupa_desk.test")
    forged = "access_denied\n2026-12-07 09:00:00,000 INFO    rupa_desk.auth: signed in as admin"
    log.warning("sign-in refused: %s", forged)
    log.info("terminal %s and \r overwrite \u2028 separator", "\x1b[2J")
    try:
        raise ValueError(f"bad answer {forged!s}\r\x1b[31m")
    except ValueError:
        log.exception("failed")
    log_setup.handler.flush()
    assert log_setup.path is not None
    text = log_setup.path.read_text(encoding="utf-8")
    lines = text.splitlines()
    starts = [line for line in lines if line.startswith("20")]
    assert len(starts) == 3  # one line per record; the forged "signed in" is not one
    assert "sign-in refused: access_denied\\n2026-12-07" in starts[0]
    assert "terminal \\x1b[2J and \\r overwrite \\u2028 separator" in starts[1]
    assert "\x1b" not in text
    assert "\r" not in text
    assert "\u2028" not in text
    assert "\n  Traceback (most recent call last):\n" in text  # its own lines, indented
    assert "\n  ValueError: bad answer access_denied\n  2026-12-07" in text
    assert not any(line.startswith("2026-12-07 09:00:00,000 INFO") for line in lines)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most desktops run with (022: new files readable by everyone)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
def test_the_log_and_its_folders_are_the_users_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As platformdirs lays them out on Linux: the log in ~/.local/state/RupaDesk/log."""
    monkeypatch.setattr("rupa_desk.logs.MAX_LOG_BYTES", 2_000)
    state = tmp_path / "state"
    paths = AppPaths(
        data_dir=tmp_path / "share" / "RupaDesk",
        config_dir=tmp_path / "config" / "RupaDesk",
        log_dir=state / "RupaDesk" / "log",
        cache_dir=tmp_path / "cache" / "RupaDesk",
        managed_settings_file=tmp_path / "site" / "RupaDesk" / "managed.json",
    ).ensure()
    setup = configure_logging(paths)
    try:
        for i in range(100):
            logging.getLogger("rupa_desk.test").info("line %d of some length to fill it up", i)
    finally:
        setup.close()
        logging.captureWarnings(False)
    rotated = paths.log_dir / "rupa-desk.log.1"
    assert rotated.exists()
    assert mode_of(paths.log_file) == 0o600  # the file opened after the rotation too
    assert mode_of(rotated) == 0o600
    for folder in (paths.log_dir, state / "RupaDesk", paths.data_dir, paths.config_dir):
        assert mode_of(folder) == 0o700, folder


@pytest.mark.usefixtures("usual_umask")
def test_an_earlier_versions_readable_log_and_folders_are_tightened(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "RupaDesk")
    paths.log_dir.mkdir(parents=True, mode=0o755)
    paths.log_file.write_text("an old line\n")
    paths.log_file.chmod(0o644)
    setup = configure_logging(paths)
    setup.close()
    logging.captureWarnings(False)
    assert mode_of(paths.log_file) == 0o600
    assert mode_of(paths.log_dir) == 0o700
    paths.ensure()
    assert mode_of(tmp_path / "RupaDesk") == 0o700

"""The command line's one mapping from outcomes to exit codes and messages."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from rupa_desk.cli.exit_codes import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    run_command,
)
from rupa_desk.services.errors import Offline
from rupa_desk.settings import SettingsError


class DatabaseTrouble(Exception):
    """A command's own known failure (like the database's StoreError)."""


def failing_with(error: BaseException) -> Callable[[], Coroutine[Any, Any, int]]:
    async def command() -> int:
        raise error

    return command


async def succeeding() -> int:
    return EXIT_OK


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (SettingsError("The settings file is broken."), EXIT_USAGE, "settings file is broken"),
        (UsageError("No lab company 'x'."), EXIT_USAGE, "No lab company"),
        (Offline(), EXIT_FAILED, Offline().user_message),
        (DatabaseTrouble("The database is locked."), EXIT_FAILED, "database is locked"),
        (KeyboardInterrupt(), EXIT_INTERRUPTED, "interrupted; nothing changed"),
    ],
)
def test_known_failures_print_one_line_and_return_their_code(
    error: BaseException, code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_command(
        failing_with(error),
        failures=(DatabaseTrouble,),
        interrupted="interrupted; nothing changed.",
    )
    assert result == code
    err = capsys.readouterr().err
    assert err.startswith("rupa-desk: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_success_returns_the_commands_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command(succeeding) == EXIT_OK
    assert capsys.readouterr().err == ""


def test_a_bug_is_not_turned_into_an_exit_code() -> None:
    with pytest.raises(ZeroDivisionError):
        run_command(failing_with(ZeroDivisionError()))
    with pytest.raises(DatabaseTrouble):  # only the command's own known failures are mapped
        run_command(failing_with(DatabaseTrouble("x")))

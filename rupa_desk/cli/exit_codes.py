"""The exit codes of the `rupa-desk` commands, and the one place that maps failures to them.

    0    done
    1    a known failure (Rupa, the network, the keychain, the database): the message says
         what to do next
    2    bad settings or options
    130  interrupted (Ctrl+C)

Each command runs its coroutine through `run_command`, which prints a known failure as one
line on stderr (`rupa-desk: …`) and returns its code. Anything else is a bug and is raised
with its traceback.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Final

from rupa_desk.services.errors import RupaError
from rupa_desk.settings import SettingsError

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130


class UsageError(Exception):
    """An option names something that does not exist (e.g. an unknown lab company)."""


def run_command(
    command: Callable[[], Coroutine[Any, Any, int]],
    *,
    failures: tuple[type[Exception], ...] = (),
    interrupted: str = "interrupted.",
) -> int:
    """Run one command's coroutine in a fresh event loop and return its exit code.

    Args:
        command: makes the coroutine to run; it returns the exit code when it succeeds.
        failures: further known failures of this command, printed with `str(exc)` and
            exit code 1 (e.g. the database's `StoreError`).
        interrupted: what to say when Ctrl+C stops the command.
    """
    try:
        return asyncio.run(command())
    except (SettingsError, UsageError) as exc:
        _say(str(exc))
        return EXIT_USAGE
    except RupaError as exc:
        _say(exc.user_message)
        return EXIT_FAILED
    except failures as exc:
        _say(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say(interrupted)
        return EXIT_INTERRUPTED


def _say(message: str) -> None:
    print(f"rupa-desk: {message}", file=sys.stderr)

"""`rupa-desk catalog sync`'s progress line, with a known total and without one."""

from __future__ import annotations

import io

from rupa_desk.cli.catalog import _ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_known_total_draws_a_bar_on_a_terminal_and_every_tenth_in_a_log() -> None:
    log = io.StringIO()
    bar = _ProgressBar(log)
    for done in range(0, 1001, 50):
        bar.update(done, 1000)
    bar.finish()
    lines = log.getvalue().splitlines()
    assert len(lines) == 11  # 0%, 10%, … 100%
    assert lines[-1].endswith("1,000 / 1,000 tests")
    assert lines[-1].startswith("[" + "#" * 30 + "]")


def test_an_unknown_total_shows_a_count_not_a_bar() -> None:
    terminal = Terminal()
    bar = _ProgressBar(terminal)
    bar.update(0, 0)
    bar.update(500, 0)
    assert terminal.getvalue().endswith("\r    500 tests so far")
    assert "[" not in terminal.getvalue()  # no bar that would read empty or full
    bar.update(700, 700)  # the end: the total is known
    assert terminal.getvalue().endswith("700 / 700 tests")

    log = io.StringIO()
    bar = _ProgressBar(log)
    bar.update(0, 0)
    bar.update(500, 0)
    assert log.getvalue() == ""  # a log gets the summary line at the end instead
    bar.update(700, 700)
    assert log.getvalue().splitlines() == ["[" + "#" * 30 + "]     700 / 700 tests"]

"""CI runs the README's test command, from a clean virtual environment, before anything else;
then the packaging tests (the bundle and .deb), which the README's command leaves out."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.DOTALL)
    [command] = [b for b in blocks if "pytest" in b]
    return command.strip()


def ci_commands() -> list[str]:
    """The commands of .ci/run (comments, blank lines and continuation lines' indent aside)."""
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_ci_runs_exactly_the_readme_test_command_in_a_cleared_venv() -> None:
    commands = ci_commands()
    command = readme_test_command()
    assert "-m venv --clear .venv" in command  # a .venv left by an earlier run is rebuilt
    assert command in commands
    before = commands[: commands.index(command)]
    # only the shell's setup comes first: nothing installs or tests before the README's command
    assert all(not re.search(r"\bpip\b|pytest|apt-get", line) for line in before), before


def test_ci_then_runs_the_packaging_tests_and_the_default_run_leaves_them_out() -> None:
    commands = ci_commands()
    after = commands[commands.index(readme_test_command()) + 1 :]
    assert after[-1].endswith(".venv/bin/python -m pytest -m packaging")
    assert 'pip install -e ".[test,packaging]"' in after[-1]
    assert "set -euo pipefail" in commands  # a failure anywhere fails CI
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_options = options["tool"]["pytest"]["ini_options"]
    assert "-m 'not packaging'" in pytest_options["addopts"]
    assert "--strict-markers" in pytest_options["addopts"]
    assert any(m.startswith("packaging:") for m in pytest_options["markers"])
    assert "pyinstaller" not in " ".join(options["project"]["optional-dependencies"]["test"])

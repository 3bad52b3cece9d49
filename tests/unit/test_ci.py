"""CI runs the README's test command, from a clean virtual environment."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.DOTALL)
    [command] = [b for b in blocks if "pytest" in b]
    return command.strip()


def test_ci_runs_exactly_the_readme_test_command_in_a_cleared_venv() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    command = readme_test_command()
    assert "-m venv --clear .venv" in command  # a .venv left by an earlier run is rebuilt
    assert ci[-1] == command

"""ruff and mypy run with the test suite, so the README's one test command checks them too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint_passes() -> None:
    result = run("ruff", "check", "rupa_desk", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(600)
def test_mypy_passes_with_untyped_defs_disallowed() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr

"""pyproject.toml's requirements: floors the code needs, and the venv that tests run in."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def requirements() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    parsed = [Requirement(line) for line in lines]
    return {r.name.lower(): r for r in parsed}


@pytest.mark.parametrize(
    ("package", "too_old", "why"),
    [
        ("sqlite-utils", "3.38", "the store is written against sqlite-utils 4"),
        ("stamina", "25.1.0", "backoff hooks return the wait as a float from 25.2 on"),
        ("PySide6", "6.12.0", "Signal.emit leaks a reference to True on every call"),
    ],
)
def test_versions_the_code_cannot_run_on_are_excluded(package: str, too_old: str, why: str) -> None:
    requirement = requirements()[package.lower()]
    assert not requirement.specifier.contains(too_old), f"{package} {too_old}: {why}"


def test_the_installed_packages_meet_the_requirements() -> None:
    unmet = []
    for name, requirement in requirements().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            unmet.append(f"{name} is not installed")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            unmet.append(f"{name} {installed} does not satisfy {requirement}")
    assert unmet == []

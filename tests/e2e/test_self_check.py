"""`rupa-desk --version` and `--self-check` from the installed package (the bundle runs the
same code; tests/packaging runs it there), and what `rupa-desk` says when it cannot create
its folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rupa_desk import __version__

ROOT = Path(__file__).resolve().parents[2]


def rupa_desk(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rupa_desk", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def home_env(home: Path) -> dict[str, str]:
    """This environment, with a home of the test's own (no XDG folders of the machine's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    return env


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    done = rupa_desk("--version", env=home_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Rupa Desk {__version__}"


@pytest.mark.timeout(300)
def test_the_self_check_passes_every_step_and_leaves_no_files(tmp_path: Path) -> None:
    env = home_env(tmp_path / "home")
    env["TMPDIR"] = str(tmp_path / "temp")
    (tmp_path / "temp").mkdir()
    done = rupa_desk("--self-check", env=env, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    passed = [
        line.split(":")[0].removeprefix("PASS  ") for line in lines if line.startswith("PASS")
    ]
    assert passed == [
        "the window painted",
        "signed in to the demo",
        "catalog synced",
        "checkout page opened in the embedded web view",
        "results PDF rendered",
    ]
    assert lines[-1].startswith("self-check passed in ")
    assert list((tmp_path / "temp").iterdir()) == []  # its temporary profile is removed
    assert not (tmp_path / "home").exists()  # the user's profile was never touched


def test_folders_that_cannot_be_created_are_told_without_a_traceback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".local").write_text("the user's own file", encoding="utf-8")
    env = home_env(home)
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = rupa_desk(env=env)
    assert done.returncode == 1
    assert f"Rupa Desk cannot create its folder {home / '.local' / 'share'}" in done.stderr
    assert "(Not a directory)" in done.stderr
    assert "Your files are untouched" in done.stderr
    assert "Traceback" not in done.stderr
    assert (home / ".local").read_text(encoding="utf-8") == "the user's own file"
    assert sorted(p.name for p in home.iterdir()) == [".local"]

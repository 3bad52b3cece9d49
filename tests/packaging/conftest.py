"""The self-contained bundle and the .deb, built once per test session.

`python packaging/build.py` runs into a session temporary folder (about a minute or two on a
2-core machine, and ~1 GB of disk). To iterate on the tests against a build you already made,
set RUPA_DESK_DIST to its folder (`dist/`): it is used as it is, not rebuilt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Build:
    """What `packaging/build.py` made.

    Attributes:
        bundle: the bundle folder (`rupa-desk` and `_internal/`).
        deb: the Debian package.
    """

    bundle: Path
    deb: Path

    @property
    def executable(self) -> Path:
        return self.bundle / "rupa-desk"


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    """The bundle and .deb of this checkout (built once per session, removed after it: they
    take most of a gigabyte)."""
    given = os.environ.get("RUPA_DESK_DIST")
    if given:
        dist = Path(given)
        [deb] = dist.glob("rupa-desk_*.deb")
        yield Build(bundle=dist / "rupa-desk", deb=deb)
        return
    work = tmp_path_factory.mktemp("packaging")
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "packaging/build.py", f"--dist={dist}", f"--work={work / 'build'}"],
        cwd=ROOT,
        check=True,
        timeout=1200,
    )
    [deb] = dist.glob("rupa-desk_*.deb")
    yield Build(bundle=dist / "rupa-desk", deb=deb)
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def installed_root(build: Build) -> Iterator[Path]:
    """The .deb unpacked into a folder as dpkg would install it (`root/opt`, `root/usr`).

    The folder is world-readable (not below pytest's private temporary folder), so a test can
    run the installed app as an unprivileged user.
    """
    folder = Path(tempfile.mkdtemp(prefix="rupa-desk-deb-"))
    folder.chmod(0o755)
    root = folder / "root"
    subprocess.run(["dpkg-deb", "-x", str(build.deb), str(root)], check=True)
    yield root
    subprocess.run(["chmod", "-R", "u+w", str(folder)], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def clean_env(**extra: str) -> dict[str, str]:
    """An environment with no Python of ours in it: no virtual environment on the PATH, no
    PYTHON* variables, so the bundle can only use the Python it carries."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "QT_", "QTWEBENGINE"))
    }
    env["PATH"] = "/usr/bin:/bin"
    env.update(extra)
    return env

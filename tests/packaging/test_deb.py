"""The .deb: unpacked as dpkg would install it, it puts the bundle under /opt, a `rupa-desk`
launcher on the PATH, the menu entry and the hicolor icon, names the Qt xcb libraries as
dependencies, and its launcher runs. Installed where its user cannot write (as from a .deb),
the app writes nothing into its own folder and passes its self-check; when it cannot create
its profile folders it says so plainly and leaves the user's files alone."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rupa_desk import __version__
from tests.packaging.conftest import Build, clean_env


def control_fields(deb: Path) -> dict[str, str]:
    done = subprocess.run(
        ["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True
    )
    fields: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if line[:1] not in (" ", ""):
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_the_deb_names_the_package_its_version_and_the_qt_xcb_libraries(build: Build) -> None:
    fields = control_fields(build.deb)
    assert fields["Package"] == "rupa-desk"
    assert fields["Version"] == __version__
    depends = {d.strip() for d in fields["Depends"].split(",")}
    for library in (
        "libxcb-cursor0",
        "libxcb-icccm4",
        "libxcb-keysyms1",
        "libxkbcommon-x11-0",
        "libegl1",
        "libfontconfig1",
        "libnss3",
    ):
        assert library in depends, library


def test_the_deb_installs_the_bundle_launcher_menu_entry_and_icon(installed_root: Path) -> None:
    bundle = installed_root / "opt" / "rupa-desk"
    assert os.access(bundle / "rupa-desk", os.X_OK)
    assert (bundle / "_internal" / "licenses" / "README.txt").is_file()
    launcher = installed_root / "usr" / "bin" / "rupa-desk"
    assert launcher.is_symlink()
    assert launcher.resolve() == (bundle / "rupa-desk").resolve()
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(installed_root / "usr/share/applications/rupa-desk.desktop", encoding="utf-8")
    assert entry["Desktop Entry"]["Exec"] == "rupa-desk"
    assert entry["Desktop Entry"]["Icon"] == "rupa-desk"
    icon = installed_root / "usr/share/icons/hicolor/scalable/apps/rupa-desk.svg"
    assert icon.read_text(encoding="utf-8").lstrip().startswith(("<svg", "<?xml"))
    assert (installed_root / "usr/share/doc/rupa-desk/copyright").is_file()


def test_the_installed_launcher_runs(installed_root: Path) -> None:
    done = subprocess.run(
        [str(installed_root / "usr" / "bin" / "rupa-desk"), "--version"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Rupa Desk {__version__}"


# -- installed where its user cannot write ------------------------------------------------------


def unprivileged(command: list[str]) -> list[str]:
    """`command` as a user who cannot write to the installed files (root could anyway)."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]


@pytest.fixture
def home() -> Iterator[Path]:
    """A home folder the unprivileged user owns (outside pytest's root-only temp folder)."""
    folder = Path(tempfile.mkdtemp(prefix="rupa-desk-home-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody", "nogroup")
    yield folder
    subprocess.run(["chmod", "-R", "u+w", str(folder)], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {
        str(p.relative_to(folder)): (p.lstat().st_mode, p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in folder.rglob("*")
    }


@pytest.mark.timeout(400)
def test_an_install_its_user_cannot_write_to_runs_and_stays_unchanged(
    installed_root: Path, home: Path
) -> None:
    bundle = installed_root / "opt" / "rupa-desk"
    subprocess.run(["chmod", "-R", "a-w", str(bundle)], check=True)
    before = snapshot(bundle)
    env = clean_env(HOME=str(home), TMPDIR=str(home))  # Chromium keeps its sandbox
    launcher = str(installed_root / "usr" / "bin" / "rupa-desk")
    done = subprocess.run(
        unprivileged([launcher, "--self-check"]),
        env=env,
        capture_output=True,
        text=True,
        timeout=360,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.splitlines()[-1].startswith("self-check passed")
    assert snapshot(bundle) == before  # nothing written into the install


def test_profile_folders_that_cannot_be_created_are_told_plainly_and_nothing_is_lost(
    installed_root: Path, home: Path
) -> None:
    config = home / ".config"
    config.mkdir()
    kept = config / "notes.txt"
    kept.write_text("the user's own file", encoding="utf-8")
    if os.geteuid() == 0:
        shutil.chown(config, "nobody", "nogroup")
    subprocess.run(["chmod", "-R", "a-w", str(home)], check=True)
    done = subprocess.run(
        unprivileged([str(installed_root / "usr" / "bin" / "rupa-desk")]),
        env=clean_env(HOME=str(home), QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Rupa Desk cannot create its folder" in done.stderr
    assert "Permission denied" in done.stderr
    assert "Traceback" not in done.stderr
    assert kept.read_text(encoding="utf-8") == "the user's own file"
    assert sorted(p.name for p in home.rglob("*")) == [".config", "notes.txt"]

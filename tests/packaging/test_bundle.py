"""The self-contained bundle: it runs with no Python of the machine's, prints its version,
passes its own self-check (demo mode offscreen: paint, sign-in, catalog sync, checkout in the
embedded web view, a result PDF), and carries its licences, icon and QtWebEngine's process."""

from __future__ import annotations

import subprocess

import pytest

from rupa_desk import __version__
from tests.packaging.conftest import Build, clean_env

SELF_CHECK_STEPS = (
    "the window painted",
    "signed in to the demo",
    "catalog synced",
    "checkout page opened in the embedded web view",
    "results PDF rendered",
)


def test_the_bundle_prints_its_version_without_any_python_on_the_path(build: Build) -> None:
    done = subprocess.run(
        [str(build.executable), "--version"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Rupa Desk {__version__}"


def test_the_bundle_carries_its_own_python(build: Build) -> None:
    internal = build.bundle / "_internal"
    assert list(internal.glob("libpython3.*.so*")), "no libpython in the bundle"
    assert (internal / "base_library.zip").is_file()  # the standard library


@pytest.mark.timeout(400)
def test_the_bundle_passes_its_self_check(build: Build) -> None:
    done = subprocess.run(
        [str(build.executable), "--self-check"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=360,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    for step in SELF_CHECK_STEPS:
        assert any(line.startswith(f"PASS  {step}: ") for line in lines), (step, done.stdout)
    assert not any(line.startswith("FAIL") for line in lines)
    assert lines[-1].startswith("self-check passed in ")


def test_the_bundle_carries_licences_icon_resources_and_the_web_engine(build: Build) -> None:
    internal = build.bundle / "_internal"
    licences = internal / "licenses"
    summary = (licences / "README.txt").read_text(encoding="utf-8")
    for name in ("PySide6", "httpx", "Authlib", "starlette", "fpdf2", "certifi", "Python", "Qt"):
        assert f"\n{name} " in summary, name
    assert "LGPL-3.0" in (licences / "Qt-NOTICE.txt").read_text(encoding="utf-8")
    assert (
        (licences / "LGPL-3.0.txt")
        .read_text(encoding="utf-8")
        .startswith("                   GNU LESSER GENERAL PUBLIC LICENSE")
    )
    assert (licences / "Python-LICENSE.txt").is_file()
    assert list(licences.glob("httpx-*/LICENSE*"))
    # system libraries PyInstaller copied from the build machine: their Debian copyright files
    system = (licences / "system" / "README.txt").read_text(encoding="utf-8")
    assert "libnss3.so: libnss3" in system
    assert (licences / "system" / "libnss3" / "copyright").is_file()
    assert (internal / "rupa_desk" / "resources" / "rupa-desk.svg").is_file()
    assert (internal / "rupa_desk" / "resources" / "rupa-desk.desktop").is_file()
    assert (internal / "rupa_desk" / "sandbox" / "rupa.css").is_file()
    assert (internal / "certifi" / "cacert.pem").is_file()
    qt = internal / "PySide6" / "Qt"
    assert (qt / "libexec" / "QtWebEngineProcess").is_file()
    assert (qt / "resources" / "qtwebengine_resources.pak").is_file()
    assert (qt / "translations" / "qtwebengine_locales" / "en-US.pak").is_file()
    assert (qt / "lib" / "libQt6Pdf.so.6").is_file()

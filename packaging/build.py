"""Build the self-contained Rupa Desk bundle, and this platform's installer, in one command.

    python packaging/build.py [--dist DIR] [--work DIR] [--no-installer]

Run it with the Python of a virtual environment that has Rupa Desk installed with its
`[packaging]` extra (`pip install -e ".[packaging]"`). It

1. gathers the licences of everything bundled (`bundle_licenses.py`) and, on Windows and
   macOS, renders the app's SVG icon into the .ico/.icns the platform wants (with Qt);
2. runs PyInstaller on `rupa-desk.spec` → `DIST/rupa-desk/` (the bundle: `rupa-desk` and its
   `_internal/` folder; on macOS also `DIST/Rupa Desk.app`);
3. builds the installer: Linux `DIST/rupa-desk_<version>_<arch>.deb` (dpkg-deb), Windows
   `DIST/RupaDesk-<version>-setup.exe` (Inno Setup's `iscc`, see windows/rupa-desk.iss),
   macOS `DIST/RupaDesk-<version>.dmg` (hdiutil).

It prints what it built and how long each step took. The default folders (`dist/`, `build/`)
are ignored by git.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bundle_licenses import gather_licenses  # noqa: E402
from deb import build_deb  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="scratch folder")
    parser.add_argument(
        "--no-installer", action="store_true", help="build the bundle only, no .deb/.exe/.dmg"
    )
    args = parser.parse_args(argv)
    dist: Path = args.dist.resolve()
    work: Path = args.work.resolve()
    version = _version()

    started = time.monotonic()
    assets = work / "assets"
    gather_licenses(assets / "licenses")
    if sys.platform in ("win32", "darwin"):
        _render_icons(assets)
    _step("licences and icons", started)

    began = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level=WARN",
            f"--distpath={dist}",
            f"--workpath={work / 'pyinstaller'}",
            str(HERE / "rupa-desk.spec"),
        ],
        cwd=ROOT,
        env={**os.environ, "RUPA_DESK_BUILD_ASSETS": str(assets)},
        check=True,
    )
    bundle = dist / "rupa-desk"
    _step(f"bundle {bundle}", began)

    if not args.no_installer:
        began = time.monotonic()
        if sys.platform.startswith("linux"):
            built = build_deb(bundle, dist, version=version, work=work / "deb")
        elif sys.platform == "win32":
            built = _inno_setup(bundle, dist, version, assets)
        elif sys.platform == "darwin":
            built = _dmg(dist / "Rupa Desk.app", dist, version)
        else:
            raise SystemExit(f"No installer is set up for {sys.platform}.")
        _step(f"installer {built}", began)
    _step("everything", started)
    return 0


def _version() -> str:
    from rupa_desk import __version__

    return __version__


def _step(what: str, began: float) -> None:
    print(f"built {what} in {time.monotonic() - began:.0f} s", flush=True)


def _render_icons(assets: Path) -> None:
    """The SVG icon as .ico (Windows) or .icns (macOS), through Qt's image writers."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
    from PySide6.QtSvg import QSvgRenderer

    from rupa_desk.paths import APP_ICON, resource_file

    app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(resource_file(APP_ICON)))
    image = QImage(256, 256, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    name, kind = (
        ("rupa-desk.ico", b"ico") if sys.platform == "win32" else ("rupa-desk.icns", b"icns")
    )
    writer = QImageWriter(str(assets / name), kind)
    if not writer.write(image):
        raise SystemExit(f"The icon {name} could not be written: {writer.errorString()}")
    del app


def _inno_setup(bundle: Path, dist: Path, version: str, assets: Path) -> Path:
    iscc = shutil.which("iscc") or r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe"
    subprocess.run(
        [
            iscc,
            f"/DAppVersion={version}",
            f"/DBundleDir={bundle}",
            f"/DIconFile={assets / 'rupa-desk.ico'}",
            f"/O{dist}",
            str(HERE / "windows" / "rupa-desk.iss"),
        ],
        check=True,
    )
    return dist / f"RupaDesk-{version}-setup.exe"


def _dmg(app: Path, dist: Path, version: str) -> Path:
    target = dist / f"RupaDesk-{version}.dmg"
    target.unlink(missing_ok=True)
    staging = dist / "dmg"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    shutil.copytree(app, staging / app.name, symlinks=True)
    (staging / "Applications").symlink_to("/Applications")
    subprocess.run(
        [
            "hdiutil",
            "create",
            "-volname",
            "Rupa Desk",
            "-srcfolder",
            str(staging),
            "-ov",
            "-format",
            "UDZO",
            str(target),
        ],
        check=True,
    )
    shutil.rmtree(staging)
    return target


if __name__ == "__main__":
    print(f"Building Rupa Desk on {platform.platform()}", flush=True)
    sys.exit(main())

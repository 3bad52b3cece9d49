"""The Debian/Ubuntu package of the bundle, built with dpkg-deb (no Debian tooling beyond it).

    /opt/rupa-desk/                                   the bundle (rupa-desk, _internal/)
    /usr/bin/rupa-desk                                the launcher: a relative symlink to
                                                      ../../opt/rupa-desk/rupa-desk
    /usr/share/applications/rupa-desk.desktop         the menu entry
    /usr/share/icons/hicolor/scalable/apps/rupa-desk.svg   the icon
    /usr/share/doc/rupa-desk/copyright                where the bundled licences are

The bundle carries Python, Qt and their libraries, built against this machine's glibc, so
the package needs that glibc or newer (`libc6 (>= …)`); every dpkg that new reads the zstd
compression used here, which packs the bundle many times faster than xz. `Depends` names the
system libraries Qt's xcb platform plugin and QtWebEngine load that PyInstaller leaves to the
system (X11/xcb, GL, fonts, D-Bus, NSS, ALSA). The desktop and icon caches are refreshed by
the dpkg triggers of desktop-file-utils and the icon theme, so the package needs no
maintainer scripts.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESOURCES = HERE.parent / "rupa_desk" / "resources"
PACKAGE = "rupa-desk"
INSTALL_DIR = Path("opt") / PACKAGE

#: The system libraries the bundle's Qt loads (xcb platform plugin, QtWebEngine).
DEPENDS = (
    "libx11-6",
    "libx11-xcb1",
    "libxcb1",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xfixes0",
    "libxcb-xinerama0",
    "libxcb-xkb1",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libxcomposite1",
    "libxdamage1",
    "libxrandr2",
    "libxtst6",
    "libxkbfile1",
    "libgl1",
    "libegl1",
    "libgbm1",
    "libfontconfig1",
    "libdbus-1-3",
    "libnss3",
    "libasound2 | libasound2t64",
)

CONTROL = """\
Package: {package}
Version: {version}
Section: misc
Priority: optional
Architecture: {architecture}
Maintainer: Rupa Desk maintainers <rupa-desk@localhost>
Installed-Size: {installed_kib}
Depends: {depends}
Homepage: https://www.rupahealth.com
Description: Order specialty lab tests through Rupa Health from the front desk
 Rupa Desk keeps the lab catalog offline, manages patients and draft orders, opens
 Rupa's checkout in an embedded web view and tracks orders down to the result PDFs.
 This package brings its own Python and Qt (in /opt/rupa-desk).
"""

COPYRIGHT = """\
Rupa Desk {version}. The licences of everything bundled with it (Python, Qt/PySide6 under
the LGPL-3.0, and each Python library) are in /opt/rupa-desk/_internal/licenses/
(README.txt lists them).
"""


def glibc_version() -> str:
    """The C library the bundle was built against: its binaries need this one or newer."""
    name, version = platform.libc_ver()
    if name != "glibc" or not version:
        raise RuntimeError("The .deb is built on a glibc system only.")
    return version


def architecture() -> str:
    """This machine's Debian architecture name (amd64, arm64, …)."""
    done = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def build_deb(bundle: Path, dist: Path, *, version: str, work: Path) -> Path:
    """Build `dist/rupa-desk_<version>_<arch>.deb` from the PyInstaller bundle folder.

    Args:
        bundle: the bundle (`dist/rupa-desk`: the executable and `_internal/`).
        dist: where the .deb goes.
        version: the package version.
        work: a scratch folder for the package tree (emptied first).
    """
    if not (bundle / PACKAGE).is_file():
        raise FileNotFoundError(f"No bundle at {bundle}: build it first.")
    shutil.rmtree(work, ignore_errors=True)
    root = work / "root"
    shutil.copytree(bundle, root / INSTALL_DIR, symlinks=True)
    launcher = root / "usr" / "bin" / PACKAGE
    launcher.parent.mkdir(parents=True)
    launcher.symlink_to(Path("..", "..", INSTALL_DIR, PACKAGE))
    for source, target in (
        ("rupa-desk.desktop", "usr/share/applications/rupa-desk.desktop"),
        ("rupa-desk.svg", "usr/share/icons/hicolor/scalable/apps/rupa-desk.svg"),
    ):
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RESOURCES / source, root / target)
    doc = root / "usr" / "share" / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT.format(version=version), encoding="utf-8")
    installed = sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir())
    control = root / "DEBIAN"
    control.mkdir()
    (control / "control").write_text(
        CONTROL.format(
            package=PACKAGE,
            version=version,
            architecture=architecture(),
            installed_kib=installed // 1024 + 1,
            depends=", ".join([f"libc6 (>= {glibc_version()})", *DEPENDS]),
        ),
        encoding="utf-8",
    )
    for path in root.rglob("*"):  # dpkg-deb wants 0755 folders and no group/world writes
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or path.stat().st_mode & 0o111 else 0o644)
    dist.mkdir(parents=True, exist_ok=True)
    target = dist / f"{PACKAGE}_{version}_{architecture()}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", str(root), str(target)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(work)
    return target

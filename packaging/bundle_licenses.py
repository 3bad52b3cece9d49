"""The licences of what the bundle ships, gathered into one folder at build time.

The spec (`rupa-desk.spec`) calls `gather_licenses` and adds the folder to the bundle as
`licenses/`: one sub-folder per bundled Python distribution (Rupa Desk's run-time dependencies,
followed through their own requirements) with the licence files its wheel carries, Python's
own licence, and Qt's notice with the LGPL/GPL texts (the PySide6 wheels carry none).
`licenses/README.txt` lists every distribution with its version and declared licence.

On Linux PyInstaller also copies system libraries from the build machine (X11, NSS, GnuTLS,
…); `gather_system_licenses`, called by the spec with the analysis' binaries, adds the
Debian copyright file of each package they come from as `licenses/system/<package>/`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent
ROOT_DISTRIBUTION = "rupa-desk"
LICENSE_NAME = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)

QT_NOTICE = """\
Qt (through PySide6 and shiboken6 {version})

Rupa Desk uses the Qt libraries (Qt Core, Gui, Widgets, Network, WebEngine, Pdf and what they
need) under the GNU Lesser General Public License version 3 (LGPL-3.0.txt, which builds on
GPL-3.0.txt, both in this folder). Qt is Copyright (C) The Qt Company Ltd. and other
contributors. The Qt libraries are shipped unmodified, as the separate shared libraries of the
PySide6 wheels (in the bundle's `_internal/PySide6/Qt` folder): you may replace them with your
own build of the same Qt version. Qt's source code is at https://download.qt.io/official_releases/qt/
and PySide6's at https://code.qt.io/cgit/pyside/pyside-setup.git/ (tag v{version}).
QtWebEngine contains Chromium, whose third-party licences are listed in
`_internal/PySide6/Qt/resources` (qtwebengine_*.pak) and at https://www.chromium.org/.
"""


def bundled_distributions(root: str = ROOT_DISTRIBUTION) -> list[metadata.Distribution]:
    """The installed distributions the app needs at run time: `root` and its requirements,
    followed recursively (extras left out, environment markers evaluated here)."""
    seen: dict[str, metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = _normalize(pending.pop())
        if name in seen:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement not installed here (another platform's)
        seen[name] = distribution
        for text in distribution.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return sorted(seen.values(), key=lambda d: _normalize(d.metadata["Name"]))


def gather_licenses(destination: Path) -> Path:
    """Write the licence folder into `destination` (emptied first) and return it."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    lines = ["Licences of the software bundled with Rupa Desk", ""]
    for distribution in bundled_distributions():
        name = distribution.metadata["Name"]
        version = distribution.version
        declared = _declared_license(distribution)
        folder = destination / f"{_normalize(name)}-{version}"
        copied = _copy_license_files(distribution, folder)
        where = f"{folder.name}/" if copied else "(the wheel carries no licence file)"
        lines.append(f"{name} {version}: {declared}  {where}")
    python = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if python.is_file():
        shutil.copy(python, destination / "Python-LICENSE.txt")
    lines.append(f"Python {sys.version.split()[0]}: PSF-2.0  Python-LICENSE.txt")
    qt_version = metadata.version("PySide6")
    (destination / "Qt-NOTICE.txt").write_text(QT_NOTICE.format(version=qt_version), "utf-8")
    for text in ("LGPL-3.0.txt", "GPL-3.0.txt"):
        shutil.copy(HERE / "licenses" / text, destination / text)
    lines.append(f"Qt {qt_version}: LGPL-3.0-only  Qt-NOTICE.txt, LGPL-3.0.txt, GPL-3.0.txt")
    (destination / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return destination


def _copy_license_files(distribution: metadata.Distribution, folder: Path) -> int:
    copied = 0
    for file in distribution.files or ():
        if not LICENSE_NAME.search(file.name) or file.suffix in (".py", ".pyc", ".pyi"):
            continue
        source = Path(str(file.locate()))
        if source.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, folder / file.name)
            copied += 1
    return copied


def _declared_license(distribution: metadata.Distribution) -> str:
    meta = distribution.metadata
    expression = meta.get("License-Expression")
    if expression:
        return str(expression)
    classifiers = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::")
    ]
    if classifiers:
        return ", ".join(classifiers)
    text = (meta.get("License") or "").strip().splitlines()
    return text[0] if text else "see its licence file"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def gather_system_licenses(binaries: list[tuple[str, str, str]], destination: Path) -> Path:
    """Write the Debian copyright files of the system libraries among `binaries`.

    Args:
        binaries: PyInstaller's (name in the bundle, source path, kind) entries.
        destination: the folder to fill (emptied first); `licenses/system` in the bundle.

    Only libraries that dpkg knows (the build machine's packages) count: those of the Python
    distributions (PySide6's Qt, Pillow's) are covered by `gather_licenses`. Without dpkg
    (not Debian/Ubuntu, Windows, macOS) the folder stays empty but for its README.
    """
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    ours = {str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix)}
    paths = sorted(
        {
            str(Path(source).resolve())
            for _, source, _ in binaries
            if not any(str(Path(source).resolve()).startswith(prefix) for prefix in ours)
        }
    )
    owners = _debian_packages(paths) if shutil.which("dpkg") else {}
    lines = ["System libraries in the bundle and the Debian package each was copied from", ""]
    for package in sorted(set(owners.values())):
        copyright_file = Path("/usr/share/doc") / package.split(":")[0] / "copyright"
        if copyright_file.is_file():
            folder = destination / package.split(":")[0]
            folder.mkdir(exist_ok=True)
            shutil.copy(copyright_file, folder / "copyright")
    for path, package in sorted(owners.items()):
        lines.append(f"{Path(path).name}: {package.split(':')[0]}")
    (destination / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return destination


def _debian_packages(paths: list[str]) -> dict[str, str]:
    """The package owning each path (merged-/usr systems list some under /lib, some under
    /usr/lib: both are asked)."""
    asked: dict[str, str] = {}
    for path in paths:
        asked[path] = path
        if path.startswith("/usr/lib/"):
            asked[path.removeprefix("/usr")] = path
        elif path.startswith("/lib/"):
            asked["/usr" + path] = path
    if not asked:
        return {}
    done = subprocess.run(
        ["dpkg", "-S", *asked], capture_output=True, text=True, check=False
    )  # exit code 1 when some path is nobody's: expected for the other spelling
    owners: dict[str, str] = {}
    for line in done.stdout.splitlines():
        package, _, path = line.rpartition(": ")
        if path in asked and "," not in package:
            owners[asked[path]] = package
    return owners

"""System libraries the desktop app needs before Qt starts, named in words a person can act on.

On Linux under X11, Qt's xcb platform plugin needs a handful of X libraries that a minimal
desktop install may lack. Without them Qt prints "could not load the Qt platform plugin xcb"
and aborts the process: nothing in the app could say more afterwards. So the app checks them
first (a `dlopen` of each, a few milliseconds) and, when one is missing, says which package
to install and stops cleanly. Qt-free: `rupa_desk.app` calls it before the QApplication.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping
from typing import Final

#: The shared libraries of Qt's xcb platform plugin, with the Debian/Ubuntu package of each.
XCB_LIBRARIES: Final[tuple[tuple[str, str], ...]] = (
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-image.so.0", "libxcb-image0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-xkb.so.1", "libxcb-xkb1"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
)


def uses_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """True when Qt would start its xcb (X11) platform plugin in this environment."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    if environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland":
        return False
    return bool(environ.get("DISPLAY"))


def _loads(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def missing_xcb_packages(
    environ: Mapping[str, str],
    *,
    platform: str = sys.platform,
    loads: Callable[[str], bool] = _loads,
) -> list[str]:
    """The packages to install before Qt's xcb plugin can start (empty: none, or not xcb)."""
    if not uses_xcb(environ, platform):
        return []
    return [package for library, package in XCB_LIBRARIES if not loads(library)]


def missing_packages_message(packages: list[str]) -> str:
    """What to tell the person (or their IT) when `packages` are missing."""
    return (
        "Rupa Desk cannot open its window: this computer lacks system libraries that Qt "
        f"needs for X11 ({', '.join(packages)}). Ask your IT to install them, for example "
        f"with: sudo apt install {' '.join(packages)}"
    )

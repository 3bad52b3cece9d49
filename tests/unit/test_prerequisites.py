"""Which X11 libraries Qt's xcb plugin lacks, and the package of each."""

from __future__ import annotations

from rupa_desk.prerequisites import (
    XCB_LIBRARIES,
    missing_packages_message,
    missing_xcb_packages,
    uses_xcb,
)


def test_xcb_is_used_on_an_x11_linux_desktop_only() -> None:
    assert uses_xcb({"DISPLAY": ":0"}, "linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, "linux")
    assert not uses_xcb({}, "linux")
    assert not uses_xcb({"DISPLAY": ":0"}, "win32")
    assert not uses_xcb({"DISPLAY": ":0"}, "darwin")


def test_the_missing_libraries_are_named_by_their_packages() -> None:
    absent = {"libxcb-cursor.so.0", "libxcb-keysyms.so.1"}
    missing = missing_xcb_packages(
        {"DISPLAY": ":0"}, platform="linux", loads=lambda library: library not in absent
    )
    assert missing == ["libxcb-cursor0", "libxcb-keysyms1"]
    assert missing_xcb_packages({"DISPLAY": ":0"}, platform="linux", loads=lambda _: True) == []
    asked: list[str] = []
    assert missing_xcb_packages({}, platform="linux", loads=asked.append) == []  # type: ignore[arg-type, func-returns-value]
    assert asked == []  # nothing is loaded when Qt would not use xcb
    message = missing_packages_message(missing)
    assert "sudo apt install libxcb-cursor0 libxcb-keysyms1" in message
    assert len(XCB_LIBRARIES) == 7

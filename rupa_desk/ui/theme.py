"""How Rupa Desk looks: Qt's Fusion style, a light or dark palette (the OS's, or the one the user
chose in Settings), a small stylesheet, pane icons (qtawesome) and the colours of status chips.

Qt's own styling is used on purpose (Fusion renders the same on Windows, macOS and Linux, at
any scaling, in light and dark), with a stylesheet of a few rules for spacing, the primary
button and a focus ring that keyboard users can see. Icons come from qtawesome's Material
Design font: crisp at every scale, and recoloured with the palette. qtawesome loads its fonts
when the first icon is asked for, so icons are set after the window is usable
(`MainWindow.show_workspace`), never before the first paint.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

ACCENT: Final = "#2f6fb3"
#: The appearances (`UserSettings.appearance`): as the OS is set, or always light or dark.
SYSTEM: Final = "system"
LIGHT: Final = "light"
DARK: Final = "dark"
#: Where the application keeps the chosen appearance (for the OS's scheme changes).
APPEARANCE_PROPERTY: Final = "rupaDeskAppearance"

#: A few rules over Fusion: roomier controls, the primary action, a keyboard focus ring on
#: every control (a dark ring on the primary button, whose own colour is the highlight).
STYLESHEET: Final = """
QPushButton { padding: 4px 12px; }
QPushButton[primary="true"] {
    background: palette(highlight); color: palette(highlighted-text);
    border: 1px solid palette(highlight); border-radius: 3px; font-weight: 600;
}
QPushButton[primary="true"]:disabled { background: palette(button); color: palette(mid); }
QPushButton:focus, QToolButton:focus, QComboBox:focus, QCheckBox:focus {
    outline: none; border: 2px solid palette(highlight); border-radius: 3px;
}
QPushButton[primary="true"]:focus { border: 2px solid palette(window-text); }
QLineEdit:focus, QAbstractSpinBox:focus {
    border: 2px solid palette(highlight); border-radius: 3px;
}
QPlainTextEdit, QTextEdit, QAbstractItemView { border: 1px solid palette(mid); padding: 1px; }
QPlainTextEdit:focus, QTextEdit:focus, QAbstractItemView:focus {
    border: 2px solid palette(highlight); padding: 0px;
}
QListWidget#sidebar {
    font-size: 11pt; border: none; padding: 2px; background: palette(window);
}
QListWidget#sidebar:focus { border: 2px solid palette(highlight); padding: 0px; }
QListWidget#sidebar::item { padding: 6px 8px; border-radius: 4px; }
QListWidget#sidebar::item:selected {
    background: palette(highlight); color: palette(highlighted-text);
}
"""


class Tone(enum.Enum):
    """What a status says about what needs doing, as a chip colour."""

    NEUTRAL = "neutral"
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    DANGER = "danger"


#: (background, text) of each tone, light then dark.
_TONES: Final[dict[Tone, tuple[tuple[str, str], tuple[str, str]]]] = {
    Tone.NEUTRAL: (("#e9ecef", "#343a40"), ("#3a3f44", "#e9ecef")),
    Tone.INFO: (("#dbe9f8", "#0b3c6f"), ("#1d3b5c", "#d6e6f7")),
    Tone.SUCCESS: (("#d9f2e0", "#0f5132"), ("#1d4a30", "#d4f0dc")),
    Tone.WARNING: (("#fff1c2", "#5c4400"), ("#564312", "#fff0c2")),
    Tone.DANGER: (("#fbdada", "#7a1010"), ("#5c2020", "#fbdada")),
}

#: Order statuses (RUPA_API.md's lifecycle; any other status reads as neutral).
_ORDER_STATUS_TONES: Final[dict[str, Tone]] = {
    "pending payment": Tone.WARNING,
    "paid": Tone.INFO,
    "in progress": Tone.INFO,
    "sample received": Tone.INFO,
    "partial results": Tone.SUCCESS,
    "complete": Tone.SUCCESS,
    "canceled": Tone.NEUTRAL,
}


def order_status_tone(status: str) -> Tone:
    """The chip tone of an order status (an open set of strings: unknown ones are neutral)."""
    return _ORDER_STATUS_TONES.get(status.strip().casefold(), Tone.NEUTRAL)


def chip_colors(value: object) -> tuple[QColor, QColor] | None:
    """A `ChipDelegate`'s colours: a `Tone` in the palette's light or dark set."""
    return tone_colors(value, dark=is_dark()) if isinstance(value, Tone) else None


def is_dark(palette: QPalette | None = None) -> bool:
    """True when the palette (the application's by default) is a dark one."""
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def tone_colors(tone: Tone, *, dark: bool) -> tuple[QColor, QColor]:
    """The chip's background and text colours for `tone`."""
    background, text = _TONES[tone][1 if dark else 0]
    return QColor(background), QColor(text)


def dark_palette() -> QPalette:
    """A dark palette for Fusion (Qt has no dark Fusion palette of its own before 6.5)."""
    palette = QPalette()
    role = QPalette.ColorRole
    for r, color in (
        (role.Window, "#26282b"),
        (role.WindowText, "#e8e8e8"),
        (role.Base, "#1e1f22"),
        (role.AlternateBase, "#2a2c30"),
        (role.ToolTipBase, "#2f3236"),
        (role.ToolTipText, "#e8e8e8"),
        (role.Text, "#e8e8e8"),
        (role.Button, "#303236"),
        (role.ButtonText, "#e8e8e8"),
        (role.BrightText, "#ff6b6b"),
        (role.Link, "#7fb2ea"),
        (role.Highlight, "#3d7ac2"),
        (role.HighlightedText, "#ffffff"),
        (role.PlaceholderText, "#9a9da3"),
        (role.Mid, "#5a5d63"),
    ):
        palette.setColor(r, QColor(color))
    for r in (role.Text, role.ButtonText, role.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, r, QColor("#7c7f85"))
    return palette


def light_palette(base: QPalette) -> QPalette:
    """Fusion's light palette with the app's accent as the highlight."""
    palette = QPalette(base)
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    return palette


def apply_theme(app: QApplication, appearance: str = SYSTEM) -> None:
    """Fusion, a light or dark palette, the stylesheet.

    Args:
        app: the application.
        appearance: "light", "dark", or "system": the OS's scheme, followed when it changes
            (anything else reads as "system").
    """
    app.setStyle("Fusion")
    app.setProperty(APPEARANCE_PROPERTY, appearance)
    _set_palette(app)
    app.styleHints().colorSchemeChanged.connect(lambda scheme: _set_palette(app, scheme))
    app.setStyleSheet(STYLESHEET)


def set_appearance(app: QApplication, appearance: str) -> None:
    """Switch to light, dark or the OS's scheme ("system") now. Before `apply_theme` (a
    window in a test) nothing changes: the app has Qt's default look."""
    if app.property(APPEARANCE_PROPERTY) is None:
        return
    app.setProperty(APPEARANCE_PROPERTY, appearance)
    _set_palette(app)


def _set_palette(app: QApplication, scheme: Qt.ColorScheme | None = None) -> None:
    """The palette the chosen appearance asks for (the OS's scheme for "system")."""
    appearance = app.property(APPEARANCE_PROPERTY)
    if appearance in (LIGHT, DARK):
        dark = appearance == DARK
    else:
        scheme = scheme if scheme is not None else app.styleHints().colorScheme()
        dark = scheme == Qt.ColorScheme.Dark
    light = app.style().standardPalette()  # Fusion's own light palette
    palette = dark_palette() if dark else light_palette(light)
    if palette != app.palette():
        app.setPalette(palette)
        if app.styleSheet():  # widgets the stylesheet styled keep their colours until then
            app.setStyleSheet(app.styleSheet())


def icon(name: str) -> QIcon:
    """An icon of qtawesome's fonts (e.g. "mdi6.flask-outline"), in the palette's text colour
    (the highlighted text colour when selected)."""
    import qtawesome  # loads its fonts: after the window is usable, never before the paint

    palette = QGuiApplication.palette()
    icon: QIcon = qtawesome.icon(
        name,
        color=palette.color(QPalette.ColorRole.WindowText),
        color_active=palette.color(QPalette.ColorRole.HighlightedText),
        color_selected=palette.color(QPalette.ColorRole.HighlightedText),
    )
    return icon

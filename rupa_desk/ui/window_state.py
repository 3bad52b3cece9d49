"""What the main window remembers between runs: geometry, the last pane, and the appearance
last used (a copy of the setting, read before the first paint, when the settings are not read
yet: a dark desk does not start light).

Kept with `QSettings` in an INI file in the config folder (`AppPaths.config_dir`), never in the
platform registry, so that tests that use a temporary folder stay inside it. The file and the
folder are the user's only (the last pane shows what the practitioner worked on).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from rupa_desk.paths import make_private_dir, restrict_to_user

WINDOW_STATE_FILE = "window.ini"


class WindowState:
    """The main window's remembered geometry, layout and last pane.

    Args:
        config_dir: the app's config folder; the state lives in `window.ini` there.
    """

    def __init__(self, config_dir: Path) -> None:
        make_private_dir(config_dir)
        path = config_dir / WINDOW_STATE_FILE
        # Created user-only before QSettings writes it: its save keeps the file's permissions.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        restrict_to_user(path)
        self._settings = QSettings(str(path), QSettings.Format.IniFormat)

    @property
    def path(self) -> Path:
        """The INI file."""
        return Path(self._settings.fileName())

    def geometry(self) -> QByteArray | None:
        """The saved window geometry, or None on the first run."""
        value = self._settings.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        """The saved dock and toolbar layout, or None on the first run."""
        value = self._settings.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def last_pane(self, default: str) -> str:
        """The pane that was shown when the window was last closed."""
        value = self._settings.value("window/last_pane", default)
        return value if isinstance(value, str) and value else default

    def appearance(self, default: str) -> str:
        """The appearance last used ("system", "light" or "dark"; `default` on the first run)."""
        value = self._settings.value("window/appearance", default)
        return value if isinstance(value, str) and value else default

    def remember_appearance(self, appearance: str) -> None:
        """Remember the appearance in use, for the next start's first paint."""
        if self._settings.value("window/appearance") != appearance:
            self._settings.setValue("window/appearance", appearance)
            self._settings.sync()
            restrict_to_user(self.path)

    def save(self, *, geometry: QByteArray, window_state: QByteArray, last_pane: str) -> None:
        """Remember the window as it is now (written to disk at once)."""
        self._settings.setValue("window/geometry", geometry)
        self._settings.setValue("window/state", window_state)
        self._settings.setValue("window/last_pane", last_pane)
        self._settings.sync()
        restrict_to_user(self.path)

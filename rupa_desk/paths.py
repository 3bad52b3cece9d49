"""Where Rupa Desk keeps its files: the only module that knows (platformdirs).

Every other module asks an `AppPaths` for a folder. Tests build one over a temporary folder
with `AppPaths.under(tmp_path)`, so no test touches the real user profile. The files that ship
with the app (its icon, the Linux desktop entry) are found with `resource_file`.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "RupaDesk"
APP_AUTHOR = "RupaDesk"

#: The files that ship inside the package (installed with it as package data).
RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
#: The app's icon (the main window's, and the desktop entry's `Icon=rupa-desk`).
APP_ICON = "rupa-desk.svg"


#: The name of the machine-wide settings file in `managed_settings_dir()`.
MANAGED_SETTINGS_NAME = "managed.json"


def managed_settings_dir() -> Path:
    """The machine-wide folder where the clinic's IT puts `managed.json`.

    platformdirs' site config folder without an author level: `/etc/xdg/RupaDesk` on Linux
    (the first folder of `XDG_CONFIG_DIRS` when that is set), `%PROGRAMDATA%\\RupaDesk` on
    Windows, `/Library/Application Support/RupaDesk` on macOS.
    """
    return Path(platformdirs.site_config_dir(APP_NAME, appauthor=False, multipath=False))


def resource_file(name: str) -> Path:
    """A file shipped with the app, from `rupa_desk/resources/`.

    Raises:
        FileNotFoundError: there is no such resource (a packaging mistake).
    """
    path = RESOURCES_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"Rupa Desk's resource {name} is missing from {RESOURCES_DIR}")
    return path


@dataclass(frozen=True)
class AppPaths:
    """The folders of one Rupa Desk installation.

    Attributes:
        data_dir: databases, downloaded result PDFs, the web profile.
        config_dir: user settings (never secrets: those live in the OS keyring).
        log_dir: the rotating log file (no tokens, no patient data).
        cache_dir: disposable files.
        managed_settings_file: the machine-wide settings the clinic's IT may preset and lock
            (`rupa_desk.settings.ManagedSettings`); read only, never created by the app.
    """

    data_dir: Path
    config_dir: Path
    log_dir: Path
    cache_dir: Path
    managed_settings_file: Path

    @classmethod
    def for_user(cls) -> AppPaths:
        """The real per-user folders of this operating system."""
        dirs = platformdirs.PlatformDirs(APP_NAME, APP_AUTHOR)
        return cls(
            data_dir=Path(dirs.user_data_dir),
            config_dir=Path(dirs.user_config_dir),
            log_dir=Path(dirs.user_log_dir),
            cache_dir=Path(dirs.user_cache_dir),
            managed_settings_file=managed_settings_dir() / MANAGED_SETTINGS_NAME,
        )

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        """All folders below one root: for tests and portable installs."""
        return cls(
            data_dir=root / "data",
            config_dir=root / "config",
            log_dir=root / "log",
            cache_dir=root / "cache",
            managed_settings_file=root / "managed" / MANAGED_SETTINGS_NAME,
        )

    def ensure(self) -> AppPaths:
        """Create the folders, user-only where the OS supports it.

        Folders made by an earlier version with wider permissions are tightened, and so is
        the app's own folder above one (Linux keeps the log in `~/.local/state/RupaDesk/log`).
        """
        for folder in (self.data_dir, self.config_dir, self.log_dir, self.cache_dir):
            make_private_dir(folder)
            for parent in folder.parents:
                if parent.name == APP_NAME:
                    _restrict_dir(parent)
        return self

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "rupa-desk.log"

    def session_lock_file(self, name: str) -> Path:
        """The lock file that Rupa Desk processes (the app, the command line) take in turn
        to refresh the session called `name` (reduced to safe file-name characters)."""
        return self.data_dir / "locks" / f"{_safe(name)}.lock"

    def account_dir(self, environment: str, account: str) -> Path:
        """The folder of one signed-in account in one environment.

        The account (a practitioner id) is reduced to safe file-name characters.
        """
        return self.data_dir / _safe(environment) / _safe(account)

    def database_file(self, environment: str, account: str) -> Path:
        """The SQLite database of one environment and signed-in account."""
        return self.account_dir(environment, account) / "rupa-desk.sqlite3"

    def results_dir(self, environment: str, account: str) -> Path:
        """Downloaded result PDFs of one environment and account."""
        return self.account_dir(environment, account) / "results"

    def web_profile_dir(self, environment: str, account: str) -> Path:
        """The embedded browser's persistent profile (Rupa's web-app cookies) of one
        environment and signed-in account: never shared, so the next person to sign in on
        a shared PC does not check out as the previous one."""
        return self.account_dir(environment, account) / "web-profile"

    def shared_web_profile_dir(self, environment: str) -> Path:
        """Where versions before per-account profiles kept one profile for every account of
        an environment (removed when found: whose session it holds is unknown)."""
        return self.data_dir / _safe(environment) / "web-profile"


def _safe(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".")
    if not cleaned:
        raise ValueError(f"not usable as a folder name: {name!r}")
    return cleaned


def restrict_to_user(path: Path) -> None:
    """Make a file readable and writable by its owner only (no-op where unsupported)."""
    if os.name == "posix" and path.exists():
        path.chmod(0o600)


def make_private_dir(folder: Path) -> Path:
    """Create `folder` for its owner only (0700), and the parents it needs likewise.

    `Path.mkdir(parents=True, mode=0o700)` gives the parents it creates the default
    permissions (0755 under the usual umask); here each missing folder is made 0700, and
    `folder` itself is tightened if it already existed. Returns `folder`.
    """
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
    _restrict_dir(folder)
    return folder


def _restrict_dir(folder: Path) -> None:
    if os.name != "posix" or not folder.is_dir():
        return
    mode = folder.stat().st_mode
    # A sticky folder (/tmp, /var/tmp) is shared by design: a database file put straight in it
    # must not lock every other user (and program) out of it.
    if mode & 0o077 and not mode & stat.S_ISVTX:
        folder.chmod(0o700)

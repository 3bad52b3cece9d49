"""Typed errors of the local database: each says what happened and what to do next."""

from __future__ import annotations

from pathlib import Path

from rupa_desk.core.errors import KnownError


class StoreError(KnownError):
    """A known problem with the local database (environmental, not a bug)."""


class DatabaseTooNewError(StoreError):
    """The database was written by a newer Rupa Desk; this version leaves it untouched."""

    def __init__(self, path: Path, unknown_migrations: tuple[str, ...]) -> None:
        self.path = path
        self.unknown_migrations = unknown_migrations
        super().__init__(
            f"The database {path} was created by a newer version of Rupa Desk "
            f"(schema changes this version does not know: {', '.join(unknown_migrations)}). "
            "It has not been changed. Update Rupa Desk to open it."
        )


class DatabaseUnusableError(StoreError):
    """The database file cannot be opened or read (permissions, corruption, disk)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"The database {path} cannot be used: {reason}. Check that the disk is not full and "
            "that the file is readable by you; if it is damaged, move it aside and sign in again "
            "(the catalog is downloaded again; unsent drafts live only in this file)."
        )


class DatabaseDiskFullError(DatabaseUnusableError):
    """The database cannot be opened because the disk is full (SQLite could not grow a file)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        StoreError.__init__(
            self,
            f"The disk of this computer is full, so Rupa Desk cannot open its database {path}. "
            "Free some space (empty the trash, remove large files), then try again. "
            "Nothing was lost.",
        )


class UnknownLabTestError(StoreError, LookupError):
    """No lab test with this id is in the local catalog."""

    def __init__(self, lab_test_id: str) -> None:
        self.lab_test_id = lab_test_id
        super().__init__(
            "This lab test is not in the catalog on this computer. Sync the catalog to "
            "download the latest tests, then add it again."
        )


class UnknownDraftError(StoreError, LookupError):
    """No draft with this id is in the database."""

    def __init__(self, draft_id: str) -> None:
        self.draft_id = draft_id
        super().__init__("This draft is no longer on this computer (it may have been deleted).")


class StoreWriteError(StoreError):
    """SQLite could not write a change (an environmental failure; nothing was saved).

    The subclasses say why. Raised by `StoreDatabase.atomic()` and `typed_sqlite_errors()`
    in place of SQLite's own `sqlite3.OperationalError`; callers tell the user that the change
    was not saved.

    Attributes:
        reason: SQLite's own words (e.g. "database is locked"), for the log.
    """

    def __init__(self, message: str, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class DatabaseBusyError(StoreWriteError):
    """Another connection held the write lock for longer than the busy timeout."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "The local database is busy (the catalog download or another Rupa Desk window is "
            "writing to it). Wait a moment, then try again.",
            reason,
        )


class StoreDiskFullError(StoreWriteError):
    """The disk (or the database's size limit) is full."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "The disk of this computer is full, so Rupa Desk cannot save. Free some space "
            "(empty the trash, remove large files), then try again.",
            reason,
        )


class DatabaseReadOnlyError(StoreWriteError):
    """The database file or its folder cannot be written by this user."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "The local database cannot be written (the file or its folder is read-only for "
            "you). Check the folder's permissions, then try again.",
            reason,
        )


class StorageIOError(StoreWriteError):
    """The operating system reported an input/output error, or the file is damaged."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "The local database could not be read or written (a disk error, or a damaged "
            "file). Check the disk; if it keeps happening, restart Rupa Desk.",
            reason,
        )

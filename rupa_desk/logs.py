"""The app's log: a rotating file in the user log folder, with tokens and patient data kept out.

Every record that reaches the file passes `RedactingFilter`, which formats the message (and the
traceback, if any) and runs it through `rupa_desk.core.redaction.redact`.

The HTTP libraries log too: httpx writes every request URL with its query at INFO (a patient
lookup by email puts the email there), httpcore its headers at DEBUG. `guard_http_library_logs`
(called here and whenever the services build an HTTP client) raises them to WARNING and
redacts whatever they still log, in every process (the app, the command line, the tests),
whichever handler is listening.

The desktop app paints its window before it opens the file: `start_logging` keeps the first
records in memory (`EarlyLog`), and `configure_logging(paths, early=...)` writes them to the
file first once the window is on screen. Importing `logging.handlers` and opening
a file on a disk that may be busy would otherwise both come before the first paint.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rupa_desk.paths import AppPaths, make_private_dir, restrict_to_user

LOG_FORMAT: Final = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
#: The loggers whose records reach the log file.
APP_LOGGERS: Final = ("rupa_desk", "qasync", "py.warnings")
#: Libraries whose records carry request URLs (with query values) or headers.
HTTP_LIBRARY_LOGGERS: Final = ("httpx", "httpcore")
MAX_LOG_BYTES: Final = 2_000_000
LOG_BACKUPS: Final = 5
#: Tracebacks are indented by this, so that only a record's first line starts a line.
_INDENT: Final = "  "
#: At most this many records wait in memory for the log file (the start-up writes a handful).
EARLY_RECORDS_KEPT: Final = 1_000


class RedactingFilter(logging.Filter):
    """Rewrites each record so that its message and traceback carry no secrets or patient data,
    and so that one record stays one line.

    The record's arguments are merged into the message first, so a token passed as an argument
    is caught too; the traceback is formatted once and stored redacted in `exc_text`. Control
    characters in the message are escaped (text from a server with a newline in it cannot
    forge a log line); the traceback keeps its line feeds, nothing else, and is indented.
    """

    def __init__(self) -> None:
        super().__init__()
        # Imported here, not at the top: compiling its patterns takes time, and
        # the desktop app paints its window before it makes its first filter.
        from rupa_desk.core.redaction import escape_control_characters, redact

        self._redact = redact
        self._escape = escape_control_characters
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._escape(self._redact(record.getMessage()))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._lines(record.exc_text)
        if record.stack_info:
            record.stack_info = self._lines(record.stack_info)
        return True

    def _lines(self, text: str) -> str:
        """A traceback, redacted and indented: none of its lines (an exception message from
        a server included) can pass for a record of its own."""
        if text.startswith(_INDENT):
            return text  # already done (an HTTP library logger's filter, then the handler's)
        escaped = self._escape(self._redact(text), keep_newlines=True)
        return "\n".join(_INDENT + line for line in escaped.split("\n"))


def guard_http_library_logs() -> None:
    """Keep httpx's and httpcore's request lines (URLs with queries, headers) out of every log.

    Their loggers go to WARNING unless someone chose a level for them, and every record they
    create is redacted (a filter on the logger itself, so it applies before any handler, the
    root logger's included). Safe to call any number of times.
    """
    for name in HTTP_LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        if library.level == logging.NOTSET:
            library.setLevel(logging.WARNING)
    # A logger's filters see only the records created on it, so every httpcore module logger
    # (httpcore.connection, httpcore.http11, ...) gets one too.
    names = [
        n
        for n in list(logging.Logger.manager.loggerDict)
        if n in HTTP_LIBRARY_LOGGERS
        or n.startswith(tuple(f"{lib}." for lib in HTTP_LIBRARY_LOGGERS))
    ]
    for name in {*HTTP_LIBRARY_LOGGERS, *names}:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


class EarlyLog(logging.Handler):
    """The app's log records from before the log file is open, kept in memory (see the module).

    Made by `start_logging`; `configure_logging(paths, early=...)` writes them to the file and
    removes this handler. Records are kept as they are (not yet redacted: they never leave
    memory until the file handler's `RedactingFilter` has seen them). Past
    `EARLY_RECORDS_KEPT` records only the count of those dropped is kept.
    """

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < EARLY_RECORDS_KEPT:
            self.records.append(record)
        else:
            self.dropped += 1

    def detach(self) -> None:
        """Stop collecting (the records stay in `records`)."""
        for name in APP_LOGGERS:
            logging.getLogger(name).removeHandler(self)


def start_logging(*, level: int = logging.INFO) -> EarlyLog:
    """Collect the app's log records in memory until `configure_logging` opens the file.

    Args:
        level: the lowest level kept.

    Returns:
        The handler holding the records; pass it to `configure_logging` as `early`.
    """
    early = EarlyLog(level)
    _attach(early, level)
    return early


def _attach(handler: logging.Handler, level: int) -> None:
    for name in APP_LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
    logging.captureWarnings(True)


@dataclass
class LogSetup:
    """The handler `configure_logging` installed, so that it can be removed again.

    Attributes:
        path: the log file (shown in bug reports); None when the records go to stderr.
        handler: the rotating file handler (or stderr's) on the app's loggers.
    """

    path: Path | None
    handler: logging.Handler

    def close(self) -> None:
        """Detach and close the file handler."""
        for name in APP_LOGGERS:
            logging.getLogger(name).removeHandler(self.handler)
        self.handler.close()


def configure_logging(
    paths: AppPaths, *, level: int = logging.INFO, early: EarlyLog | None = None
) -> LogSetup:
    """Send the app's log records to a rotating file in `paths.log_dir`.

    Args:
        paths: where the log folder is.
        level: the lowest level written.
        early: the records collected by `start_logging`: written to the file first, and the
            in-memory handler removed.

    Returns:
        The installed handler and the path of the log file.

    Raises:
        OSError: the log folder or file cannot be created or opened (`early` then keeps its
            records and stays attached: see `log_to_stderr`).
    """
    make_private_dir(paths.log_dir)
    restrict_to_user(paths.log_file)  # an earlier version's file may be readable by all
    handler = _private_rotating_file_handler(paths.log_file)
    _install(handler, level, early)
    return LogSetup(path=paths.log_file, handler=handler)


def _private_rotating_file_handler(path: Path) -> logging.Handler:
    """A `RotatingFileHandler` whose files (the log and each new one after a rotation) are
    created readable by the user only; the log names what the practitioner did."""
    import logging.handlers  # here, not at the top: see the module docstring

    class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
        def _open(self) -> io.TextIOWrapper:
            fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            return open(fd, "a", encoding=self.encoding, errors=self.errors)

    return PrivateRotatingFileHandler(
        path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )


def log_to_stderr(*, level: int = logging.INFO, early: EarlyLog | None = None) -> LogSetup:
    """Send the app's log records to the standard error stream, redacted like the file.

    For when the log file cannot be opened (a full disk, a read-only folder): the records
    still go somewhere a terminal or the system journal keeps.

    Args:
        level: the lowest level written.
        early: the records collected by `start_logging`, written first.

    Returns:
        The installed handler (`path` is None).
    """
    handler = logging.StreamHandler()
    _install(handler, level, early)
    return LogSetup(path=None, handler=handler)


def _install(handler: logging.Handler, level: int, early: EarlyLog | None) -> None:
    handler.setLevel(level)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    dropped = 0
    if early is not None:
        early.detach()
        for record in early.records:
            if record.levelno >= level:
                handler.handle(record)
        early.records.clear()
        dropped = early.dropped
    _attach(handler, level)
    guard_http_library_logs()
    if dropped:
        logging.getLogger(__name__).warning(
            "%d start-up log records were dropped (more than %d)", dropped, EARLY_RECORDS_KEPT
        )

"""The app's log: a rotating file in the user log folder, with tokens and patient data kept out.

Every record that reaches the file passes `RedactingFilter`, which formats the message (and the
traceback, if any) and runs it through `rupa_desk.core.redaction.redact`.

The HTTP libraries log too: httpx writes every request URL with its query at INFO (a patient
lookup by email puts the email there), httpcore its headers at DEBUG. `guard_http_library_logs`
(called here and whenever the services build an HTTP client) raises them to WARNING and
redacts whatever they still log, in every process (the app, the command line, the tests),
whichever handler is listening.
"""

from __future__ import annotations

import logging
import logging.handlers
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rupa_desk.core.redaction import redact
from rupa_desk.paths import AppPaths

LOG_FORMAT: Final = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
#: Libraries whose records carry request URLs (with query values) or headers.
HTTP_LIBRARY_LOGGERS: Final = ("httpx", "httpcore")
MAX_LOG_BYTES: Final = 2_000_000
LOG_BACKUPS: Final = 5


class RedactingFilter(logging.Filter):
    """Rewrites each record so that its message and traceback carry no secrets or patient data.

    The record's arguments are merged into the message first, so a token passed as an argument
    is caught too; the traceback is formatted once and stored redacted in `exc_text`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


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


@dataclass
class LogSetup:
    """The handler `configure_logging` installed, so that it can be removed again.

    Attributes:
        path: the log file (shown in bug reports).
        handler: the rotating file handler on the `rupa_desk` logger.
    """

    path: Path
    handler: logging.Handler

    def close(self) -> None:
        """Detach and close the file handler."""
        logging.getLogger("rupa_desk").removeHandler(self.handler)
        logging.getLogger("qasync").removeHandler(self.handler)
        logging.getLogger("py.warnings").removeHandler(self.handler)
        self.handler.close()


def configure_logging(paths: AppPaths, *, level: int = logging.INFO) -> LogSetup:
    """Send the app's log records to a rotating file in `paths.log_dir`.

    Args:
        paths: where the log folder is.
        level: the lowest level written.

    Returns:
        The installed handler and the path of the log file.
    """
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        paths.log_file, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setLevel(level)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for name in ("rupa_desk", "qasync", "py.warnings"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
    logging.captureWarnings(True)
    guard_http_library_logs()
    return LogSetup(path=paths.log_file, handler=handler)

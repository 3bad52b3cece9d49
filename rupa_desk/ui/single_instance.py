"""One Rupa Desk window per user and profile: a second launch brings the first to the front.

On a shared front-desk PC people start the app again when they cannot find its window; a
second copy would race the first for the same database and session. The first process
listens on a local socket (`QLocalServer`: a Unix socket in the user's private runtime
folder, a named pipe on Windows) named after the OS user and the profile folder, so two
users, or two profiles of one user (the tests), never meet. A later launch connects, asks
for the window, waits for the answer, then exits.

Nothing here may stop the app from starting: a socket left by a crashed process (nobody
answers it) is removed and taken over, one that cannot be taken over leaves the app running
without the check (logged), and a first process that does not answer in time (frozen) is
treated as gone.
"""

from __future__ import annotations

import enum
import getpass
import hashlib
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

#: What a later launch sends, and what the first process answers once it has been told.
RAISE_REQUEST = b"raise\n"
RAISED_ANSWER = b"raised\n"
#: A connect to a socket nobody listens on fails at once; this bounds a frozen first process.
CONNECT_TIMEOUT_MS = 500
ANSWER_TIMEOUT_MS = 3000


def server_name(data_dir: Path, *, user: str, runtime_dir: Path | None) -> str:
    """The local-socket name of one OS user's Rupa Desk on one profile folder.

    Hashed, so that it is short enough for a Unix socket path and a valid pipe name, and
    says nothing about the user or the folder to other users listing the temporary folder.

    Args:
        data_dir: the profile's data folder (resolved, so two spellings of it meet).
        user: the OS user.
        runtime_dir: the user's private runtime folder, where the socket goes (out of other
            users' reach); None: Qt's default place (the temporary folder, or a Windows pipe).
    """
    key = f"{user}\0{data_dir.expanduser().resolve()}"
    name = "rupa-desk-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return str(runtime_dir / name) if runtime_dir is not None else name


def server_name_for(data_dir: Path) -> str:
    """`server_name` for this process's user, in its runtime folder when it has one."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    runtime_dir = Path(runtime) if runtime and Path(runtime).is_dir() else None
    return server_name(data_dir, user=_current_user(), runtime_dir=runtime_dir)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor the user database
        return str(Path.home())


class Answer(enum.Enum):
    """What asking a running Rupa Desk for its window gave."""

    NOBODY = "nobody"  # no socket, or one nobody listens on (a crashed process)
    RAISED = "raised"  # the first process brought its window to the front
    NO_ANSWER = "no answer"  # something accepted the connection but never answered


def ask_to_raise(name: str) -> Answer:
    """Ask the Rupa Desk listening on `name` to bring its window to the front.

    Blocking, but short: a missing or dead socket fails at once, and a frozen process is
    given `ANSWER_TIMEOUT_MS`.
    """
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
        return Answer.NOBODY
    try:
        socket.write(RAISE_REQUEST)
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        answer = b""
        while RAISED_ANSWER not in answer and socket.waitForReadyRead(ANSWER_TIMEOUT_MS):
            answer += bytes(socket.readAll().data())
        return Answer.RAISED if RAISED_ANSWER in answer else Answer.NO_ANSWER
    finally:
        socket.abort()


class SingleInstance(QObject):
    """The first Rupa Desk of a user and profile: it listens for later launches.

    Build it with `claim`; keep it for the life of the process, and `close` it on the way out
    (this removes the socket, so the next launch finds nothing stale).

    Signals:
        raise_requested: a later launch asked for the window (answered already).
    """

    raise_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        if sys.platform == "win32":  # a pipe's access list; on Unix the folder and umask do
            # (there, the option makes listen replace a live socket instead of failing)
            self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_server_new_connection)

    @classmethod
    def claim(cls, name: str) -> SingleInstance | None:
        """Become the first Rupa Desk of `name`, or bring the running one to the front.

        Returns:
            The listening instance; or None when another process has brought its window to
            the front (this process should then exit). When the socket cannot be taken over,
            an instance that does not listen is returned, so the app starts all the same.
        """
        answer = ask_to_raise(name)
        if answer is Answer.RAISED:
            return None
        instance = cls(name)
        if instance._listen():
            return instance
        if instance._server.serverError() == QAbstractSocket.SocketError.AddressInUseError:
            if answer is Answer.NOBODY and ask_to_raise(name) is Answer.RAISED:
                instance.deleteLater()
                return None  # another launch started listening in between
            log.info("taking over an instance socket nobody answers (left by a crash)")
            QLocalServer.removeServer(name)
            if instance._listen():
                return instance
        log.warning(
            "Rupa Desk cannot listen for a second launch (%s); it runs without that check",
            instance._server.errorString(),
        )
        return instance

    @property
    def listening(self) -> bool:
        return self._server.isListening()

    def close(self) -> None:
        """Stop listening and remove the socket."""
        self._server.close()

    def _listen(self) -> bool:
        return self._server.listen(self.name)

    def _on_server_new_connection(self) -> None:
        while (connection := self._server.nextPendingConnection()) is not None:
            connection.setParent(self)
            connection.readyRead.connect(lambda c=connection: self._on_connection_ready_read(c))
            connection.disconnected.connect(connection.deleteLater)
            if connection.bytesAvailable():
                self._on_connection_ready_read(connection)

    def _on_connection_ready_read(self, connection: QLocalSocket) -> None:
        if RAISE_REQUEST.strip() not in bytes(connection.peek(64).data()):
            return  # not the whole request yet
        connection.readAll()
        self.raise_requested.emit()
        connection.write(RAISED_ANSWER)
        connection.flush()
        connection.disconnectFromServer()


def bring_to_front(window: QWidget) -> None:
    """Show `window` on top, restored if it was minimized, and give it the keyboard."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
    log.info("The window was brought to the front on a second launch")

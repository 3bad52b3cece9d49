"""The composition root: the process of the desktop app, from the first paint to a clean exit.

`run(args)` is the desktop app (`rupa-desk`, `rupa-desk --demo`):

1. logging (kept in memory until step 2 is done), the QApplication, the one-copy check
   (`rupa_desk.ui.single_instance`: a second launch brings the running window to the front
   and exits), the bug reporter (`sys.excepthook`);
2. the main window, shown and painted at once (with a "Starting…" page), before anything
   heavy is imported: the log file, the services (HTTP, OAuth, SQLite, keyring) and asyncio
   are loaded only after the first paint, so start-up feels as quick as an empty Qt window;
3. the qasync loop (`asyncio.Runner(loop_factory=AppEventLoop)`) running `main()`, which
   starts the demo simulator when asked, builds every service into a `rupa_desk.desk.Desk`
   around the window, and waits until the window is closed;
4. on the way out every background task is cancelled and awaited, and the HTTP clients, the
   database and the demo simulator are closed.

The services and panes themselves are assembled in `rupa_desk.desk` (see there for where
the Draft orders and Orders panes plug in).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from rupa_desk.logs import EarlyLog, LogSetup, configure_logging, log_to_stderr, start_logging
from rupa_desk.paths import AppPaths
from rupa_desk.prerequisites import missing_packages_message, missing_xcb_packages
from rupa_desk.ui.bug_reports import BugReporter
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.single_instance import SingleInstance, bring_to_front, server_name_for
from rupa_desk.ui.theme import SYSTEM, apply_theme
from rupa_desk.ui.window_state import WindowState

if TYPE_CHECKING:  # imported after the first paint (see the module docstring)
    from rupa_desk.desk import Desk
    from rupa_desk.services.auth import BrowserOpener
    from rupa_desk.services.secrets import SecretStoreChoice
    from rupa_desk.settings import Environment, ManagedSettings, UserSettings

log = logging.getLogger(__name__)

APP_NAME = "Rupa Desk"
FIRST_PAINT_TIMEOUT_S = 2.0
#: What a second launch says (on stderr and in the log) before it exits.
ALREADY_RUNNING = "Rupa Desk is already running; its window was brought to the front."
#: The exit code when Qt could not open a window on this computer (libraries missing).
EXIT_MISSING_LIBRARIES = 3


@dataclass(frozen=True)
class LaunchOptions:
    """What the command line asked for.

    Attributes:
        demo: start the built-in simulator and use it.
        lab_tests: demo mode: the simulator's catalog size.
        seed: demo mode: the simulator's data seed.
    """

    demo: bool = False
    lab_tests: int = 2500
    seed: int = 7

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LaunchOptions:
        return cls(
            demo=bool(getattr(args, "demo", False)),
            lab_tests=int(getattr(args, "lab_tests", 2500)),
            seed=int(getattr(args, "seed", 7)),
        )


async def main(
    paths: AppPaths,
    options: LaunchOptions,
    *,
    bridge: MessageBridge,
    reporter: BugReporter,
    window: MainWindow | None = None,
    on_started: Callable[[Desk], Any] | None = None,
    opener: BrowserOpener | None = None,
    secrets: SecretStoreChoice | None = None,
    environment: Environment | None = None,
) -> int:
    """Build the app, run it until its window is closed, then shut everything down.

    Args:
        paths: the app's folders.
        options: the command line.
        bridge: messages to the user.
        reporter: where unexpected exceptions go.
        window: the main window, already shown (`run` shows it before the loop starts);
            None builds one.
        on_started: called with the running `Desk` (the benchmark and tests use it).
        opener: opens the system browser (default `webbrowser.open`; tests: a browser that
            does not open).
        secrets: the secret store; None probes the OS keychain.
        environment: use this environment instead of the one the settings and options
            select (the benchmark; no simulator is started then).

    Returns:
        The process exit code (0). Settings that cannot be used are told in the window, and
        the demo runs instead.
    """
    import asyncio
    import contextlib
    import functools
    import webbrowser

    from rupa_desk import settings as settings_module
    from rupa_desk.desk import Desk
    from rupa_desk.settings import SettingsError, load_settings

    loaded = load_settings(paths.settings_file, paths.managed_settings_file)
    for problem in loaded.problems:
        bridge.error(problem)
    settings = loaded.settings
    if environment is None and not options.demo and first_start(paths, loaded.managed):
        if secrets is None:
            from rupa_desk.services.secrets import probe_secret_store

            secrets = await probe_secret_store()
        answered = await ask_how_to_start(paths, settings, loaded.managed, secrets, window, bridge)
        if answered is None:
            log.info("quit at the first start's question; nothing was saved")
            return 0
        settings = answered
    if environment is None and not options.demo and settings.environment != "demo":
        try:
            # validated(): a locked environment may still need the user's client id.
            environment = settings.validated().environment_for()
        except SettingsError as exc:
            # Told in the window (not on a terminal nobody reads), and the app stays usable.
            bridge.error(
                f"The saved settings cannot be used: {exc} Rupa Desk runs the demo instead. "
                "Correct the settings (File › Settings), then start Rupa Desk again."
            )
    async with contextlib.AsyncExitStack() as stack:
        no_browser_helper = None
        epic = None  # from the settings, except in demo mode (the Epic simulator)
        demo_running = environment is None
        if demo_running:
            from rupa_desk import demo  # the simulator is loaded only in demo mode

            server = await asyncio.to_thread(
                demo.start_simulator, lab_tests=options.lab_tests, seed=options.seed
            )
            stack.push_async_callback(asyncio.to_thread, server.stop)
            environment = settings_module.demo(server.url)
            no_browser_helper = functools.partial(demo.complete_demo_consent, server.url)
            epic_server, epic = await asyncio.to_thread(
                demo.start_epic_simulator, seed=options.seed
            )
            stack.push_async_callback(asyncio.to_thread, epic_server.stop)
        assert environment is not None
        desk = await Desk.create(
            paths,
            environment=environment,
            settings=settings,
            managed=loaded.managed,
            bridge=bridge,
            reporter=reporter,
            secrets=secrets,
            opener=opener or webbrowser.open,
            no_browser_helper=no_browser_helper,
            demo_running=demo_running,
            window=window,
            epic=epic,
        )
        stack.push_async_callback(desk.close)
        desk.start()
        if on_started is not None:
            on_started(desk)
        await desk.wait_closed()
    return 0


def first_start(paths: AppPaths, managed: ManagedSettings) -> bool:
    """True when nobody chose yet between the demo and Rupa on this PC for this user.

    A saved settings file means the question was answered (or the settings were made by
    hand); a clinic whose managed file sets the environment has chosen for everyone.
    """
    return not paths.settings_file.exists() and not managed.is_locked("environment")


async def ask_how_to_start(
    paths: AppPaths,
    settings: UserSettings,
    managed: ManagedSettings,
    secrets: SecretStoreChoice,
    window: MainWindow | None,
    bridge: MessageBridge,
) -> UserSettings | None:
    """Ask the first start's question (`FirstRunDialog`); the saved answer, or None to quit."""
    import asyncio

    from rupa_desk.ui.components.first_run_dialog import FirstRunDialog
    from rupa_desk.ui.presenters.settings import SettingsPresenter

    presenter = SettingsPresenter(
        paths.settings_file,
        secrets.store,
        settings,
        secret_storage=secrets.mode.value,
        managed=managed,
    )
    dialog = FirstRunDialog(presenter, parent=window)
    answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_finished(result: int) -> None:
        if not answered.done():
            answered.set_result(result)

    dialog.finished.connect(on_finished)
    dialog.open()
    try:
        await answered
    finally:
        dialog.deleteLater()
    if dialog.not_saved is not None:
        bridge.warning(dialog.not_saved)
    return dialog.chosen


def run(
    args: argparse.Namespace,
    *,
    paths: AppPaths | None = None,
    on_window: Callable[[MainWindow], Any] | None = None,
    on_started: Callable[[Desk], Any] | None = None,
    secrets: Callable[[], SecretStoreChoice] | None = None,
    environment: Callable[[], Environment] | None = None,
    opener: BrowserOpener | None = None,
) -> int:
    """The desktop app: logging, Qt, the first paint, the qasync loop and `main()`.

    Args:
        args: the parsed command line of `rupa-desk`.
        paths: the app's folders (default: the user's; the benchmark uses a temporary one).
        on_window: called with the main window once it is shown (the benchmark).
        on_started: called with the running `Desk`.
        secrets: makes the secret store (called after the first paint, like every import of
            the services); default: probe the OS keychain.
        environment: makes the environment (called after the first paint); default: from
            the settings and `--demo`.
        opener: opens the system browser (default `webbrowser.open`; the self-check and the
            screenshots: none, so that demo mode signs in without one).

    Returns:
        The process exit code.
    """
    paths = (paths or AppPaths.for_user()).ensure()
    early_log = start_logging()  # the records wait in memory until the window has painted
    log.info("starting")
    log_setup: LogSetup | None = None
    reporter: BugReporter | None = None
    instance: SingleInstance | None = None
    try:
        missing = missing_xcb_packages(os.environ)
        if missing and QApplication.instance() is None:
            message = missing_packages_message(missing)
            log.error("%s", message)
            print(message, file=sys.stderr)
            return EXIT_MISSING_LIBRARIES
        qt_app = QApplication.instance() or QApplication(sys.argv)
        assert isinstance(qt_app, QApplication)
        qt_app.setApplicationName(APP_NAME)
        qt_app.setOrganizationName("RupaDesk")
        qt_app.setQuitOnLastWindowClosed(False)  # main() decides when to stop
        # Before the window: a second copy would race the first for its database. Cheap
        # when no other copy runs (a connect to a missing socket fails at once).
        instance = SingleInstance.claim(server_name_for(paths.data_dir))
        if instance is None:
            log.info("%s", ALREADY_RUNNING)
            print(ALREADY_RUNNING, file=sys.stderr)
            return 0
        window_state = WindowState(paths.config_dir)
        apply_theme(qt_app, window_state.appearance(SYSTEM))  # the settings are read later
        bridge = MessageBridge()
        reporter = BugReporter(bridge, paths.log_file)
        reporter.install()
        window = MainWindow(bridge=bridge, window_state=window_state)
        instance.raise_requested.connect(lambda: bring_to_front(window))
        window.show()
        if on_window is not None:
            on_window(window)
        _paint(qt_app, window)
        log_setup = _open_log(paths, early_log, bridge, reporter)

        import asyncio

        from rupa_desk.ui.event_loop import AppEventLoop

        with asyncio.Runner(loop_factory=lambda: AppEventLoop(qt_app)) as runner:
            runner.get_loop().set_exception_handler(reporter.loop_exception_handler)
            with _CloseOnSignal():
                return runner.run(
                    main(
                        paths,
                        LaunchOptions.from_args(args),
                        bridge=bridge,
                        reporter=reporter,
                        window=window,
                        on_started=on_started,
                        opener=opener,
                        secrets=secrets() if secrets is not None else None,
                        environment=environment() if environment is not None else None,
                    )
                )
    except Exception:
        # Nothing is left to show a bug report in: the traceback goes to the log file (and,
        # re-raised, to stderr), so a crash of an app started from a menu is not lost.
        log.exception("Rupa Desk stopped on an unexpected error")
        raise
    finally:
        if instance is not None:
            instance.close()
        if reporter is not None:
            reporter.uninstall()
        if log_setup is None:  # start-up failed before the paint: its records still go out
            log_setup = _open_log(paths, early_log, None, reporter)
        log.info("stopped")
        log_setup.close()


def _open_log(
    paths: AppPaths, early: EarlyLog, bridge: MessageBridge | None, reporter: BugReporter | None
) -> LogSetup:
    """Open the log file (with the records kept since start-up), or fall back to stderr.

    A log file that cannot be written (a full disk, a read-only folder) does not stop the app:
    the user is told, the records go to the standard error stream, and bug reports stop
    naming a file.
    """
    try:
        return configure_logging(paths, early=early)
    except OSError as exc:
        setup = log_to_stderr(early=early)
        log.warning("The log file %s cannot be written: %s", paths.log_file, exc)
        if reporter is not None:
            reporter.log_path = None
        if bridge is not None:
            bridge.warning(
                f"Rupa Desk cannot write its log file {paths.log_file} "
                f"({exc.strerror or exc}). It keeps working; its log goes to the terminal "
                "instead. Free some disk space or fix the folder's permissions, then restart."
            )
        return setup


def _paint(qt_app: QApplication, window: MainWindow) -> None:
    """Let Qt paint the shown window now, before the rest of the app is loaded."""
    deadline = time.monotonic() + FIRST_PAINT_TIMEOUT_S
    while not window.painted and time.monotonic() < deadline:
        qt_app.processEvents()
        if not window.painted:
            time.sleep(0.001)


class _CloseOnSignal:
    """Ctrl+C in the terminal (SIGINT) or a polite kill (SIGTERM: a logout, `kill`, a service
    manager) closes the window, so the app shuts down as if the user had closed it: tasks
    cancelled, the database and HTTP clients closed, the window's geometry saved. Qt's loop
    would otherwise hide SIGINT, and SIGTERM would end the process on the spot."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setInterval(250)
        self._timer.timeout.connect(lambda: None)  # lets Python run signal handlers
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _CloseOnSignal:
        for number in self.SIGNALS:
            self._previous[number] = signal.signal(number, self._on_signal)
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()
        for number, previous in self._previous.items():
            signal.signal(number, previous)

    def _on_signal(self, signum: int, frame: object) -> None:
        log.info("closing on signal %s", signal.Signals(signum).name)
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow):
                widget.close()

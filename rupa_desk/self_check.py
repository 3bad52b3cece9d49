"""`rupa-desk --self-check`: the installed app proves, in demo mode, that it works here.

It runs the real app (`rupa_desk.app.run`, demo mode: the built-in simulator in this process)
offscreen, with a temporary profile and an in-memory keychain, so it touches nothing of the
user's, and drives it through the steps a bundle can get wrong (a module, a Qt plugin or a
web engine resource left out):

1. the main window paints;
2. sign-in: the sign-in button, then the demo's sign-in without a browser;
3. the catalog sync downloads the simulator's whole catalog;
4. a draft is sent to Rupa and its checkout page opens in the embedded web view (ui/web);
5. a completed order's result PDF is downloaded and rendered in the Orders pane (QtPdf).

Each step prints one PASS or FAIL line; the exit code is 0 only when every step passed. On a
failure the temporary profile (with its log file) is kept and its folder is named.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

if TYPE_CHECKING:
    from rupa_desk.desk import Desk
    from rupa_desk.services.secrets import SecretStoreChoice
    from rupa_desk.ui.account_workspace import AccountWorkspace
    from rupa_desk.ui.widgets.pdf_viewer import PdfViewer

#: The simulator's catalog size for the check: big enough for several pages of sync.
LAB_TESTS: Final = 300
STEP_TIMEOUT_S: Final = 90.0
EXIT_PASSED: Final = 0
EXIT_FAILED: Final = 1


class StepFailed(Exception):
    """A step of the self-check did not reach its goal (the message says what was seen)."""


def prepare_environment(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Offscreen Qt, and the Chromium flags the web engine needs without a display or GPU.

    Set here, for the self-check only (never by the app itself): `--no-sandbox` is needed
    when running as root, where Chromium refuses its sandbox.
    """
    environ["QT_QPA_PLATFORM"] = "offscreen"
    flags = environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "").split()
    wanted = ["--disable-gpu"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        wanted.append("--no-sandbox")
    environ["QTWEBENGINE_CHROMIUM_FLAGS"] = " ".join(
        [*flags, *(f for f in wanted if f not in flags)]
    )


def run(out: TextIO = sys.stdout) -> int:
    """Run the self-check; print one line per step; return the exit code."""
    prepare_environment()
    folder = Path(tempfile.mkdtemp(prefix="rupa-desk-self-check-"))
    check = SelfCheck(out)
    code = check.run(folder)
    if code == EXIT_PASSED:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"The self-check's files and log are kept in {folder}", file=out, flush=True)
    return code


class SelfCheck:
    """The steps, run inside the app's own event loop once the app has started.

    Args:
        out: where the PASS/FAIL lines go.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._failed = False
        self._task: asyncio.Task[None] | None = None

    def run(self, folder: Path) -> int:
        """Start the app in demo mode over `folder` and run the steps in it."""
        from rupa_desk import app
        from rupa_desk.paths import AppPaths

        started = time.monotonic()
        args = argparse.Namespace(demo=True, lab_tests=LAB_TESTS, seed=7)
        try:
            code = app.run(
                args,
                paths=AppPaths.under(folder / "profile"),
                on_started=self._on_started,
                secrets=_memory_secrets,
                opener=_no_browser,
            )
        except Exception as exc:  # the app itself failed: that is what is being checked
            self._line(False, "the app ran", f"{type(exc).__name__}: {exc}")
            code = EXIT_FAILED
        if self._task is None:
            self._line(False, "the app started", "it stopped before it was ready")
        elapsed = time.monotonic() - started
        passed = code == EXIT_PASSED and self._task is not None and not self._failed
        verdict = "passed" if passed else "FAILED"
        print(f"self-check {verdict} in {elapsed:.1f} s", file=self._out, flush=True)
        return EXIT_PASSED if passed else EXIT_FAILED

    def _on_started(self, desk: Desk) -> None:
        self._task = asyncio.get_running_loop().create_task(self._steps(desk), name="self-check")

    async def _steps(self, desk: Desk) -> None:
        steps: list[tuple[str, Callable[[Desk], Awaitable[str]]]] = [
            ("the window painted", self._painted),
            ("signed in to the demo", self._sign_in),
            ("catalog synced", self._catalog_synced),
            ("checkout page opened in the embedded web view", self._checkout_opened),
            ("results PDF rendered", self._results_rendered),
        ]
        try:
            for name, step in steps:
                began = time.monotonic()
                try:
                    detail = await asyncio.wait_for(step(desk), 2 * STEP_TIMEOUT_S)
                except TimeoutError:
                    self._line(False, name, f"not done within {2 * STEP_TIMEOUT_S:.0f} s")
                    return
                except StepFailed as exc:
                    self._line(False, name, str(exc))
                    return
                except Exception as exc:  # a broken install shows up as any error: report it
                    self._line(False, name, f"{type(exc).__name__}: {exc}")
                    return
                self._line(True, name, f"{detail} ({time.monotonic() - began:.1f} s)")
        finally:
            desk.window.close()

    def _line(self, passed: bool, name: str, detail: str) -> None:
        if not passed:
            self._failed = True
        word = "PASS" if passed else "FAIL"
        print(f"{word}  {name}: {detail}", file=self._out, flush=True)

    # -- the steps ------------------------------------------------------------------------------

    async def _painted(self, desk: Desk) -> str:
        if not desk.window.painted:
            raise StepFailed("the main window was shown but never painted")
        return desk.window.windowTitle()

    async def _sign_in(self, desk: Desk) -> str:
        from rupa_desk.ui.presenters.session import SessionState

        await _until(lambda: desk.session.view.state is SessionState.SIGNED_OUT, "sign-in page")
        desk.sign_in_page.sign_in_button.click()
        await _until(lambda: desk.session.view.state is SessionState.SIGNED_IN, "signed in")
        account = desk.session.account
        return account.display_name if account is not None else "signed in"

    async def _catalog_synced(self, desk: Desk) -> str:
        workspace = _workspace(desk)
        catalog = workspace.store.catalog
        await _until(lambda: catalog.test_count() >= LAB_TESTS, "the whole catalog")
        await _until(lambda: workspace.store.patients.count() > 0, "the patients list")
        return f"{catalog.test_count()} lab tests"

    async def _checkout_opened(self, desk: Desk) -> str:
        from rupa_desk.core.drafts import DraftState

        workspace = _workspace(desk)
        drafts = workspace.orders.drafts
        desk.window.show_pane("drafts")
        if not drafts.new_draft():
            raise StepFailed("the new draft was not saved")
        draft_id = drafts.current
        assert draft_id is not None
        patient = drafts.search_patients("")[0]
        drafts.set_patient(draft_id, patient.id)
        hits = drafts.search_tests("panel") or drafts.search_tests("a")
        if not hits or not drafts.add_test(draft_id, hits[0]):
            raise StepFailed("no lab test could be added to the draft")
        draft = await drafts.send(draft_id)
        if draft.state is not DraftState.SENT:
            raise StepFailed(f"the draft was not sent ({draft.state.value})")
        drafts.check_out(draft_id)
        launcher = workspace.orders.launcher
        view = launcher.view_for(draft_id)
        if view is None:
            raise StepFailed("no checkout view opened")
        await _until(
            lambda: view.page.url().toString().startswith(desk.environment.api_base),
            "checkout address in the web view",
        )
        form = "document.forms.length > 0 && document.body.innerText.trim().length > 0"
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while not await _run_js(view.page, form):
            if time.monotonic() > deadline:
                raise StepFailed("the checkout page showed no form")
            await asyncio.sleep(0.2)
        title = view.page.title()
        launcher.close_all()
        return f"“{title}”"

    async def _results_rendered(self, desk: Desk) -> str:
        import httpx
        from PySide6.QtCore import QSize

        from rupa_desk.ui.pages.orders import OrdersPage

        workspace = _workspace(desk)
        # A completed order, made by the simulator as if the patient had been to the lab.
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(
                desk.environment.api_base + "/_sim/orders", json={"status": "Complete"}
            )
            answer.raise_for_status()
            order_id = str(answer.json()["data"]["id"])
        presenter = workspace.orders.orders
        await presenter.refresh_all()
        desk.window.show_pane("orders")
        page = desk.window.pane("orders")
        assert isinstance(page, OrdersPage)
        await _until(lambda: page.row_of(order_id) >= 0, "the order in the Orders pane")
        page.table.selectRow(page.row_of(order_id))
        detail = page.detail
        await _until(detail.view_button.isEnabled, "the downloaded result PDF")
        detail.view_button.click()  # "Show result": its own window

        def shown() -> PdfViewer | None:
            windows = detail.result_windows
            opened = [windows.window(p) for p in windows.open_paths] if windows else []
            viewers = [w.viewer for w in opened if w is not None and w.viewer.page_count > 0]
            return viewers[0] if viewers else None

        await _until(lambda: shown() is not None, "the result PDF in its window")
        viewer = shown()
        assert viewer is not None
        image = viewer.document.render(0, QSize(300, 400))
        colours = {image.pixel(x, y) for x in range(0, 300, 7) for y in range(0, 400, 7)}
        if image.isNull() or len(colours) < 2:
            raise StepFailed("the result PDF's first page rendered blank")
        return f"{viewer.page_count} page(s), {viewer.page_text}"


def _workspace(desk: Desk) -> AccountWorkspace:
    if desk.workspace is None:
        raise StepFailed("nobody is signed in")
    return desk.workspace


async def _until(condition: Callable[[], bool], what: str, every_s: float = 0.05) -> None:
    """Wait until `condition()` holds.

    Raises:
        StepFailed: it did not within the step's time (`what` says what was awaited).
    """
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise StepFailed(f"no {what} within {STEP_TIMEOUT_S:.0f} s")
        await asyncio.sleep(every_s)


async def _run_js(page: Any, script: str) -> Any:
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def done(result: Any) -> None:
        if not answer.done():
            answer.set_result(result)

    page.runJavaScript(script, 0, done)
    return await asyncio.wait_for(answer, 10)


def _no_browser(url: str) -> bool:
    """No system browser: demo mode signs in through the simulator's control API instead."""
    return False


def _memory_secrets() -> SecretStoreChoice:
    from rupa_desk.services.secrets import MemorySecretStore, SecretStoreChoice, SecretStoreMode

    return SecretStoreChoice(MemorySecretStore(), SecretStoreMode.SESSION_ONLY, None)

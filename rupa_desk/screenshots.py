"""Screenshots of every pane and main dialog, in demo mode, offscreen: what the README shows.

    .venv/bin/python -m rupa_desk.screenshots docs/screenshots

It runs the real app (`rupa_desk.app.run`) against the built-in simulator in a throwaway
profile, signs in as the demo practitioner (no browser), waits for the first download, then
shows each pane of the registry and the Settings and Sign out dialogs at 1280×800 and saves
each as a PNG. Offscreen unless `QT_QPA_PLATFORM` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from rupa_desk.desk import Desk

SIZE: Final = (1280, 800)
SETTLE_S: Final = 0.5
WAIT_S: Final = 120.0


async def _save(widget: QWidget, folder: Path, name: str) -> Path:
    # The loop lets Qt lay out and paint meanwhile (processEvents would run the loop's
    # callbacks inside this task).
    await asyncio.sleep(SETTLE_S)
    path = folder / f"{name}.png"
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(path, flush=True)
    return path


def _reports_shown(page: object) -> bool:
    """The Reports pane has the order history and its figures (`ReportsPage`)."""
    tables = getattr(page, "tables", {})
    label = getattr(page, "history_label", None)
    return (
        "turnaround" in tables
        and tables["turnaround"].rowCount() > 0
        and label is not None
        and label.text().startswith("Order history as of")
    )


async def _until(condition: object, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.1)


async def _open_finished_order(page: Any) -> None:
    """Open the newest order of the clinic that has results (the Orders pane's detail)."""
    page.whole_clinic.setChecked(True)
    finished = [
        row
        for row in range(page.model.rowCount())
        if page.cell(row, 2) in ("Complete", "Partial Results")
    ]
    if finished:
        page.table.selectRow(finished[0])
        await _until(lambda: page.detail.tests.rowCount() > 0, "the order's tests")


async def tour(desk: Desk, folder: Path) -> list[Path]:
    """Sign in, wait for the data, and save a picture of each pane and dialog."""
    from rupa_desk.ui.components.settings_dialog import SettingsDialog
    from rupa_desk.ui.components.sign_out_dialog import SignOutDialog
    from rupa_desk.ui.presenters.session import SessionState

    window = desk.window
    window.resize(*SIZE)
    await _until(lambda: desk.session.view.state is SessionState.SIGNED_OUT, "the sign-in page")
    saved = [await _save(window, folder, "sign-in")]
    desk.sign_in_page.sign_in_button.click()
    await _until(lambda: desk.workspace is not None, "the demo sign-in")
    workspace = desk.workspace
    assert workspace is not None
    await _until(
        lambda: not [t for t in workspace.tasks.running if t.get_name() == "first-download"],
        "the first download",
    )
    await _until(
        lambda: workspace.catalog.test_count() > 0 and not workspace.catalog.syncing,
        "the catalog sync",
    )
    window.banner.clear()  # the download's own messages are not what the picture is about
    for key in window.pane_keys:
        window.show_pane(key)
        if key == "catalog":  # a search, as someone at the desk would start
            catalog = window.pane(key)
            catalog.search_box.setText("vitamin d")  # type: ignore[attr-defined]
            catalog.search_box.textEdited.emit("vitamin d")  # type: ignore[attr-defined]
            await asyncio.sleep(SETTLE_S)
            catalog.table.selectRow(0)  # type: ignore[attr-defined]
        if key == "orders":  # an order with results open, as the front desk looks one up
            await _open_finished_order(window.pane(key))
        if key == "reports":  # once the order history is in and the reports are computed
            await _until(functools.partial(_reports_shown, window.pane(key)), "the reports")
        saved.append(await _save(window, folder, f"pane-{key}"))
    labs = [c.name for c in desk.workspace.catalog.companies()] if desk.workspace else []
    settings = SettingsDialog(desk.settings, demo_running=True, lab_names=labs, parent=window)
    settings.show()
    saved.append(await _save(settings, folder, "dialog-settings"))
    settings.administrator.set_expanded(True)
    settings.adjustSize()
    saved.append(await _save(settings, folder, "dialog-settings-administrator"))
    settings.close()
    account = desk.session.account
    sign_out = SignOutDialog(desk.session, account.display_name if account else "", parent=window)
    sign_out.show()
    saved.append(await _save(sign_out, folder, "dialog-sign-out"))
    sign_out.close()
    window.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots into the folder named on the command line."""
    parser = argparse.ArgumentParser(prog="python -m rupa_desk.screenshots")
    parser.add_argument("folder", type=Path, help="where to write the PNG files")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    folder: Path = args.folder
    folder.mkdir(parents=True, exist_ok=True)

    from rupa_desk import app
    from rupa_desk.paths import AppPaths
    from rupa_desk.services.secrets import MemorySecretStore, SecretStoreChoice, SecretStoreMode

    failures: list[BaseException] = []

    def on_started(desk: Desk) -> None:
        async def run_tour() -> None:
            try:
                await tour(desk, folder)
            except BaseException as exc:
                failures.append(exc)
                desk.window.close()
                raise

        desk.tasks.spawn(run_tour(), name="screenshots")

    with tempfile.TemporaryDirectory(prefix="rupa-desk-screenshots-") as profile:
        code = app.run(
            argparse.Namespace(demo=True, lab_tests=2500, seed=7),
            paths=AppPaths.under(Path(profile)),
            on_started=on_started,
            secrets=lambda: SecretStoreChoice(
                MemorySecretStore(), SecretStoreMode.SESSION_ONLY, None
            ),
            opener=lambda url: False,  # no browser: the demo signs in by itself
        )
    if failures:
        print(f"screenshots failed: {failures[0]!r}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())

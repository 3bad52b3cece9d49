"""The whole app against the built-in simulator over real loopback HTTP.

1. A front-desk session: sign in through the real loopback flow (the test plays the browser:
   it signs in on the simulator's page and approves the consent), the first catalog sync,
   a search for `a1c`, a new patient; then what the simulator received.
2. Demo mode as a newcomer runs it (`rupa_desk.app.main` with `--demo`): the app starts the
   simulator, finishes the demo sign-in by itself when no browser opens, syncs the catalog;
   a screenshot of the main window with each pane is saved under test-artifacts/
   and checked not to be blank.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from rupa_desk import app
from rupa_desk.app import LaunchOptions
from rupa_desk.core.validation import PatientForm
from rupa_desk.desk import Desk
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.settings import demo
from rupa_desk.ui.bug_reports import BugReporter
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.presenters.session import SessionState
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.catalog_sync import api_requests
from tests.fixtures.desk import MakeDesk, first_download_done, session_only_secrets
from tests.fixtures.orders_env import api_get
from tests.fixtures.qt import wait_until

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class RecordingOpener:
    """The system browser as the app sees it: it opens; the test drives it afterwards."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return True


async def test_sign_in_sync_search_and_create_a_patient(
    qtbot: QtBot, make_desk: MakeDesk, sandbox: SandboxServer
) -> None:
    opener = RecordingOpener()
    desk = await make_desk(demo(sandbox.url), opener=opener)
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)

    # Sign in through the real loopback flow; the test is the practitioner's browser.
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: opener.urls)
    with PractitionerBrowser(sandbox.url) as browser:
        location = await asyncio.to_thread(browser.approve, opener.urls[0])
    assert location.startswith("http://127.0.0.1:")
    async with httpx.AsyncClient(timeout=30) as http:
        landing = await http.get(location)  # the browser follows the redirect to the app
    assert landing.status_code == 200
    assert "signed in" in landing.text.lower()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN, within=30)
    assert desk.window.signed_in

    # The first sign-in syncs the catalog.
    workspace = desk.workspace
    assert workspace is not None
    await wait_until(lambda: workspace.catalog.test_count() == sandbox.config.lab_tests, within=60)
    await wait_until(lambda: not workspace.catalog.syncing, within=30)
    assert "catalog as of" in desk.status_bar.texts()["Catalog"]

    # Search for a1c in the catalog pane.
    desk.window.show_pane("catalog")
    catalog = desk.window.pane("catalog")
    assert isinstance(catalog, CatalogPage)
    qtbot.keyClicks(catalog.search_box, "a1c")
    catalog.search_box.flush()
    shown = workspace.catalog
    await wait_until(lambda: shown.shown_query is not None and shown.shown_query.text == "a1c")
    model = shown.model
    assert model.rowCount() > 0
    assert "a1c" in model.hit(0).name.casefold()

    # Create a patient in the patients pane.
    desk.window.show_pane("patients")
    patients = desk.window.pane("patients")
    assert isinstance(patients, PatientsPage)
    patients.new_button.click()
    patients.form.fill(
        PatientForm(
            first_name="Rosalind",
            last_name="Franklin",
            email="rosalind.franklin@example.com",
            birthday="1920-07-25",
        )
    )
    patients.form.create_button.click()
    await wait_until(lambda: not patients.showing_form, within=30)
    await wait_until(lambda: patients.selected_patient_id() is not None)
    created_id = workspace.store.patients.search("rosalind")[0].id
    assert created_id.startswith("pat_")
    assert patients.selected_patient_id() == created_id

    # What the simulator received.
    served = api_requests(sandbox.url)
    seen = {(r["method"], r["path"]) for r in served}
    assert ("POST", "/oauth/token") in seen
    assert ("GET", "/practitioners/me") in seen
    assert ("GET", "/lab_companies") in seen
    assert ("GET", "/lab_tests") in seen
    created = [r for r in served if r["method"] == "POST" and r["path"] == "/patients"]
    assert [r["status"] for r in created] == [201]
    # What the simulator keeps from that POST (its request log has no bodies): the fields
    # typed in the form, and nothing else.
    on_rupa = await asyncio.to_thread(api_get, sandbox.url, f"/patients/{created_id}")
    attributes = on_rupa["data"]["attributes"]
    assert {k: attributes[k] for k in ("first_name", "last_name", "email", "birthday")} == {
        "first_name": "Rosalind",
        "last_name": "Franklin",
        "email": "rosalind.franklin@example.com",
        "birthday": "1920-07-25",
    }
    assert not attributes.get("phone")
    assert not attributes.get("gender")
    same_email = await asyncio.to_thread(
        api_get, sandbox.url, "/patients", **{"filter[email]": "rosalind.franklin@example.com"}
    )
    assert [p["id"] for p in same_email["data"]] == [created_id]  # one patient, not two
    assert not [r for r in served if r["status"] == 429]
    grants = [r.get("grant_type") for r in served if r["path"] == "/oauth/token"]
    assert grants[0] == "authorization_code"
    token = next(r["token"] for r in served if r["path"] == "/practitioners/me")
    assert all(r["token"] == token for r in served if r["path"] in ("/lab_tests", "/patients"))


def not_blank(image: QImage) -> bool:
    """True when the picture has real content: many distinct colours, no single one dominant."""
    small = image.scaled(160, 100)
    colours: dict[int, int] = {}
    for y in range(small.height()):
        for x in range(small.width()):
            rgb = small.pixel(x, y)
            colours[rgb] = colours.get(rgb, 0) + 1
    dominant = max(colours.values()) / (small.width() * small.height())
    return len(colours) > 20 and dominant < 0.9


async def test_demo_mode_signs_in_without_a_browser_syncs_and_looks_right(
    app_paths: AppPaths,
) -> None:
    bridge = MessageBridge()
    reporter = BugReporter(bridge, app_paths.log_file)
    seen: dict[str, Any] = {}
    driver: list[asyncio.Task[None]] = []

    async def newcomer(desk: Desk) -> None:
        try:
            await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
            seen["hint"] = desk.sign_in_page.hint.text()
            desk.sign_in_page.sign_in_button.click()
            await wait_until(lambda: desk.session.view.authorize_url)
            seen["waiting"] = desk.sign_in_page.status.text()
            await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN, within=60)
            workspace = desk.workspace
            assert workspace is not None
            await wait_until(lambda: workspace.catalog.test_count() == 300, within=60)
            await first_download_done(desk)
            seen["screenshots"] = {}
            for key in desk.window.pane_keys:
                desk.window.show_pane(key)
                await asyncio.sleep(0.2)  # let the pane lay out and paint
                seen["screenshots"][key] = desk.window.grab().toImage()
            desk.window.show_pane("catalog")
            await asyncio.sleep(0.1)
            seen["status"] = desk.status_bar.texts()
            seen["title"] = desk.window.windowTitle()
        finally:
            desk.window.close()

    def on_started(desk: Desk) -> None:
        driver.append(asyncio.get_running_loop().create_task(newcomer(desk), name="newcomer"))

    code = await app.main(
        app_paths,
        LaunchOptions(demo=True, lab_tests=300, seed=11),
        bridge=bridge,
        reporter=reporter,
        on_started=on_started,
        opener=no_browser,
        secrets=session_only_secrets(),
    )
    await driver[0]  # re-raises what went wrong in the newcomer's session
    assert code == 0
    assert "demo@rupa-desk.test" in seen["hint"]
    assert "completing the demo sign-in" in seen["waiting"]
    assert seen["title"] == "Rupa Desk — Catalog"
    assert seen["status"]["Environment"] == "Demo"
    assert seen["status"]["Token storage"] == "Session: this session only"
    assert "catalog as of" in seen["status"]["Catalog"]

    ARTIFACTS.mkdir(exist_ok=True)
    shots: dict[str, QImage] = seen["screenshots"]
    assert sorted(shots) == sorted(
        ["patients", "catalog", "drafts", "orders", "panels", "results", "reports"]
    )
    for key, image in shots.items():
        shot = ARTIFACTS / f"main-window-demo-{key}.png"
        assert image.save(str(shot))
        assert image.width() >= 700
        assert image.height() >= 450
        assert not_blank(image), f"the {key} pane looks blank: {shot}"
    # Each pane shows something of its own (not the same picture five times).
    assert len({bytes(image.constBits()) for image in shots.values()}) == len(shots)


no_browser: Callable[[str], bool] = lambda url: False  # noqa: E731 (a computer without one)

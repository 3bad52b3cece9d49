"""The embedded checkout: the real QWebEngineView against a small loopback checkout site."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from pytestqt.qtbot import QtBot
from shiboken6 import Shiboken

from rupa_desk.core.checkout_return import CheckoutReturn, ReturnEndpoint
from rupa_desk.core.drafts import new_draft_id
from rupa_desk.paths import AppPaths
from rupa_desk.ui.web.checkout_view import CheckoutView
from rupa_desk.ui.web.launcher import CheckoutLauncher
from tests.fixtures.checkout_site import ORDER_ID, CheckoutSite
from tests.fixtures.qt import unnamed_controls, wait_for_signal, wait_until

LOAD_TIMEOUT_MS = 30_000
EMBEDDED = ReturnEndpoint.embedded()
ACCOUNT = "pra_first"


@pytest.fixture
def launcher(
    qtbot: QtBot, app_paths: AppPaths, checkout_site: CheckoutSite
) -> Iterator[CheckoutLauncher]:
    """A launcher for the demo environment whose web origin is the checkout site; its views
    and profile are deleted afterwards."""
    launcher = site_launcher(app_paths, checkout_site)
    yield launcher
    dispose(qtbot, launcher)


def site_launcher(
    app_paths: AppPaths, checkout_site: CheckoutSite, account: str = ACCOUNT
) -> CheckoutLauncher:
    return CheckoutLauncher(app_paths, "demo", account, origins=[checkout_site.url])


def dispose(qtbot: QtBot, launcher: CheckoutLauncher) -> None:
    """Close the views, wait until they are gone, then delete the profile with the launcher."""
    launcher.close_all()
    qtbot.waitUntil(lambda: not launcher._views, timeout=10_000)
    Shiboken.delete(launcher)


def run_js(qtbot: QtBot, launcher: CheckoutLauncher, draft_id: str, script: str) -> None:
    view = launcher.view_for(draft_id)
    assert view is not None
    view.page.runJavaScript(script)


def open_and_wait(
    qtbot: QtBot, launcher: CheckoutLauncher, draft_id: str, url: str
) -> Callable[[], str]:
    """Open a view and wait until its first page has loaded; returns a status getter."""
    launcher.open(draft_id, url)
    view = launcher.view_for(draft_id)
    assert view is not None
    with qtbot.waitSignal(view.page.loadFinished, timeout=LOAD_TIMEOUT_MS) as blocker:
        pass
    assert blocker.args == [True]
    return lambda: view.status_text


def sign_in(qtbot: QtBot, launcher: CheckoutLauncher, draft_id: str) -> None:
    view = launcher.view_for(draft_id)
    assert view is not None
    with qtbot.waitSignal(view.page.loadFinished, timeout=LOAD_TIMEOUT_MS):
        view.page.runJavaScript("document.getElementById('sign-in').click()")


def test_the_return_navigation_is_caught_parsed_and_the_view_closes(
    qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite
) -> None:
    draft_id = new_draft_id()
    url = checkout_site.checkout_url(EMBEDDED.url_for(draft_id))
    status = open_and_wait(qtbot, launcher, draft_id, url)
    sign_in(qtbot, launcher, draft_id)
    assert "Finish the order" in status()
    with (
        qtbot.waitSignal(launcher.returned, timeout=LOAD_TIMEOUT_MS) as returned,
        qtbot.assertNotEmitted(launcher.closed),
        qtbot.assertNotEmitted(launcher.load_failed),
    ):
        run_js(qtbot, launcher, draft_id, "document.getElementById('submit-order').click()")
    assert returned.args == [CheckoutReturn(draft_id=draft_id, order_id=ORDER_ID)]
    assert checkout_site.submitted == 1
    qtbot.waitUntil(lambda: launcher.view_for(draft_id) is None, timeout=10_000)


def test_every_control_of_the_checkout_view_has_an_accessible_name(
    qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite
) -> None:
    draft_id = new_draft_id()
    open_and_wait(qtbot, launcher, draft_id, checkout_site.checkout_url(EMBEDDED.url_for(draft_id)))
    view = launcher.view_for(draft_id)
    assert view is not None
    assert unnamed_controls(view) == []


def test_a_link_meant_for_a_new_tab_is_caught_too(
    qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite
) -> None:
    draft_id = new_draft_id()
    open_and_wait(qtbot, launcher, draft_id, checkout_site.checkout_url(EMBEDDED.url_for(draft_id)))
    sign_in(qtbot, launcher, draft_id)
    with qtbot.waitSignal(launcher.returned, timeout=LOAD_TIMEOUT_MS) as returned:
        run_js(qtbot, launcher, draft_id, "document.getElementById('new-tab').click()")
    assert returned.args == [CheckoutReturn(draft_id, ORDER_ID)]


def test_the_loopback_endpoint_is_recognised_once_set(
    qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite
) -> None:
    loopback = ReturnEndpoint.loopback(1)  # never listened on: the view must stop it
    launcher.set_endpoints([EMBEDDED, loopback])
    draft_id = new_draft_id()
    open_and_wait(qtbot, launcher, draft_id, checkout_site.checkout_url(loopback.url_for(draft_id)))
    sign_in(qtbot, launcher, draft_id)
    with qtbot.waitSignal(launcher.returned, timeout=LOAD_TIMEOUT_MS) as returned:
        run_js(qtbot, launcher, draft_id, "document.getElementById('submit-order').click()")
    assert returned.args == [CheckoutReturn(draft_id, ORDER_ID)]


def test_our_url_without_a_valid_draft_is_stopped_and_reported(
    qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite
) -> None:
    draft_id = new_draft_id()
    url = f"{checkout_site.url}/bad-return?return={EMBEDDED.url_for(draft_id)}"
    status = open_and_wait(qtbot, launcher, draft_id, url)
    with (
        qtbot.waitSignal(launcher.load_failed, timeout=LOAD_TIMEOUT_MS) as failed,
        qtbot.assertNotEmitted(launcher.returned),
    ):
        run_js(qtbot, launcher, draft_id, "document.getElementById('bad').click()")
    assert failed.args[0] == draft_id
    assert "cannot use" in failed.args[1]
    assert "cannot use" in status()
    assert launcher.view_for(draft_id) is not None  # still open: the user decides


def test_a_load_error_is_reported_and_the_view_stays_open(
    qtbot: QtBot, app_paths: AppPaths, checkout_site: CheckoutSite
) -> None:
    dead = f"{checkout_site.url.rsplit(':', 1)[0]}:1"  # nothing listens on port 1
    launcher = CheckoutLauncher(app_paths, "demo", ACCOUNT, origins=[dead])
    try:
        draft_id = new_draft_id()
        with qtbot.waitSignal(launcher.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
            launcher.open(draft_id, f"{dead}/checkout")
        assert failed.args[0] == draft_id
        assert "did not load" in failed.args[1]
        assert "The draft is safe" in failed.args[1]
        view = launcher.view_for(draft_id)
        assert view is not None
        assert "did not load" in view.status_text
    finally:
        dispose(qtbot, launcher)


def page_text_now(qtbot: QtBot, launcher: CheckoutLauncher, draft_id: str) -> str:
    view = launcher.view_for(draft_id)
    assert view is not None
    with qtbot.waitCallback(timeout=LOAD_TIMEOUT_MS) as callback:
        view.page.toPlainText(callback)
    return str(callback.args[0])


def elsewhere(kind: str, other_site: CheckoutSite, tmp_path: Path) -> str:
    """An address that is not Rupa's: another origin, a local file, a data or script URL."""
    secret = tmp_path / "secret.html"
    secret.write_text("<p>SECRET on this computer</p>")
    return {
        "another origin": f"{other_site.url}/frame",
        "localhost for 127.0.0.1": f"{other_site.url.replace('127.0.0.1', 'localhost')}/frame",
        "a local file": secret.as_uri(),
        "a data URL": "data:text/html;base64,"  # the error page may show the URL: not SECRET
        + base64.b64encode(b"<p>SECRET in a data URL</p>").decode(),
        "a script URL": "javascript:document.title='SECRET'",
    }[kind]


@pytest.mark.parametrize(
    "kind",
    ["another origin", "localhost for 127.0.0.1", "a local file", "a data URL", "a script URL"],
)
def test_a_checkout_address_not_on_rupas_origins_is_not_loaded(
    qtbot: QtBot,
    launcher: CheckoutLauncher,
    other_site: CheckoutSite,
    tmp_path: Path,
    kind: str,
) -> None:
    """A hostile or broken `checkout_url` never loads under "Finish the order on Rupa's page",
    and "Open in browser" does not hand it to the system either."""
    draft_id = new_draft_id()
    with qtbot.waitSignal(launcher.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        launcher.open(draft_id, elsewhere(kind, other_site, tmp_path))
    assert failed.args[0] == draft_id
    assert "stopped the checkout" in failed.args[1]
    view = launcher.view_for(draft_id)
    assert view is not None
    assert "only Rupa's own pages" in view.status_text
    assert "Finish the order" not in view.status_text
    qtbot.wait(500)  # time enough for a load to show
    assert "SECRET" not in page_text_now(qtbot, launcher, draft_id)
    assert "SECRET" not in view.page.title()
    assert other_site.requests == []
    with qtbot.assertNotEmitted(launcher.browser_requested):
        view._browser_button.click()
    assert launcher.view_for(draft_id) is view


@pytest.mark.parametrize("how", ["redirect", "link", "script", "window"])
def test_a_checkout_page_that_moves_itself_to_another_origin_is_stopped(
    qtbot: QtBot,
    launcher: CheckoutLauncher,
    checkout_site: CheckoutSite,
    other_site: CheckoutSite,
    how: str,
) -> None:
    """An HTTP redirect, a link, `window.location` or `window.open` out of Rupa's origins is
    refused in the main frame: the other site never sees a request, the user is told."""
    draft_id = new_draft_id()
    target = quote(f"{other_site.url}/frame", safe="")
    if how == "redirect":
        with qtbot.waitSignal(launcher.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
            launcher.open(draft_id, f"{checkout_site.url}/redirect?to={target}")
        assert checkout_site.requests == ["/redirect"]
    else:
        open_and_wait(qtbot, launcher, draft_id, f"{checkout_site.url}/moves?to={target}")
        with qtbot.waitSignal(launcher.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
            run_js(qtbot, launcher, draft_id, f"document.getElementById('{how}').click()")
    assert failed.args == [draft_id, failed.args[1]]
    assert "stopped the checkout from opening a page of another web site" in failed.args[1]
    view = launcher.view_for(draft_id)
    assert view is not None
    assert "only Rupa's own pages" in view.status_text
    qtbot.wait(500)  # time enough for a load to reach the other site
    assert other_site.requests == []
    if how in ("link", "script"):  # the page stays where it was
        assert view.page.url().toString().startswith(f"{checkout_site.url}/moves")


@pytest.mark.qt_log_ignore(  # Chromium's console says why it blocked the page
    "Not allowed to load local resource", "Not allowed to navigate top frame to data URL"
)
@pytest.mark.parametrize("how", ["redirect", "link", "script"])
@pytest.mark.parametrize("kind", ["a local file", "a data URL"])
def test_a_checkout_page_cannot_show_a_local_file_or_data_url(
    qtbot: QtBot,
    launcher: CheckoutLauncher,
    checkout_site: CheckoutSite,
    other_site: CheckoutSite,
    tmp_path: Path,
    how: str,
    kind: str,
) -> None:
    """Chromium itself refuses these from a web page (an unsafe redirect, a blocked
    navigation); the view's own rule is the second fence. Either way nothing shows."""
    draft_id = new_draft_id()
    target = quote(elsewhere(kind, other_site, tmp_path), safe="")
    if how == "redirect":
        with qtbot.waitSignal(launcher.load_failed, timeout=LOAD_TIMEOUT_MS):
            launcher.open(draft_id, f"{checkout_site.url}/redirect?to={target}")
    else:
        open_and_wait(qtbot, launcher, draft_id, f"{checkout_site.url}/moves?to={target}")
        run_js(qtbot, launcher, draft_id, f"document.getElementById('{how}').click()")
    qtbot.wait(1000)  # time enough for a load to show
    view = launcher.view_for(draft_id)
    assert view is not None
    assert "SECRET" not in page_text_now(qtbot, launcher, draft_id)
    assert not view.page.url().toString().startswith(("file:", "data:"))


def test_a_frame_from_another_origin_inside_rupas_page_still_loads(
    qtbot: QtBot,
    launcher: CheckoutLauncher,
    checkout_site: CheckoutSite,
    other_site: CheckoutSite,
) -> None:
    """A payment provider's iframe is part of Rupa's page: the rule is for the main frame."""
    draft_id = new_draft_id()
    source = quote(f"{other_site.url}/frame", safe="")
    with qtbot.assertNotEmitted(launcher.load_failed):
        status = open_and_wait(
            qtbot, launcher, draft_id, f"{checkout_site.url}/framed?src={source}"
        )
        wait_until_sync(qtbot, lambda: other_site.requests == ["/frame"])
    assert "Finish the order" in status()
    view = launcher.view_for(draft_id)
    assert view is not None
    assert view.page.url().toString().startswith(f"{checkout_site.url}/framed")


def wait_until_sync(qtbot: QtBot, condition: Callable[[], bool]) -> None:
    qtbot.waitUntil(condition, timeout=LOAD_TIMEOUT_MS)


def test_closing_the_view_early_is_reported_once(
    qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite
) -> None:
    draft_id = new_draft_id()
    open_and_wait(qtbot, launcher, draft_id, checkout_site.checkout_url(EMBEDDED.url_for(draft_id)))
    view = launcher.view_for(draft_id)
    assert view is not None
    with (
        qtbot.waitSignal(launcher.closed) as closed,
        qtbot.assertNotEmitted(launcher.returned),
    ):
        view.close()
    assert closed.args == [draft_id]
    qtbot.waitUntil(lambda: launcher.view_for(draft_id) is None, timeout=10_000)


def test_open_in_browser_hands_the_checkout_over_and_closes(
    qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite
) -> None:
    draft_id = new_draft_id()
    url = checkout_site.checkout_url(EMBEDDED.url_for(draft_id))
    open_and_wait(qtbot, launcher, draft_id, url)
    view = launcher.view_for(draft_id)
    assert view is not None
    with (
        qtbot.waitSignal(launcher.browser_requested) as requested,
        qtbot.assertNotEmitted(launcher.closed),
    ):
        view._browser_button.click()
    assert requested.args == [draft_id, url]
    qtbot.waitUntil(lambda: launcher.view_for(draft_id) is None, timeout=10_000)


def test_opening_the_same_draft_twice_reuses_its_view(
    qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite
) -> None:
    draft_id = new_draft_id()
    url = checkout_site.checkout_url(EMBEDDED.url_for(draft_id))
    open_and_wait(qtbot, launcher, draft_id, url)
    first = launcher.view_for(draft_id)
    launcher.open(draft_id, url)
    assert launcher.view_for(draft_id) is first
    assert checkout_site.requests.count("/checkout") == 1


def sign_in_and_dispose(
    qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite, profile_dir: Path
) -> None:
    """Sign in to the site in a view of `launcher`, then delete it once the cookie is saved."""
    draft_id = new_draft_id()
    try:
        open_and_wait(
            qtbot, launcher, draft_id, checkout_site.checkout_url(EMBEDDED.url_for(draft_id))
        )
        sign_in(qtbot, launcher, draft_id)
    finally:
        dispose(qtbot, launcher)
    # Chromium writes cookies on a background thread: wait until the session cookie is on disk
    # (a restarted app takes longer than that anyway).
    qtbot.waitUntil(lambda: "session" in stored_cookie_names(profile_dir), timeout=15_000)


def cookie_page(qtbot: QtBot, launcher: CheckoutLauncher, checkout_site: CheckoutSite) -> str:
    """What the site says about the profile's session: "signed-in" or "anonymous"."""
    try:
        other = new_draft_id()
        open_and_wait(qtbot, launcher, other, f"{checkout_site.url}/cookie")
        view = launcher.view_for(other)
        assert view is not None
        with qtbot.waitCallback(timeout=LOAD_TIMEOUT_MS) as callback:
            view.page.toPlainText(callback)
        return str(callback.args[0])
    finally:
        dispose(qtbot, launcher)


def test_the_rupa_session_cookie_persists_in_the_account_folder(
    qtbot: QtBot, app_paths: AppPaths, checkout_site: CheckoutSite
) -> None:
    """Sign in once; a new profile over the same folder (a restarted app) is still signed in."""
    profile_dir = app_paths.web_profile_dir("demo", ACCOUNT)
    assert profile_dir.is_relative_to(app_paths.account_dir("demo", ACCOUNT))
    sign_in_and_dispose(qtbot, site_launcher(app_paths, checkout_site), checkout_site, profile_dir)
    again = site_launcher(app_paths, checkout_site)
    assert cookie_page(qtbot, again, checkout_site) == "signed-in"


def test_the_next_account_on_the_pc_does_not_check_out_as_the_previous_one(
    qtbot: QtBot, app_paths: AppPaths, checkout_site: CheckoutSite
) -> None:
    profile_dir = app_paths.web_profile_dir("demo", ACCOUNT)
    sign_in_and_dispose(qtbot, site_launcher(app_paths, checkout_site), checkout_site, profile_dir)
    other_account = site_launcher(app_paths, checkout_site, "pra_second")
    assert cookie_page(qtbot, other_account, checkout_site) == "anonymous"


async def load_async(launcher: CheckoutLauncher, draft_id: str, url: str) -> CheckoutView:
    launcher.open(draft_id, url)
    view = launcher.view_for(draft_id)
    assert view is not None
    assert await wait_for_signal(view.page.loadFinished) == (True,)
    return view


async def page_text(view: CheckoutView) -> str:
    text: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    view.page.toPlainText(lambda value: text.done() or text.set_result(str(value)))
    return await asyncio.wait_for(text, 30)


async def test_removing_the_profile_signs_the_account_out_of_rupa_on_this_pc(
    app_paths: AppPaths, checkout_site: CheckoutSite
) -> None:
    """What a sign-out that removes the account's data does (`aclose(remove_profile=True)`),
    with a checkout view still open."""
    profile_dir = app_paths.web_profile_dir("demo", ACCOUNT)
    launcher = site_launcher(app_paths, checkout_site)
    try:
        draft_id = new_draft_id()
        view = await load_async(
            launcher, draft_id, checkout_site.checkout_url(EMBEDDED.url_for(draft_id))
        )
        view.page.runJavaScript("document.getElementById('sign-in').click()")
        await wait_for_signal(view.page.loadFinished)
        # On disk, so that removing the folder is what signs out: Chromium commits its cookie
        # store on a timer (every 30 s) while the profile lives; the harness's 30 s was short.
        await wait_until(lambda: "session" in stored_cookie_names(profile_dir), within=75)
        assert (
            await page_text(
                await load_async(launcher, new_draft_id(), f"{checkout_site.url}/cookie")
            )
            == "signed-in"
        )

        await launcher.aclose(remove_profile=True)
        assert launcher.view_for(draft_id) is None
        await asyncio.sleep(0.5)  # Chromium wrote into it after its profile went: not now
        assert not profile_dir.exists()
    finally:
        await launcher.aclose()
        Shiboken.delete(launcher)
    again = site_launcher(app_paths, checkout_site)
    try:
        view = await load_async(again, new_draft_id(), f"{checkout_site.url}/cookie")
        assert await page_text(view) == "anonymous"
    finally:
        await again.aclose()
        Shiboken.delete(again)


def test_the_profile_once_shared_by_every_account_is_removed(
    qtbot: QtBot, app_paths: AppPaths, checkout_site: CheckoutSite
) -> None:
    shared = app_paths.shared_web_profile_dir("demo")
    shared.mkdir(parents=True)
    (shared / "Cookies").write_bytes(b"someone else's session")
    launcher = site_launcher(app_paths, checkout_site)
    draft_id = new_draft_id()
    try:
        open_and_wait(qtbot, launcher, draft_id, f"{checkout_site.url}/cookie")
    finally:
        dispose(qtbot, launcher)
    assert not shared.exists()


def stored_cookie_names(profile_dir: Path) -> set[str]:
    """The cookie names in the profile's cookie database (Chromium's SQLite file)."""
    names: set[str] = set()
    for db_file in profile_dir.rglob("Cookies"):
        connection = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        try:
            names.update(row[0] for row in connection.execute("SELECT name FROM cookies"))
        except sqlite3.Error:
            pass  # not created yet
        finally:
            connection.close()
    return names


def test_the_launcher_does_not_load_qtwebengine_until_a_checkout_opens(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from rupa_desk.paths import AppPaths\n"
        "from pathlib import Path\n"
        "from rupa_desk.ui.web.launcher import CheckoutLauncher\n"
        "app = QApplication([])\n"
        f"launcher = CheckoutLauncher(AppPaths.under(Path({str(tmp_path)!r})), 'demo', 'pra_x',"
        " origins=['http://127.0.0.1:8765'])\n"
        "loaded = sorted(m for m in sys.modules if 'WebEngine' in m)\n"
        "assert not loaded, loaded\n"
        "assert not launcher.web_engine_loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_the_app_loop_survives_several_runs_after_a_checkout_view(tmp_path: Path) -> None:
    """qasync's plain loop segfaults here (QtWebEngine and a second `aboutToQuit`)."""
    script = (
        "import asyncio\n"
        "from pathlib import Path\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from rupa_desk.paths import AppPaths\n"
        "from rupa_desk.ui.event_loop import AppEventLoop\n"
        "from rupa_desk.ui.web.launcher import CheckoutLauncher\n"
        "app = QApplication([])\n"
        "app.setQuitOnLastWindowClosed(False)  # as under the main window\n"
        f"paths = AppPaths.under(Path({str(tmp_path)!r})).ensure()\n"
        "async def show_checkout() -> bool:\n"
        "    launcher = CheckoutLauncher(paths, 'demo', 'pra_x', origins=['http://127.0.0.1:1'])\n"
        "    launcher.open('draft_' + '0' * 32, 'http://127.0.0.1:1/')\n"
        "    await asyncio.sleep(1.0)\n"
        "    launcher.close_all()\n"
        "    await asyncio.sleep(0.2)\n"
        "    return launcher.web_engine_loaded\n"
        "for _ in range(2):\n"
        "    with asyncio.Runner(loop_factory=lambda: AppEventLoop(app)) as runner:\n"
        "        assert runner.run(show_checkout())\n"
        "print('survived')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "survived" in result.stdout

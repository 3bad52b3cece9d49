"""Sign-in states, restore at start-up and sign-out, through the whole app.

The app's real `Authenticator` (loopback listener, PKCE, token storage) and `RupaClient` run;
Rupa's endpoints are `FakeRupa` and the browser is `FakeBrowser`.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox

from rupa_desk.core.models import Patient
from rupa_desk.desk import Desk
from rupa_desk.services.auth import last_account_key, session_key
from rupa_desk.services.secrets import MemorySecretStore, SecretStoreChoice, SecretStoreMode
from rupa_desk.services.store import Store
from rupa_desk.settings import Environment, production
from rupa_desk.ui.components.sign_out_dialog import SignOutDialog
from rupa_desk.ui.presenters import session as session_module
from rupa_desk.ui.presenters.session import NoBrowserHelper, SessionState
from tests.fixtures.desk import MakeDesk, first_download_done, session_only_secrets
from tests.fixtures.fake_signin import PRACTITIONER_NAME, FakeBrowser, FakeRupa
from tests.fixtures.qt import unnamed_controls, wait_until

CACHED_PATIENT = Patient(
    id="pat_Cach001", first_name="Cached", last_name="Patient", email="cached@example.com"
)


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


@pytest.fixture
def rupa(environment: Environment) -> FakeRupa:
    return FakeRupa(environment)


async def signed_out_desk(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa, browser: FakeBrowser
) -> Desk:
    desk = await make_desk(environment, opener=browser, transport=rupa.transport())
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    return desk


async def test_sign_in_with_the_browser_opens_the_workspace(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    browser = FakeBrowser(rupa)
    desk = await signed_out_desk(make_desk, environment, rupa, browser)
    page = desk.sign_in_page
    assert desk.window.windowTitle() == "Rupa Desk — Sign in"
    assert page.sign_in_button.isVisible()
    assert page.environment.text() == "Production"

    page.sign_in_button.click()
    await wait_until(lambda: browser.opened)
    await wait_until(lambda: desk.session.view.state is SessionState.WAITING and page.link.text())
    assert page.cancel_button.isVisible()
    assert "browser" in page.status.text()
    assert browser.opened[0].startswith(environment.authorize_url)

    answer = await browser.approve()
    assert answer.status_code == 200
    assert "signed in" in answer.text.lower()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN)
    assert desk.window.signed_in
    assert desk.window.windowTitle().startswith("Rupa Desk — ")
    status = desk.status_bar.texts()
    assert status["Signed-in practitioner"] == PRACTITIONER_NAME
    assert status["Token storage"] == "Session: this session only"
    assert status["Environment"] == "Production"
    assert status["Connection"] == "Online"


async def test_a_denied_consent_says_so_and_offers_try_again(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    browser = FakeBrowser(rupa)
    desk = await signed_out_desk(make_desk, environment, rupa, browser)
    page = desk.sign_in_page
    page.sign_in_button.click()
    await wait_until(lambda: browser.opened)
    await browser.deny()
    await wait_until(lambda: desk.session.view.state is SessionState.FAILED)
    assert "denied" in page.problem.text().lower()
    assert page.try_again_button.isVisible()
    assert not page.sign_in_button.isVisible()

    page.try_again_button.click()
    await wait_until(lambda: len(browser.opened) == 2)
    await wait_until(lambda: desk.session.view.state is SessionState.WAITING)
    page.cancel_button.click()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    assert "cancelled" in page.status.text().lower()
    assert page.sign_in_button.isVisible()


class SlowBrowser(FakeBrowser):
    """A browser that takes its time to open: the app is still "opening" when Cancel comes."""

    def __init__(self, rupa: FakeRupa) -> None:
        super().__init__(rupa)
        self.release = threading.Event()

    def __call__(self, url: str) -> bool:
        opened = super().__call__(url)
        self.release.wait(timeout=30)
        return opened


async def test_cancel_while_the_browser_is_still_opening_cancels_the_sign_in(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    browser = SlowBrowser(rupa)
    desk = await signed_out_desk(make_desk, environment, rupa, browser)
    page = desk.sign_in_page
    page.sign_in_button.click()
    await wait_until(lambda: browser.opened)  # the opener runs; the sign-in is not pending yet
    assert desk.session.view.state is SessionState.WAITING
    page.cancel_button.click()
    browser.release.set()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    assert "cancelled" in page.status.text().lower()
    assert page.sign_in_button.isVisible()


async def test_with_no_browser_the_link_can_be_copied(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    browser = FakeBrowser(rupa, can_open=False)
    desk = await signed_out_desk(make_desk, environment, rupa, browser)
    page = desk.sign_in_page
    page.sign_in_button.click()
    await wait_until(lambda: desk.session.view.authorize_url)
    assert page.link_box.isVisible()
    assert "No browser could be opened" in page.link_intro.text()
    assert page.link.text() == browser.opened[0]
    page.copy_link_button.click()
    assert QGuiApplication.clipboard().text() == browser.opened[0]
    # The user pastes the link into a browser elsewhere and finishes there.
    await browser.approve(QGuiApplication.clipboard().text())
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN)


async def test_a_sign_in_that_times_out_says_so(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    quick = replace(environment, limits=replace(environment.limits, sign_in_timeout_s=0.3))
    browser = FakeBrowser(rupa)
    desk = await make_desk(quick, opener=browser, transport=rupa.transport())
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: desk.session.view.state is SessionState.FAILED)
    assert "timed out" in desk.sign_in_page.problem.text().lower()
    assert desk.sign_in_page.try_again_button.isVisible()


async def test_offline_during_sign_in_says_so(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    browser = FakeBrowser(rupa)
    desk = await signed_out_desk(make_desk, environment, rupa, browser)
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: browser.opened)
    rupa.offline = True
    await browser.approve()
    await wait_until(lambda: desk.session.view.state is SessionState.FAILED, within=30)
    assert "cannot reach Rupa" in desk.sign_in_page.problem.text()
    assert desk.sign_in_page.try_again_button.isVisible()


async def test_the_session_is_restored_at_start_up_and_works_offline(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa, app_paths: object
) -> None:
    secrets = SecretStoreChoice(MemorySecretStore(), SecretStoreMode.KEYCHAIN)
    browser = FakeBrowser(rupa)
    first = await make_desk(
        environment, opener=browser, transport=rupa.transport(), secrets=secrets
    )
    await wait_until(lambda: first.session.view.state is SessionState.SIGNED_OUT)
    first.sign_in_page.sign_in_button.click()
    await wait_until(lambda: browser.opened)
    await browser.approve()
    await wait_until(lambda: first.session.view.state is SessionState.SIGNED_IN)
    await first.close()

    second = await make_desk(
        environment, opener=browser, transport=rupa.transport(), secrets=secrets
    )
    await wait_until(lambda: second.session.view.state is SessionState.SIGNED_IN)
    assert len(browser.opened) == 1  # no second trip to the browser
    assert second.status_bar.texts()["Token storage"] == "Session: OS keychain"
    assert second.status_bar.texts()["Signed-in practitioner"] == PRACTITIONER_NAME
    await second.close()

    rupa.offline = True
    impatient = replace(environment, limits=replace(environment.limits, retry_timeout_s=1.0))
    at_open: list[dict[str, str]] = []
    third = await make_desk(impatient, opener=browser, transport=rupa.transport(), secrets=secrets)
    third.session.signed_in.connect(lambda account: at_open.append(third.status_bar.texts()))
    await wait_until(lambda: third.session.view.state is SessionState.SIGNED_IN, within=10)
    assert third.window.signed_in
    # The account opened before any request to Rupa had failed (they fail only after the
    # retries' second): an order of events, not a wall-clock limit.
    assert at_open[0]["Connection"] == "Online"
    assert at_open[0]["Signed-in practitioner"] == "Signed in"
    assert third.status_bar.texts()["Signed-in practitioner"] == "Signed in"
    await wait_until(lambda: third.status_bar.texts()["Connection"] == "Offline", within=60)
    assert third.window.signed_in  # still: offline is not signed out


async def test_sign_out_revokes_forgets_and_shows_the_sign_in_page(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    secrets = session_only_secrets()
    browser = FakeBrowser(rupa)
    desk = await make_desk(environment, opener=browser, transport=rupa.transport(), secrets=secrets)
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: browser.opened)
    await browser.approve()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN)
    account = desk.session.account
    assert account is not None
    entry = session_key(environment, account.id)
    assert await secrets.store.get(entry)
    assert await secrets.store.get(last_account_key(environment)) == account.id
    workspace = desk.workspace
    assert workspace is not None
    await first_download_done(desk)  # it fails: the fake Rupa has no patients or catalog
    workspace.store.patients.upsert([CACHED_PATIENT])
    database = workspace.store.path
    assert database is not None
    web_profile = desk.paths.web_profile_dir(environment.name, account.id)  # Rupa's web session
    web_profile.mkdir(parents=True)
    (web_profile / "Cookies").write_bytes(b"the practitioner's Rupa session")

    desk.window.sign_out_requested.emit()
    dialog = desk.window.findChild(SignOutDialog)
    assert dialog is not None
    assert dialog.isVisible()
    dialog.remove_patient_data.setChecked(True)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)  # it is there
    dialog.sign_out_button.click()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    assert not desk.window.signed_in
    assert desk.window.windowTitle() == "Rupa Desk — Sign in"
    assert rupa.revoked
    assert await secrets.store.get(entry) is None
    assert await secrets.store.get(last_account_key(environment)) is None
    assert desk.status_bar.texts()["Signed-in practitioner"] == "Not signed in"
    assert "signed out" in desk.sign_in_page.status.text().lower()
    assert desk.workspace is None
    with Store.open(database) as store:  # the account's database, closed by the sign-out
        assert store.patients.count() == 0
    assert not web_profile.exists()


async def test_sign_out_keeps_patient_data_unless_asked(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    browser = FakeBrowser(rupa)
    desk = await make_desk(environment, opener=browser, transport=rupa.transport())
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: browser.opened)
    await browser.approve()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN)
    await first_download_done(desk)
    workspace = desk.workspace
    assert workspace is not None
    workspace.store.patients.upsert([CACHED_PATIENT])
    database = workspace.store.path
    assert database is not None
    await desk.session.sign_out(remove_patient_data=False)
    with Store.open(database) as store:
        assert store.patients.count() == 1


async def test_every_sign_in_control_has_an_accessible_name(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    desk = await make_desk(environment, opener=FakeBrowser(rupa), transport=rupa.transport())
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    assert unnamed_controls(desk.window) == []


async def test_a_session_rupa_ended_goes_back_to_the_sign_in_page(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    secrets = SecretStoreChoice(MemorySecretStore(), SecretStoreMode.KEYCHAIN)
    browser = FakeBrowser(rupa)
    first = await make_desk(
        environment, opener=browser, transport=rupa.transport(), secrets=secrets
    )
    await wait_until(lambda: first.session.view.state is SessionState.SIGNED_OUT)
    first.sign_in_page.sign_in_button.click()
    await wait_until(lambda: browser.opened)
    await browser.approve()
    await wait_until(lambda: first.session.view.state is SessionState.SIGNED_IN)
    await first.close()
    rupa.end_all_sessions()

    second = await make_desk(
        environment, opener=browser, transport=rupa.transport(), secrets=secrets
    )
    await wait_until(lambda: "session has ended" in second.sign_in_page.status.text())
    assert second.session.view.state is SessionState.SIGNED_OUT
    assert not second.window.signed_in
    assert second.sign_in_page.sign_in_button.isVisible()


async def test_closing_the_window_shuts_the_app_down(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    desk = await make_desk(environment, opener=FakeBrowser(rupa), transport=rupa.transport())
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    desk.window.close()
    await desk.wait_closed()
    await desk.close()
    assert desk.tasks.running == []
    assert desk.window.isHidden()
    assert desk.client.is_closed  # both HTTP clients are closed
    assert desk.auth._http.is_closed


async def desk_with_demo_helper(
    make_desk: MakeDesk,
    environment: Environment,
    rupa: FakeRupa,
    browser: FakeBrowser,
    helper: NoBrowserHelper,
) -> Desk:
    """A signed-out desk whose sign-in can complete itself without a browser (as in demo)."""
    desk = await make_desk(
        environment, opener=browser, transport=rupa.transport(), no_browser_helper=helper
    )
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    return desk


async def test_in_demo_a_browser_that_never_comes_back_is_finished_without_it(
    make_desk: MakeDesk,
    environment: Environment,
    rupa: FakeRupa,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The OS accepted the link, but no browser came up (issue 13): demo mode waits a little,
    then completes the sign-in itself, as when no browser could be opened at all."""
    monkeypatch.setattr(session_module, "BROWSER_GRACE_S", 0.3)
    browser = FakeBrowser(rupa)  # "opens" the link, and nobody ever signs in there
    helped: list[str] = []

    async def complete_without_browser(authorize_url: str) -> None:
        helped.append(authorize_url)
        await browser.approve(authorize_url)

    desk = await desk_with_demo_helper(
        make_desk, environment, rupa, browser, complete_without_browser
    )
    page = desk.sign_in_page
    page.sign_in_button.click()
    await wait_until(lambda: browser.opened)
    await wait_until(lambda: "open in your browser" in page.status.text())
    assert page.link.text() == browser.opened[0]  # the link is there to copy meanwhile
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN)
    assert helped == [browser.opened[0]]


async def test_a_browser_that_signs_in_in_time_needs_no_help(
    make_desk: MakeDesk,
    environment: Environment,
    rupa: FakeRupa,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "BROWSER_GRACE_S", 30.0)
    browser = FakeBrowser(rupa)
    helped: list[str] = []

    async def complete_without_browser(authorize_url: str) -> None:
        helped.append(authorize_url)

    desk = await desk_with_demo_helper(
        make_desk, environment, rupa, browser, complete_without_browser
    )
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: browser.opened)
    await browser.approve()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN)
    assert helped == []

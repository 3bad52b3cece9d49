"""The sign-in page lays out its text and buttons whole, in every state (nothing clipped)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

from rupa_desk.desk import Desk
from rupa_desk.settings import Environment, production
from rupa_desk.ui.presenters.session import SessionState
from tests.fixtures.desk import MakeDesk
from tests.fixtures.fake_signin import FakeBrowser, FakeRupa
from tests.fixtures.qt import wait_until


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


def clipped(page: QWidget) -> list[str]:
    """Visible labels and buttons of `page` shorter or narrower than their content needs."""
    found = []
    for widget in page.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel) and widget.text():
            if widget.wordWrap():
                needed = widget.heightForWidth(widget.width())
            else:
                needed = widget.sizeHint().height()
                if widget.width() < widget.sizeHint().width():
                    found.append(f"{widget.accessibleName() or widget.text()[:30]!r} (width)")
            if widget.height() < needed:
                found.append(f"{widget.accessibleName() or widget.text()[:30]!r} (height)")
        elif isinstance(widget, QAbstractButton):
            hint = widget.sizeHint()
            if widget.height() < hint.height() or widget.width() < hint.width():
                found.append(f"{widget.accessibleName()!r} button")
    return found


async def settle_layout() -> None:
    import asyncio

    await asyncio.sleep(0.05)


async def check_every_size(desk: Desk) -> list[str]:
    problems = []
    minimum = desk.window.minimumSize()
    for width, height in ((1180, 760), (minimum.width(), minimum.height())):
        desk.window.resize(width, height)
        await settle_layout()
        problems += [f"{width}x{height}: {p}" for p in clipped(desk.sign_in_page)]
    return problems


async def test_nothing_on_the_sign_in_page_is_clipped(
    make_desk: MakeDesk, environment: Environment
) -> None:
    rupa = FakeRupa(environment)
    browser = FakeBrowser(rupa, can_open=False)
    desk = await make_desk(environment, opener=browser, transport=rupa.transport())
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    # Signed out, with a long hint (as in demo mode).
    desk.session._view = desk.session.view.__class__(
        SessionState.SIGNED_OUT,
        "Demo",
        hint="Demo: sign in as demo@rupa-desk.test with the password 'demo'.",
        status="Sign in with your Rupa account to use Rupa Desk.",
    )
    desk.session.view_changed.emit(desk.session.view)
    assert await check_every_size(desk) == []

    # Waiting, with the link to copy (no browser opened).
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: desk.session.view.authorize_url)
    assert desk.sign_in_page.link_box.isVisible()
    assert await check_every_size(desk) == []

    # Failed, with what went wrong.
    await browser.deny()
    await wait_until(lambda: desk.session.view.state is SessionState.FAILED)
    assert await check_every_size(desk) == []

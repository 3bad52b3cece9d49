"""Demo mode is labelled on every screen: a band across the top of the main window says the
data is practice data, so that it is never mistaken for real patients; never shown for the
real environments."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtWidgets import QAbstractButton

from rupa_desk.settings import Environment, demo, production, rupa_sandbox
from rupa_desk.ui.main_window import DEMO_BAND_TEXT, MINIMUM_SIZE
from tests.fixtures.desk import MakeDesk, signed_in_desk
from tests.fixtures.fake_signin import FakeBrowser, FakeRupa
from tests.fixtures.qt import wait_until

DEMO_WORDS = "Demo mode: practice data, not real patients"


async def test_the_demo_is_labelled_above_the_banner_before_and_after_sign_in(
    make_desk: MakeDesk,
) -> None:
    desk = await signed_in_desk(make_desk, demo("http://127.0.0.1:9"))
    band = desk.window.demo_band
    assert DEMO_BAND_TEXT == DEMO_WORDS
    assert band.text() == DEMO_WORDS
    assert band.accessibleName() == DEMO_WORDS
    layout = desk.window.centralWidget().layout()
    assert layout.indexOf(band) == 0  # the top of the window
    assert layout.indexOf(band) < layout.indexOf(desk.window.banner)
    for key in desk.window.pane_keys:  # on every pane
        desk.window.show_pane(key)
        assert band.isVisible(), key
    desk.bridge.warning("Something to read.")
    assert band.isVisible()
    assert band.geometry().bottom() <= desk.window.banner.geometry().top()


async def test_the_demo_band_shows_on_the_sign_in_page(make_desk: MakeDesk) -> None:
    environment = demo("http://127.0.0.1:9")
    rupa = FakeRupa(environment)
    desk = await make_desk(environment, opener=FakeBrowser(rupa), transport=rupa.transport())
    assert desk.window.demo_band.isVisible()
    assert desk.window.demo_band.text() == DEMO_WORDS


@pytest.mark.parametrize(
    "environment", [production("desk-client"), rupa_sandbox("desk-client")], ids=lambda e: e.name
)
async def test_real_environments_have_no_demo_band(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_desk(make_desk, environment)
    assert desk.window.isVisible()
    assert not desk.window.demo_band.isVisible()
    for key in desk.window.pane_keys:
        desk.window.show_pane(key)
        assert not desk.window.demo_band.isVisible(), key


async def test_at_the_smallest_window_the_band_is_whole_and_every_pane_usable(
    make_desk: MakeDesk,
) -> None:
    desk = await signed_in_desk(make_desk, demo("http://127.0.0.1:9"), download=True)
    window, band = desk.window, desk.window.demo_band
    window.resize(*MINIMUM_SIZE)
    await wait_until(lambda: (window.width(), window.height()) == MINIMUM_SIZE)
    for key in window.pane_keys:
        window.show_pane(key)
        await asyncio.sleep(0.05)  # let the pane lay out
        assert band.isVisible(), key
        assert band.height() >= band.heightForWidth(band.width()), "the band's words are cut"
        cut = [
            b.text()
            for b in window.pane(key).findChildren(QAbstractButton)
            if b.isVisible() and b.text() and b.width() < b.sizeHint().width()
        ]
        assert cut == [], key

"""The documented screenshots command writes a picture of every pane and main dialog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from rupa_desk.ui.panes import PANES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_the_screenshots_command_pictures_every_pane_and_dialog(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rupa_desk.screenshots", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = {
        "sign-in",
        *(f"pane-{pane.key}" for pane in PANES),
        "dialog-settings",
        "dialog-settings-administrator",
        "dialog-sign-out",
    }
    assert {p.stem for p in tmp_path.glob("*.png")} == expected
    for name in expected:
        image = QImage(str(tmp_path / f"{name}.png"))
        assert not image.isNull(), name
        colours = {
            image.pixel(x, y)
            for x in range(0, image.width(), 13)
            for y in range(0, image.height(), 17)
        }
        assert len(colours) > 2, f"{name} looks blank"
    pane = QImage(str(tmp_path / "pane-orders.png"))
    assert (pane.width(), pane.height()) == (1280, 800)

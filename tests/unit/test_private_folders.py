"""The app's folders are made its user's only, but a shared sticky folder (/tmp) that a
database file is put straight into is left as it is: tightening it would lock every other
user and program out of it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rupa_desk.paths import make_private_dir
from rupa_desk.services.store import Store

pytestmark = pytest.mark.skipif(not hasattr(stat, "S_ISVTX"), reason="POSIX permissions")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_open_folder_of_the_app_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "RupaDesk"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    make_private_dir(folder)
    assert mode_of(folder) == 0o700


def test_a_database_put_straight_in_a_shared_sticky_folder_leaves_it_shared(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    with Store.open(shared / "account.sqlite3"):
        pass
    assert mode_of(shared) == 0o1777
    assert mode_of(shared / "account.sqlite3") == 0o600  # the file itself is private

"""The name a Rupa Desk listens on for a second launch: one per OS user and profile folder.

(The launches themselves, in separate processes, are in tests/e2e/test_single_instance.py.)
"""

from __future__ import annotations

from pathlib import Path

from rupa_desk.ui.single_instance import Answer, ask_to_raise, server_name


def test_each_profile_folder_has_its_own_name(tmp_path: Path) -> None:
    one = server_name(tmp_path / "one", user="desk", runtime_dir=None)
    other = server_name(tmp_path / "other", user="desk", runtime_dir=None)
    assert one != other
    assert one == server_name(tmp_path / "one", user="desk", runtime_dir=None)


def test_each_user_has_their_own_name(tmp_path: Path) -> None:
    assert server_name(tmp_path, user="ana", runtime_dir=None) != server_name(
        tmp_path, user="bo", runtime_dir=None
    )


def test_two_spellings_of_one_folder_meet(tmp_path: Path) -> None:
    (tmp_path / "profile").mkdir()
    plain = server_name(tmp_path / "profile", user="desk", runtime_dir=None)
    roundabout = server_name(tmp_path / "profile" / ".." / "profile", user="desk", runtime_dir=None)
    assert plain == roundabout


def test_the_name_says_nothing_of_the_user_or_folder_and_fits_a_socket_path(
    tmp_path: Path,
) -> None:
    name = server_name(tmp_path / "private-folder", user="ana", runtime_dir=None)
    assert name.startswith("rupa-desk-")
    assert "ana" not in name
    assert "private" not in name
    assert len(name) <= 40


def test_with_a_runtime_folder_the_socket_goes_in_it(tmp_path: Path) -> None:
    runtime = Path("/run/user/1000")
    name = server_name(tmp_path, user="desk", runtime_dir=runtime)
    assert Path(name).parent == runtime
    assert Path(name).name == server_name(tmp_path, user="desk", runtime_dir=None)


def test_asking_when_nobody_listens_answers_nobody_at_once(tmp_path: Path) -> None:
    name = server_name(tmp_path, user="desk", runtime_dir=tmp_path)
    assert ask_to_raise(name) is Answer.NOBODY

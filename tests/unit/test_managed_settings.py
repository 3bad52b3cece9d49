"""The clinic's managed settings file: it presets and locks settings over the user's own, a bad
one is named with its bad value and left out, and the command line honours its locks too."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from rupa_desk.paths import AppPaths, managed_settings_dir
from rupa_desk.settings import (
    ManagedSettings,
    SettingsError,
    UserSettings,
    load_settings,
)


def write(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return path


def test_the_managed_file_is_the_machine_wide_config_folder_of_xdg_config_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_DIRS", f"{tmp_path / 'first'}:{tmp_path / 'second'}")
    assert managed_settings_dir() == tmp_path / "first" / "RupaDesk"
    monkeypatch.delenv("XDG_CONFIG_DIRS")
    assert managed_settings_dir() == Path("/etc/xdg/RupaDesk")


def test_tests_keep_the_managed_file_below_their_own_folder(app_paths: AppPaths) -> None:
    assert app_paths.managed_settings_file.name == "managed.json"
    assert app_paths.data_dir.parent in app_paths.managed_settings_file.parents
    assert AppPaths.for_user().managed_settings_file == app_paths.managed_settings_file


def test_no_managed_file_locks_nothing(tmp_path: Path) -> None:
    managed = ManagedSettings.load(tmp_path / "managed.json")
    assert managed == ManagedSettings()
    assert not managed.shared_pc
    assert managed.apply(UserSettings(poll_interval_s=30)) == UserSettings(poll_interval_s=30)


def test_locked_values_win_over_the_users_own(tmp_path: Path) -> None:
    UserSettings(
        environment="sandbox", client_id="own-client", redirect_ports=(9000,), poll_interval_s=30
    ).save(tmp_path / "settings.json")
    write(
        tmp_path / "managed.json",
        {
            "environment": "production",
            "client_id": "clinic-client",
            "redirect_ports": [8765, 8766],
            "idle_lock_minutes": 5,
            "shared_pc": True,
        },
    )
    loaded = load_settings(tmp_path / "settings.json", tmp_path / "managed.json")
    assert loaded.problems == ()
    assert loaded.settings == UserSettings(
        environment="production",
        client_id="clinic-client",
        redirect_ports=(8765, 8766),
        idle_lock_minutes=5,
        poll_interval_s=30,  # not lockable: the user's own
    )
    assert loaded.managed.shared_pc
    assert all(
        loaded.managed.is_locked(name)
        for name in ("environment", "client_id", "redirect_ports", "idle_lock_minutes")
    )
    assert not loaded.managed.is_locked("poll_interval_s")


def test_a_partly_filled_managed_file_locks_only_what_it_holds(tmp_path: Path) -> None:
    UserSettings(environment="sandbox", client_id="own-client").save(tmp_path / "settings.json")
    write(tmp_path / "managed.json", {"idle_lock_minutes": 3})
    loaded = load_settings(tmp_path / "settings.json", tmp_path / "managed.json")
    assert loaded.settings == UserSettings(
        environment="sandbox", client_id="own-client", idle_lock_minutes=3
    )
    assert not loaded.managed.is_locked("environment")
    assert not loaded.managed.shared_pc


def test_the_clinic_can_preset_and_lock_its_preferred_labs(tmp_path: Path) -> None:
    UserSettings(preferred_labs=("Genova Diagnostics",)).save(tmp_path / "settings.json")
    write(tmp_path / "managed.json", {"preferred_labs": ["ZRT Laboratory", "Doctor's Data"]})
    loaded = load_settings(tmp_path / "settings.json", tmp_path / "managed.json")
    assert loaded.problems == ()
    assert loaded.settings.preferred_labs == ("ZRT Laboratory", "Doctor's Data")
    assert loaded.managed.is_locked("preferred_labs")
    assert loaded.managed.changed_locked(UserSettings(preferred_labs=("ZRT Laboratory",))) == [
        "Preferred labs"
    ]


def test_the_clinic_can_preset_and_lock_the_appearance(tmp_path: Path) -> None:
    UserSettings(appearance="dark").save(tmp_path / "settings.json")
    write(tmp_path / "managed.json", {"appearance": "light"})
    loaded = load_settings(tmp_path / "settings.json", tmp_path / "managed.json")
    assert loaded.problems == ()
    assert loaded.settings.appearance == "light"
    assert loaded.managed.is_locked("appearance")
    assert loaded.managed.changed_locked(UserSettings(appearance="dark")) == ["Appearance"]
    assert UserSettings().appearance == "system"  # unless chosen: as the computer is set


def test_the_users_preferred_labs_are_saved_and_read_back(tmp_path: Path) -> None:
    assert UserSettings().preferred_labs == ()
    UserSettings(preferred_labs=("ZRT Laboratory", "Doctor's Data")).save(tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text("utf-8"))["preferred_labs"] == [
        "ZRT Laboratory",
        "Doctor's Data",
    ]
    assert UserSettings.load(tmp_path / "s.json").preferred_labs == (
        "ZRT Laboratory",
        "Doctor's Data",
    )


def test_the_idle_lock_defaults_to_ten_minutes_and_is_checked(tmp_path: Path) -> None:
    assert UserSettings().idle_lock_minutes == 10
    path = write(tmp_path / "settings.json", {"idle_lock_minutes": 0})
    with pytest.raises(SettingsError, match="idle lock must be between 1 and 480 minutes"):
        UserSettings.load(path)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("not json {", "Could not read"),
        ("[1, 2]", "does not hold a JSON object"),
        (
            {"environment": "staging"},
            '"environment" must be one of "production", "sandbox", "demo", not "staging"',
        ),
        ({"environment": 3}, '"environment" must be text in quotes, not 3'),
        ({"client_id": 42}, '"client_id" must be text in quotes, not 42'),
        ({"client_id": "  "}, '"client_id" must not be empty'),
        ({"redirect_ports": [70000]}, "Redirect port 70000 is not between 1 and 65535"),
        ({"redirect_ports": [0]}, "Redirect port 0 is not between 1 and 65535"),
        (
            {"redirect_ports": "8765"},
            '"redirect_ports" must be a list of whole numbers such as [8080, 8081], not "8765"',
        ),
        ({"redirect_ports": [8765, True]}, '"redirect_ports" must be a list'),
        ({"idle_lock_minutes": "10"}, '"idle_lock_minutes" must be a whole number, not "10"'),
        ({"idle_lock_minutes": 0}, "idle lock must be between 1 and 480 minutes"),
        ({"idle_lock_minutes": 481}, "idle lock must be between 1 and 480 minutes"),
        (
            {"preferred_labs": "ZRT Laboratory"},
            '"preferred_labs" must be a list of names in quotes such as ["ZRT Laboratory"]',
        ),
        ({"preferred_labs": ["ZRT", 3]}, '"preferred_labs" must be a list of names'),
        ({"preferred_labs": ["  "]}, 'A preferred lab must be a lab company\'s name, not "  "'),
        ({"preferred_labs": ["Lab"] * 51}, "At most 50 preferred labs can be set"),
        ({"appearance": "sepia"}, 'The appearance must be one of "system", "light", "dark"'),
        ({"shared_pc": "yes"}, '"shared_pc" must be true or false, not "yes"'),
        ({"shared_pc": 1}, '"shared_pc" must be true or false, not 1'),
    ],
)
def test_a_bad_managed_file_is_named_with_its_bad_value_and_left_out(
    tmp_path: Path, content: Any, named: str, caplog: pytest.LogCaptureFixture
) -> None:
    UserSettings(environment="sandbox", client_id="own-client").save(tmp_path / "settings.json")
    managed_file = write(tmp_path / "managed.json", content)
    with pytest.raises(SettingsError) as caught:
        ManagedSettings.load(managed_file)
    message = str(caught.value)
    assert named in message
    assert str(managed_file) in message  # which file IT must fix
    assert "set by your clinic" in message

    with caplog.at_level(logging.WARNING, logger="rupa_desk.settings"):
        loaded = load_settings(tmp_path / "settings.json", managed_file)
    assert loaded.problems == (message,)
    assert loaded.managed == ManagedSettings()  # nothing locked: the user's own settings
    assert loaded.settings == UserSettings(environment="sandbox", client_id="own-client")
    assert message in caplog.text


def test_a_bad_managed_and_user_file_are_both_told_and_the_defaults_stand_in(
    tmp_path: Path,
) -> None:
    write(tmp_path / "settings.json", {"poll_interval_s": "often"})
    write(tmp_path / "managed.json", {"environment": "staging"})
    loaded = load_settings(tmp_path / "settings.json", tmp_path / "managed.json")
    assert len(loaded.problems) == 2
    assert '"staging"' in loaded.problems[0]
    assert '"often"' in loaded.problems[1]
    assert loaded.settings == UserSettings()


def test_unknown_managed_keys_are_logged_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "managed.json", {"shared_pc": True, "theme": "dark"})
    with caplog.at_level(logging.WARNING, logger="rupa_desk.settings"):
        managed = ManagedSettings.load(path)
    assert managed == ManagedSettings(shared_pc=True)
    assert "'theme'" in caplog.text


def test_a_command_line_environment_cannot_swap_a_locked_one(tmp_path: Path) -> None:
    write(tmp_path / "managed.json", {"environment": "production", "client_id": "clinic"})
    loaded = load_settings(tmp_path / "settings.json", tmp_path / "managed.json")
    assert loaded.with_environment(None).environment == "production"
    assert loaded.with_environment("production").client_id == "clinic"
    with pytest.raises(SettingsError, match="Your clinic set this computer to use Production"):
        loaded.with_environment("sandbox")


def test_without_a_lock_the_command_line_picks_the_environment(tmp_path: Path) -> None:
    UserSettings(environment="production", client_id="own").save(tmp_path / "settings.json")
    loaded = load_settings(tmp_path / "settings.json", tmp_path / "managed.json")
    assert loaded.with_environment("sandbox") == UserSettings(
        environment="sandbox", client_id="own"
    )

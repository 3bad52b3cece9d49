"""User settings: a hand-edited settings.json with wrong values says so clearly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rupa_desk.settings import SettingsError, UserSettings


def settings_file(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def test_saved_settings_load_back_with_every_field(tmp_path: Path) -> None:
    saved = UserSettings(
        environment="production",
        client_id="abc",
        sandbox_authorize_url="https://labs-sandbox.example/oauth/authorize",
        redirect_ports=(8080, 8081),
        poll_interval_s=120,
        appearance="dark",
    )
    path = tmp_path / "settings.json"
    saved.save(path)
    assert UserSettings.load(path) == saved


def test_a_missing_file_gives_the_defaults_and_unknown_keys_are_ignored(tmp_path: Path) -> None:
    assert UserSettings.load(tmp_path / "nothing.json") == UserSettings()
    path = settings_file(tmp_path, {"theme": "dark", "poll_interval_s": 30})
    assert UserSettings.load(path) == UserSettings(poll_interval_s=30)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"redirect_ports": ["x"]}, r'"redirect_ports" must be a list of whole numbers'),
        ({"redirect_ports": "8080"}, r'"redirect_ports" must be a list .* not "8080"'),
        ({"redirect_ports": [8080, True]}, r'"redirect_ports" must be a list'),
        ({"redirect_ports": [80.5]}, r'"redirect_ports" must be a list'),
        ({"redirect_ports": None}, r'"redirect_ports" must be a list .* not null'),
        ({"client_id": 5}, r'"client_id" must be text in quotes, not 5'),
        ({"environment": ["demo"]}, r'"environment" must be text'),
        ({"sandbox_authorize_url": {"url": "x"}}, r'"sandbox_authorize_url" must be text'),
        ({"poll_interval_s": "60"}, r'"poll_interval_s" must be a whole number, not "60"'),
        ({"poll_interval_s": True}, r'"poll_interval_s" must be a whole number'),
        ({"poll_interval_s": 60.5}, r'"poll_interval_s" must be a whole number'),
        ({"environment": "staging"}, r"Unknown environment 'staging'"),
        ({"redirect_ports": [70000]}, r"Redirect port 70000 is not between 1 and 65535"),
        ({"environment": "production", "client_id": " "}, r"A client id is needed"),
        ({"appearance": "blue"}, r'The appearance must be one of "system", "light", "dark"'),
        ({"appearance": True}, r'"appearance" must be text'),
    ],
)
def test_a_value_of_the_wrong_type_or_range_is_a_settings_error(
    tmp_path: Path, content: dict[str, Any], message: str
) -> None:
    path = settings_file(tmp_path, content)
    with pytest.raises(SettingsError, match=message) as caught:
        UserSettings.load(path)
    assert str(path) in str(caught.value)  # which file to fix


def test_a_long_wrong_value_is_shortened_in_the_message(tmp_path: Path) -> None:
    path = settings_file(tmp_path, {"client_id": list(range(100))})
    with pytest.raises(SettingsError, match=r"not \[0, 1, 2, .*\.\.\.\.") as caught:
        UserSettings.load(path)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("content", ["[1, 2]", "not json", '"text"'])
def test_a_file_that_is_not_a_settings_object_is_a_settings_error(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError, match="settings file"):
        UserSettings.load(path)

"""`rupa-desk catalog sync | search` against the simulator (the command bodies, no keychain)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import keyring
import pytest

from rupa_desk.__main__ import build_parser
from rupa_desk.cli import account, catalog
from rupa_desk.cli.catalog import UsageError, search_catalog, sync_catalog
from rupa_desk.cli.exit_codes import EXIT_USAGE, run_command
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.config import SandboxConfig
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.store import Store
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.catalog_sync import simulator_client
from tests.fixtures.fake_keyring import DictKeyring, installed_keyring  # noqa: F401
from tests.fixtures.rupa_client import PlayedBrowser

ROOT = Path(__file__).resolve().parents[2]


async def test_catalog_sync_then_search_from_the_command_line(app_paths: AppPaths) -> None:
    out = io.StringIO()
    with (
        SandboxServer(SandboxConfig(lab_tests=600, seed=21)) as server,
        Store.for_account(app_paths, "demo", "pra_cli") as store,
    ):
        async with simulator_client(server.url) as client:
            result = await sync_catalog(client, store, out)
        assert result.test_count == 600
        text = out.getvalue()
        assert "Catalog synced: 600 tests from 35 lab companies" in text
        assert "[" + "#" * 30 + "]     600 / 600 tests" in text

        table = io.StringIO()
        assert search_catalog(store, "a1c", limit=3, out=table) == 0
        lines = table.getvalue().splitlines()
        assert lines[0].startswith("Catalog as of ")
        assert "Hemoglobin A1c" in lines[1]
        assert lines[-1] == "(more matches: raise --limit above 3)"

        company = store.catalog.companies()[0]
        as_json = io.StringIO()
        search_catalog(
            store,
            "",
            company=company.short_name.upper(),
            sample_type="blood",
            limit=5,
            as_json=True,
            out=as_json,
        )
        rows = [json.loads(line) for line in as_json.getvalue().splitlines()]
        assert rows
        assert {row["lab_company_id"] for row in rows} == {company.id}
        assert all("Blood" in row["sample_types"] for row in rows)

        with pytest.raises(UsageError, match="No lab company"):
            search_catalog(store, "a1c", company="No Such Lab", out=io.StringIO())


async def test_catalog_sync_says_how_many_unreadable_tests_it_skipped(
    app_paths: AppPaths,
) -> None:
    out = io.StringIO()
    with (
        SandboxServer(SandboxConfig(lab_tests=300, hostile_values=3)) as server,
        Store.for_account(app_paths, "demo", "pra_cli") as store,
    ):
        async with simulator_client(server.url) as client:
            result = await sync_catalog(client, store, out)
    assert result.test_count == 297
    lines = out.getvalue().splitlines()
    assert "Catalog synced: 297 tests from 35 lab companies" in lines[-2]
    assert lines[-1].startswith("3 lab tests skipped: Rupa sent values Rupa Desk could not read.")


def test_search_before_any_sync_says_what_to_do() -> None:
    out = io.StringIO()
    with Store.in_memory() as store:
        search_catalog(store, "a1c", out=out)
    assert "run `rupa-desk catalog sync`" in out.getvalue()


@pytest.mark.parametrize(
    "arguments",
    [
        {"query": os.fsdecode(b"vit\xff")},
        {"query": "vit", "company": os.fsdecode(b"Gen\xffova")},
        {"query": "", "sample_type": os.fsdecode(b"\xffBlood")},
    ],
)
def test_search_arguments_that_are_not_utf8_are_refused_cleanly(
    arguments: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """`rupa-desk catalog search $'vit\\xff'`: Python decodes the byte as a lone surrogate,
    which once crashed the search with UnicodeEncodeError."""

    async def search() -> int:
        with Store.in_memory() as store:
            return search_catalog(store, out=io.StringIO(), **arguments)

    assert run_command(search) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "not valid text" in err
    err.encode("utf-8")  # the argument is not repeated


def test_the_parser_accepts_the_documented_options() -> None:
    args = build_parser().parse_args(
        ["catalog", "search", "T3/T4", "--company", "Genova", "--sample-type", "Blood", "--json"]
    )
    assert (args.catalog_command, args.query, args.company, args.sample_type, args.json) == (
        "search",
        "T3/T4",
        "Genova",
        "Blood",
        True,
    )


@pytest.mark.usefixtures("installed_keyring")
def test_catalog_commands_end_to_end_after_signin(
    sandbox: SandboxServer,
    practitioner_browser: PractitionerBrowser,
    app_paths: AppPaths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keyring.set_keyring(DictKeyring())
    parse = build_parser().parse_args
    demo = ["--env", "demo", "--demo-url", sandbox.url]
    assert catalog.run(parse(["catalog", "sync", *demo]), paths=app_paths, out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "not signed in" in err
    assert f"`rupa-desk signin --env demo --demo-url {sandbox.url}`" in err

    signed_in = account.run(
        parse(["signin", *demo]),
        paths=app_paths,
        opener=PlayedBrowser(practitioner_browser),
        out=io.StringIO(),
    )
    assert signed_in == 0, capsys.readouterr().err

    out = io.StringIO()
    assert catalog.run(parse(["catalog", "sync", *demo]), paths=app_paths, out=out) == 0
    assert "Catalog synced:" in out.getvalue()

    found = io.StringIO()
    search = parse(["catalog", "search", "vitamin-d", "--json", "--limit", "2", *demo])
    assert catalog.run(search, paths=app_paths, out=found) == 0
    rows = [json.loads(line) for line in found.getvalue().splitlines()]
    assert rows
    assert rows[0]["name"] == "Vitamin D, 25-OH"

    unknown = parse(["catalog", "search", "a1c", "--company", "Nowhere Labs", *demo])
    assert catalog.run(unknown, paths=app_paths, out=io.StringIO()) == 2
    assert "No lab company 'Nowhere Labs'" in capsys.readouterr().err


# `rupa-desk` in a child process, with the parent's keychain (a DictKeyring copied over) and
# the user folders of platformdirs pointed at the test's folder.
_RUPA_DESK_WITH_KEYCHAIN = """
import json, sys
import keyring
from tests.fixtures.fake_keyring import DictKeyring
keychain = DictKeyring()
keychain.values = {tuple(key): value for key, value in json.loads(sys.argv[1])}
keyring.set_keyring(keychain)
from rupa_desk.__main__ import main
sys.exit(main(sys.argv[2:]))
"""


def xdg_paths(root: Path) -> tuple[AppPaths, dict[str, str]]:
    """The folders `AppPaths.for_user()` gives on Linux under `root`, and the environment
    that makes a child process use them."""
    env = {
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_STATE_HOME": str(root / "state"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "XDG_CONFIG_DIRS": str(root / "site"),
    }
    paths = AppPaths(
        data_dir=root / "data" / "RupaDesk",
        config_dir=root / "config" / "RupaDesk",
        log_dir=root / "state" / "RupaDesk" / "log",
        cache_dir=root / "cache" / "RupaDesk",
        managed_settings_file=root / "site" / "RupaDesk" / "managed.json",
    )
    return paths, env


@pytest.mark.usefixtures("installed_keyring")
def test_search_into_a_pipe_closed_early_ends_quietly(tmp_path: Path) -> None:
    """`rupa-desk catalog search --json | head -c 100`: no BrokenPipeError traceback."""
    keychain = DictKeyring()
    keyring.set_keyring(keychain)
    paths, xdg = xdg_paths(tmp_path)
    with SandboxServer(SandboxConfig(lab_tests=600, seed=21)) as server:
        demo = ["--env", "demo", "--demo-url", server.url]
        parse = build_parser().parse_args
        with PractitionerBrowser(server.url) as browser:
            opener = PlayedBrowser(browser)
            assert account.run(parse(["signin", *demo]), paths=paths, opener=opener) == 0
        assert catalog.run(parse(["catalog", "sync", *demo]), paths=paths) == 0
        keys = json.dumps([*keychain.values.items()])
        search = ["catalog", "search", "", "--json", "--limit", "600", *demo]
        with subprocess.Popen(
            [sys.executable, "-c", _RUPA_DESK_WITH_KEYCHAIN, keys, *search],
            cwd=ROOT,
            env={**os.environ, **xdg},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as child:
            assert child.stdout is not None
            assert child.stderr is not None
            first = child.stdout.read(100)  # what `head -c 100` reads; then it goes
            child.stdout.close()
            errors = child.stderr.read().decode()
            code = child.wait(timeout=60)
    assert first.startswith(b'{"')
    assert "Traceback" not in errors
    assert "BrokenPipeError" not in errors
    assert errors == ""
    assert code == 1

"""`rupa-desk signin | whoami | signout` against the simulator, with a fake OS keychain so the
session outlives one command (as it does on a desktop with a keychain)."""

from __future__ import annotations

import io
import json
import re
import threading

import keyring
import pytest

from rupa_desk.__main__ import build_parser, main
from rupa_desk.cli import account
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.fake_keyring import DictKeyring, installed_keyring  # noqa: F401
from tests.fixtures.rupa_client import PlayedBrowser

pytestmark = pytest.mark.usefixtures("installed_keyring")


def demo_args(sandbox: SandboxServer, command: str) -> list[str]:
    return [command, "--env", "demo", "--demo-url", sandbox.url]


def test_signin_whoami_signout(
    sandbox: SandboxServer,
    practitioner_browser: PractitionerBrowser,
    app_paths: AppPaths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keychain = DictKeyring()
    keyring.set_keyring(keychain)
    out = io.StringIO()
    args = build_parser().parse_args(demo_args(sandbox, "signin"))

    code = account.run(args, paths=app_paths, opener=PlayedBrowser(practitioner_browser), out=out)

    assert code == 0, capsys.readouterr().err
    assert "Sign in to Rupa (Demo) in the browser window that opened." in out.getvalue()
    assert "Signed in to Demo as " in out.getvalue()
    assert "The session is kept in: OS keychain." in out.getvalue()
    assert {service for service, _ in keychain.values} == {"rupa-desk"}
    entries = sorted(username for _, username in keychain.values)
    assert len(entries) == 2
    scope = f"demo:{sandbox.url}/oauth/token:rupa-desk-demo"  # where its tokens may go
    assert entries[0] == f"last-account:{scope}"  # whose session start-up restores
    assert re.fullmatch(rf"session:{re.escape(scope)}:pra_\w{{7}}", entries[1])  # the account's

    assert main(demo_args(sandbox, "whoami")) == 0
    shown = capsys.readouterr().out
    assert "Email: demo@rupa-desk.test" in shown
    assert re.search(r"Practitioner id: pra_\w{7}", shown)
    assert "Session kept in: OS keychain" in shown
    assert ", " in shown.splitlines()[0]  # "Name, Clinic"

    assert main(demo_args(sandbox, "signout")) == 0
    assert "Rupa revoked the session" in capsys.readouterr().out
    assert keychain.values == {}

    assert main(demo_args(sandbox, "whoami")) == 1
    err = capsys.readouterr().err
    assert "not signed in" in err
    # a hint that works as printed: demo mode needs the simulator's URL too
    assert f"Run `rupa-desk signin --env demo --demo-url {sandbox.url}` first." in err


class UrlWatcher(io.StringIO):
    """Standard output for `signin`: when the sign-in link is printed, a browser thread
    (the practitioner at another computer, say) opens it, approves, and comes back."""

    def __init__(self, browser: PractitionerBrowser) -> None:
        super().__init__()
        self.browser = browser
        self.threads: list[threading.Thread] = []

    def write(self, text: str) -> int:
        link = re.search(r"https?://\S+/oauth/authorize\?\S+", text)
        if link:
            opener = PlayedBrowser(self.browser)
            thread = threading.Thread(target=opener, args=(link.group(0),), daemon=True)
            thread.start()
            self.threads.append(thread)
        return super().write(text)


def test_signin_prints_the_link_when_no_browser_opens(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser, app_paths: AppPaths
) -> None:
    keyring.set_keyring(DictKeyring())
    out = UrlWatcher(practitioner_browser)
    args = build_parser().parse_args(demo_args(sandbox, "signin"))

    code = account.run(args, paths=app_paths, opener=lambda url: False, out=out)

    for thread in out.threads:
        thread.join(timeout=10)
    assert code == 0
    assert "No browser could be opened. Open this link in a browser to sign in:" in out.getvalue()
    assert len(out.threads) == 1
    assert "Signed in to Demo" in out.getvalue()


def test_whoami_without_a_session_says_to_sign_in(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    keyring.set_keyring(DictKeyring())
    assert main(demo_args(sandbox, "whoami")) == 1
    assert "rupa-desk signin --env demo" in capsys.readouterr().err


def test_without_a_keychain_the_session_lasts_one_command_and_says_so(
    sandbox: SandboxServer,
    practitioner_browser: PractitionerBrowser,
    app_paths: AppPaths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    out = io.StringIO()
    args = build_parser().parse_args(demo_args(sandbox, "signin"))
    assert (
        account.run(args, paths=app_paths, opener=PlayedBrowser(practitioner_browser), out=out) == 0
    )
    assert "kept in: this session only" in out.getvalue()
    assert "No system keychain is available" in capsys.readouterr().err
    assert main(demo_args(sandbox, "whoami")) == 1


def test_demo_without_its_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["whoami", "--env", "demo"]) == 2
    assert "--demo-url" in capsys.readouterr().err


def test_offline_whoami_fails_clearly_and_signout_still_forgets(
    sandbox: SandboxServer,
    practitioner_browser: PractitionerBrowser,
    app_paths: AppPaths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keychain = DictKeyring()
    keyring.set_keyring(keychain)
    args = build_parser().parse_args(demo_args(sandbox, "signin"))
    opener = PlayedBrowser(practitioner_browser)
    assert account.run(args, paths=app_paths, opener=opener, out=io.StringIO()) == 0
    sandbox.stop()  # Rupa is out of reach

    assert main(demo_args(sandbox, "whoami")) == 1
    assert "cannot reach Rupa" in capsys.readouterr().err
    assert keychain.values  # the session is kept for when the connection is back

    assert main(demo_args(sandbox, "signout")) == 0
    assert "could not be reached to revoke" in capsys.readouterr().out
    assert keychain.values == {}


def test_a_session_is_never_sent_to_another_demo_url(
    sandbox: SandboxServer,
    practitioner_browser: PractitionerBrowser,
    app_paths: AppPaths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo session is the simulator's at its URL: `--demo-url` naming another server
    finds no session there, and the stored refresh token goes nowhere."""
    keychain = DictKeyring()
    keyring.set_keyring(keychain)
    args = build_parser().parse_args(demo_args(sandbox, "signin"))
    opener = PlayedBrowser(practitioner_browser)
    assert account.run(args, paths=app_paths, opener=opener, out=io.StringIO()) == 0
    stored = dict(keychain.values)
    elsewhere = ["--env", "demo", "--demo-url", "http://127.0.0.1:9"]

    assert main(["whoami", *elsewhere]) == 1
    assert "You are not signed in" in capsys.readouterr().err
    assert main(["signout", *elsewhere]) == 0
    assert "You were not signed in to Demo." in capsys.readouterr().out
    assert keychain.values == stored  # the first server's session is untouched
    assert main(demo_args(sandbox, "whoami")) == 0


def test_the_command_line_cannot_swap_an_environment_the_clinic_locked(
    sandbox: SandboxServer, app_paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    keyring.set_keyring(DictKeyring())
    managed_file = app_paths.managed_settings_file
    managed_file.parent.mkdir(parents=True)
    managed_file.write_text(
        json.dumps({"environment": "production", "client_id": "clinic-client"}), "utf-8"
    )
    assert main(demo_args(sandbox, "whoami")) == 2
    err = capsys.readouterr().err
    assert "Your clinic set this computer to use Production" in err
    assert "--env demo cannot be used here" in err


def test_a_bad_managed_file_stops_the_command_line_with_its_name(
    sandbox: SandboxServer, app_paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    keyring.set_keyring(DictKeyring())
    managed_file = app_paths.managed_settings_file
    managed_file.parent.mkdir(parents=True)
    managed_file.write_text(json.dumps({"environment": "staging"}), "utf-8")
    assert main(demo_args(sandbox, "whoami")) == 2
    err = capsys.readouterr().err
    assert str(managed_file) in err
    assert '"staging"' in err

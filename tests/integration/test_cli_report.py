"""`rupa-desk report` against the simulator: signed in, history downloaded, offline after."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import keyring
import pytest

from rupa_desk.__main__ import build_parser
from rupa_desk.cli import account, catalog, report
from rupa_desk.core.reports import REPORTS, ReportFilters
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.reports import PracticeReports
from rupa_desk.services.store import Store
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.fake_keyring import DictKeyring, installed_keyring  # noqa: F401
from tests.fixtures.rupa_client import PlayedBrowser
from tests.fixtures.sandbox import SandboxFactory, small_config


def test_the_parser_knows_every_report() -> None:
    for name in REPORTS:
        args = build_parser().parse_args(["report", name, "--from", "2026-01-01", "--csv"])
        assert (args.report, args.start, args.end, args.csv) == (name, "2026-01-01", None, True)


@pytest.mark.usefixtures("installed_keyring")
def test_reports_from_the_command_line_match_the_shared_code_path(
    sandbox_factory: SandboxFactory,
    app_paths: AppPaths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server: SandboxServer = sandbox_factory(
        small_config(history_orders=400, rate_limit_per_s=1000, rate_burst=1000)
    )
    keyring.set_keyring(DictKeyring())
    parse = build_parser().parse_args
    demo = ["--env", "demo", "--demo-url", server.url]
    with PractitionerBrowser(server.url) as browser:
        signed_in = account.run(
            parse(["signin", *demo]),
            paths=app_paths,
            opener=PlayedBrowser(browser),
            out=io.StringIO(),
        )
    assert signed_in == 0, capsys.readouterr().err
    assert catalog.run(parse(["catalog", "sync", *demo]), paths=app_paths, out=io.StringIO()) == 0

    today = date.today()
    start = (today - timedelta(days=400)).isoformat()
    out = io.StringIO()
    command = ["report", "revenue", "--from", start, "--csv", "--download", *demo]
    assert report.run(parse(command), paths=app_paths, out=out) == 0, capsys.readouterr().err
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows
    assert list(rows[0]) == ["month", "orders", "total_cents"]

    table = io.StringIO()
    offline = parse(["report", "late", "--from", start, *demo])  # no --download: offline
    assert report.run(offline, paths=app_paths, out=table) == 0
    lines = table.getvalue().splitlines()
    assert lines[0] == f"Late from {start} to {today}"
    assert lines[1].split()[:3] == ["order_id", "patient_name", "status"]

    bad = parse(["report", "pipeline", "--from", "last week", *demo])
    assert report.run(bad, paths=app_paths, out=io.StringIO()) == 2
    assert "--from takes a date such as 2026-01-31" in capsys.readouterr().err

    [database] = list(app_paths.data_dir.rglob("rupa-desk.sqlite3"))
    with Store.open(database) as store:
        shared = PracticeReports(store)
        filters = ReportFilters(date.fromisoformat(start), today)
        assert out.getvalue() == shared.csv("revenue", filters)
        assert len(lines) - 2 == len(shared.late(filters))
        assert store.order_history.cursor().complete_through is not None

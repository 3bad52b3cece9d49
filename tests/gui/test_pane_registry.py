"""A pane is registered once (`rupa_desk.ui.panes.PANES`): its entry names it for the sidebar
and builds its widget from the account's workspace, so a new pane is a module plus an entry."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.settings import demo
from rupa_desk.ui.account_workspace import AccountContext, AccountWorkspace
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.panes import PANES, PaneSpec
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.session import Account
from rupa_desk.ui.tasks import BackgroundTasks
from rupa_desk.ui.window_state import WindowState
from tests.fixtures.orders_env import client_for


def test_the_registry_names_the_panes_in_sidebar_order() -> None:
    assert [(p.key, p.title) for p in PANES] == [
        ("patients", "Patients"),
        ("catalog", "Catalog"),
        ("drafts", "Draft orders"),
        ("orders", "Orders"),
        ("panels", "Panels"),
        ("results", "Results inbox"),
        ("reports", "Reports"),
    ]
    assert all(p.build is not None for p in PANES)


async def test_a_new_pane_is_one_registry_entry(
    qtbot: QtBot, sandbox: SandboxServer, app_paths: AppPaths
) -> None:
    built_for: list[str] = []

    def build_invoices(workspace: AccountWorkspace) -> QWidget:
        built_for.append(workspace.account.id)
        return QLabel(f"{workspace.catalog.test_count()} tests in the catalog")

    panes = (*PANES, PaneSpec("invoices", "Invoices", build_invoices))
    bridge = MessageBridge()
    window = MainWindow(bridge=bridge, window_state=WindowState(app_paths.config_dir), panes=panes)
    qtbot.addWidget(window)
    failures: list[str] = []
    tasks = BackgroundTasks(lambda name, exc: failures.append(f"{name}: {exc!r}"))
    async with client_for(sandbox.url) as client:
        context = AccountContext(
            Account("pra_registry"),
            demo(sandbox.url),
            app_paths,
            client,
            bridge,
            Connectivity(),
            window.status,
            tasks,
        )
        workspace = AccountWorkspace.open(context, window.pane_specs)
        try:
            assert list(workspace.panes) == [*(p.key for p in PANES), "invoices"]
            assert built_for == ["pra_registry"]
            assert isinstance(workspace.panes["catalog"], CatalogPage)
            window.install_panes(workspace.panes)
            window.show_workspace()
            sidebar = window.findChild(QListWidget)
            assert sidebar is not None
            titles = [sidebar.item(i).text() for i in range(sidebar.count())]
            assert titles[-1] == "Invoices"
            window.show_pane("invoices")
            assert window.current_pane() == "invoices"
            assert window.pane("invoices").text() == "0 tests in the catalog"  # type: ignore[attr-defined]
        finally:
            await workspace.close(remove_patient_data=False)
            window.remove_panes()
    assert failures == []

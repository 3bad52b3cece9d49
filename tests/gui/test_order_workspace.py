"""How the orders part of an account is wired (`OrderWorkspace`), against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from rupa_desk.core.polling import RefreshList
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.store import Store
from rupa_desk.settings import demo
from rupa_desk.ui.account_workspace import AccountContext
from rupa_desk.ui.components.status_bar import StatusBar
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.order_workspace import OrderWorkspace
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.session import Account
from rupa_desk.ui.tasks import BackgroundTasks
from tests.fixtures.orders_env import client_for


@dataclass
class Built:
    workspace: OrderWorkspace
    store: Store
    failures: list[str]


@pytest_asyncio.fixture
async def built(sandbox: SandboxServer, app_paths: AppPaths) -> AsyncIterator[Built]:
    failures: list[str] = []
    tasks = BackgroundTasks(lambda name, exc: failures.append(f"{name}: {exc!r}"))
    async with client_for(sandbox.url) as client:
        with Store.for_account(app_paths, "demo", "pra_test") as store:
            context = AccountContext(
                Account("pra_test"),
                demo(sandbox.url),
                app_paths,
                client,
                MessageBridge(),
                Connectivity(),
                StatusBar(),
                tasks,
            )
            workspace = OrderWorkspace(context, store, use_tray=False)
            try:
                yield Built(workspace, store, failures)
            finally:
                await tasks.cancel_all()
                await workspace.close()
                context.status_bar.deleteLater()
    assert failures == []


async def test_the_order_list_is_read_again_soon_after_a_checkout_ends(built: Built) -> None:
    """A checkout closed (or handed to the browser) may have placed an order whose return
    never reached the app: the list refresh finds it, without waiting its usual interval."""
    schedule = built.workspace.schedule
    draft_id = built.store.drafts.create(patient_id="pat_0000001")
    for ended in (
        lambda: built.workspace.launcher.closed.emit(draft_id),
        lambda: built.workspace.launcher.browser_requested.emit(draft_id, "https://x"),
    ):
        schedule.list_refreshed(1)  # just read: the next refresh is minutes away
        assert not isinstance(schedule.next_action(), RefreshList)
        ended()
        assert isinstance(schedule.next_action(), RefreshList)
